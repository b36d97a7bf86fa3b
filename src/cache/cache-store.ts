/**
 * The storage port: opaque bytes under string keys, with a time to live. Adapters receive connected clients and
 * never read configuration themselves.
 */
export interface CacheStore {
  readonly kind: 'redis' | 'memory'
  /** The stored bytes, or null when absent or expired. */
  get(key: string): Promise<Buffer | null>
  /** Several keys in one round trip; the result is aligned with `keys`. */
  getMany(keys: readonly string[]): Promise<Array<Buffer | null>>
  /** Stores `value`; it disappears after `ttlMs`. */
  set(key: string, value: Buffer, ttlMs: number): Promise<void>
  /** Stores `value` only when `key` is absent (Redis SET NX PX); resolves to whether it was stored. */
  setIfAbsent(key: string, value: Buffer, ttlMs: number): Promise<boolean>
  /** Replaces the value only while it still equals `expected` (compare-and-set); resolves to whether it did. */
  replaceIfEquals(key: string, expected: Buffer, value: Buffer, ttlMs: number): Promise<boolean>
  /** Deletes the key only while its value equals `expected` (compare-and-delete); resolves to whether it did. */
  deleteIfEquals(key: string, expected: Buffer): Promise<boolean>
  /** Removes keys; resolves to how many existed. */
  delete(keys: readonly string[]): Promise<number>
  /** Resolves when the backend answers; rejects otherwise. */
  ping(): Promise<void>
  close(): Promise<void>
}

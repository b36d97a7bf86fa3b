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
  /** Removes keys; resolves to how many existed. */
  delete(keys: readonly string[]): Promise<number>
  /** Resolves when the backend answers; rejects otherwise. */
  ping(): Promise<void>
  close(): Promise<void>
}

import type { TimeSpan } from './generations.ts'
/**
 * The storage port of the read path, narrowed to what a store must do for it:
 * - bytes under string keys with a time to live (entries, execution records, run-time history, the prewarm report);
 * - atomic lease operations: set-if-absent, compare-and-set, compare-and-delete;
 * - the stamp hash: monotonic invalidation stamps on the store's clock, read in the same round trip as an entry;
 * - pub/sub, where the backend offers it (so that every process drops its in-process tier at once).
 *
 * What the stamps mean (which field, what a stamp supersedes) is decided in generations.ts; a store only knows how to
 * write a strictly increasing stamp atomically. Adapters receive connected clients and never read configuration.
 */
export interface CacheStore {
  readonly kind: 'redis' | 'memory'
  /** The stored bytes, or null when absent or expired. */
  get(key: string): Promise<Buffer | null>
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
  /** A value and some fields of a stamp hash, in one round trip (an entry and its invalidation stamps). */
  getWithStamps(
    key: string,
    hashKey: string,
    fields: readonly string[],
  ): Promise<{ value: Buffer | null; stamps: Array<string | null> }>
  /** Fields of a stamp hash (null where absent). */
  getStamps(hashKey: string, fields: readonly string[]): Promise<Array<string | null>>
  /**
   * Writes one stamp into each hash, atomically across all of them: the stamp is the store's clock in ms, or one more
   * than the hash's previous stamp (field `s`) when the clock has not moved past it, so stamps of one hash strictly
   * increase. Fields starting with one of `dropPrefixes` are removed first. With `span`, the field holds range
   * records (generations.ts): `start,end,stamp` is appended to it, and its two oldest records are merged while it
   * holds more than RANGE_RECORDS. Resolves to the stamp written into each hash. The hashes must share a hash tag
   * (one Cluster slot).
   */
  writeStamp(
    hashKeys: readonly string[],
    field: string,
    dropPrefixes: readonly string[],
    span?: TimeSpan,
  ): Promise<number[]>
  /** Publishes a message to every subscriber of `channel` (absent where the backend has no pub/sub). */
  publish?(channel: string, message: string): Promise<void>
  /** Calls `onMessage` for every message on `channel`; resolves to a function that unsubscribes. */
  subscribe?(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>>
  /** Resolves when the backend answers; rejects otherwise. */
  ping(): Promise<void>
  close(): Promise<void>
}

import type { InvalidationMode } from './generations.ts'

/** A sorted-set member with its score. */
export interface ScoredMember {
  member: string
  score: number
}

/**
 * The storage port: opaque bytes under string keys, with a time to live, plus the few structured operations that
 * invalidation (generation hashes), popularity (sorted sets) and statistics (counters) need. Adapters receive
 * connected clients and never read configuration themselves.
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
  /** A value and some fields of a hash, in one round trip (an entry and its invalidation stamps). */
  getWithFields(
    key: string,
    hashKey: string,
    fields: readonly string[],
  ): Promise<{ value: Buffer | null; fields: Array<string | null> }>
  /** Fields of a hash (null where absent). */
  getFields(hashKey: string, fields: readonly string[]): Promise<Array<string | null>>
  /**
   * Stamps an invalidation into generation hashes, atomically across all of them (see generations.ts): the whole
   * query when `entryId` is absent, else that one entry. Resolves to the stamp written into each hash. The keys must
   * share a hash tag (one Cluster slot).
   */
  bumpGenerations(hashKeys: readonly string[], mode: InvalidationMode, entryId?: string): Promise<number[]>
  /** Adds to counters of a hash (HINCRBY). */
  incrementCounters(hashKey: string, counts: Readonly<Record<string, number>>): Promise<void>
  /** Every counter of a hash. */
  getCounters(hashKey: string): Promise<Record<string, number>>
  /** Adds to members' scores in a sorted set and (re)sets its time to live. */
  incrementScores(key: string, scores: ReadonlyMap<string, number>, ttlMs: number): Promise<void>
  /**
   * The `count` highest-scoring members of the union (scores summed) of sorted sets, highest first. The keys must
   * share a hash tag (one Cluster slot).
   */
  topScores(keys: readonly string[], count: number): Promise<ScoredMember[]>
  /** Resolves when the backend answers; rejects otherwise. */
  ping(): Promise<void>
  close(): Promise<void>
}

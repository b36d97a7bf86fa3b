/** A sorted-set member with its score. */
export interface ScoredMember {
  member: string
  score: number
}

/**
 * The storage port of usage accounting (service counters and read popularity), kept apart from the read path's
 * CacheStore: nothing here is on the hit path, and nothing here must ever evict or delay a result.
 */
export interface CounterStore {
  /** Adds to counters of a hash (HINCRBY); with `ttlMs`, the hash expires that long after this write. */
  incrementCounters(hashKey: string, counts: Readonly<Record<string, number>>, ttlMs?: number): Promise<void>
  /** Every counter of a hash. */
  getCounters(hashKey: string): Promise<Record<string, number>>
  /**
   * Adds to members' scores in a sorted set, keeps only its `keepTop` highest-scoring members (the lowest go first;
   * among equal scores, the lexically smallest) and (re)sets its time to live.
   */
  incrementScores(
    key: string,
    scores: ReadonlyMap<string, number>,
    options: { ttlMs: number; keepTop: number },
  ): Promise<void>
  /**
   * The `count` highest-scoring members of the union (scores summed) of sorted sets, highest first (equal scores:
   * lexically largest first). The keys must share a hash tag (one Cluster slot).
   */
  topScores(keys: readonly string[], count: number): Promise<ScoredMember[]>
  /**
   * Puts `item` at the head of a list and keeps only its `keep` newest items, in one atomic step (LPUSH + LTRIM):
   * a short log shared by every process that never grows past `keep`.
   */
  pushRecent(key: string, item: string, keep: number): Promise<void>
  /** The `count` newest items of a list written by `pushRecent`, newest first. */
  recent(key: string, count: number): Promise<string[]>
  /**
   * Adds members to a set and (re)sets its time to live, in one atomic step; resolves to the set's size after.
   * With `takeSet`, a collection point shared by every process (the spans of a burst of landed files).
   */
  addToSet(key: string, members: readonly string[], ttlMs: number): Promise<number>
  /**
   * Every member of a set, the set removed in the same atomic step (SMEMBERS + DEL): whatever is added after belongs
   * to the next taker, and no member is taken twice.
   */
  takeSet(key: string): Promise<string[]>
  /**
   * Raises fields of a hash to the given values, each only if it holds less (or nothing), in one atomic step: a
   * field only ever moves forward, whatever order concurrent writers run in. Resolves to the fields' values after.
   */
  raiseCounters(hashKey: string, values: Readonly<Record<string, number>>): Promise<Record<string, number>>
}

import { LRUCache } from 'lru-cache'
import type { CacheStore, ScoredMember } from './cache-store.ts'
import { applyBump, type InvalidationMode } from './generations.ts'

/** In-process CacheStore bounded by bytes with LRU eviction: the default when no Redis is configured. */
export class MemoryCacheStore implements CacheStore {
  readonly kind = 'memory'
  private readonly lru: LRUCache<string, Buffer>
  // Hashes and sorted sets are small bookkeeping (invalidation stamps, counters, popularity); they live outside the
  // LRU so that result entries can never evict an invalidation stamp.
  private readonly hashes = new Map<string, Map<string, string>>()
  private readonly sortedSets = new Map<string, { scores: Map<string, number>; expiresAt: number }>()
  private readonly now: () => number

  constructor(options: { maxBytes: number; now?: () => number }) {
    this.now = options.now ?? Date.now
    this.lru = new LRUCache<string, Buffer>({
      maxSize: options.maxBytes,
      // Key bytes count too: many small entries must not exceed the bound through their keys.
      sizeCalculation: (value, key) => value.length + key.length,
      ttlAutopurge: false,
      allowStale: false,
      ...(options.now ? { perf: { now: options.now } } : {}),
    })
  }

  async get(key: string): Promise<Buffer | null> {
    return this.lru.get(key) ?? null
  }

  async getMany(keys: readonly string[]): Promise<Array<Buffer | null>> {
    return keys.map((k) => this.lru.get(k) ?? null)
  }

  async set(key: string, value: Buffer, ttlMs: number): Promise<void> {
    this.lru.set(key, value, { ttl: Math.max(1, Math.ceil(ttlMs)) })
  }

  async setIfAbsent(key: string, value: Buffer, ttlMs: number): Promise<boolean> {
    if (this.lru.has(key)) return false
    await this.set(key, value, ttlMs)
    return true
  }

  async replaceIfEquals(key: string, expected: Buffer, value: Buffer, ttlMs: number): Promise<boolean> {
    const current = this.lru.get(key)
    if (!current?.equals(expected)) return false
    await this.set(key, value, ttlMs)
    return true
  }

  async deleteIfEquals(key: string, expected: Buffer): Promise<boolean> {
    const current = this.lru.get(key)
    return current?.equals(expected) ? this.lru.delete(key) : false
  }

  async delete(keys: readonly string[]): Promise<number> {
    let n = 0
    for (const key of keys) if (this.lru.delete(key)) n++
    return n
  }

  async getWithFields(
    key: string,
    hashKey: string,
    fields: readonly string[],
  ): Promise<{ value: Buffer | null; fields: Array<string | null> }> {
    return { value: this.lru.get(key) ?? null, fields: await this.getFields(hashKey, fields) }
  }

  async getFields(hashKey: string, fields: readonly string[]): Promise<Array<string | null>> {
    const hash = this.hashes.get(hashKey)
    return fields.map((f) => hash?.get(f) ?? null)
  }

  async bumpGenerations(
    hashKeys: readonly string[],
    mode: InvalidationMode,
    entryId?: string,
  ): Promise<number[]> {
    const now = this.now()
    return hashKeys.map((key) => {
      let hash = this.hashes.get(key)
      if (!hash) this.hashes.set(key, (hash = new Map()))
      return applyBump(hash, mode, entryId, now)
    })
  }

  async incrementCounters(hashKey: string, counts: Readonly<Record<string, number>>): Promise<void> {
    let hash = this.hashes.get(hashKey)
    if (!hash) this.hashes.set(hashKey, (hash = new Map()))
    for (const [field, by] of Object.entries(counts))
      if (by !== 0) hash.set(field, String(Number(hash.get(field) ?? 0) + by))
  }

  async getCounters(hashKey: string): Promise<Record<string, number>> {
    const hash = this.hashes.get(hashKey)
    return hash ? Object.fromEntries([...hash].map(([k, v]) => [k, Number(v)])) : {}
  }

  async incrementScores(key: string, scores: ReadonlyMap<string, number>, ttlMs: number): Promise<void> {
    const now = this.now()
    let set = this.sortedSets.get(key)
    if (!set || set.expiresAt <= now) this.sortedSets.set(key, (set = { scores: new Map(), expiresAt: 0 }))
    for (const [member, by] of scores) set.scores.set(member, (set.scores.get(member) ?? 0) + by)
    set.expiresAt = now + ttlMs
    for (const [k, v] of this.sortedSets) if (v.expiresAt <= now) this.sortedSets.delete(k)
  }

  async topScores(keys: readonly string[], count: number): Promise<ScoredMember[]> {
    const now = this.now()
    const sum = new Map<string, number>()
    for (const key of keys) {
      const set = this.sortedSets.get(key)
      if (!set || set.expiresAt <= now) continue
      for (const [member, score] of set.scores) sum.set(member, (sum.get(member) ?? 0) + score)
    }
    return [...sum]
      .map(([member, score]) => ({ member, score }))
      .sort((a, b) => b.score - a.score || (a.member < b.member ? 1 : -1))
      .slice(0, Math.max(0, count))
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.lru.clear()
    this.hashes.clear()
    this.sortedSets.clear()
  }

  /** Bytes currently held (values plus keys). */
  get sizeBytes(): number {
    return this.lru.calculatedSize
  }
}

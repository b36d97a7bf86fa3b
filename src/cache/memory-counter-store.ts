import type { CounterStore, ScoredMember } from './counter-store.ts'

/** In-process CounterStore: usage accounting of a single process (the memory cache's companion). */
export class MemoryCounterStore implements CounterStore {
  private readonly hashes = new Map<string, Map<string, number>>()
  private readonly hashExpiry = new Map<string, number>()
  private readonly sortedSets = new Map<string, { scores: Map<string, number>; expiresAt: number }>()
  /** Lists of pushRecent, newest first, each at most its `keep` long. */
  private readonly lists = new Map<string, string[]>()
  /** Sets of addToSet, with the time each expires. */
  private readonly sets = new Map<string, { members: Set<string>; expiresAt: number }>()
  private readonly now: () => number

  constructor(options: { now?: () => number } = {}) {
    this.now = options.now ?? Date.now
  }

  async incrementCounters(
    hashKey: string,
    counts: Readonly<Record<string, number>>,
    ttlMs?: number,
  ): Promise<void> {
    this.dropExpiredHashes()
    const hash = this.hashes.get(hashKey) ?? new Map<string, number>()
    this.hashes.set(hashKey, hash)
    for (const [field, by] of Object.entries(counts))
      if (by !== 0) hash.set(field, (hash.get(field) ?? 0) + by)
    if (ttlMs !== undefined) this.hashExpiry.set(hashKey, Date.now() + ttlMs)
  }

  async getCounters(hashKey: string): Promise<Record<string, number>> {
    this.dropExpiredHashes()
    return Object.fromEntries(this.hashes.get(hashKey) ?? [])
  }

  /** Hashes written with a time to live (daily spend) go when it is over, as in Redis. */
  private dropExpiredHashes(): void {
    const now = Date.now()
    for (const [key, at] of this.hashExpiry)
      if (at <= now) {
        this.hashExpiry.delete(key)
        this.hashes.delete(key)
      }
  }

  async incrementScores(
    key: string,
    scores: ReadonlyMap<string, number>,
    options: { ttlMs: number; keepTop: number },
  ): Promise<void> {
    const now = this.now()
    const current = this.sortedSets.get(key)
    const set =
      current && current.expiresAt > now ? current : { scores: new Map<string, number>(), expiresAt: 0 }
    this.sortedSets.set(key, set)
    for (const [member, by] of scores) set.scores.set(member, (set.scores.get(member) ?? 0) + by)
    const keep = Math.max(1, options.keepTop)
    if (set.scores.size > keep) {
      // As ZREMRANGEBYRANK on Redis: the lowest scores go first, and among equal scores the lexically smallest.
      const ranked = [...set.scores].sort(([am, as], [bm, bs]) => as - bs || (am < bm ? -1 : am > bm ? 1 : 0))
      for (const [member] of ranked.slice(0, ranked.length - keep)) set.scores.delete(member)
    }
    set.expiresAt = now + options.ttlMs
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

  async pushRecent(key: string, item: string, keep: number): Promise<void> {
    const list = [item, ...(this.lists.get(key) ?? [])]
    list.length = Math.min(list.length, Math.max(1, keep))
    this.lists.set(key, list)
  }

  async recent(key: string, count: number): Promise<string[]> {
    return (this.lists.get(key) ?? []).slice(0, Math.max(0, count))
  }

  async addToSet(key: string, members: readonly string[], ttlMs: number): Promise<number> {
    const now = this.now()
    for (const [k, v] of this.sets) if (v.expiresAt <= now) this.sets.delete(k)
    if (members.length === 0) return this.sets.get(key)?.members.size ?? 0
    const set = this.sets.get(key) ?? { members: new Set<string>(), expiresAt: 0 }
    for (const m of members) set.members.add(m)
    set.expiresAt = now + ttlMs
    this.sets.set(key, set)
    return set.members.size
  }

  async takeSet(key: string): Promise<string[]> {
    const set = this.sets.get(key)
    this.sets.delete(key)
    return set && set.expiresAt > this.now() ? [...set.members] : []
  }

  async raiseCounters(
    hashKey: string,
    values: Readonly<Record<string, number>>,
  ): Promise<Record<string, number>> {
    this.dropExpiredHashes()
    const hash = this.hashes.get(hashKey) ?? new Map<string, number>()
    this.hashes.set(hashKey, hash)
    const out: Record<string, number> = {}
    for (const [field, value] of Object.entries(values)) {
      if (!Number.isFinite(value)) continue
      const current = hash.get(field)
      if (current === undefined || value > current) hash.set(field, value)
      out[field] = hash.get(field) ?? value
    }
    return out
  }
}

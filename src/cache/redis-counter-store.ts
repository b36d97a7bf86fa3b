import type { Cluster, Redis } from 'ioredis'
import type { CounterStore, ScoredMember } from './counter-store.ts'

/** CounterStore on Redis (standalone or Cluster): HINCRBY hashes and ZINCRBY sorted sets, pipelined. */
export class RedisCounterStore implements CounterStore {
  constructor(private readonly client: Redis | Cluster) {}

  async incrementCounters(hashKey: string, counts: Readonly<Record<string, number>>): Promise<void> {
    const pipeline = this.client.pipeline()
    for (const [field, by] of Object.entries(counts)) if (by !== 0) pipeline.hincrby(hashKey, field, by)
    if (pipeline.length > 0) await pipeline.exec()
  }

  async getCounters(hashKey: string): Promise<Record<string, number>> {
    const raw = await this.client.hgetall(hashKey)
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v)]))
  }

  async incrementScores(key: string, scores: ReadonlyMap<string, number>, ttlMs: number): Promise<void> {
    if (scores.size === 0) return
    const pipeline = this.client.pipeline()
    for (const [member, by] of scores) pipeline.zincrby(key, by, member)
    pipeline.pexpire(key, Math.max(1, Math.ceil(ttlMs)))
    await pipeline.exec()
  }

  async topScores(keys: readonly string[], count: number): Promise<ScoredMember[]> {
    if (keys.length === 0 || count <= 0) return []
    // ZUNION (no LIMIT option) answers ascending; the window's member count is the number of distinct dashboard
    // reads, small enough to take the tail here.
    const flat = await this.client.zunion(keys.length, ...keys, 'AGGREGATE', 'SUM', 'WITHSCORES')
    const out: ScoredMember[] = []
    for (let i = flat.length - 2; i >= 0 && out.length < count; i -= 2)
      out.push({ member: String(flat[i]), score: Number(flat[i + 1]) })
    return out
  }
}

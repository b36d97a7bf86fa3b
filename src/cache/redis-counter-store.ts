import { randomUUID } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import type { CounterStore, ScoredMember } from './counter-store.ts'

/**
 * A key in the same Cluster slot as `key`: Redis hashes only the first non-empty `{…}` of a key, so a suffix keeps a
 * tagged key's slot, and an untagged key becomes the tag of the new one.
 */
export function sameSlotKey(key: string, suffix: string): string {
  const open = key.indexOf('{')
  const close = open < 0 ? -1 : key.indexOf('}', open + 1)
  return close > open + 1 ? `${key}${suffix}` : `{${key}}${suffix}`
}

/** CounterStore on Redis (standalone or Cluster): HINCRBY hashes and ZINCRBY sorted sets, pipelined. */
export class RedisCounterStore implements CounterStore {
  constructor(private readonly client: Redis | Cluster) {}

  async incrementCounters(
    hashKey: string,
    counts: Readonly<Record<string, number>>,
    ttlMs?: number,
  ): Promise<void> {
    const pipeline = this.client.pipeline()
    for (const [field, by] of Object.entries(counts)) if (by !== 0) pipeline.hincrby(hashKey, field, by)
    if (pipeline.length === 0) return
    if (ttlMs !== undefined) pipeline.pexpire(hashKey, Math.max(1, Math.ceil(ttlMs)))
    await pipeline.exec()
  }

  async getCounters(hashKey: string): Promise<Record<string, number>> {
    const raw = await this.client.hgetall(hashKey)
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v)]))
  }

  async incrementScores(
    key: string,
    scores: ReadonlyMap<string, number>,
    options: { ttlMs: number; keepTop: number },
  ): Promise<void> {
    if (scores.size === 0) return
    const pipeline = this.client.pipeline()
    for (const [member, by] of scores) pipeline.zincrby(key, by, member)
    // Pruned in the same round trip: the set never holds more than keepTop members plus one flush's new ones.
    pipeline.zremrangebyrank(key, 0, -(Math.max(1, options.keepTop) + 1))
    pipeline.pexpire(key, Math.max(1, Math.ceil(options.ttlMs)))
    await pipeline.exec()
  }

  async topScores(keys: readonly string[], count: number): Promise<ScoredMember[]> {
    if (keys.length === 0 || count <= 0) return []
    const [first] = keys
    if (first === undefined) return []
    // The union is summed on the server into a short-lived key of the same slot and only `count` members come back:
    // ZUNION has no LIMIT, and the window's buckets hold up to keepTop members each.
    const scratch = sameSlotKey(first, `:top:${randomUUID()}`)
    const replies = await this.client
      .multi()
      .zunionstore(scratch, keys.length, ...keys, 'AGGREGATE', 'SUM')
      .zrange(scratch, 0, String(count - 1), 'REV', 'WITHSCORES')
      .del(scratch)
      .exec()
    const [, ranged] = replies ?? []
    if (!ranged || ranged[0]) throw ranged?.[0] ?? new Error('popularity union was aborted')
    const flat: unknown[] = Array.isArray(ranged[1]) ? ranged[1] : []
    const out: ScoredMember[] = []
    for (let i = 0; i + 1 < flat.length; i += 2)
      out.push({ member: String(flat[i]), score: Number(flat[i + 1]) })
    return out
  }

  async pushRecent(key: string, item: string, keep: number): Promise<void> {
    // MULTI: no reader ever sees the list longer than `keep`, and a failed trim cannot leave it growing.
    const replies = await this.client
      .multi()
      .lpush(key, item)
      .ltrim(key, 0, Math.max(1, keep) - 1)
      .exec()
    const failed = replies?.find(([err]) => err)
    if (!replies || failed) throw failed?.[0] ?? new Error('recent list write was aborted')
  }

  async recent(key: string, count: number): Promise<string[]> {
    if (count <= 0) return []
    return this.client.lrange(key, 0, count - 1)
  }
}

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

// CounterStore.raiseCounters: each field set to its value only when that is larger than what the field holds (or it
// holds nothing, or something that is not a number); answers the fields' values after, as stored. One key: Cluster-safe.
const RAISE_COUNTERS = `
local out = {}
for i = 1, #ARGV, 2 do
  local current = redis.call('HGET', KEYS[1], ARGV[i])
  local n = tonumber(current)
  if n == nil or tonumber(ARGV[i + 1]) > n then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    current = ARGV[i + 1]
  end
  out[#out + 1] = current
end
return out`

type ScriptClient = (Redis | Cluster) & {
  acpRaiseCounters(key: string, ...fieldsAndValues: string[]): Promise<string[]>
}

/** CounterStore on Redis (standalone or Cluster): HINCRBY hashes and ZINCRBY sorted sets, pipelined. */
export class RedisCounterStore implements CounterStore {
  private readonly client: ScriptClient

  constructor(client: Redis | Cluster) {
    // EVALSHA, falling back to EVAL once per connection (see RedisCacheStore).
    if (!('acpRaiseCounters' in client))
      client.defineCommand('acpRaiseCounters', { numberOfKeys: 1, lua: RAISE_COUNTERS })
    this.client = client as ScriptClient
  }

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

  async addToSet(key: string, members: readonly string[], ttlMs: number): Promise<number> {
    if (members.length === 0) return this.client.scard(key)
    const replies = await this.client
      .multi()
      .sadd(key, ...members)
      .pexpire(key, Math.max(1, Math.ceil(ttlMs)))
      .scard(key)
      .exec()
    const failed = replies?.find(([err]) => err)
    if (!replies || failed) throw failed?.[0] ?? new Error('set write was aborted')
    return Number(replies[2]?.[1])
  }

  async takeSet(key: string): Promise<string[]> {
    // MULTI: a member added between the read and the delete would otherwise be deleted unread.
    const replies = await this.client.multi().smembers(key).del(key).exec()
    const failed = replies?.find(([err]) => err)
    if (!replies || failed) throw failed?.[0] ?? new Error('set take was aborted')
    const members = replies[0]?.[1]
    return Array.isArray(members) ? members.map(String) : []
  }

  async raiseCounters(
    hashKey: string,
    values: Readonly<Record<string, number>>,
  ): Promise<Record<string, number>> {
    const entries = Object.entries(values).filter(([, v]) => Number.isFinite(v))
    if (entries.length === 0) return {}
    const after = await this.client.acpRaiseCounters(
      hashKey,
      ...entries.flatMap(([field, v]) => [field, String(v)]),
    )
    return Object.fromEntries(entries.map(([field], i) => [field, Number(after[i])]))
  }
}

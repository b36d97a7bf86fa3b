import type { Cluster, Redis } from 'ioredis'
import type { CacheStore, ScoredMember } from './cache-store.ts'
import type { InvalidationMode } from './generations.ts'

// Compare-and-set / compare-and-delete must be atomic: a lease released by a slow owner after it expired must not
// delete the next owner's lease. Lua scripts run atomically on the server (one key each, so Cluster-safe).
const REPLACE_IF_EQUALS = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 end return 0`
const DELETE_IF_EQUALS = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`

// The steps of generations.ts `applyBump`, atomically over every hash of one invalidation, stamped with the Redis
// server's clock so that stamps from different processes are comparable (no client clock skew). All generation
// hashes share one hash tag, so a multi-query invalidation is a single-slot script on Cluster too.
const BUMP_GENERATIONS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local field = ARGV[1] == 'delete' and 'd' or 'e'
local entry = ARGV[2]
local out = {}
for i, key in ipairs(KEYS) do
  local stamp = math.max(now, (tonumber(redis.call('HGET', key, 's') or '0') or 0) + 1)
  local s = string.format('%d', stamp)
  if entry ~= '' then
    redis.call('HSET', key, field .. ':' .. entry, s)
  else
    for _, f in ipairs(redis.call('HKEYS', key)) do
      local p = string.sub(f, 1, 2)
      if p == 'e:' or (field == 'd' and p == 'd:') then redis.call('HDEL', key, f) end
    end
    redis.call('HSET', key, field, s)
  end
  redis.call('HSET', key, 's', s)
  out[i] = s
end
return out`

type ScriptClient = (Redis | Cluster) & {
  acpReplaceIfEquals(key: string, expected: Buffer, value: Buffer, ttlMs: number): Promise<number>
  acpDeleteIfEquals(key: string, expected: Buffer): Promise<number>
  acpBumpGenerations(numKeys: number, ...args: string[]): Promise<string[]>
}

/** CacheStore on Redis (standalone or Cluster). Values are binary-safe Buffers; expiry is Redis's own PX. */
export class RedisCacheStore implements CacheStore {
  readonly kind = 'redis'
  private readonly client: ScriptClient
  private readonly cluster: boolean

  constructor(client: Redis | Cluster) {
    // defineCommand sends EVALSHA and falls back to EVAL once per connection: no script text on every call.
    if (!('acpReplaceIfEquals' in client)) {
      client.defineCommand('acpReplaceIfEquals', { numberOfKeys: 1, lua: REPLACE_IF_EQUALS })
      client.defineCommand('acpDeleteIfEquals', { numberOfKeys: 1, lua: DELETE_IF_EQUALS })
      client.defineCommand('acpBumpGenerations', { lua: BUMP_GENERATIONS })
    }
    this.client = client as ScriptClient
    this.cluster = client.isCluster
  }

  get(key: string): Promise<Buffer | null> {
    return this.client.getBuffer(key)
  }

  async getMany(keys: readonly string[]): Promise<Array<Buffer | null>> {
    if (keys.length === 0) return []
    // MGET and explicit pipelines fail across Cluster slots; there, separate GETs are auto-pipelined per node.
    if (this.cluster) return Promise.all(keys.map((k) => this.client.getBuffer(k)))
    const pipeline = this.client.pipeline()
    for (const key of keys) pipeline.getBuffer(key)
    const replies = (await pipeline.exec()) ?? []
    return replies.map(([err, value]) => {
      if (err) throw err
      return (value as Buffer | null) ?? null
    })
  }

  async set(key: string, value: Buffer, ttlMs: number): Promise<void> {
    await this.client.set(key, value, 'PX', Math.max(1, Math.ceil(ttlMs)))
  }

  async setIfAbsent(key: string, value: Buffer, ttlMs: number): Promise<boolean> {
    return (await this.client.set(key, value, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX')) === 'OK'
  }

  async replaceIfEquals(key: string, expected: Buffer, value: Buffer, ttlMs: number): Promise<boolean> {
    return (await this.client.acpReplaceIfEquals(key, expected, value, Math.max(1, Math.ceil(ttlMs)))) === 1
  }

  async deleteIfEquals(key: string, expected: Buffer): Promise<boolean> {
    return (await this.client.acpDeleteIfEquals(key, expected)) === 1
  }

  async delete(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0
    if (this.cluster)
      return (await Promise.all(keys.map((k) => this.client.del(k)))).reduce((a, b) => a + b, 0)
    const pipeline = this.client.pipeline()
    for (const key of keys) pipeline.del(key)
    const replies = (await pipeline.exec()) ?? []
    return replies.reduce((n, [err, count]) => (err ? n : n + Number(count)), 0)
  }

  async getWithFields(
    key: string,
    hashKey: string,
    fields: readonly string[],
  ): Promise<{ value: Buffer | null; fields: Array<string | null> }> {
    // Issued in the same tick: auto-pipelining sends both in one write, so this is one round trip. Promise.all, not
    // two awaits: when Redis is down both reject, and a second promise nobody awaits would be an unhandled rejection.
    const [value, values] = await Promise.all([
      this.client.getBuffer(key),
      this.client.hmget(hashKey, ...fields),
    ])
    return { value, fields: values }
  }

  getFields(hashKey: string, fields: readonly string[]): Promise<Array<string | null>> {
    return this.client.hmget(hashKey, ...fields)
  }

  async bumpGenerations(
    hashKeys: readonly string[],
    mode: InvalidationMode,
    entryId?: string,
  ): Promise<number[]> {
    if (hashKeys.length === 0) return []
    const stamps = await this.client.acpBumpGenerations(hashKeys.length, ...hashKeys, mode, entryId ?? '')
    return stamps.map(Number)
  }

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
      out.push({ member: flat[i] as string, score: Number(flat[i + 1]) })
    return out
  }

  async ping(): Promise<void> {
    await this.client.ping()
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect())
  }
}

import type { Cluster, Redis } from 'ioredis'
import type { CacheStore } from './cache-store.ts'

// Compare-and-set / compare-and-delete must be atomic: a lease released by a slow owner after it expired must not
// delete the next owner's lease. Lua scripts run atomically on the server (one key each, so Cluster-safe).
const REPLACE_IF_EQUALS = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 end return 0`
const DELETE_IF_EQUALS = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`

type ScriptClient = (Redis | Cluster) & {
  acpReplaceIfEquals(key: string, expected: Buffer, value: Buffer, ttlMs: number): Promise<number>
  acpDeleteIfEquals(key: string, expected: Buffer): Promise<number>
}

/** CacheStore on Redis (standalone or Cluster). Values are binary-safe Buffers; expiry is Redis's own PX. */
export class RedisCacheStore implements CacheStore {
  readonly kind = 'redis'
  private readonly client: ScriptClient

  constructor(client: Redis | Cluster) {
    // defineCommand sends EVALSHA and falls back to EVAL once per connection: no script text on every call.
    if (!('acpReplaceIfEquals' in client)) {
      client.defineCommand('acpReplaceIfEquals', { numberOfKeys: 1, lua: REPLACE_IF_EQUALS })
      client.defineCommand('acpDeleteIfEquals', { numberOfKeys: 1, lua: DELETE_IF_EQUALS })
    }
    this.client = client as ScriptClient
  }

  get(key: string): Promise<Buffer | null> {
    return this.client.getBuffer(key)
  }

  async getMany(keys: readonly string[]): Promise<Array<Buffer | null>> {
    if (keys.length === 0) return []
    // MGET would fail across Cluster slots; a pipeline of GETs is one round trip on both topologies.
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
    const pipeline = this.client.pipeline()
    for (const key of keys) pipeline.del(key)
    const replies = (await pipeline.exec()) ?? []
    return replies.reduce((n, [err, count]) => (err ? n : n + Number(count)), 0)
  }

  async ping(): Promise<void> {
    await this.client.ping()
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect())
  }
}

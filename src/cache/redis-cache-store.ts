import type { Cluster, Redis } from 'ioredis'
import type { CacheStore } from './cache-store.ts'

/** CacheStore on Redis (standalone or Cluster). Values are binary-safe Buffers; expiry is Redis's own PX. */
export class RedisCacheStore implements CacheStore {
  readonly kind = 'redis'

  constructor(private readonly client: Redis | Cluster) {}

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

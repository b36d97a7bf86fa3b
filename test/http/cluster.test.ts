import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectRedis } from '../../src/build-deps.ts'
import { RedisCacheStore } from '../../src/cache/redis-cache-store.ts'
import { createLogger } from '../../src/logger.ts'
import { spawnRedisCluster } from '../helpers/redis-server.ts'
import { type Stack, startStack } from '../helpers/stack.ts'

const ADMIN = 'cluster-admin-key'
const Q = '/analytics?measure=pageviews&start=2024-01-01'

/**
 * The whole service on the Redis Cluster protocol (what ElastiCache Serverless speaks): every multi-key operation
 * must stay within one slot, or Redis answers CROSSSLOT.
 */
describe('on a Redis Cluster', () => {
  let s: Stack
  let cluster: Awaited<ReturnType<typeof spawnRedisCluster>>
  let client: Awaited<ReturnType<typeof connectRedis>>
  beforeAll(async () => {
    cluster = await spawnRedisCluster()
    if (!cluster) throw new Error('redis-server is needed for the Cluster run')
    client = await connectRedis(cluster.url, 1_000, createLogger({ level: 'silent', sync: true }), true)
    s = await startStack({ env: { ADMIN_API_KEYS: ADMIN }, wrapStore: () => new RedisCacheStore(client) })
  })
  afterAll(async () => {
    await s.close()
    client.disconnect()
    await cluster?.stop()
  })

  const admin = (path: string, body?: unknown) =>
    s.app.request(path, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'x-api-key': ADMIN },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    })

  it('reads, invalidates every form, prewarms and counts without a CROSSSLOT error', async () => {
    expect((await s.app.request(Q)).headers.get('x-cache')).toBe('MISS')
    expect((await s.app.request(Q)).headers.get('x-cache')).toBe('HIT')
    for (const body of [
      { query: 'analytics', parameters: { measure: 'pageviews', start: '2024-01-01' } },
      { query: 'analytics' },
      { tags: ['analytics'] },
      { all: true },
    ]) {
      const res = await admin('/cache/invalidate', body)
      expect(res.status, JSON.stringify(body)).toBe(200)
    }
    expect((await s.app.request(Q)).headers.get('x-cache')).toBe('STALE')
    const prewarm = await admin('/admin/prewarm', {})
    expect(prewarm.status).toBe(200)
    expect(((await prewarm.json()) as { failed: number; refreshed: number }).failed).toBe(0)
    const stats = (await (await admin('/admin/stats')).json()) as { hits: number; topQueries: unknown[] }
    expect(stats.hits).toBeGreaterThanOrEqual(1)
    expect(stats.topQueries.length).toBeGreaterThan(0)
    expect(s.deps.store.status().state).toBe('closed')
  })
})

import { afterAll, describe, expect, it } from 'vitest'
import { CacheKeys } from '../../src/cache/cache-key.ts'
import type { CounterStore } from '../../src/cache/counter-store.ts'
import { MemoryCounterStore } from '../../src/cache/memory-counter-store.ts'
import { RedisCounterStore } from '../../src/cache/redis-counter-store.ts'
import { createLogger } from '../../src/logger.ts'
import { popularityKeep, UsageRecorder } from '../../src/service/usage.ts'
import { testRedis } from '../helpers/redis-client.ts'
import { startStack } from '../helpers/stack.ts'

const logger = createLogger({ level: 'silent', sync: true })
const HOUR = 3_600_000

const redis = await testRedis()
afterAll(async () => {
  await redis.cleanup()
})

/** A recorder on a fixed clock, flushing only when asked (as on Lambda). */
function recorder(store: CounterStore, prefix: string, options: { keep: number; maxPending?: number }) {
  const keys = new CacheKeys(prefix)
  const usage = new UsageRecorder(store, keys, {
    bucketMs: HOUR,
    retainMs: 24 * HOUR,
    keepPerBucket: options.keep,
    ...(options.maxPending !== undefined ? { maxPendingMembers: options.maxPending } : {}),
    flushIntervalMs: 0,
    logger,
    now: () => Date.UTC(2026, 0, 1, 12, 30),
  })
  return { usage, keys }
}

describe('popularity stays what prewarm can use', () => {
  it('keeps max(10 × topN, 1000) members per bucket', () => {
    expect(popularityKeep(20)).toBe(1_000)
    expect(popularityKeep(500)).toBe(5_000)
  })

  it.each([
    ['memory', () => ({ store: new MemoryCounterStore() as CounterStore, prefix: 'mem' })],
    [
      'redis',
      () => ({ store: new RedisCounterStore(redis.redis) as CounterStore, prefix: `${redis.prefix}:u` }),
    ],
  ])(
    '%s: 20,000 members read once leave keepTop in the store, and top() still finds the most read',
    async (_n, make) => {
      const { store, prefix } = make()
      const { usage, keys } = recorder(store, prefix, { keep: 200 })
      for (let round = 0; round < 4; round++) {
        for (let i = 0; i < 5_000; i++) usage.read(`q?{"i":${round * 5_000 + i}}`, 'HIT', 0)
        for (let r = 0; r < 3 + round; r++) usage.read('q?{"popular":1}', 'HIT', 0)
        for (let r = 0; r < 2; r++) usage.read('q?{"popular":2}', 'MISS', 0)
        await usage.flush()
      }
      const top = await usage.top(3, 24 * HOUR)
      expect(top.slice(0, 2)).toEqual([
        { query: 'q', parameters: { popular: 1 }, reads: 3 + 4 + 5 + 6 },
        { query: 'q', parameters: { popular: 2 }, reads: 8 },
      ])
      const bucket = keys.popularity(Math.floor(Date.UTC(2026, 0, 1, 12, 30) / HOUR))
      // Everything the store holds for the bucket, read back through the port: no more than keepTop.
      expect(await store.topScores([bucket], 100_000)).toHaveLength(200)
      await usage.close()
    },
  )

  it('holds at most maxPendingMembers distinct members between flushes, flushing early', async () => {
    const store = new RedisCounterStore(redis.redis)
    const { usage, keys } = recorder(store, `${redis.prefix}:p`, { keep: 1_000, maxPending: 1_000 })
    // 50,000 distinct members in one burst: one early flush, the rest dropped while it is written.
    for (let i = 0; i < 50_000; i++) usage.read(`q?{"i":${i}}`, 'HIT', 0)
    expect(usage.pendingMemberCount).toBeLessThanOrEqual(1_000)
    // Members already held (the second thousand, taken after the early flush) keep counting.
    usage.read('q?{"i":1500}', 'HIT', 0)
    await usage.close()
    const bucket = keys.popularity(Math.floor(Date.UTC(2026, 0, 1, 12, 30) / HOUR))
    expect(await redis.redis.zcard(bucket)).toBeLessThanOrEqual(1_000)
    const { shared } = await usage.snapshot()
    expect(shared.hits).toBe(50_001) // counters count every read; only popularity is bounded
  })
})

describe('record lifetimes', () => {
  it('run-time history of a key lives as long as its entry; execution records as long as a 202 is polled', async () => {
    const s = await startStack({ env: { QUERY_TIMEOUT_MS: '60000' } })
    try {
      const res = await s.app.request('/analytics?measure=revenue&start=2024-03-02')
      expect(res.status).toBe(200)
      const { meta } = (await res.json()) as { meta: { queryExecutionId: string } }
      const resolved = s.deps.service.resolve('analytics', { measure: 'revenue', start: '2024-03-02' })
      const r = s.redis.redis
      const entryTtl = await r.pttl(resolved.key)
      // analytics: ttl 12 h + stale 24 h + stale-if-error 24 h = 60 h.
      expect(entryTtl).toBeGreaterThan(59 * HOUR)
      expect(entryTtl).toBeLessThanOrEqual(60 * HOUR)
      const keyHistory = await r.pttl(s.deps.keys.runtimeOfKey(resolved.key))
      expect(keyHistory).toBeGreaterThan(59 * HOUR)
      expect(keyHistory).toBeLessThanOrEqual(60 * HOUR)
      // One sample per catalog query: a month.
      expect(await r.pttl(s.deps.keys.runtimeOfQuery('analytics'))).toBeGreaterThan(29 * 24 * HOUR)
      // QUERY_TIMEOUT_MS + 5 minutes, not a day.
      const record = await r.pttl(s.deps.keys.execution(meta.queryExecutionId))
      expect(record).toBeGreaterThan(60_000 + 4 * 60_000)
      expect(record).toBeLessThanOrEqual(60_000 + 5 * 60_000)
    } finally {
      await s.close()
    }
  })
})

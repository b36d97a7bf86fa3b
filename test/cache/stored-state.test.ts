// Everything read back from the store is parsed, and what does not parse is ignored and repaired: leases, stamps,
// run-time history, the prewarm lock and report; damage is logged once per key. Memory store, and the real Redis
// where raw writes are needed (a garbage stamp field).
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CacheKeys } from '../../src/cache/cache-key.ts'
import { DamageReport } from '../../src/cache/damage-report.ts'
import { encodeEntry } from '../../src/cache/entry-codec.ts'
import { parseGenerations } from '../../src/cache/generations.ts'
import { Leases } from '../../src/cache/lease.ts'
import { MemoryCacheStore } from '../../src/cache/memory-cache-store.ts'
import { RedisCacheStore } from '../../src/cache/redis-cache-store.ts'
import { parseCatalog } from '../../src/config/catalog.ts'
import { createLogger } from '../../src/logger.ts'
import type { PrewarmReport } from '../../src/prewarm/prewarm-job.ts'
import { PrewarmState } from '../../src/prewarm/prewarm-state.ts'
import { EntryLookup } from '../../src/service/entry-lookup.ts'
import { RequestResolver } from '../../src/service/request-resolver.ts'
import { RuntimeHistory } from '../../src/service/runtime-history.ts'
import { testRedis } from '../helpers/redis-client.ts'

const silent = createLogger({ level: 'silent', sync: true })
const memory = () => new MemoryCacheStore({ maxBytes: 1 << 20 })
const HOUR = 3_600_000

/** A logger whose lines are kept, to count what was logged. */
function capturingLogger(): { logger: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(...chunk.toString('utf8').split('\n').filter(Boolean))
      done()
    },
  })
  return {
    logger: pino({ level: 'info' }, stream),
    lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>),
  }
}

describe('DamageReport', () => {
  it('logs a damaged key once however often it is read, and stays bounded', () => {
    const { logger, lines } = capturingLogger()
    const damage = new DamageReport(logger)
    const first = Array.from({ length: 10_000 }, () => damage.report('entry', 'k1', 'checksum'))
    expect(first.filter(Boolean)).toHaveLength(1)
    expect(lines()).toEqual([
      expect.objectContaining({ kind: 'entry', key: 'k1', reason: 'checksum', msg: expect.any(String) }),
    ])
    expect(damage.report('lease', 'k1', 'unparsable')).toBe(true) // another kind, another report
    // Bounded: after enough other keys, k1 is forgotten (and would be reported again), not kept forever.
    for (let i = 0; i < 5_000; i++) damage.report('entry', `other-${i}`, 'x')
    expect(damage.report('entry', 'k1', 'checksum')).toBe(true)
  })
})

describe('parseGenerations ignores what is not a stamp', () => {
  it.each([
    ['garbage', 0],
    ['Infinity', 0],
    ['1e300', 0],
    ['-5', 0],
    ['12.5', 0],
    [' 12', 0],
    ['', 0],
    ['1700000000123', 1_700_000_000_123],
  ])('%j → %d', (value, expected) => {
    expect(parseGenerations([value, null, null, null]).expiredAt).toBe(expected)
    expect(parseGenerations([null, null, null, value]).deletedAt).toBe(expected)
  })
})

describe('Leases: a damaged lease holds nobody', () => {
  const key = 'acp:v3:l:abc'
  const options = { startTtlMs: 15_000, runTtlMs: 60_000 }

  it.each([
    ['not JSON', 'garbage'],
    ['JSON of another shape', '{"owner":42}'],
    ['an infinite time', '{"owner":"x","acquiredAt":1e999,"until":1e999}'],
    ['a bad execution id', `{"owner":"x","acquiredAt":1,"until":${Date.now() + HOUR},"executionId":"a\\nb"}`],
    [
      'past its own expiry (stored without a TTL)',
      `{"owner":"x","acquiredAt":1,"until":${Date.now() - 60_000}}`,
    ],
  ])('%s: taken over by compare-and-set, and read as no holder', async (_name, value) => {
    const store = memory()
    const leases = new Leases(store, options)
    await store.set(key, Buffer.from(value), HOUR)
    expect(await leases.read(key)).toBeNull()
    const taken = await leases.acquire(key, 7)
    expect(taken.acquired).toBe(true)
    expect(await leases.read(key)).toMatchObject({ known: 7, until: expect.any(Number) })
    if (taken.acquired) expect(await leases.recordExecution(taken.lease, 'exec-1')).toBe(true)
    expect((await leases.read(key))?.executionId).toBe('exec-1')
  })

  it('a live lease is not taken over', async () => {
    const store = memory()
    const a = new Leases(store, options)
    const first = await a.acquire(key)
    expect(first.acquired).toBe(true)
    const second = await new Leases(store, options).acquire(key)
    expect(second).toMatchObject({ acquired: false, holder: { until: expect.any(Number) } })
  })
})

describe('RuntimeHistory: damaged samples are ignored and removed', () => {
  const keys = new CacheKeys('rt')
  const entryKey = `${keys.root}e:abc`

  it.each(['garbage', '{"ms":1e300}', '{"ms":-1}', '{"ms":"5"}', '[]'])('%s', async (value) => {
    const store = memory()
    const history = new RuntimeHistory(store, keys, silent)
    await store.set(keys.runtimeOfKey(entryKey), Buffer.from(value), HOUR)
    await store.set(keys.runtimeOfQuery('q'), Buffer.from('{"ms":1200,"n":3}'), HOUR)
    expect(await history.expectedMs(entryKey, 'q')).toBe(1200)
    await expect.poll(() => store.get(keys.runtimeOfKey(entryKey))).toBeNull()
    await store.set(keys.runtimeOfQuery('q'), Buffer.from(value), HOUR)
    expect(await history.expectedMs(entryKey, 'q')).toBeUndefined()
    await history.record(entryKey, 'q', 800, HOUR)
    expect(await history.expectedMs(entryKey, 'q')).toBe(800)
  })
})

describe('PrewarmState: a damaged lock or report is ignored and repaired', () => {
  const keys = new CacheKeys('pw')
  const report: PrewarmReport = {
    status: 'completed',
    trigger: 'admin',
    startedAt: '2024-01-01T00:00:00.000Z',
    refreshBefore: '2024-01-01T00:10:00.000Z',
    considered: 1,
    refreshed: 1,
    skippedFresh: 0,
    skippedBudget: 0,
    failed: 0,
    dataScannedBytes: 10,
    durationMs: 5,
    items: [
      {
        query: 'q',
        key: 'k',
        parameters: { a: 1 },
        source: 'configured',
        action: 'refreshed',
        reason: 'missing',
      },
    ],
  }

  it.each([
    ['garbage', 'someone else'],
    ['past its expiry (stored without a TTL)', `{"token":"t","until":${Date.now() - 60_000}}`],
  ])('lock %s: taken over', async (_name, value) => {
    const store = memory()
    const state = new PrewarmState({ store, keys, logger: silent })
    await store.set(keys.prewarmLock, Buffer.from(value), HOUR)
    const lock = await state.lock(60_000, 0)
    expect(lock).not.toBeNull()
    expect(await state.lock(60_000, 0)).toBeNull() // now held, by the run that repaired it
    if (lock) await state.unlock(lock)
    expect(await store.get(keys.prewarmLock)).toBeNull()
  })

  it('a live lock is respected', async () => {
    const store = memory()
    const state = new PrewarmState({ store, keys, logger: silent })
    await store.set(keys.prewarmLock, Buffer.from(`{"token":"t","until":${Date.now() + 60_000}}`), HOUR)
    expect(await state.lock(60_000, 0)).toBeNull()
  })

  it.each(['garbage', '{"status":"completed"}', '[]', 'null'])(
    'report %s: none, and removed',
    async (value) => {
      const store = memory()
      const state = new PrewarmState({ store, keys, logger: silent })
      await store.set(keys.prewarmLast, Buffer.from(value), HOUR)
      expect(await state.lastReport()).toBeNull()
      expect(await store.get(keys.prewarmLast)).toBeNull()
      await state.saveReport(report)
      expect(await state.lastReport()).toEqual(report)
    },
  )
})

describe('EntryLookup on the real Redis: damaged entries and stamps', () => {
  let redis: Awaited<ReturnType<typeof testRedis>>
  let store: RedisCacheStore
  let keys: CacheKeys
  let resolver: RequestResolver
  const catalog = parseCatalog(
    {
      queries: {
        daily: {
          sql: 'SELECT 1 FROM t WHERE d >= :start',
          ttlSeconds: 60,
          parameters: { start: { type: 'date', required: true } },
        },
      },
    },
    'test.yaml',
  )
  beforeAll(async () => {
    redis = await testRedis()
    store = new RedisCacheStore(redis.redis)
    keys = new CacheKeys(redis.prefix)
    resolver = new RequestResolver({ catalog, keys, database: 'db', workgroup: 'wg' })
  })
  afterAll(async () => {
    await redis.cleanup()
  })

  const entry = (known = 0) =>
    encodeEntry(
      {
        kind: 'result',
        computedAt: Date.now(),
        freshUntil: Date.now() + HOUR,
        staleUntil: Date.now() + 2 * HOUR,
        dataScannedBytes: 1,
        engineMs: 1,
        rowCount: 0,
        queryExecutionId: 'exec-1',
        known,
      },
      Buffer.from('{"rows":[]}'),
    )

  it('a damaged entry is absent and removed from the store (compare-and-delete)', async () => {
    const lookup = new EntryLookup({ store, keys, logger: silent })
    const resolved = resolver.resolve('daily', { start: '2024-01-01' })
    await redis.redis.set(resolved.key, entry().subarray(0, 90))
    expect((await lookup.lookup(resolved)).entry).toBeNull()
    await expect.poll(() => redis.redis.exists(resolved.key)).toBe(0)
  })

  it('a garbage stamp field is ignored on the read and re-stamped once', async () => {
    const lookup = new EntryLookup({ store, keys, logger: silent })
    const resolved = resolver.resolve('daily', { start: '2024-01-02' })
    await redis.redis.set(resolved.key, entry())
    const hash = resolved.stamps.hashKey
    await redis.redis.hset(hash, 'e', 'garbage', 's', 'NaN')
    const found = await lookup.lookup(resolved)
    expect(found.entry?.queryExecutionId).toBe('exec-1')
    expect(found.known).toBe(0)
    await expect.poll(async () => /^\d+$/.test((await redis.redis.hget(hash, 'e')) ?? '')).toBe(true)
    expect(await redis.redis.hget(hash, 's')).toMatch(/^\d+$/)
    // The repair is an expire stamp of now: the entry, computed before it, is now stale (never fresh by mistake).
    const after = await lookup.lookup(resolved, { skipL1: true })
    expect(after.entry?.freshUntil).toBe(after.entry?.computedAt)
  })
})

import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { connectRedis } from '../../src/build-deps.ts'
import type { CacheStore } from '../../src/cache/cache-store.ts'
import { CircuitBreaker } from '../../src/cache/circuit-breaker.ts'
import type { CounterStore } from '../../src/cache/counter-store.ts'
import {
  appendRangeRecord,
  generationFields,
  type InvalidationMode,
  parseGenerations,
  parseRangeRecords,
  RANGE_RECORDS,
  type RangeRecord,
  rangeFieldsFrom,
  stampWrite,
  validityOf,
} from '../../src/cache/generations.ts'
import { GuardedCacheStore, GuardedCounterStore } from '../../src/cache/guarded-cache-store.ts'
import { MemoryCacheStore } from '../../src/cache/memory-cache-store.ts'
import { MemoryCounterStore } from '../../src/cache/memory-counter-store.ts'
import { RedisCacheStore } from '../../src/cache/redis-cache-store.ts'
import { RedisCounterStore } from '../../src/cache/redis-counter-store.ts'
import { createLogger } from '../../src/logger.ts'
import { testRedis } from '../helpers/redis-client.ts'
import { spawnRedisCluster } from '../helpers/redis-server.ts'

interface Harness {
  store: CacheStore
  counters: CounterStore
  key(name: string): string
  teardown(): Promise<void>
}

/** An invalidation as the service writes it: the stamp decided by generations.ts, written by the store. */
function bump(
  store: CacheStore,
  hashKeys: string[],
  mode: InvalidationMode,
  target: { entryId?: string; tenant?: string } = {},
): Promise<number[]> {
  const { field, dropPrefixes } = stampWrite(mode, target)
  return store.writeStamp(hashKeys, field, dropPrefixes)
}

/** One contract, every adapter: the behaviour callers rely on must not depend on the backend. */
function contract(name: string, make: () => Promise<Harness>): void {
  describe(`CacheStore contract: ${name}`, () => {
    let h: Harness
    beforeAll(async () => {
      h = await make()
    })
    afterAll(async () => {
      await h.teardown()
    })

    it('returns null for a missing key', async () => {
      expect(await h.store.get(h.key('missing'))).toBeNull()
    })

    it('round-trips arbitrary binary values byte for byte', async () => {
      const value = Buffer.concat([Buffer.from([0, 255, 0x1f, 0x8b, 10, 13]), randomBytes(64 * 1024)])
      await h.store.set(h.key('bin'), value, 60_000)
      const got = await h.store.get(h.key('bin'))
      expect(got).not.toBeNull()
      expect(Buffer.compare(got as Buffer, value)).toBe(0)
    })

    it('large values (Redis writes them in slices) round-trip, keep their TTL, and setIfAbsent keeps the first', async () => {
      const big = randomBytes(3 * 1024 * 1024 + 17)
      await h.store.set(h.key('big'), big, 60_000)
      expect(Buffer.compare((await h.store.get(h.key('big'))) as Buffer, big)).toBe(0)
      const other = randomBytes(2 * 1024 * 1024 + 5)
      expect(await h.store.setIfAbsent(h.key('big'), other, 60_000)).toBe(false)
      expect(Buffer.compare((await h.store.get(h.key('big'))) as Buffer, big)).toBe(0)
      expect(await h.store.setIfAbsent(h.key('big-nx'), other, 150)).toBe(true)
      expect(Buffer.compare((await h.store.get(h.key('big-nx'))) as Buffer, other)).toBe(0)
      await new Promise((r) => setTimeout(r, 250))
      expect(await h.store.get(h.key('big-nx'))).toBeNull()
      // Nothing is left behind under the slices' own key.
      expect(await h.store.get(`{${h.key('big')}}:partial`)).toBeNull()
    })

    it('overwrites a value', async () => {
      await h.store.set(h.key('ow'), Buffer.from('one'), 60_000)
      await h.store.set(h.key('ow'), Buffer.from('two'), 60_000)
      expect((await h.store.get(h.key('ow')))?.toString()).toBe('two')
    })

    it('expires values after their TTL', async () => {
      await h.store.set(h.key('ttl'), Buffer.from('x'), 120)
      expect((await h.store.get(h.key('ttl')))?.toString()).toBe('x')
      await new Promise((r) => setTimeout(r, 250))
      expect(await h.store.get(h.key('ttl'))).toBeNull()
    })

    it('delete removes keys and counts only existing ones', async () => {
      await h.store.set(h.key('d1'), Buffer.from('a'), 60_000)
      await h.store.set(h.key('d2'), Buffer.from('b'), 60_000)
      expect(await h.store.delete([h.key('d1'), h.key('d2'), h.key('d3')])).toBe(2)
      expect(await h.store.get(h.key('d1'))).toBeNull()
      expect(await h.store.delete([])).toBe(0)
    })

    it('setIfAbsent stores only once until the key expires', async () => {
      expect(await h.store.setIfAbsent(h.key('nx'), Buffer.from('first'), 150)).toBe(true)
      expect(await h.store.setIfAbsent(h.key('nx'), Buffer.from('second'), 150)).toBe(false)
      expect((await h.store.get(h.key('nx')))?.toString()).toBe('first')
      await new Promise((r) => setTimeout(r, 250))
      expect(await h.store.setIfAbsent(h.key('nx'), Buffer.from('third'), 60_000)).toBe(true)
    })

    it('replaceIfEquals and deleteIfEquals act only on the expected value', async () => {
      await h.store.set(h.key('cas'), Buffer.from('owner-a'), 60_000)
      expect(
        await h.store.replaceIfEquals(h.key('cas'), Buffer.from('owner-b'), Buffer.from('x'), 60_000),
      ).toBe(false)
      expect(
        await h.store.replaceIfEquals(h.key('cas'), Buffer.from('owner-a'), Buffer.from('owner-a2'), 60_000),
      ).toBe(true)
      expect((await h.store.get(h.key('cas')))?.toString()).toBe('owner-a2')
      expect(await h.store.deleteIfEquals(h.key('cas'), Buffer.from('owner-a'))).toBe(false)
      expect(await h.store.get(h.key('cas'))).not.toBeNull()
      expect(await h.store.deleteIfEquals(h.key('cas'), Buffer.from('owner-a2'))).toBe(true)
      expect(await h.store.get(h.key('cas'))).toBeNull()
      expect(await h.store.deleteIfEquals(h.key('cas'), Buffer.from('owner-a2'))).toBe(false)
      expect(
        await h.store.replaceIfEquals(h.key('cas'), Buffer.from('owner-a2'), Buffer.from('y'), 60_000),
      ).toBe(false)
    })

    it('getWithStamps reads a value and stamp fields together; absent ones are null', async () => {
      await h.store.set(h.key('gv'), Buffer.from('entry'), 60_000)
      const [stamp] = await bump(h.store, [h.key('g1')], 'expire')
      const got = await h.store.getWithStamps(h.key('gv'), h.key('g1'), generationFields('abc'))
      expect(got.value?.toString()).toBe('entry')
      expect(got.stamps).toEqual([String(stamp), null, null, null])
      const none = await h.store.getWithStamps(h.key('absent'), h.key('g-absent'), ['e', 'd'])
      expect(none).toEqual({ value: null, stamps: [null, null] })
    })

    it('writeStamp: the stamp is at least the clock and strictly increasing per hash', async () => {
      const before = Date.now()
      const stamps: number[] = []
      for (let i = 0; i < 5; i++) stamps.push(...(await h.store.writeStamp([h.key('{g}:mono')], 'x', [])))
      // The store's clock (Redis TIME on this machine, the process clock for memory) is this machine's clock.
      expect(stamps[0]).toBeGreaterThanOrEqual(before - 1_000)
      for (let i = 1; i < stamps.length; i++) expect(stamps[i]).toBeGreaterThan(stamps[i - 1] as number)
      expect(await h.store.getStamps(h.key('{g}:mono'), ['x', 's'])).toEqual([
        String(stamps[4]),
        String(stamps[4]),
      ])
    })

    it('invalidation stamps: strictly increasing stamps, per entry or per query, atomically over several hashes', async () => {
      // Keys of one multi-key call share a hash tag (one Cluster slot), as the service's do.
      const [g1, g2] = [h.key('{g}:a'), h.key('{g}:b')]
      const [a] = await bump(h.store, [g1], 'expire', { entryId: 'entry1' })
      const [b] = await bump(h.store, [g1], 'delete', { entryId: 'entry1' })
      expect(b).toBeGreaterThan(a as number)
      expect(parseGenerations(await h.store.getStamps(g1, generationFields('entry1')))).toEqual({
        expiredAt: a,
        deletedAt: b,
        latest: b,
      })
      // Another entry of the query is untouched.
      expect(parseGenerations(await h.store.getStamps(g1, generationFields('entry2'))).latest).toBe(0)
      // A query-wide expire supersedes per-entry expire stamps (dropped) but keeps per-entry deletes.
      const [c, d] = await bump(h.store, [g1, g2], 'expire')
      expect(c).toBeGreaterThan(b as number)
      expect(d).toBeGreaterThan(0)
      expect(await h.store.getStamps(g1, ['e', 'e:entry1', 'd:entry1'])).toEqual([String(c), null, String(b)])
      expect(await h.store.getStamps(g2, ['e'])).toEqual([String(d)])
      // A query-wide delete drops every per-entry stamp.
      const [e] = await bump(h.store, [g1], 'delete')
      expect(await h.store.getStamps(g1, ['d', 'd:entry1', 'e'])).toEqual([String(e), null, String(c)])
      expect(
        validityOf(a as number, parseGenerations(await h.store.getStamps(g1, generationFields('entry1')))),
      ).toBe('deleted')
      expect(
        validityOf(e as number, parseGenerations(await h.store.getStamps(g1, generationFields('x')))),
      ).toBe('valid')
    })

    it('tenant stamps reach only that tenant’s entries; a query-wide stamp supersedes them', async () => {
      const g = h.key('{g}:t')
      const [t1] = await bump(h.store, [g], 'expire', { tenant: 'acme' })
      const read = async (entryId: string, tenant?: string) =>
        parseGenerations(await h.store.getStamps(g, generationFields(entryId, tenant)))
      expect(await read('x', 'acme')).toEqual({ expiredAt: t1, deletedAt: 0, latest: t1 })
      expect((await read('y', 'globex')).latest).toBe(0)
      expect((await read('z')).latest).toBe(0)
      const [t2] = await bump(h.store, [g], 'delete', { tenant: 'globex' })
      expect(validityOf(t1 as number, await read('y', 'globex'))).toBe('deleted')
      expect(validityOf(t1 as number, await read('x', 'acme'))).toBe('valid')
      // A query-wide expire drops the tenants' expires, keeps their deletes; a query-wide delete drops both.
      const [q] = await bump(h.store, [g], 'expire')
      expect(await h.store.getStamps(g, ['e', 'te:acme', 'td:globex'])).toEqual([String(q), null, String(t2)])
      const [r] = await bump(h.store, [g], 'delete')
      expect(await h.store.getStamps(g, ['d', 'td:globex', 'e'])).toEqual([String(r), null, String(q)])
    })

    it('range stamps: records appended per field, only overlapping entries invalidated, the oldest merged past the cap', async () => {
      const g = h.key('{g}:r')
      const DAY = 86_400_000
      const span = (from: number, to: number) => ({ startMs: from * DAY, endMs: to * DAY })
      const write = (mode: InvalidationMode, s: { startMs: number; endMs: number }, tenant?: string) => {
        const w = stampWrite(mode, { span: s, ...(tenant ? { tenant } : {}) })
        return h.store.writeStamp([g], w.field, w.dropPrefixes, w.span)
      }
      /** An entry over days [from, to) of this query, as the resolver lays out its fields. */
      const read = async (from: number, to: number, tenant?: string) =>
        parseGenerations(await h.store.getStamps(g, generationFields('x', tenant, true)), {
          ...span(from, to),
          recordsFrom: rangeFieldsFrom(tenant),
        })
      const [a] = await write('expire', span(10, 11))
      const [b] = await write('delete', span(20, 22))
      expect(await read(0, 10)).toEqual({ expiredAt: 0, deletedAt: 0, latest: b })
      expect(await read(5, 11)).toEqual({ expiredAt: a, deletedAt: 0, latest: b })
      expect(await read(21, 40)).toEqual({ expiredAt: 0, deletedAt: b, latest: b })
      expect(await h.store.getStamps(g, ['re', 'rd'])).toEqual([
        `${10 * DAY},${11 * DAY},${a}`,
        `${20 * DAY},${22 * DAY},${b}`,
      ])
      // A tenant's range reaches only that tenant's entries.
      const [t] = await write('expire', span(0, 100), 'acme')
      expect((await read(0, 5, 'acme')).expiredAt).toBe(t)
      expect((await read(0, 5, 'globex')).expiredAt).toBe(0)
      expect((await read(0, 5)).expiredAt).toBe(0)
      // Past RANGE_RECORDS records the two oldest are merged, exactly as appendRangeRecord models it.
      let model = parseRangeRecords((await h.store.getStamps(g, ['re']))[0]) as RangeRecord[]
      for (let i = 0; i < RANGE_RECORDS + 5; i++) {
        const s = span(100 + 2 * i, 101 + 2 * i)
        const [stamp] = await write('expire', s)
        model = appendRangeRecord(model, { ...s, stamp: stamp as number })
      }
      const stored = parseRangeRecords((await h.store.getStamps(g, ['re']))[0]) as RangeRecord[]
      expect(stored).toHaveLength(RANGE_RECORDS)
      expect(stored).toEqual(model)
      // Merging only widens: the first records now cover days 10 … 111 with the newer stamp.
      expect(stored[0]?.startMs).toBe(10 * DAY)
      // A query-wide expire drops the expire records and keeps the delete records.
      const [q] = await bump(h.store, [g], 'expire')
      expect(await h.store.getStamps(g, ['re', 'e', 'tre:acme'])).toEqual([null, String(q), null])
      expect((await read(21, 22)).deletedAt).toBe(b)
      // A plain stamp in a record field (a repair) stands for all time; garbage is replaced by the new record.
      await h.store.writeStamp([g], 're', [])
      const [after] = await write('expire', span(1, 2))
      const repaired = parseRangeRecords((await h.store.getStamps(g, ['re']))[0]) as RangeRecord[]
      expect(repaired).toHaveLength(2)
      expect(repaired[0]?.startMs).toBe(0)
      expect(repaired[1]).toEqual({ ...span(1, 2), stamp: after })
    })

    it('counters add up and read back', async () => {
      await h.counters.incrementCounters(h.key('c'), { hits: 2, misses: 1, zero: 0 })
      await h.counters.incrementCounters(h.key('c'), { hits: 3 })
      expect(await h.counters.getCounters(h.key('c'))).toEqual({ hits: 5, misses: 1 })
      expect(await h.counters.getCounters(h.key('c-absent'))).toEqual({})
    })

    const keep = { ttlMs: 60_000, keepTop: 100 }

    it('topScores sums scores over sorted sets and answers the highest first', async () => {
      await h.counters.incrementScores(
        h.key('{p}:1'),
        new Map([
          ['a', 3],
          ['b', 1],
        ]),
        keep,
      )
      await h.counters.incrementScores(
        h.key('{p}:2'),
        new Map([
          ['b', 5],
          ['c', 2],
        ]),
        keep,
      )
      await h.counters.incrementScores(h.key('{p}:2'), new Map([['c', 2]]), keep)
      expect(await h.counters.topScores([h.key('{p}:1'), h.key('{p}:2'), h.key('{p}:absent')], 2)).toEqual([
        { member: 'b', score: 6 },
        { member: 'c', score: 4 },
      ])
      expect(await h.counters.topScores([h.key('{p}:1')], 10)).toEqual([
        { member: 'a', score: 3 },
        { member: 'b', score: 1 },
      ])
      expect(await h.counters.topScores([], 10)).toEqual([])
      // An untagged single key works too (its scratch union lands in its own slot).
      expect(await h.counters.topScores([h.key('untagged')], 10)).toEqual([])
    })

    it('a sorted set keeps only its keepTop highest members, flush after flush, and top stays right', async () => {
      const key = h.key('{p}:prune')
      const options = { ttlMs: 60_000, keepTop: 50 }
      // Ten heavy members, read in every flush, among 5,000 members read once each.
      const heavy = Array.from({ length: 10 }, (_, i) => `heavy-${i}`)
      for (let flush = 0; flush < 5; flush++) {
        const scores = new Map<string, number>()
        for (const [i, member] of heavy.entries()) scores.set(member, 10 + i)
        for (let j = 0; j < 1_000; j++) scores.set(`once-${flush}-${j}`, 1)
        await h.counters.incrementScores(key, scores, options)
      }
      const all = await h.counters.topScores([key], 10_000)
      expect(all).toHaveLength(50)
      expect(all.slice(0, 10)).toEqual(heavy.map((member, i) => ({ member, score: 5 * (10 + i) })).reverse())
      // What survives beside them are single reads: the lowest scores went first.
      for (const m of all.slice(10)) expect(m.score).toBe(1)
      expect(await h.counters.topScores([key], 3)).toEqual(all.slice(0, 3))
      // Summing over buckets still ranks by the total.
      await h.counters.incrementScores(h.key('{p}:prune2'), new Map([['heavy-0', 100]]), options)
      expect((await h.counters.topScores([key, h.key('{p}:prune2')], 1))[0]).toEqual({
        member: 'heavy-0',
        score: 150,
      })
    })

    it('sorted sets expire after their TTL', async () => {
      await h.counters.incrementScores(h.key('zt'), new Map([['a', 1]]), { ttlMs: 120, keepTop: 10 })
      await new Promise((r) => setTimeout(r, 250))
      expect(await h.counters.topScores([h.key('zt')], 10)).toEqual([])
    })

    it('a recent list keeps its newest items, newest first, and never more than asked', async () => {
      const key = h.key('recent')
      for (let i = 1; i <= 7; i++) await h.counters.pushRecent(key, `item-${i}`, 5)
      expect(await h.counters.recent(key, 10)).toEqual(['item-7', 'item-6', 'item-5', 'item-4', 'item-3'])
      expect(await h.counters.recent(key, 2)).toEqual(['item-7', 'item-6'])
      expect(await h.counters.recent(key, 0)).toEqual([])
      expect(await h.counters.recent(h.key('recent-absent'), 10)).toEqual([])
      await h.counters.pushRecent(key, 'item-8', 2)
      expect(await h.counters.recent(key, 10)).toEqual(['item-8', 'item-7'])
    })

    it('a set collects members from every writer, and takeSet hands them to one taker only, once', async () => {
      const key = h.key('set')
      expect(await h.counters.addToSet(key, ['1,2', '3,4'], 60_000)).toBe(2)
      expect(await h.counters.addToSet(key, ['3,4', '5,6'], 60_000)).toBe(3)
      expect(await h.counters.addToSet(key, [], 60_000)).toBe(3)
      // Concurrent takers: the members go to exactly one of them.
      const [a, b] = await Promise.all([h.counters.takeSet(key), h.counters.takeSet(key)])
      expect([...a, ...b].sort()).toEqual(['1,2', '3,4', '5,6'])
      expect(a.length === 0 || b.length === 0).toBe(true)
      expect(await h.counters.takeSet(key)).toEqual([])
      // What is added after a take belongs to the next one.
      expect(await h.counters.addToSet(key, ['7,8'], 60_000)).toBe(1)
      expect(await h.counters.takeSet(key)).toEqual(['7,8'])
      expect(await h.counters.takeSet(h.key('set-absent'))).toEqual([])
    })

    it('a set expires after its TTL, renewed by every add', async () => {
      const key = h.key('set-ttl')
      await h.counters.addToSet(key, ['a'], 150)
      await new Promise((r) => setTimeout(r, 100))
      await h.counters.addToSet(key, ['b'], 150)
      await new Promise((r) => setTimeout(r, 100))
      expect((await h.counters.takeSet(key)).sort()).toEqual(['a', 'b'])
      await h.counters.addToSet(key, ['c'], 100)
      await new Promise((r) => setTimeout(r, 250))
      expect(await h.counters.takeSet(key)).toEqual([])
    })

    it('raiseCounters moves each field forward only, whatever order concurrent writers run in', async () => {
      const key = h.key('raise')
      const day = 86_400_000
      const base = Date.UTC(2024, 0, 15)
      expect(await h.counters.raiseCounters(key, { until: base })).toEqual({ until: base })
      expect(await h.counters.raiseCounters(key, { until: base - day, other: 3 })).toEqual({
        until: base,
        other: 3,
      })
      await Promise.all([5, 1, 9, 3, 7].map((n) => h.counters.raiseCounters(key, { until: base + n * day })))
      expect(await h.counters.getCounters(key)).toEqual({ until: base + 9 * day, other: 3 })
      expect(await h.counters.raiseCounters(key, {})).toEqual({})
      // A hash of incrementCounters is raised the same way: a field only moves forward, a new one is set.
      await h.counters.incrementCounters(h.key('raise-new'), { n: 1 })
      expect(await h.counters.raiseCounters(h.key('raise-new'), { n: 0, m: -5 })).toEqual({ n: 1, m: -5 })
    })

    it('pub/sub, where offered, delivers a message to subscribers of the channel only', async () => {
      const { publish, subscribe } = h.store
      if (!publish || !subscribe) {
        expect(h.store.kind).toBe('memory')
        return
      }
      const got: string[] = []
      const other: string[] = []
      const off = await subscribe.call(h.store, h.key('chan'), (m) => got.push(m))
      const offOther = await subscribe.call(h.store, h.key('chan-other'), (m) => other.push(m))
      await publish.call(h.store, h.key('chan'), 'one')
      for (let i = 0; i < 50 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 20))
      expect(got).toEqual(['one'])
      expect(other).toEqual([])
      await off()
      await publish.call(h.store, h.key('chan'), 'two')
      await new Promise((r) => setTimeout(r, 100))
      expect(got).toEqual(['one'])
      await offOther()
    })

    it('ping resolves', async () => {
      await expect(h.store.ping()).resolves.toBeUndefined()
    })
  })
}

contract('memory', async () => ({
  store: new MemoryCacheStore({ maxBytes: 16 * 1024 * 1024 }),
  counters: new MemoryCounterStore(),
  key: (n) => n,
  teardown: async () => {},
}))

// The guarded stores (every call behind the breaker) keep the contract of what they guard.
contract('memory, guarded', async () => {
  const breaker = new CircuitBreaker({ failureThreshold: 3, openMs: 1_000 })
  return {
    store: new GuardedCacheStore(new MemoryCacheStore({ maxBytes: 16 * 1024 * 1024 }), breaker),
    counters: new GuardedCounterStore(new MemoryCounterStore(), breaker),
    key: (n) => n,
    teardown: async () => breaker.close(),
  }
})

contract('redis', async () => {
  const t = await testRedis()
  return {
    store: new RedisCacheStore(t.redis),
    counters: new RedisCounterStore(t.redis),
    key: (n) => `${t.prefix}:${n}`,
    teardown: t.cleanup,
  }
})

contract('redis cluster (the CROSSSLOT rules of ElastiCache Serverless)', async () => {
  const cluster = await spawnRedisCluster()
  if (!cluster) throw new Error('redis-server is needed for the Cluster contract run')
  const logger = createLogger({ level: 'silent', sync: true })
  const client = await connectRedis(cluster.url, 1_000, logger, true)
  return {
    store: new RedisCacheStore(client),
    counters: new RedisCounterStore(client),
    // Keys as the service builds them: entries, leases and stamps land in different slots.
    key: (n) => `acp:v2:${n}`,
    teardown: async () => {
      client.disconnect()
      await cluster.stop()
    },
  }
})

describe('MemoryCacheStore bounds', () => {
  let store: MemoryCacheStore
  beforeEach(() => {
    store = new MemoryCacheStore({ maxBytes: 10_000 })
  })

  it('never holds more than its byte bound and evicts the least recently used', async () => {
    for (let i = 0; i < 30; i++) {
      await store.set(`k${i}`, Buffer.alloc(1_000), 60_000)
      if (i === 25) await store.get('k20') // touch: k20 becomes recent
    }
    expect(store.sizeBytes).toBeLessThanOrEqual(10_000)
    expect(await store.get('k29')).not.toBeNull()
    expect(await store.get('k20')).not.toBeNull()
    expect(await store.get('k0')).toBeNull()
  })
})

describe('RedisCacheStore failure', () => {
  it('rejects (does not hang) when Redis is unreachable', async () => {
    const client = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    })
    client.on('error', () => {})
    const store = new RedisCacheStore(client)
    await expect(store.get('x')).rejects.toThrow()
    await expect(store.ping()).rejects.toThrow()
    client.disconnect()
  })
})

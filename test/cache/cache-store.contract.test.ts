import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { connectRedis } from '../../src/build-deps.ts'
import type { CacheStore } from '../../src/cache/cache-store.ts'
import { generationFields, parseGenerations, validityOf } from '../../src/cache/generations.ts'
import { MemoryCacheStore } from '../../src/cache/memory-cache-store.ts'
import { RedisCacheStore } from '../../src/cache/redis-cache-store.ts'
import { createLogger } from '../../src/logger.ts'
import { testRedis } from '../helpers/redis-client.ts'
import { spawnRedisCluster } from '../helpers/redis-server.ts'

interface Harness {
  store: CacheStore
  key(name: string): string
  teardown(): Promise<void>
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

    it('getMany aligns results with keys', async () => {
      await h.store.set(h.key('m1'), Buffer.from('a'), 60_000)
      await h.store.set(h.key('m3'), Buffer.from('c'), 60_000)
      const got = await h.store.getMany([h.key('m1'), h.key('m2'), h.key('m3')])
      expect(got.map((b) => b?.toString() ?? null)).toEqual(['a', null, 'c'])
      expect(await h.store.getMany([])).toEqual([])
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

    it('getWithFields reads a value and hash fields together; absent ones are null', async () => {
      await h.store.set(h.key('gv'), Buffer.from('entry'), 60_000)
      const [stamp] = await h.store.bumpGenerations([h.key('g1')], 'expire')
      const got = await h.store.getWithFields(h.key('gv'), h.key('g1'), generationFields('abc'))
      expect(got.value?.toString()).toBe('entry')
      expect(got.fields).toEqual([String(stamp), null, null, null])
      const none = await h.store.getWithFields(h.key('absent'), h.key('g-absent'), ['e', 'd'])
      expect(none).toEqual({ value: null, fields: [null, null] })
    })

    it('bumpGenerations: strictly increasing stamps, per entry or per query, atomically over several hashes', async () => {
      // Keys of one multi-key call share a hash tag (one Cluster slot), as the service's do.
      const [g1, g2] = [h.key('{g}:a'), h.key('{g}:b')]
      const [a] = await h.store.bumpGenerations([g1], 'expire', 'entry1')
      const [b] = await h.store.bumpGenerations([g1], 'delete', 'entry1')
      expect(b).toBeGreaterThan(a as number)
      expect(parseGenerations(await h.store.getFields(g1, generationFields('entry1')))).toEqual({
        expiredAt: a,
        deletedAt: b,
        latest: b,
      })
      // Another entry of the query is untouched.
      expect(parseGenerations(await h.store.getFields(g1, generationFields('entry2'))).latest).toBe(0)
      // A query-wide expire supersedes per-entry expire stamps (dropped) but keeps per-entry deletes.
      const [c, d] = await h.store.bumpGenerations([g1, g2], 'expire')
      expect(c).toBeGreaterThan(b as number)
      expect(d).toBeGreaterThan(0)
      expect(await h.store.getFields(g1, ['e', 'e:entry1', 'd:entry1'])).toEqual([String(c), null, String(b)])
      expect(await h.store.getFields(g2, ['e'])).toEqual([String(d)])
      // A query-wide delete drops every per-entry stamp.
      const [e] = await h.store.bumpGenerations([g1], 'delete')
      expect(await h.store.getFields(g1, ['d', 'd:entry1', 'e'])).toEqual([String(e), null, String(c)])
      expect(
        validityOf(a as number, parseGenerations(await h.store.getFields(g1, generationFields('entry1')))),
      ).toBe('deleted')
      expect(
        validityOf(e as number, parseGenerations(await h.store.getFields(g1, generationFields('x')))),
      ).toBe('valid')
    })

    it('counters add up and read back', async () => {
      await h.store.incrementCounters(h.key('c'), { hits: 2, misses: 1, zero: 0 })
      await h.store.incrementCounters(h.key('c'), { hits: 3 })
      expect(await h.store.getCounters(h.key('c'))).toEqual({ hits: 5, misses: 1 })
      expect(await h.store.getCounters(h.key('c-absent'))).toEqual({})
    })

    it('topScores sums scores over sorted sets and answers the highest first', async () => {
      await h.store.incrementScores(
        h.key('{p}:1'),
        new Map([
          ['a', 3],
          ['b', 1],
        ]),
        60_000,
      )
      await h.store.incrementScores(
        h.key('{p}:2'),
        new Map([
          ['b', 5],
          ['c', 2],
        ]),
        60_000,
      )
      await h.store.incrementScores(h.key('{p}:2'), new Map([['c', 2]]), 60_000)
      expect(await h.store.topScores([h.key('{p}:1'), h.key('{p}:2'), h.key('{p}:absent')], 2)).toEqual([
        { member: 'b', score: 6 },
        { member: 'c', score: 4 },
      ])
      expect(await h.store.topScores([h.key('{p}:1')], 10)).toEqual([
        { member: 'a', score: 3 },
        { member: 'b', score: 1 },
      ])
      expect(await h.store.topScores([], 10)).toEqual([])
    })

    it('sorted sets expire after their TTL', async () => {
      await h.store.incrementScores(h.key('zt'), new Map([['a', 1]]), 120)
      await new Promise((r) => setTimeout(r, 250))
      expect(await h.store.topScores([h.key('zt')], 10)).toEqual([])
    })

    it('ping resolves', async () => {
      await expect(h.store.ping()).resolves.toBeUndefined()
    })
  })
}

contract('memory', async () => ({
  store: new MemoryCacheStore({ maxBytes: 16 * 1024 * 1024 }),
  key: (n) => n,
  teardown: async () => {},
}))

contract('redis', async () => {
  const t = await testRedis()
  return {
    store: new RedisCacheStore(t.redis),
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

import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { CacheStore } from '../../src/cache/cache-store.ts'
import { MemoryCacheStore } from '../../src/cache/memory-cache-store.ts'
import { RedisCacheStore } from '../../src/cache/redis-cache-store.ts'
import { testRedis } from '../helpers/redis-client.ts'

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

import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { CacheKeys } from '../../src/cache/cache-key.ts'
import { decodeEntry, EntryDecodeError, encodeEntry, etagOf } from '../../src/cache/entry-codec.ts'
import { generationFields, stampWrite } from '../../src/cache/generations.ts'
import { MemoryCacheStore } from '../../src/cache/memory-cache-store.ts'
import { PlainBodies } from '../../src/cache/plain-bodies.ts'
import { parseCatalog } from '../../src/config/catalog.ts'
import { createLogger } from '../../src/logger.ts'
import { applyGenerations, EntryLookup } from '../../src/service/entry-lookup.ts'
import {
  MEMO_MAX_BYTES,
  MEMO_MAX_SEARCH_LENGTH,
  parseSearch,
  RequestResolver,
} from '../../src/service/request-resolver.ts'

const catalog = parseCatalog(
  {
    queries: {
      daily: {
        sql: 'SELECT 1 FROM t WHERE d >= :start AND m = :measure',
        ttlSeconds: 60,
        staleSeconds: 60,
        parameters: {
          start: { type: 'date', required: true },
          measure: { type: 'enum', values: ['a', 'b'], default: 'a' },
        },
      },
    },
  },
  'test.yaml',
)
const keys = new CacheKeys('parts')
const logger = createLogger({ level: 'silent', sync: true })
const resolver = () => new RequestResolver({ catalog, keys, database: 'db', workgroup: 'wg' })

const entryHeader = {
  kind: 'result' as const,
  computedAt: 1_000,
  freshUntil: 61_000,
  staleUntil: 121_000,
  dataScannedBytes: 10,
  engineMs: 5,
  rowCount: 1,
  queryExecutionId: 'exec-1',
  known: 500,
}

describe('RequestResolver', () => {
  it('gives equal keys to equal requests in any spelling, and different keys otherwise', () => {
    const r = resolver()
    const a = r.resolve('daily', { start: '2024-01-01' })
    const b = r.resolve('daily', { measure: 'a', start: '2024-01-01' })
    const c = r.resolve('daily', { start: '2024-01-01', measure: 'b' })
    expect(a.key).toBe(b.key)
    expect(a.member).toBe(b.member)
    expect(c.key).not.toBe(a.key)
    expect(a.key.startsWith('parts:v3:e:')).toBe(true)
    expect(a.identity).toMatchObject({ query: 'daily', database: 'db', workgroup: 'wg' })
  })

  it('memoises by query string, evaluating the raw parameters only once', () => {
    const r = resolver()
    let parsed = 0
    const raw = () => {
      parsed++
      return parseSearch('start=2024-01-01')
    }
    const first = r.resolveRequest('daily', 'start=2024-01-01', raw)
    expect(r.resolveRequest('daily', 'start=2024-01-01', raw)).toBe(first)
    expect(parsed).toBe(1)
  })

  it('does not memoise errors, and tryResolve answers undefined for them', () => {
    const r = resolver()
    expect(() =>
      r.resolveRequest('daily', 'start=2024-02-30', () => parseSearch('start=2024-02-30')),
    ).toThrow(/start/)
    expect(r.tryResolve('daily', 'start=2024-02-30')).toBeUndefined()
    expect(r.tryResolve('nope', 'start=2024-01-01')).toBeUndefined()
    expect(r.tryResolve('daily', 'start=2024-01-01')?.params).toEqual({ measure: 'a', start: '2024-01-01' })
  })

  it('bounds the memo by bytes: 14 KB query strings are never memoised, long ones evict by size', () => {
    const r = resolver()
    // The same parameters padded with empty pairs: valid, distinct, and each one a memo key of its own.
    for (let i = 0; i < 2_000; i++) {
      const search = `start=2024-01-01${'&'.repeat(14_000 + i)}`
      expect(r.resolveRequest('daily', search, () => parseSearch(search)).params.start).toBe('2024-01-01')
    }
    expect(r.memoStats).toEqual({ entries: 0, bytes: 0 })
    // Just under the length limit: memoised, but never more than MEMO_MAX_BYTES of them.
    const pad = MEMO_MAX_SEARCH_LENGTH - 'start=2024-01-01'.length - 1
    let sizeOfOne = 0
    for (let i = 0; i < 12_000; i++) {
      const before = i % pad
      const search = `${'&'.repeat(before)}start=2024-01-01${'&'.repeat(pad - before - (i >= pad ? 1 : 0))}`
      expect(search.length).toBeLessThanOrEqual(MEMO_MAX_SEARCH_LENGTH)
      r.resolveRequest('daily', search, () => parseSearch(search))
      if (i === 0) sizeOfOne = r.memoStats.bytes
    }
    // Each entry counts at least its query string, so the estimate bounds what the strings alone pin.
    expect(sizeOfOne).toBeGreaterThan(MEMO_MAX_SEARCH_LENGTH)
    const { entries, bytes } = r.memoStats
    expect(bytes).toBeLessThanOrEqual(MEMO_MAX_BYTES)
    expect(bytes).toBeGreaterThan(MEMO_MAX_BYTES * 0.9)
    expect(entries).toBeLessThanOrEqual(Math.floor(MEMO_MAX_BYTES / (sizeOfOne - 1)))
    expect(entries).toBeLessThan(12_000)
  })

  it('keeps ordinary dashboard URLs by the thousand within the byte bound', () => {
    const r = resolver()
    for (let day = 0; day < 5_000; day++) {
      const start = new Date(Date.UTC(2010, 0, 1 + day)).toISOString().slice(0, 10)
      const search = `start=${start}&measure=${day % 2 ? 'a' : 'b'}`
      r.resolveRequest('daily', search, () => parseSearch(search))
    }
    expect(r.memoStats.entries).toBe(5_000)
    expect(r.memoStats.bytes).toBeLessThan(MEMO_MAX_BYTES / 2)
  })

  it('parseSearch keeps repeated values in order', () => {
    expect(parseSearch('a=1&b=2&a=3')).toEqual({ a: ['1', '3'], b: ['2'] })
    expect(parseSearch('')).toEqual({})
  })
})

describe('applyGenerations', () => {
  const entry = decodeEntry(encodeEntry(entryHeader, Buffer.from('{}')))
  it.each([
    [{ expiredAt: 0, deletedAt: 0, latest: 0 }, 'unchanged'],
    [{ expiredAt: 400, deletedAt: 0, latest: 400 }, 'unchanged'],
    [{ expiredAt: 500, deletedAt: 0, latest: 500 }, 'unchanged'],
    [{ expiredAt: 501, deletedAt: 0, latest: 501 }, 'stale'],
    [{ expiredAt: 0, deletedAt: 501, latest: 501 }, 'absent'],
    [{ expiredAt: 900, deletedAt: 600, latest: 900 }, 'absent'],
  ] as const)('%o → %s', (generations, expected) => {
    const got = applyGenerations(entry, generations)
    if (expected === 'absent') expect(got).toBeNull()
    else if (expected === 'stale') expect(got?.freshUntil).toBe(entry.computedAt)
    else expect(got).toBe(entry)
  })
})

describe('EntryLookup (on the memory adapter)', () => {
  const setup = (l1 = { ttlMs: 60_000, maxBytes: 1 << 20 }) => {
    const store = new MemoryCacheStore({ maxBytes: 1 << 20 })
    return {
      store,
      lookup: new EntryLookup({ store, keys, logger, l1 }),
      resolved: resolver().resolve('daily', { start: '2024-01-01' }),
    }
  }

  it('reads an entry with its stamps and keeps it in L1 with the stamp it saw', async () => {
    const { store, lookup, resolved } = setup()
    const { field, dropPrefixes } = stampWrite('expire')
    const [stamp] = await store.writeStamp([keys.generations('daily')], field, dropPrefixes)
    await store.set(
      resolved.key,
      encodeEntry({ ...entryHeader, known: stamp ?? 0 }, Buffer.from('{}')),
      60_000,
    )
    const found = await lookup.lookup(resolved)
    expect(found).toMatchObject({ unusable: false, known: stamp })
    expect(found.entry?.queryExecutionId).toBe('exec-1')
    expect(lookup.peekL1(resolved.key)).toBe(found.entry)
    lookup.dropL1()
    expect(lookup.peekL1(resolved.key)).toBeUndefined()
  })

  it('an entry-level delete stamp newer than the entry makes it absent', async () => {
    const { store, lookup, resolved } = setup()
    await store.set(resolved.key, encodeEntry(entryHeader, Buffer.from('{}')), 60_000)
    const { field, dropPrefixes } = stampWrite('delete', { entryId: keys.entryId(resolved.key) })
    await store.writeStamp([keys.generations('daily')], field, dropPrefixes)
    expect((await lookup.lookup(resolved)).entry).toBeNull()
    const stamps = await lookup.generations(resolved)
    expect(stamps.deletedAt).toBeGreaterThan(entryHeader.known)
    expect(generationFields(keys.entryId(resolved.key))[3]).toBe(`d:${keys.entryId(resolved.key)}`)
  })

  it('treats an undecodable entry as absent', async () => {
    const { store, lookup, resolved } = setup()
    await store.set(resolved.key, Buffer.from('not an entry'), 60_000)
    expect(await lookup.lookup(resolved)).toMatchObject({ entry: null, unusable: false })
  })
})

describe('PlainBodies', () => {
  it('inflates once per ETag and serves the same bytes after', () => {
    const bodies = new PlainBodies({ maxBytes: 1 << 20 })
    const body = Buffer.from(JSON.stringify({ rows: [1, 2, 3] }))
    const first = decodeEntry(encodeEntry(entryHeader, body))
    const second = decodeEntry(encodeEntry({ ...entryHeader, queryExecutionId: 'exec-2' }, body))
    const plain = bodies.of(first)
    expect(plain.equals(body)).toBe(true)
    expect(bodies.of(second)).toBe(plain)
  })

  it('refuses a body that does not match its ETag', () => {
    const good = encodeEntry(entryHeader, Buffer.from('{"a":1}'))
    const entry = decodeEntry(good)
    const swapped = { ...entry, gzipBody: gzipSync(Buffer.from('{"a":2}')) }
    expect(etagOf('{"a":2}')).not.toBe(entry.etag)
    expect(() => new PlainBodies({ maxBytes: 1 << 20 }).of(swapped)).toThrow(EntryDecodeError)
  })
})

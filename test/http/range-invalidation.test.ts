import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  appendRangeRecord,
  formatRangeRecords,
  overlaps,
  parseGenerations,
  RANGE_RECORDS,
  type RangeRecord,
  validityOf,
} from '../../src/cache/generations.ts'
import { type Stack, startStack } from '../helpers/stack.ts'

const ADMIN = 'range-admin-key'
const READ = 'range-read-key'
const JAN = '/analytics?measure=pageviews&start=2024-01-01&end=2024-02-01'
const FEB = '/analytics?measure=pageviews&start=2024-02-01&end=2024-03-01'
const PAGES_MAR = '/queries/top_pages?measure=pageviews&start=2024-03-01&end=2024-03-08'
const COUNTRY_JAN = '/queries/by_country?measure=pageviews&start=2024-01-10&end=2024-01-20'

describe('range invalidation: only the entries whose time range overlaps (real Redis, local Athena)', () => {
  let s: Stack

  beforeAll(async () => {
    s = await startStack({ env: { API_KEYS: READ, ADMIN_API_KEYS: ADMIN } })
  })
  afterAll(async () => {
    await s.close()
  })

  const read = async (path: string) => {
    const res = await s.app.request(path, { headers: { 'x-api-key': READ } })
    await res.arrayBuffer()
    expect(res.status, path).toBe(200)
    return res.headers.get('x-cache')
  }
  const invalidate = async (body: unknown) => {
    const res = await s.app.request('/cache/invalidate', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': ADMIN },
      body: JSON.stringify(body),
    })
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  }
  /** Every path fresh (computed if needed, then a HIT). */
  const warm = async (...paths: string[]) => {
    await invalidate({ all: true, mode: 'delete' })
    for (const p of paths) await read(p)
    for (const p of paths) expect(await read(p), p).toBe('HIT')
  }
  const states = async (...paths: string[]) => Promise.all(paths.map((p) => read(p)))

  it('expires the entries overlapping a day, and no other', async () => {
    await warm(JAN, FEB, PAGES_MAR, COUNTRY_JAN)
    const r = await invalidate({ tags: ['analytics'], range: { start: '2024-01-15', end: '2024-01-16' } })
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({
      scope: 'tags',
      mode: 'expire',
      range: { start: '2024-01-15', end: '2024-01-16' },
      unranged: [],
    })
    expect(await states(JAN, FEB, PAGES_MAR, COUNTRY_JAN)).toEqual(['STALE', 'HIT', 'HIT', 'STALE'])
  })

  it('is half-open: a range ending where an entry starts does not reach it', async () => {
    await warm(JAN, FEB)
    await invalidate({ query: 'analytics', range: { start: '2024-01-31', end: '2024-02-01' } })
    expect(await states(JAN, FEB)).toEqual(['STALE', 'HIT'])
    await warm(JAN, FEB)
    await invalidate({ query: 'analytics', range: { start: '2024-03-01', end: '2024-03-02' } })
    expect(await states(JAN, FEB)).toEqual(['HIT', 'HIT'])
  })

  it('takes timestamps with a zone, and delete makes the overlapping entries misses', async () => {
    await warm(JAN, FEB)
    await invalidate({
      query: 'analytics',
      mode: 'delete',
      range: { start: '2024-02-10T23:30:00+01:00', end: '2024-02-10T23:45:00Z' },
    })
    expect(await states(JAN, FEB)).toEqual(['HIT', 'MISS'])
  })

  it('as a Lambda-style event through the operations, the same', async () => {
    await warm(JAN, FEB)
    const result = await s.deps.operations.handleEvent({
      action: 'invalidate',
      tags: ['pages', 'analytics'],
      range: { start: '2024-02-29', end: '2024-03-01' },
    } as { action: string })
    expect(result).toMatchObject({ scope: 'tags', range: { start: '2024-02-29', end: '2024-03-01' } })
    expect(await states(JAN, FEB)).toEqual(['HIT', 'STALE'])
  })

  it('refuses a range that is empty, malformed or narrows a single entry, naming it', async () => {
    for (const range of [
      { start: '2024-01-02', end: '2024-01-02' },
      { start: '2024-01-03', end: '2024-01-02' },
      { start: '2024-02-30', end: '2024-03-01' },
      { start: '2024-01-01 00:00', end: '2024-01-02' },
      { start: '2024-01-01T00:00:00', end: '2024-01-02' },
      { start: '2024-01-01' },
    ]) {
      const r = await invalidate({ query: 'analytics', range })
      expect(r.status, JSON.stringify(range)).toBe(400)
      const errors = (r.body as { errors?: Array<{ name: string }> }).errors ?? []
      expect(errors[0]?.name.startsWith('range'), JSON.stringify(r.body)).toBe(true)
    }
    const entry = await invalidate({
      query: 'analytics',
      parameters: { measure: 'pageviews', start: '2024-01-01' },
      range: { start: '2024-01-01', end: '2024-01-02' },
    })
    expect(entry.status).toBe(400)
  })

  it('costs one record whatever the number of entries; the field stays at most 64 records', async () => {
    await warm(JAN)
    for (let day = 1; day <= 80; day++) {
      const d = new Date(Date.UTC(2025, 0, day)).toISOString().slice(0, 10)
      const e = new Date(Date.UTC(2025, 0, day + 1)).toISOString().slice(0, 10)
      await invalidate({ query: 'analytics', range: { start: d, end: e } })
    }
    const [records] = await s.deps.store.getStamps(s.deps.keys.generations('analytics'), ['re'])
    expect(records?.split(';')).toHaveLength(RANGE_RECORDS)
    // Merged records only widen towards later days: January 2024 is still untouched.
    expect(await read(JAN)).toBe('HIT')
  })
})

describe('range records as the hit path reads them (property)', () => {
  const DAY = 86_400_000
  const spanArb = fc
    .tuple(fc.integer({ min: 0, max: 120 }), fc.integer({ min: 1, max: 40 }))
    .map(([from, days]) => ({ startMs: from * DAY, endMs: (from + days) * DAY }))

  it('an entry is expired iff an overlapping range was written after it was computed (below the cap)', () => {
    fc.assert(
      fc.property(
        fc.array(spanArb, { minLength: 1, maxLength: RANGE_RECORDS }),
        spanArb,
        fc.nat({ max: RANGE_RECORDS }),
        (spans, entry, computedAfter) => {
          let records: RangeRecord[] = []
          spans.forEach((span, i) => {
            records = appendRangeRecord(records, { ...span, stamp: 1_000 + i })
          })
          const known = 1_000 + computedAfter - 1
          const g = parseGenerations([null, null, null, null, formatRangeRecords(records), null], {
            ...entry,
            recordsFrom: 4,
          })
          const expected = spans.some((span, i) => 1_000 + i > known && overlaps(span, entry))
          return (validityOf(known, g) === 'expired') === expected
        },
      ),
      { numRuns: 2_000 },
    )
  })

  it('past the cap, merging never lets an entry an overlapping range reached stay valid', () => {
    fc.assert(
      fc.property(
        fc.array(spanArb, { minLength: RANGE_RECORDS + 1, maxLength: 3 * RANGE_RECORDS }),
        spanArb,
        fc.nat({ max: 3 * RANGE_RECORDS }),
        (spans, entry, computedAfter) => {
          let records: RangeRecord[] = []
          spans.forEach((span, i) => {
            records = appendRangeRecord(records, { ...span, stamp: 1_000 + i })
          })
          const known = 1_000 + computedAfter - 1
          const g = parseGenerations([null, null, null, null, formatRangeRecords(records), null], {
            ...entry,
            recordsFrom: 4,
          })
          const reached = spans.some((span, i) => 1_000 + i > known && overlaps(span, entry))
          return records.length === RANGE_RECORDS && (!reached || validityOf(known, g) === 'expired')
        },
      ),
      { numRuns: 1_000 },
    )
  })
})

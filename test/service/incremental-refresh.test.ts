import { randomUUID } from 'node:crypto'
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { executionStats } from '../../src/athena/athena-runner.ts'
import { ResultReader } from '../../src/athena/result-reader.ts'
import { type DecodedEntry, encodeEntry, plainBody } from '../../src/cache/entry-codec.ts'
import { overlaps } from '../../src/cache/generations.ts'
import { parseCatalog } from '../../src/config/catalog.ts'
import { bindQuery, type CanonicalParams } from '../../src/service/parameters.ts'
import type { ResolvedQuery } from '../../src/service/query-service.ts'
import { ResultBody, type ResultFormat } from '../../src/service/result-body.ts'
import { isSplicedId } from '../../src/service/spliced-rows.ts'
import { alignOutward, bucketStart, nextBucket, refreshSpans } from '../../src/service/time-buckets.ts'
import { type Stack, startStack } from '../helpers/stack.ts'
import { TENANT_COUNTRY, tenantConfigDir } from '../helpers/tenant-config.ts'

const HOUR = 3_600_000
const DAY = 86_400_000
/** The test data: 2024-01-01 … 2024-03-31 (91 days). */
const DATA_START = Date.parse('2024-01-01T00:00:00Z')
const DATA_END = DATA_START + 91 * DAY
const ADMIN = 'incremental-admin-key'
const READ = 'incremental-read-key'
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10)

interface Meta {
  queryExecutionId: string
  dataScannedBytes: number
  rowCount: number
  refresh?: { kind: string; spans: Array<{ start: string; end: string }>; queryExecutionIds: string[] }
}

let s: Stack
let dataDir: string
let configDir: string
let duck: DuckDBInstance
let conn: DuckDBConnection
let reader: ResultReader
let files = 0
/** Moves the service's clock (entries' times), not the wall clock. */
let clockOffsetMs = 0

beforeAll(async () => {
  // A copy of the test data of this file's own: loads append files to it.
  dataDir = await mkdtemp(join(tmpdir(), 'acp-incremental-'))
  await cp(inject('dataDir'), dataDir, { recursive: true })
  configDir = await tenantConfigDir()
  duck = await DuckDBInstance.create(':memory:')
  conn = await duck.connect()
  s = await startStack({
    dataDir,
    // Polls soon: the local engine answers in milliseconds, and the property test runs hundreds of queries.
    env: {
      CONFIG_DIR: configDir,
      API_KEYS: READ,
      ADMIN_API_KEYS: ADMIN,
      L1_TTL_MS: '0',
      POLL_INITIAL_DELAY_MS: '50',
    },
    now: () => Date.now() + clockOffsetMs,
  })
  reader = new ResultReader({ athena: s.deps.athena, s3: undefined, mode: 'api' })
})

afterAll(async () => {
  await s?.close()
  conn?.closeSync()
  duck?.closeSync()
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
  if (configDir) await rm(configDir, { recursive: true, force: true })
})

/** An hourly load: `rows` events of `measure` from `fromMs` on (inside one day), as a new file in its partition. */
async function load(fromMs: number, toMs: number, rows: number, measure = 'pageviews'): Promise<void> {
  const from = Math.max(fromMs, DATA_START)
  const to = Math.min(toMs, DATA_END, bucketStart(from, 'day') + DAY)
  if (rows <= 0 || to <= from) return
  const dir = join(dataDir, 'analytics', 'analytics', `dt=${day(from)}`)
  await mkdir(dir, { recursive: true })
  const stepSeconds = Math.max(1, Math.floor((to - from) / 1000 / rows))
  const start = new Date(from).toISOString().replace('T', ' ').replace('Z', '')
  await conn.run(
    `COPY (SELECT TIMESTAMP '${start}' + to_seconds(CAST(i * ${stepSeconds} AS BIGINT)) AS event_time,
       '${measure}' AS measure, CAST(1 + i % 7 AS DOUBLE) AS value, '/incremental' AS page, 'US' AS country,
       'desktop' AS device FROM range(0, ${rows}) AS t(i))
     TO '${join(dir, `load-${++files}.parquet`)}' (FORMAT parquet)`,
  )
}

async function invalidate(body: unknown): Promise<void> {
  const res = await s.app.request('/cache/invalidate', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': ADMIN },
    body: JSON.stringify(body),
  })
  expect(res.status, await res.text()).toBe(200)
}

const resolve = (query: string, params: Record<string, string>): ResolvedQuery =>
  s.deps.service.resolve(query, params)

const analytics = (period: string, start: string, end: string) =>
  resolve('analytics', { measure: 'pageviews', period, start, end })

/** A fresh full computation of the entry (what a miss does). */
async function compute(resolved: ResolvedQuery): Promise<DecodedEntry> {
  const { known } = await s.deps.service.inspect(resolved)
  return s.deps.service.computeShared(resolved, known)
}

/** A refresh as the prewarm job makes it: of the entry the cache holds. */
async function refresh(resolved: ResolvedQuery): Promise<DecodedEntry> {
  const { entry, known } = await s.deps.service.inspect(resolved)
  return s.deps.service.computeShared(resolved, known, entry ?? undefined)
}

const text = (entry: DecodedEntry) => plainBody(entry).toString('utf8')
const metaOf = (entry: DecodedEntry) => (JSON.parse(text(entry)) as { meta: Meta }).meta
/** A JSON body up to its `meta`: the columns and every row, as bytes. */
const rowsPart = (body: string) => body.slice(0, body.indexOf('],"meta":'))

/** The catalog SQL run through the engine directly, in a body of `format`, and what it scanned. */
async function direct(
  resolved: ResolvedQuery,
  params: CanonicalParams = resolved.params,
  format: ResultFormat = 'json',
): Promise<{ body: string; scanned: number }> {
  const { runner } = s.deps
  const { sql, executionParameters } = bindQuery(resolved.def, params)
  const id = await runner.start({
    sql,
    executionParameters,
    database: resolved.identity.database,
    workgroup: resolved.identity.workgroup,
    clientRequestToken: randomUUID().replaceAll('-', ''),
  })
  const { execution, statusCalls } = await runner.waitForCompletion(id, { deadline: Date.now() + 30_000 })
  const body = new ResultBody(format, runner.limits, id)
  await reader.read(execution, body)
  const encoded = await body.finish({
    query: resolved.def.name,
    parameters: null,
    queryExecutionId: id,
    dataScannedBytes: 0,
    computedAt: '',
    expiresAt: '',
  })
  return {
    body: gunzipSync(Buffer.concat(encoded.gzip)).toString('utf8'),
    scanned: executionStats(execution, statusCalls).dataScannedBytes,
  }
}

describe('time buckets', () => {
  it.each([
    ['hour', '2024-02-15T10:42:00Z', '2024-02-15T10:00:00.000Z', '2024-02-15T11:00:00.000Z'],
    ['day', '2024-02-15T10:42:00Z', '2024-02-15T00:00:00.000Z', '2024-02-16T00:00:00.000Z'],
    // 2024-02-15 is a Thursday: its week started on Monday the 12th.
    ['week', '2024-02-15T10:42:00Z', '2024-02-12T00:00:00.000Z', '2024-02-19T00:00:00.000Z'],
    ['week', '2024-02-12T00:00:00Z', '2024-02-12T00:00:00.000Z', '2024-02-19T00:00:00.000Z'],
    ['week', '1969-12-31T12:00:00Z', '1969-12-29T00:00:00.000Z', '1970-01-05T00:00:00.000Z'],
    ['month', '2024-02-29T23:59:59Z', '2024-02-01T00:00:00.000Z', '2024-03-01T00:00:00.000Z'],
    ['month', '2024-12-05T00:00:00Z', '2024-12-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z'],
  ] as const)('%s of %s starts %s, the next %s', (unit, at, start, next) => {
    const b = bucketStart(Date.parse(at), unit)
    expect(new Date(b).toISOString()).toBe(start)
    expect(new Date(nextBucket(b, unit)).toISOString()).toBe(next)
  })

  it('refresh spans: whole days at least for hours, clipped to the entry, merged, at most N', () => {
    const span = (a: string, b: string) => ({ startMs: Date.parse(a), endMs: Date.parse(b) })
    const entry = span('2024-01-03T00:00:00Z', '2024-03-01T00:00:00Z')
    const iso = (spans: Array<{ startMs: number; endMs: number }>) =>
      spans.map((x) => `${day(x.startMs)}..${day(x.endMs)}`)
    expect(
      iso(refreshSpans([span('2024-02-15T10:00:00Z', '2024-02-15T11:00:00Z')], entry, 'hour', 4)),
    ).toEqual(['2024-02-15..2024-02-16'])
    // Weeks from Monday; the first one cut by the entry's start.
    expect(
      iso(refreshSpans([span('2024-01-04T10:00:00Z', '2024-01-04T11:00:00Z')], entry, 'week', 4)),
    ).toEqual(['2024-01-03..2024-01-08'])
    expect(
      iso(
        refreshSpans(
          [
            span('2024-01-10T00:00:00Z', '2024-01-11T00:00:00Z'),
            span('2024-01-11T00:00:00Z', '2024-01-12T00:00:00Z'),
            span('2024-02-20T00:00:00Z', '2024-03-20T00:00:00Z'),
            span('2024-01-20T00:00:00Z', '2024-01-21T00:00:00Z'),
            span('2024-01-23T00:00:00Z', '2024-01-24T00:00:00Z'),
          ],
          entry,
          'day',
          3,
        ),
      ),
    ).toEqual(['2024-01-10..2024-01-12', '2024-01-20..2024-01-24', '2024-02-20..2024-03-01'])
  })

  it('refresh spans cover every change inside the entry with whole buckets (property)', () => {
    const unit = fc.constantFrom('hour', 'day', 'week', 'month' as const)
    const spanArb = fc
      .tuple(fc.integer({ min: 0, max: 200 * 24 }), fc.integer({ min: 1, max: 40 * 24 }))
      .map(([h, n]) => ({ startMs: DATA_START + h * HOUR, endMs: DATA_START + (h + n) * HOUR }))
    const entryArb = fc
      .tuple(fc.integer({ min: 0, max: 150 }), fc.integer({ min: 1, max: 90 }))
      .map(([d, n]) => ({ startMs: DATA_START + d * DAY, endMs: DATA_START + (d + n) * DAY }))
    fc.assert(
      fc.property(
        fc.array(spanArb, { maxLength: 8 }),
        entryArb,
        unit,
        fc.integer({ min: 1, max: 4 }),
        (changed, entry, u, max) => {
          const spans = refreshSpans(changed, entry, u, max)
          expect(spans.length).toBeLessThanOrEqual(max)
          for (const c of changed.filter((c) => overlaps(c, entry)))
            for (let t = Math.max(c.startMs, entry.startMs); t < Math.min(c.endMs, entry.endMs); t += HOUR)
              expect(spans.some((x) => x.startMs <= t && t < x.endMs)).toBe(true)
          for (const x of spans) {
            expect(x.startMs % DAY).toBe(0)
            expect(x.endMs % DAY).toBe(0)
            expect(x.startMs >= entry.startMs && x.endMs <= entry.endMs).toBe(true)
            const whole = alignOutward(x, u === 'hour' ? 'day' : u)
            // Every boundary is a bucket boundary or the entry's own.
            expect(x.startMs === whole.startMs || x.startMs === entry.startMs).toBe(true)
            expect(x.endMs === whole.endMs || x.endMs === entry.endMs).toBe(true)
          }
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('the catalog declaration', () => {
  const catalog = (incremental: unknown, sql: string, extra: Record<string, unknown> = {}) =>
    parseCatalog(
      {
        queries: {
          q: {
            ttlSeconds: 60,
            parameters: {
              period: { type: 'enum', values: ['day', 'week'], default: 'day' },
              start: { type: 'date', required: true },
              end: { type: 'date', required: true },
            },
            ranges: [{ from: 'start', to: 'end' }],
            incremental,
            sql,
            ...extra,
          },
        },
      },
      'queries.yaml',
    )
  const good = `SELECT date_trunc('{{period}}', event_time) AS b, count(*) AS n FROM t
    WHERE dt >= :start AND dt < :end GROUP BY 1 ORDER BY 1`

  it('accepts a bucket that is the first output, group and order key, from a parameter or fixed', () => {
    expect(
      catalog({ bucket: 'b', granularity: { parameter: 'period' } }, good).queries.get('q')?.incremental,
    ).toEqual({
      bucket: 'b',
      granularity: { parameter: 'period' },
    })
    const named = `SELECT dt, count(*) AS n FROM t -- ORDER BY n DESC
      WHERE dt >= :start AND dt < :end AND '{{period}}' <> 'x' GROUP BY dt ORDER BY dt ASC NULLS LAST`
    expect(catalog({ bucket: 'dt', granularity: 'day' }, named).queries.get('q')?.incremental).toEqual({
      bucket: 'dt',
      granularity: { unit: 'day' },
    })
  })

  it.each([
    ['no ranges item', { bucket: 'b', granularity: 'day' }, good, { ranges: [] }, /ranges/],
    ['a parameter that is no enum', { bucket: 'b', granularity: { parameter: 'start' } }, good, {}, /enum/],
    ['another first column', { bucket: 'n', granularity: 'day' }, good, {}, /first output column/],
    [
      'descending',
      { bucket: 'b', granularity: 'day' },
      good.replace('ORDER BY 1', 'ORDER BY 1 DESC'),
      {},
      /ORDER BY/,
    ],
    [
      'ordered by another key',
      { bucket: 'b', granularity: 'day' },
      good.replace('ORDER BY 1', 'ORDER BY n'),
      {},
      /ORDER BY/,
    ],
    ['no GROUP BY', { bucket: 'b', granularity: 'day' }, good.replace('GROUP BY 1 ', ''), {}, /GROUP BY/],
    ['a LIMIT', { bucket: 'b', granularity: 'day' }, `${good} LIMIT 10`, {}, /LIMIT/],
    [
      'a window function',
      { bucket: 'b', granularity: 'day' },
      good.replace('count(*) AS n', 'sum(count(*)) OVER (ORDER BY 1) AS n'),
      {},
      /window/,
    ],
    [
      'an unknown unit',
      { bucket: 'b', granularity: 'year' },
      good,
      {},
      /granularity: must be hour, day, week, month/,
    ],
  ])('refuses %s, naming the field', (_name, incremental, sql, extra, message) => {
    expect(() => catalog(incremental, sql, extra)).toThrow(message)
    expect(() => catalog(incremental, sql, extra)).toThrow(/queries\.yaml: .*query 'q', incremental/s)
  })

  it('refuses a granularity parameter with values that are no bucket unit', () => {
    const sql = good
    const doc = {
      queries: {
        q: {
          ttlSeconds: 60,
          parameters: {
            period: { type: 'enum', values: ['day', 'quarter'], default: 'day' },
            start: { type: 'date', required: true },
            end: { type: 'date', required: true },
          },
          ranges: [{ from: 'start', to: 'end' }],
          incremental: { bucket: 'b', granularity: { parameter: 'period' } },
          sql,
        },
      },
    }
    expect(() => parseCatalog(doc, 'queries.yaml')).toThrow(/not quarter/)
  })

  it('the shipped catalog declares analytics (period) and country_daily (dt per day)', () => {
    const queries = s.deps.service.catalog.queries
    expect(queries.get('analytics')?.incremental).toEqual({
      bucket: 'period_start',
      granularity: { parameter: 'period' },
    })
    expect(queries.get('country_daily')?.incremental).toEqual({ bucket: 'dt', granularity: { unit: 'day' } })
    expect(queries.get('top_pages')?.incremental).toBeUndefined()
  })
})

describe('incremental refresh (real Redis, local Athena)', () => {
  it('a 90-day daily chart after an hourly load: one day recomputed, spliced, equal to a full recompute', async () => {
    const resolved = analytics('day', '2024-01-01', '2024-03-31')
    const before = await compute(resolved)
    const full = await direct(resolved)
    expect(rowsPart(text(before))).toBe(rowsPart(full.body))
    await load(Date.parse('2024-02-15T10:00:00Z'), Date.parse('2024-02-15T11:00:00Z'), 50)
    await invalidate({
      query: 'analytics',
      range: { start: '2024-02-15T10:00:00Z', end: '2024-02-15T11:00:00Z' },
    })
    expect((await s.deps.service.inspect(resolved)).entry?.freshUntil).toBe(before.computedAt)

    const after = await refresh(resolved)
    const meta = metaOf(after)
    expect(meta.refresh).toMatchObject({
      kind: 'incremental',
      spans: [{ start: '2024-02-15', end: '2024-02-16' }],
    })
    expect(meta.refresh?.queryExecutionIds).toHaveLength(1)
    expect(isSplicedId(after.queryExecutionId)).toBe(true)
    expect(meta.queryExecutionId).toBe(after.queryExecutionId)

    // Byte for byte the columns and rows of a full recompute, and the load is in them.
    const now = await direct(resolved)
    expect(rowsPart(text(after))).toBe(rowsPart(now.body))
    expect(rowsPart(text(after))).not.toBe(rowsPart(text(before)))
    const day15 = (e: DecodedEntry) =>
      (JSON.parse(text(e)) as { rows: Array<{ period_start: string; events: number }> }).rows.find(
        (r) => r.period_start === '2024-02-15T00:00:00.000Z',
      )?.events
    expect((day15(after) ?? 0) - (day15(before) ?? 0)).toBe(50)

    // What it scanned: exactly the changed partition, as a direct query over that day alone.
    const oneDay = await direct(resolved, { ...resolved.params, start: '2024-02-15', end: '2024-02-16' })
    expect(meta.dataScannedBytes).toBe(oneDay.scanned)
    expect(after.dataScannedBytes).toBe(oneDay.scanned)
    expect(oneDay.scanned).toBeGreaterThan(0)
    expect(meta.dataScannedBytes * 40).toBeLessThan(now.scanned)
    console.log(
      `90-day daily chart, one hour loaded: incremental refresh scanned ${meta.dataScannedBytes} B, a full recompute ${now.scanned} B`,
    )

    // A new ETag, the same body shape (meta has `refresh` besides), and fresh again.
    expect(after.etag).not.toBe(before.etag)
    const parsed = JSON.parse(text(after)) as Record<string, Record<string, unknown>>
    expect(Object.keys(parsed)).toEqual(['columns', 'rows', 'meta'])
    expect(Object.keys(parsed.meta ?? {})).toEqual([...Object.keys(metaOf(before)), 'refresh'])
    expect(meta.rowCount).toBe(metaOf(before).rowCount)
    const read = await s.app.request(
      '/analytics?measure=pageviews&period=day&start=2024-01-01&end=2024-03-31',
      {
        headers: { 'x-api-key': READ },
      },
    )
    expect(read.headers.get('x-cache')).toBe('HIT')
    expect(read.headers.get('etag')).toBe(after.etag)
    expect(rowsPart(await read.text())).toBe(rowsPart(now.body))
  })

  it('separate changed days run one partial query each: measured against one query over their hull', async () => {
    const resolved = analytics('day', '2024-01-01', '2024-03-31')
    await compute(resolved)
    await load(Date.parse('2024-01-10T05:00:00Z'), Date.parse('2024-01-10T06:00:00Z'), 20)
    await load(Date.parse('2024-03-02T05:00:00Z'), Date.parse('2024-03-02T06:00:00Z'), 20)
    await invalidate({ query: 'analytics', range: { start: '2024-01-10', end: '2024-01-11' } })
    await invalidate({ query: 'analytics', range: { start: '2024-03-02', end: '2024-03-03' } })
    const after = await refresh(resolved)
    const meta = metaOf(after)
    expect(meta.refresh?.spans).toEqual([
      { start: '2024-01-10', end: '2024-01-11' },
      { start: '2024-03-02', end: '2024-03-03' },
    ])
    expect(meta.refresh?.queryExecutionIds).toHaveLength(2)
    const a = await direct(resolved, { ...resolved.params, start: '2024-01-10', end: '2024-01-11' })
    const b = await direct(resolved, { ...resolved.params, start: '2024-03-02', end: '2024-03-03' })
    const hull = await direct(resolved, { ...resolved.params, start: '2024-01-10', end: '2024-03-03' })
    expect(meta.dataScannedBytes).toBe(a.scanned + b.scanned)
    expect(meta.dataScannedBytes * 10).toBeLessThan(hull.scanned)
    console.log(
      `two changed days 52 days apart: per-span partial queries scanned ${meta.dataScannedBytes} B, one query over their hull ${hull.scanned} B`,
    )
    expect(rowsPart(text(after))).toBe(rowsPart((await direct(resolved)).body))
  })

  it('after random range invalidations and loads, the spliced rows equal a full recompute (property)', async () => {
    let incremental = 0
    let refreshes = 0
    const started = Date.now()
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          period: fc.constantFrom('day', 'week', 'month'),
          startDay: fc.integer({ min: 0, max: 80 }),
          days: fc.integer({ min: 2, max: 45 }),
          steps: fc.array(
            fc.record({
              offsetHours: fc.nat({ max: 100 * 24 }),
              lengthHours: fc.integer({ min: 1, max: 12 * 24 }),
              rows: fc.integer({ min: 0, max: 30 }),
            }),
            { minLength: 1, maxLength: 3 },
          ),
        }),
        async ({ period, startDay, days, steps }) => {
          const startMs = DATA_START + startDay * DAY
          const entry = { startMs, endMs: startMs + days * DAY }
          const resolved = analytics(period, day(entry.startMs), day(entry.endMs))
          await compute(resolved)
          for (const step of steps) {
            // From three days before the entry to its end: most overlap it, some cross an edge, a few miss it.
            const offsetHours = (step.offsetHours % ((days + 3) * 24)) - 3 * 24
            const span = { startMs: startMs + offsetHours * HOUR, endMs: 0 }
            span.endMs = span.startMs + step.lengthHours * HOUR
            // Data changes only where the pipeline says it did.
            await load(span.startMs, span.endMs, step.rows)
            await invalidate({
              query: 'analytics',
              range: { start: new Date(span.startMs).toISOString(), end: new Date(span.endMs).toISOString() },
            })
            const { entry: cached } = await s.deps.service.inspect(resolved)
            if (!cached) throw new Error('the entry is gone')
            let current = cached
            if (overlaps(span, entry)) {
              expect(cached.freshUntil).toBe(cached.computedAt)
              current = await refresh(resolved)
              refreshes++
              const meta = metaOf(current)
              if (meta.refresh) {
                incremental++
                // The recomputed spans hold every changed hour inside the entry.
                const spans = meta.refresh.spans.map((x) => ({
                  startMs: Date.parse(x.start),
                  endMs: Date.parse(x.end),
                }))
                for (
                  let t = Math.max(span.startMs, entry.startMs);
                  t < Math.min(span.endMs, entry.endMs);
                  t += HOUR
                )
                  expect(spans.some((x) => x.startMs <= t && t < x.endMs)).toBe(true)
              }
            }
            expect(rowsPart(text(current))).toBe(rowsPart((await direct(resolved)).body))
          }
        },
      ),
      { numRuns: 40 },
    )
    console.log(
      `property: ${refreshes} refreshes, ${incremental} incremental, ${Math.round((Date.now() - started) / 1000)} s`,
    )
    expect(refreshes).toBeGreaterThan(20)
    expect(incremental).toBeGreaterThan(refreshes / 2)
  }, 120_000)

  it('an invalidation of the whole query refreshes in full', async () => {
    const resolved = analytics('week', '2024-01-01', '2024-03-31')
    await compute(resolved)
    await invalidate({ query: 'analytics', range: { start: '2024-02-01', end: '2024-02-02' } })
    await invalidate({ query: 'analytics' })
    const after = await refresh(resolved)
    const meta = metaOf(after)
    expect(meta.refresh).toBeUndefined()
    expect(isSplicedId(after.queryExecutionId)).toBe(false)
    const full = await direct(resolved)
    expect(meta.dataScannedBytes).toBe(full.scanned)
    expect(rowsPart(text(after))).toBe(rowsPart(full.body))
  })

  it('a query without the declaration refreshes in full', async () => {
    const resolved = resolve('by_country', { measure: 'pageviews', start: '2024-01-01', end: '2024-03-31' })
    await compute(resolved)
    await invalidate({ query: 'by_country', range: { start: '2024-02-01', end: '2024-02-02' } })
    expect((await s.deps.service.inspect(resolved)).entry?.freshUntil).not.toBeUndefined()
    const after = await refresh(resolved)
    const meta = metaOf(after)
    expect(meta.refresh).toBeUndefined()
    expect(meta.dataScannedBytes).toBe((await direct(resolved)).scanned)
  })

  it('an entry whose stored body is not a result refreshes in full', async () => {
    const resolved = analytics('day', '2024-02-01', '2024-02-20')
    const { gzipBody: _gzip, etag: _etag, plainLength: _length, ...header } = await compute(resolved)
    await s.deps.store.set(resolved.key, encodeEntry(header, Buffer.from('{"not":"a result"}')), 60_000)
    await invalidate({ query: 'analytics', range: { start: '2024-02-05', end: '2024-02-06' } })
    const after = await refresh(resolved)
    expect(metaOf(after).refresh).toBeUndefined()
    expect(rowsPart(text(after))).toBe(rowsPart((await direct(resolved)).body))
  })

  it('an entry whose kept rows would be older than the TTL refreshes in full', async () => {
    const resolved = analytics('month', '2024-01-01', '2024-03-31')
    await compute(resolved)
    clockOffsetMs = (resolved.def.ttlSeconds + 1) * 1000
    try {
      await invalidate({ query: 'analytics', range: { start: '2024-02-01', end: '2024-02-02' } })
      const after = await refresh(resolved)
      expect(metaOf(after).refresh).toBeUndefined()
      // Then the next one splices again: the base is new.
      await invalidate({ query: 'analytics', range: { start: '2024-03-01', end: '2024-03-02' } })
      expect(metaOf(await refresh(resolved)).refresh?.spans).toEqual([
        { start: '2024-03-01', end: '2024-03-31' },
      ])
    } finally {
      clockOffsetMs = 0
    }
  })

  it('a stale read refreshes in the background by a splice; CSV and NDJSON follow from the spliced rows', async () => {
    const path = '/analytics?measure=pageviews&period=week&start=2024-01-03&end=2024-03-20'
    const get = (p: string) => s.app.request(p, { headers: { 'x-api-key': READ } })
    const first = await get(path)
    await first.arrayBuffer()
    const csvBefore = await (await get(`${path}&format=csv`)).text()
    await load(Date.parse('2024-01-04T08:00:00Z'), Date.parse('2024-01-04T09:00:00Z'), 25)
    await invalidate({
      query: 'analytics',
      range: { start: '2024-01-04T08:00:00Z', end: '2024-01-04T09:00:00Z' },
    })
    const stale = await get(path)
    await stale.arrayBuffer()
    expect(stale.headers.get('x-cache')).toBe('STALE')
    let body = ''
    for (let i = 0; i < 200; i++) {
      const res = await get(path)
      body = await res.text()
      if (res.headers.get('x-cache') === 'HIT') break
      await new Promise((r) => setTimeout(r, 25))
    }
    const meta = (JSON.parse(body) as { meta: Meta }).meta
    // The first week is cut by the entry's start (Wednesday the 3rd): recomputed as far as the entry reaches.
    expect(meta.refresh?.spans).toEqual([{ start: '2024-01-03', end: '2024-01-08' }])
    const resolved = analytics('week', '2024-01-03', '2024-03-20')
    expect(rowsPart(body)).toBe(rowsPart((await direct(resolved)).body))
    for (const format of ['csv', 'ndjson'] as const) {
      const res = await get(`${path}&format=${format}`)
      expect(res.status).toBe(200)
      expect(await res.text()).toBe((await direct(resolved, resolved.params, format)).body)
    }
    expect((await direct(resolved, resolved.params, 'csv')).body).not.toBe(csvBefore)
  })

  it('an invalidation while the partial query runs: the splice is not stored over the entry, the next one covers both', async () => {
    const resolved = analytics('day', '2024-01-01', '2024-03-01')
    const before = await compute(resolved)
    await invalidate({ query: 'analytics', range: { start: '2024-01-20', end: '2024-01-21' } })
    s.local.setMinQueryMs(1_000)
    let overtaken: DecodedEntry
    try {
      const running = refresh(resolved)
      await new Promise((r) => setTimeout(r, 300))
      await load(Date.parse('2024-02-10T01:00:00Z'), Date.parse('2024-02-10T02:00:00Z'), 9)
      await invalidate({ query: 'analytics', range: { start: '2024-02-10', end: '2024-02-11' } })
      overtaken = await running
    } finally {
      s.local.setMinQueryMs(0)
    }
    expect(metaOf(overtaken).refresh?.spans).toEqual([{ start: '2024-01-20', end: '2024-01-21' }])
    // Planned before the second invalidation: stored only where nothing is, so the entry is still the stale one.
    const { entry } = await s.deps.service.inspect(resolved)
    expect(entry?.etag).toBe(before.etag)
    expect(entry?.freshUntil).toBe(before.computedAt)
    const after = await refresh(resolved)
    expect(metaOf(after).refresh?.spans).toEqual([
      { start: '2024-01-20', end: '2024-01-21' },
      { start: '2024-02-10', end: '2024-02-11' },
    ])
    expect(rowsPart(text(after))).toBe(rowsPart((await direct(resolved)).body))
    expect((await s.deps.service.inspect(resolved)).entry?.etag).toBe(after.etag)
  })

  it('another process refreshing the same entry waits for the splice under the lease: no query of its own', async () => {
    const other = await startStack({
      dataDir,
      env: { CONFIG_DIR: configDir, CACHE_PREFIX: s.redis.prefix, LOG_LEVEL: 'silent', L1_TTL_MS: '0' },
    })
    try {
      const resolved = analytics('week', '2024-01-01', '2024-03-25')
      await compute(resolved)
      await invalidate({ query: 'analytics', range: { start: '2024-03-12', end: '2024-03-13' } })
      s.local.setMinQueryMs(1_000)
      const leaseKey = s.deps.keys.lease(resolved.key)
      let mine: Promise<DecodedEntry> | undefined
      try {
        mine = refresh(resolved)
        let lease: Buffer | null = null
        for (let i = 0; i < 100 && !lease; i++) {
          lease = await s.deps.store.get(leaseKey)
          if (!lease) await new Promise((r) => setTimeout(r, 10))
        }
        // Held for the partial queries, naming no execution: nobody may attach to one of them as the result.
        await new Promise((r) => setTimeout(r, 200))
        const held = JSON.parse((await s.deps.store.get(leaseKey))?.toString() ?? '{}') as Record<
          string,
          unknown
        >
        expect(held.owner).toBeTypeOf('string')
        expect(held.executionId).toBeUndefined()
        const theirs = other.deps.service.resolve('analytics', resolved.params)
        const { entry, known } = await other.deps.service.inspect(theirs)
        const waited = await other.deps.service.computeShared(theirs, known, entry ?? undefined)
        const spliced = await mine
        expect(waited.etag).toBe(spliced.etag)
        expect(metaOf(spliced).refresh?.spans).toEqual([{ start: '2024-03-11', end: '2024-03-18' }])
        expect(other.local.stats().executionsStarted).toBe(0)
      } finally {
        s.local.setMinQueryMs(0)
        await mine?.catch(() => {})
      }
      expect(await s.deps.store.get(leaseKey)).toBeNull()
    } finally {
      await other.close()
    }
  })

  it('country_daily (a tenant query, dt per day) splices too', async () => {
    const resolved = s.deps.service.replay(
      'country_daily',
      { start: '2024-01-01', end: '2024-03-31' },
      'acme',
    )
    expect(resolved.params.country).toBe(TENANT_COUNTRY.acme)
    const before = await compute(resolved)
    await load(Date.parse('2024-03-05T12:00:00Z'), Date.parse('2024-03-05T13:00:00Z'), 7)
    await invalidate({
      query: 'country_daily',
      range: { start: '2024-03-05T12:00:00Z', end: '2024-03-05T13:00:00Z' },
    })
    const after = await refresh(resolved)
    expect(metaOf(after).refresh?.spans).toEqual([{ start: '2024-03-05', end: '2024-03-06' }])
    const full = await direct(resolved)
    expect(rowsPart(text(after))).toBe(rowsPart(full.body))
    const events = (e: DecodedEntry) =>
      (JSON.parse(text(e)) as { rows: Array<{ dt: string; events: number }> }).rows.find(
        (r) => r.dt === '2024-03-05',
      )?.events ?? 0
    expect(events(after) - events(before)).toBe(7)
  })
})

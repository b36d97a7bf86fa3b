import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  defaultRows,
  generateSampleData,
  hasData,
  REFERENCE_START,
  resolveSampleRange,
  SAMPLE_TABLE_DESCRIPTION,
  type SampleDataMarker,
  weightedSlots,
} from '../../local/sample-data.ts'
import {
  ensureSampleData,
  planSampleData,
  readSampleDataState,
  type SampleDataState,
} from '../../local/sample-data-refresh.ts'
import { discoverTables, tableViewSql } from '../../local/table-catalog.ts'
import { ValidationError } from '../../src/errors.ts'
import { runAcp } from '../helpers/processes.ts'

const ROWS = 50_000
const DAY_MS = 86_400_000
let root: string
let instance: DuckDBInstance

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'sample-data-test-'))
  instance = await DuckDBInstance.create(':memory:')
})

afterAll(async () => {
  instance?.closeSync()
  await rm(root, { recursive: true, force: true })
})

async function sql(query: string): Promise<Record<string, unknown>[]> {
  const conn = await instance.connect()
  try {
    return (await conn.runAndReadAll(query)).getRowObjectsJson() as Record<string, unknown>[]
  } finally {
    conn.closeSync()
  }
}

const tableDir = (dataDir: string) => path.join(dataDir, 'analytics', 'analytics')
const table = (dataDir: string) =>
  `read_parquet('${tableDir(dataDir)}/**/*.parquet', hive_partitioning = true, hive_types = {'dt': VARCHAR})`
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10)

/** Aggregates that change if any row changes. */
async function fingerprint(dataDir: string): Promise<Record<string, unknown>> {
  const [summary] = await sql(`SELECT
      count(*) AS n, sum(value) AS total, min(event_time) AS first, max(event_time) AS last,
      bit_xor(hash(event_time, measure, value, page, coalesce(country, '-'), device, dt)) AS row_hash
    FROM ${table(dataDir)}`)
  const perMeasure = await sql(
    `SELECT measure, count(*) AS n, sum(value) AS total FROM ${table(dataDir)} GROUP BY measure ORDER BY measure`,
  )
  return { summary, perMeasure }
}

/**
 * The rows of every file, independent of the DuckDB version: count, sum, range, per-day counts of a few days, and
 * an md5 of each row's text (with its file's name) in a fixed order.
 */
async function pinnedFingerprint(dataDir: string): Promise<Record<string, unknown>> {
  const t = `read_parquet('${tableDir(dataDir)}/**/*.parquet', hive_partitioning = true, hive_types = {'dt': VARCHAR}, filename = true)`
  const [summary] = await sql(`SELECT count(*) AS n, sum(value) AS total,
      min(event_time)::VARCHAR AS first, max(event_time)::VARCHAR AS last, count(DISTINCT file) AS files,
      md5(string_agg(row_text, chr(10) ORDER BY row_text)) AS rows_md5
    FROM (SELECT event_time, value, regexp_extract(filename, 'dt=[^/]+/[^/]+$') AS file,
      concat_ws('|', regexp_extract(filename, 'dt=[^/]+/[^/]+$'), epoch_us(event_time), measure,
        CAST(value * 4 AS BIGINT), page, coalesce(country, '-'), device, dt) AS row_text FROM ${t})`)
  const days = await sql(
    `SELECT dt, count(*) AS n FROM ${t} WHERE dt IN ('2024-01-01', '2024-01-06', '2024-02-29', '2024-03-31') GROUP BY dt ORDER BY dt`,
  )
  return { ...summary, days: Object.fromEntries(days.map((d) => [d.dt, Number(d.n)])) }
}

/** SHA-256 of every Parquet file, by its path in the table. */
async function fileHashes(dataDir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const entry of await readdir(tableDir(dataDir), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.parquet')) continue
    const file = path.join(entry.parentPath, entry.name)
    out[path.relative(tableDir(dataDir), file)] = createHash('sha256')
      .update(await readFile(file))
      .digest('hex')
  }
  return out
}

const readMarker = async (dataDir: string) =>
  JSON.parse(await readFile(path.join(tableDir(dataDir), '_sample.json'), 'utf8')) as SampleDataMarker

describe('generateSampleData: the fixed range 2024-01-01 … 2024-03-31', () => {
  const first = () => path.join(root, 'first')
  const second = () => path.join(root, 'second')

  it('writes the table hive-partitioned by day, its marker, and reports it', async () => {
    expect(await hasData(first())).toBe(false)
    const report = await generateSampleData({ dataDir: first(), start: REFERENCE_START, rows: ROWS })
    expect(report).toMatchObject({
      start: '2024-01-01',
      end: '2024-03-31',
      days: 91,
      rows: ROWS,
      relative: false,
      onDemand: false,
      files: 91,
      dataDir: first(),
    })
    expect(report.bytes).toBeGreaterThan(100_000)
    expect(await hasData(first())).toBe(true)
    const entries = (await readdir(tableDir(first()))).sort()
    expect(entries).toHaveLength(93)
    expect(entries[0]).toBe('_sample.json')
    expect(entries[1]).toBe('_table.json')
    expect(JSON.parse(await readFile(path.join(tableDir(first()), '_table.json'), 'utf8'))).toEqual(
      SAMPLE_TABLE_DESCRIPTION,
    )
    expect(entries[2]).toBe('dt=2024-01-01')
    expect(entries[92]).toBe('dt=2024-03-31')
    expect(await readMarker(first())).toEqual({
      start: '2024-01-01',
      end: '2024-03-31',
      days: 91,
      rows: ROWS,
      relative: false,
      onDemand: false,
    })
    // No staging directory is left behind.
    expect(await readdir(path.join(first(), 'analytics'))).toEqual(['analytics'])
  })

  it('the marker is not part of the table: discovery and the local Athena view see the 91 day files only', async () => {
    const [found, ...more] = await discoverTables(first())
    expect(more).toEqual([])
    if (found === undefined) throw new Error('no table found')
    expect(found).toMatchObject({
      database: 'analytics',
      table: 'analytics',
      partitionKeys: ['dt'],
      files: 91,
    })
    await sql('CREATE SCHEMA IF NOT EXISTS memory.analytics')
    await sql(tableViewSql('memory', found))
    const [view] = await sql(
      'SELECT count(*) AS n, count(DISTINCT dt) AS days FROM memory.analytics.analytics',
    )
    expect(view).toEqual({ n: String(ROWS), days: '91' })
  })

  it('holds exactly the rows of the data set the tests and benchmarks were written for', async () => {
    // Values computed from the generator as it was before the range could move (2024-01-01 fixed in the code).
    expect(await pinnedFingerprint(first())).toEqual({
      n: '50000',
      total: 901293,
      first: '2024-01-01 00:05:04',
      last: '2024-03-31 23:59:19',
      files: '91',
      rows_md5: '4ae67fcb8b6d6c0c3ffa0a217538ec46',
      days: { '2024-01-01': 560, '2024-01-06': 294, '2024-02-29': 697, '2024-03-31': 404 },
    })
    const full = path.join(root, 'full')
    const report = await generateSampleData({ dataDir: full, start: '2024-01-01', days: 91 })
    expect(report.rows).toBe(1_200_000)
    expect(await pinnedFingerprint(full)).toEqual({
      n: '1200000',
      total: 21066374,
      first: '2024-01-01 00:00:02',
      last: '2024-03-31 23:59:58',
      files: '91',
      rows_md5: 'c79b5ece55878708ceafe405d811dbe7',
      days: { '2024-01-01': 12884, '2024-01-06': 7793, '2024-02-29': 15815, '2024-03-31': 9097 },
    })
    await rm(full, { recursive: true, force: true })
  })

  it('has the documented shape', async () => {
    const t = table(first())
    const [shape] = await sql(`SELECT
        count(*) AS n,
        min(event_time) >= TIMESTAMP '2024-01-01 00:00:00' AS starts_in_range,
        max(event_time) <= TIMESTAMP '2024-03-31 23:59:59' AS ends_in_range,
        count(DISTINCT dt) AS days,
        bool_and(dt = strftime(event_time, '%Y-%m-%d')) AS dt_matches,
        count(DISTINCT page) AS pages,
        count(DISTINCT country) AS countries,
        count(*) FILTER (WHERE country IS NULL) AS null_countries,
        list_sort(list(DISTINCT device)) AS devices,
        list_sort(list(DISTINCT measure)) AS measures,
        bool_and(CASE WHEN measure = 'revenue' THEN value > 0 AND value * 4 = floor(value * 4) ELSE value = 1 END) AS values_ok,
        count(*) FILTER (WHERE measure = 'pageviews') / count(*) AS pageviews_share,
        count(*) FILTER (WHERE measure = 'revenue') / count(*) AS revenue_share,
        count(*) FILTER (WHERE page = '/') > count(*) FILTER (WHERE page = '/blog/post-40') * 10 AS zipf,
        count(*) FILTER (WHERE dayofweek(event_time) IN (0, 6)) / count(*) AS weekend_share
      FROM ${t}`)
    expect(shape).toMatchObject({
      n: String(ROWS),
      starts_in_range: true,
      ends_in_range: true,
      days: '91',
      dt_matches: true,
      pages: '50',
      countries: '20',
      devices: ['desktop', 'mobile', 'tablet'],
      measures: ['pageviews', 'revenue', 'sessions', 'signups'],
      values_ok: true,
      zipf: true,
    })
    expect(Number(shape?.null_countries)).toBeGreaterThan(ROWS * 0.002)
    expect(Number(shape?.null_countries)).toBeLessThan(ROWS * 0.01)
    expect(Number(shape?.pageviews_share)).toBeCloseTo(0.55, 1)
    expect(Number(shape?.revenue_share)).toBeCloseTo(0.1, 1)
    // Weekends are quieter than 2/7 of the week.
    expect(Number(shape?.weekend_share)).toBeLessThan(0.25)
    const columns = await sql(
      `SELECT name, type FROM parquet_schema('${path.join(tableDir(first()), 'dt=2024-01-01')}/*.parquet') WHERE name <> 'duckdb_schema'`,
    )
    expect(columns.map((c) => c.name)).toEqual([
      'event_time',
      'measure',
      'value',
      'page',
      'country',
      'device',
    ])
  })

  it('is deterministic: another generation, and a regeneration in place, write the same files', async () => {
    await generateSampleData({ dataDir: second(), start: REFERENCE_START, rows: ROWS })
    expect(await fingerprint(second())).toEqual(await fingerprint(first()))
    const hashes = await fileHashes(first())
    expect(Object.keys(hashes)).toHaveLength(91)
    expect(await fileHashes(second())).toEqual(hashes)
    await generateSampleData({ dataDir: second(), start: REFERENCE_START, rows: ROWS })
    expect(await fileHashes(second())).toEqual(hashes)
    expect(await readdir(path.join(second(), 'analytics'))).toEqual(['analytics'])
  })

  it('rejects a bad row count, day count or start', async () => {
    const bad = path.join(root, 'bad')
    await expect(generateSampleData({ dataDir: bad, rows: 0 })).rejects.toThrow('rows')
    await expect(generateSampleData({ dataDir: bad, days: 0 })).rejects.toThrow(
      'days must be an integer from 1 to 3660',
    )
    await expect(generateSampleData({ dataDir: bad, days: 3661 })).rejects.toThrow('3660')
    await expect(generateSampleData({ dataDir: bad, start: '2024-02-30' })).rejects.toThrow(ValidationError)
    await expect(generateSampleData({ dataDir: bad, start: '9999-12-01', days: 100 })).rejects.toThrow('9999')
    expect(await hasData(bad)).toBe(false)
  })
})

describe('generateSampleData: the range', () => {
  it('defaults to the last 91 days up to and including today (UTC), 1.2 M rows', () => {
    const now = Date.parse('2025-06-15T23:59:59Z')
    expect(resolveSampleRange({ now })).toEqual({
      start: '2025-03-17',
      end: '2025-06-15',
      days: 91,
      rows: 1_200_000,
      relative: true,
    })
    expect(resolveSampleRange({ now, days: 7 })).toMatchObject({ start: '2025-06-09', end: '2025-06-15' })
    expect([defaultRows(91), defaultRows(1), defaultRows(365), defaultRows(3660)]).toEqual([
      1_200_000, 13_187, 4_813_187, 48_263_736,
    ])
  })

  it('ends today when no start is given', async () => {
    const dir = path.join(root, 'relative')
    const before = day(Date.now())
    const report = await generateSampleData({ dataDir: dir, days: 7, rows: 2_000 })
    const after = day(Date.now())
    expect([before, after]).toContain(report.end)
    expect(report.start).toBe(day(Date.parse(report.end) - 6 * DAY_MS))
    expect(report).toMatchObject({ days: 7, rows: 2_000, relative: true, files: 7 })
    const partitions = (await readdir(tableDir(dir))).filter((d) => d.startsWith('dt=')).sort()
    expect(partitions[0]).toBe(`dt=${report.start}`)
    expect(partitions[6]).toBe(`dt=${report.end}`)
    expect(await readMarker(dir)).toMatchObject({ start: report.start, end: report.end, relative: true })
  })

  it('is deterministic given the date: the same rows as the explicit start', async () => {
    const now = Date.parse('2025-06-15T08:00:00Z')
    const a = path.join(root, 'rel-a')
    const b = path.join(root, 'rel-b')
    const c = path.join(root, 'rel-c')
    await generateSampleData({ dataDir: a, rows: 20_000, now })
    await generateSampleData({ dataDir: b, rows: 20_000, now: now + 3_600_000 })
    await generateSampleData({ dataDir: c, rows: 20_000, start: '2025-03-17' })
    const expected = await fingerprint(a)
    expect(expected.summary).toMatchObject({ n: '20000' })
    expect(await fingerprint(b)).toEqual(expected)
    expect(await fingerprint(c)).toEqual(expected)
    // Another day is another data set.
    const d = path.join(root, 'rel-d')
    await generateSampleData({ dataDir: d, rows: 20_000, now: now + DAY_MS })
    expect(await fingerprint(d)).not.toEqual(expected)
    for (const dir of [a, b, c, d]) await rm(dir, { recursive: true, force: true })
  })

  it('follows the real weekday of each date, and grows over the range', async () => {
    // 2024-06-01 is a Saturday: a range starting on it must not take it for a Monday.
    const dir = path.join(root, 'weekdays')
    await generateSampleData({ dataDir: dir, start: '2024-06-01', days: 28, rows: 200_000 })
    const byWeekday = await sql(
      `SELECT isodow(event_time) AS dow, count(*) AS n FROM ${table(dir)} GROUP BY dow ORDER BY n`,
    )
    // Saturday (6) and Sunday (7) are the quietest, Tuesday and Wednesday the busiest.
    expect(byWeekday.slice(0, 2).map((r) => r.dow)).toEqual(expect.arrayContaining(['6', '7']))
    expect(byWeekday.slice(5).map((r) => r.dow)).toEqual(expect.arrayContaining(['2', '3']))
    const [weeks] = await sql(`SELECT
        count(*) FILTER (WHERE dt < '2024-06-08') AS first_week,
        count(*) FILTER (WHERE dt >= '2024-06-22') AS last_week
      FROM ${table(dir)}`)
    expect(Number(weeks?.last_week) / Number(weeks?.first_week)).toBeGreaterThan(1.15)
    await rm(dir, { recursive: true, force: true })
  })

  it('spans long ranges with the weekly pattern kept', async () => {
    const dir = path.join(root, 'long')
    const report = await generateSampleData({ dataDir: dir, start: '2020-01-01', days: 730, rows: 100_000 })
    expect(report).toMatchObject({ end: '2021-12-30', files: 730 })
    const [shares] = await sql(
      `SELECT count(*) FILTER (WHERE isodow(event_time) >= 6) / count(*) AS weekend FROM ${table(dir)}`,
    )
    expect(Number(shares?.weekend)).toBeGreaterThan(0.15)
    expect(Number(shares?.weekend)).toBeLessThan(0.22)
    await rm(dir, { recursive: true, force: true })
  })
})

describe('planSampleData', () => {
  const TODAY = '2025-06-15'
  const marker = (m: Partial<SampleDataMarker>): SampleDataState => ({
    kind: 'sample',
    marker: {
      start: '2025-03-17',
      end: TODAY,
      days: 91,
      rows: 1_200_000,
      relative: true,
      onDemand: true,
      ...m,
    },
  })
  const fixed = { start: '2024-01-01', end: '2024-03-31', relative: false }

  it.each<[string, SampleDataState, string | undefined, string, Record<string, unknown>?]>([
    ['empty dir, last 91 days', { kind: 'empty' }, undefined, 'generate', {}],
    ['empty dir, fixed start', { kind: 'empty' }, '2024-01-01', 'generate', { start: '2024-01-01' }],
    ['tables without a marker', { kind: 'other' }, undefined, 'keep'],
    ['tables without a marker, fixed start', { kind: 'other' }, '2024-01-01', 'keep'],
    ['relative, ends today', marker({}), undefined, 'keep'],
    [
      'relative, ended yesterday: the same size moved to today',
      marker({ start: '2025-03-16', end: '2025-06-14', rows: 5_000, onDemand: false }),
      undefined,
      'generate',
      { days: 91, rows: 5_000 },
    ],
    ['relative, a fixed start asked for', marker({}), '2024-01-01', 'generate', { start: '2024-01-01' }],
    ['fixed on demand, last 91 days asked for', marker({ ...fixed }), undefined, 'generate', {}],
    ['fixed on demand, the same asked for', marker({ ...fixed }), '2024-01-01', 'keep'],
    [
      'fixed on demand, another start',
      marker({ ...fixed }),
      '2024-02-01',
      'generate',
      { start: '2024-02-01' },
    ],
    [
      'fixed by acp sample-data, last 91 days asked for',
      marker({ ...fixed, onDemand: false }),
      undefined,
      'keep',
    ],
    [
      'fixed by acp sample-data, the same asked for',
      marker({ ...fixed, onDemand: false }),
      '2024-01-01',
      'keep',
    ],
    [
      'fixed by acp sample-data, another start',
      marker({ ...fixed, onDemand: false }),
      '2024-02-01',
      'refuse',
    ],
    [
      'fixed by acp sample-data, other rows',
      marker({ ...fixed, onDemand: false, rows: 50_000 }),
      '2024-01-01',
      'refuse',
    ],
  ])('%s → %s', (_name, state, start, action, options) => {
    const plan = planSampleData(state, { start }, TODAY)
    expect(plan.action).toBe(action)
    if (plan.action === 'generate') expect(plan.options).toEqual(options)
    expect(plan.reason.length).toBeGreaterThan(10)
  })
})

describe('ensureSampleData: what a server does with the data dir', () => {
  const now = Date.parse('2025-06-15T10:00:00Z')

  it('moves a relative data set to end today, keeping its size, once a day has passed', async () => {
    const dir = path.join(root, 'ensure-relative')
    await generateSampleData({ dataDir: dir, rows: 3_000, days: 30, now })
    const written = (await stat(path.join(tableDir(dir), '_sample.json'))).mtimeMs
    expect(await ensureSampleData({ dataDir: dir, now: now + 3_600_000 })).toMatchObject({ action: 'keep' })
    expect((await stat(path.join(tableDir(dir), '_sample.json'))).mtimeMs).toBe(written)

    const outcome = await ensureSampleData({ dataDir: dir, now: now + DAY_MS })
    expect(outcome).toMatchObject({
      action: 'generate',
      report: {
        start: '2025-05-18',
        end: '2025-06-16',
        days: 30,
        rows: 3_000,
        relative: true,
        onDemand: true,
      },
    })
    expect(outcome.reason).toContain('no longer ends today')
    const partitions = (await readdir(tableDir(dir))).filter((d) => d.startsWith('dt=')).sort()
    expect([partitions[0], partitions.at(-1), partitions.length]).toEqual([
      'dt=2025-05-18',
      'dt=2025-06-16',
      30,
    ])
    await rm(dir, { recursive: true, force: true })
  })

  it('never replaces a fixed range written by acp sample-data; a server asking for another one is refused', async () => {
    const dir = path.join(root, 'ensure-fixed')
    await generateSampleData({ dataDir: dir, start: '2024-01-01', rows: 3_000 })
    const hashes = await fileHashes(dir)
    expect(await ensureSampleData({ dataDir: dir, now: now + 400 * DAY_MS })).toMatchObject({
      action: 'keep',
    })
    await expect(ensureSampleData({ dataDir: dir, start: '2024-02-01', now })).rejects.toThrow(
      /2024-01-01 … 2024-03-31 \(3000 rows\), written by acp sample-data/,
    )
    // The default row count is part of what a server asks for.
    await expect(ensureSampleData({ dataDir: dir, start: '2024-01-01', now })).rejects.toThrow(
      ValidationError,
    )
    expect(await fileHashes(dir)).toEqual(hashes)
    await rm(dir, { recursive: true, force: true })
  })

  it('leaves data that is not sample data alone, and a marker it cannot read', async () => {
    const dir = path.join(root, 'ensure-other')
    await mkdir(path.join(dir, 'sales', 'orders'), { recursive: true })
    await sql(
      `COPY (SELECT 1 AS id) TO '${path.join(dir, 'sales', 'orders', 'part-0.parquet')}' (FORMAT parquet)`,
    )
    expect(await readSampleDataState(dir)).toEqual({ kind: 'other' })
    expect(await ensureSampleData({ dataDir: dir, now })).toMatchObject({ action: 'keep' })
    expect(await ensureSampleData({ dataDir: dir, start: '2024-01-01', now })).toMatchObject({
      action: 'keep',
    })
    expect(await readdir(dir)).toEqual(['sales'])

    // A sample table whose marker is damaged is not known to be sample data: kept.
    const damaged = path.join(root, 'ensure-damaged')
    await generateSampleData({ dataDir: damaged, rows: 1_000, days: 3, now: now - 10 * DAY_MS })
    await writeFile(path.join(tableDir(damaged), '_sample.json'), '{"start": "2025-06-0')
    expect(await readSampleDataState(damaged)).toEqual({ kind: 'other' })
    expect(await ensureSampleData({ dataDir: damaged, now })).toMatchObject({ action: 'keep' })
    for (const d of [dir, damaged]) await rm(d, { recursive: true, force: true })
  })
})

describe('acp sample-data', () => {
  const ENV = { LOG_LEVEL: 'silent' }
  const acp = (args: string[]) => runAcp(args, ENV, { timeoutMs: 60_000 })
  const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at /)

  it('writes the range asked for and says what it wrote', async () => {
    const dir = path.join(root, 'cli')
    const run = await acp([
      'sample-data',
      '--data-dir',
      dir,
      '--start',
      '2024-02-28',
      '--days',
      '3',
      '--rows',
      '600',
    ])
    expect(run.code, run.stderr).toBe(0)
    const bytes = (await readdir(tableDir(dir), { recursive: true }))
      .filter((f) => f.endsWith('.parquet'))
      .map((f) => path.join(tableDir(dir), f))
    let total = 0
    for (const f of bytes) total += (await stat(f)).size
    expect(run.stdout.trim()).toBe(
      `wrote analytics.analytics to ${dir}: 2024-02-28 … 2024-03-01 (3 days), 600 rows, 3 files, ${total} bytes`,
    )
    expect(await readMarker(dir)).toEqual({
      start: '2024-02-28',
      end: '2024-03-01',
      days: 3,
      rows: 600,
      relative: false,
      onDemand: false,
    })
    const again = await acp(['sample-data', '--data-dir', dir, '--days', '2', '--rows', '100'])
    expect(again.code).toBe(0)
    expect(again.stdout).toContain('already holds data (use --force to regenerate)')
    expect((await readMarker(dir)).start).toBe('2024-02-28')
  })

  it.each([
    [
      ['--start', '2024-02-30'],
      "option '--start <date>' argument '2024-02-30' is invalid. must be a date YYYY-MM-DD",
    ],
    [['--start', 'yesterday'], 'must be a date YYYY-MM-DD'],
    [['--days', '0'], "option '--days <n>' argument '0' is invalid. must be an integer from 1 to 3660"],
    [['--days', '3661'], 'must be an integer from 1 to 3660'],
    [['--days', '2.5'], 'must be an integer from 1 to 3660'],
    [['--rows', '0'], "option '--rows <n>' argument '0' is invalid. must be a positive integer"],
    [['--start', '9999-12-01', '--days', '100'], 'acp: the sample data must lie within the years 0000–9999'],
  ])('%j: a clear error, exit 1, nothing written', async (args, message) => {
    const dir = path.join(root, 'cli-bad')
    const run = await acp(['sample-data', '--data-dir', dir, '--rows', '100', ...args])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(message)
    noStack(run.stderr)
    expect(await hasData(dir)).toBe(false)
  })

  it('local-athena --sample-start refuses to replace a fixed range written by acp sample-data', async () => {
    const dir = path.join(root, 'cli-refuse')
    await generateSampleData({ dataDir: dir, start: '2024-01-01', rows: 500 })
    const run = await acp([
      'local-athena',
      '--port',
      '0',
      '--data-dir',
      dir,
      '--sample-data',
      '--sample-start',
      '2024-01-01',
    ])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('written by acp sample-data')
    expect(run.stderr).toContain('acp sample-data --force --start 2024-01-01')
    noStack(run.stderr)
    const bad = await acp(['local-athena', '--port', '0', '--data-dir', dir, '--sample-start', '2024-13-01'])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('must be a date YYYY-MM-DD')
  })
})

describe('weightedSlots', () => {
  it('spreads slots proportionally, at least one per weight', () => {
    const slots = weightedSlots([3, 1, 0.0001], 100)
    expect(slots).toHaveLength(100)
    const counts = [0, 1, 2].map((i) => slots.filter((s) => s === i).length)
    expect(counts[2]).toBe(1)
    expect(counts[0]).toBeGreaterThanOrEqual(74)
    expect(counts[0]).toBeLessThanOrEqual(75)
    expect(counts[1]).toBeGreaterThanOrEqual(24)
  })
})

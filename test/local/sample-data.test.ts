import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateSampleData, hasData, weightedSlots } from '../../local/sample-data.ts'

const ROWS = 50_000
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

const table = (dataDir: string) =>
  `read_parquet('${path.join(dataDir, 'analytics', 'analytics')}/**/*.parquet', hive_partitioning = true, hive_types = {'dt': VARCHAR})`

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

describe('generateSampleData', () => {
  const first = () => path.join(root, 'first')
  const second = () => path.join(root, 'second')

  it('writes the table hive-partitioned by day and reports it', async () => {
    expect(await hasData(first())).toBe(false)
    const report = await generateSampleData({ dataDir: first(), rows: ROWS })
    expect(report).toMatchObject({ rows: ROWS, files: 91, dataDir: first() })
    expect(report.bytes).toBeGreaterThan(100_000)
    expect(await hasData(first())).toBe(true)
    const partitions = (await readdir(path.join(first(), 'analytics', 'analytics'))).sort()
    expect(partitions).toHaveLength(91)
    expect(partitions[0]).toBe('dt=2024-01-01')
    expect(partitions[90]).toBe('dt=2024-03-31')
    // No staging directory is left behind.
    expect(await readdir(path.join(first(), 'analytics'))).toEqual(['analytics'])
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
      `SELECT name, type FROM parquet_schema('${path.join(first(), 'analytics', 'analytics', 'dt=2024-01-01')}/*.parquet') WHERE name <> 'duckdb_schema'`,
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

  it('is deterministic: another generation, and a regeneration in place, hold the same rows', async () => {
    await generateSampleData({ dataDir: second(), rows: ROWS })
    const expected = await fingerprint(first())
    expect(await fingerprint(second())).toEqual(expected)
    await generateSampleData({ dataDir: second(), rows: ROWS })
    expect(await fingerprint(second())).toEqual(expected)
    expect(await readdir(path.join(second(), 'analytics'))).toEqual(['analytics'])
  })

  it('rejects a bad row count', async () => {
    await expect(generateSampleData({ dataDir: path.join(root, 'bad'), rows: 0 })).rejects.toThrow('rows')
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

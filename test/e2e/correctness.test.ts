import { DuckDBInstance } from '@duckdb/node-api'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { type Stack, startStack } from '../helpers/stack.ts'

type Row = Record<string, unknown>

/** Runs SQL directly on the sample Parquet with DuckDB: the independent oracle the API must agree with. */
async function direct(sql: string): Promise<Row[]> {
  const instance = await DuckDBInstance.create(':memory:')
  const conn = await instance.connect()
  try {
    const glob = `${inject('dataDir')}/analytics/analytics/**/*.parquet`
    await conn.run(
      `CREATE VIEW analytics AS SELECT * FROM read_parquet('${glob}', hive_partitioning = true, hive_types = {'dt': VARCHAR})`,
    )
    const reader = await conn.runAndReadAll(sql)
    return reader.getRowObjectsJson() as Row[]
  } finally {
    conn.closeSync()
    instance.closeSync()
  }
}

async function api(s: Stack, path: string): Promise<Row[]> {
  const res = await s.app.request(path)
  expect(res.status).toBe(200)
  return ((await res.json()) as { rows: Row[] }).rows
}

describe('API results equal a direct DuckDB query over the sample Parquet', () => {
  let s: Stack
  beforeAll(async () => {
    s = await startStack()
  })
  afterAll(async () => {
    await s.close()
  })

  it.each(['day', 'week', 'month', 'hour'])('analytics, revenue, period=%s', async (period) => {
    const rows = await api(s, `/analytics?measure=revenue&period=${period}&start=2024-01-15&end=2024-03-10`)
    const expected = await direct(`
      SELECT strftime(date_trunc('${period}', event_time), '%Y-%m-%dT%H:%M:%S.000Z') AS period_start,
             sum(value) AS total, count(*) AS events
      FROM analytics
      WHERE measure = 'revenue' AND event_time >= TIMESTAMP '2024-01-15' AND event_time < TIMESTAMP '2024-03-10'
      GROUP BY 1 ORDER BY 1`)
    expect(rows.length).toBeGreaterThan(0)
    expect(rows).toEqual(
      expected.map((r) => ({
        period_start: r.period_start,
        total: Number(r.total),
        events: Number(r.events),
      })),
    )
  })

  it('top_pages ranks pages by total', async () => {
    const rows = await api(s, '/queries/top_pages?measure=pageviews&start=2024-02-01&end=2024-03-01&limit=7')
    const expected = await direct(`
      SELECT page, sum(value) AS total, count(*) AS events FROM analytics
      WHERE measure = 'pageviews' AND dt >= '2024-02-01' AND dt < '2024-03-01'
      GROUP BY page ORDER BY total DESC, page LIMIT 7`)
    expect(rows).toEqual(
      expected.map((r) => ({ page: r.page, total: Number(r.total), events: Number(r.events) })),
    )
  })

  it('by_country includes the NULL country as null', async () => {
    const rows = await api(s, '/queries/by_country?measure=sessions&start=2024-03-01')
    const expected = await direct(`
      SELECT country, sum(value) AS total, count(*) AS events, approx_count_distinct(page) AS pages FROM analytics
      WHERE measure = 'sessions' AND dt >= '2024-03-01' AND dt < '2024-04-01'
      GROUP BY country ORDER BY total DESC, country NULLS LAST`)
    expect(rows.map((r) => [r.country, r.total, r.events])).toEqual(
      expected.map((r) => [r.country ?? null, Number(r.total), Number(r.events)]),
    )
    expect(rows.some((r) => r.country === null)).toBe(true)
  })
})

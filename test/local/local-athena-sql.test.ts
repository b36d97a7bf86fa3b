import { cp, rm } from 'node:fs/promises'
import path from 'node:path'
import { InvalidRequestException } from '@aws-sdk/client-athena'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LocalAthenaFixture, startLocalAthenaFixture } from '../helpers/local-athena-fixture.ts'

let f: LocalAthenaFixture

beforeAll(async () => {
  f = await startLocalAthenaFixture()
})

afterAll(async () => {
  await f?.close()
})

async function rejected(fn: () => Promise<unknown>): Promise<InvalidRequestException> {
  try {
    await fn()
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidRequestException)
    return err as InvalidRequestException
  }
  throw new Error('expected InvalidRequestException')
}

/** The single data row of a query, by column name. */
async function row(sql: string, params?: string[]): Promise<Record<string, string | null>> {
  const { values } = await f.query(sql, params ? { ExecutionParameters: params } : {})
  expect(values).toHaveLength(2)
  const [header = [], data = []] = values
  return Object.fromEntries(header.map((name, i) => [name ?? '', data[i] ?? null]))
}

async function scanned(sql: string): Promise<number> {
  const { execution } = await f.query(sql)
  return execution.Statistics?.DataScannedInBytes ?? Number.NaN
}

describe('ExecutionParameters', () => {
  it('binds each literal as a typed value', async () => {
    const { values, resultSet } = await f.query(
      'SELECT ? AS s, ? AS i, ? AS d, ? AS b, ? AS n, ? AS day, ? AS ts, ? AS big, ? AS dbl',
      {
        ExecutionParameters: [
          "'it''s a \"test\"'",
          '42',
          '12.50',
          'TRUE',
          'NULL',
          "DATE '2024-01-02'",
          "TIMESTAMP '2024-01-02 03:04:05.678'",
          '9007199254740993',
          '1.5e3',
        ],
      },
    )
    expect(values[1]).toEqual([
      'it\'s a "test"',
      '42',
      '12.50',
      'true',
      null,
      '2024-01-02',
      '2024-01-02 03:04:05.678',
      '9007199254740993',
      '1500.0',
    ])
    const types = resultSet.ResultSetMetadata?.ColumnInfo?.map((c) => c.Type)
    expect([
      types?.[0],
      types?.[1],
      types?.[2],
      types?.[3],
      types?.[5],
      types?.[6],
      types?.[7],
      types?.[8],
    ]).toEqual(['varchar', 'integer', 'decimal', 'boolean', 'date', 'timestamp', 'bigint', 'double'])
  })

  it('filters with bound values, quotes included, and a value can not change the statement', async () => {
    const sql = 'SELECT count(*) AS n FROM analytics WHERE measure = ? AND dt BETWEEN ? AND ?'
    const bound = await row(sql, ["'signups'", "'2024-01-01'", "'2024-01-31'"])
    const literal = await row(
      "SELECT count(*) AS n FROM analytics WHERE measure = 'signups' AND dt BETWEEN '2024-01-01' AND '2024-01-31'",
    )
    expect(Number(bound.n)).toBeGreaterThan(0)
    expect(bound).toEqual(literal)
    const sneaky = await row(sql, ["'x'' OR ''1''=''1'", "'2024-01-01'", "'2024-12-31'"])
    expect(sneaky.n).toBe('0')
  })

  it('rejects anything that is not exactly one literal', async () => {
    const sql = 'SELECT count(*) FROM analytics WHERE measure = ?'
    for (const bad of [
      "'pageviews' OR 1=1",
      '1; DROP TABLE x',
      "'unbalanced",
      "x'",
      'pageviews',
      "'a' 'b'",
      '(1)',
      '1 + 1',
    ]) {
      const err = await rejected(() => f.start(sql, { ExecutionParameters: [bad] }))
      expect(err.message).toContain('not a single SQL literal')
    }
    await rejected(() => f.start('SELECT ?', { ExecutionParameters: ["DATE '2024-02-30'"] }))
  })

  it('a wrong number of parameters fails the execution; parameters of a query without placeholders are ignored', async () => {
    const failed = await f.wait(await f.start('SELECT ? + ?', { ExecutionParameters: ['1'] }))
    expect(failed.Status?.State).toBe('FAILED')
    expect(failed.Status?.AthenaError).toEqual({
      ErrorCategory: 2,
      ErrorType: 1100,
      Retryable: false,
      ErrorMessage:
        'INVALID_PARAMETER_USAGE: line 1:1: Incorrect number of parameters: expected 2 but found 1',
    })
    expect(await row('SELECT 1 AS one', ['1', "'x'"])).toEqual({ one: '1' })
  })

  it('counts only placeholders outside strings, quoted identifiers and comments', async () => {
    const r = await row(`SELECT '?' AS "q?", ? AS p -- trailing ? comment\n /* ? */`, ["'v'"])
    expect(r).toEqual({ 'q?': '?', p: 'v' })
  })
})

describe('DataScannedInBytes', () => {
  it('is the bytes read from the Parquet files that partition pruning kept', async () => {
    const oneDay = await scanned("SELECT sum(value) FROM analytics WHERE dt = '2024-01-05'")
    const twoDays = await scanned("SELECT sum(value) FROM analytics WHERE dt IN ('2024-01-05', '2024-01-06')")
    const all = await scanned('SELECT sum(value) FROM analytics')
    expect(oneDay).toBeGreaterThan(0)
    expect(twoDays).toBeGreaterThan(oneDay)
    expect(all).toBeGreaterThan(10 * oneDay)
    // Deterministic: a repeat reads (and reports) the same bytes.
    expect(await scanned("SELECT sum(value) FROM analytics WHERE dt = '2024-01-05'")).toBe(oneDay)
    // Columnar: reading one more column reads more.
    expect(
      await scanned("SELECT sum(value), max(page) FROM analytics WHERE dt = '2024-01-05'"),
    ).toBeGreaterThan(oneDay)
    // Bound partition filters prune just as well.
    const { execution } = await f.query('SELECT sum(value) FROM analytics WHERE dt = ?', {
      ExecutionParameters: ["'2024-01-05'"],
    })
    expect(execution.Statistics?.DataScannedInBytes).toBe(oneDay)
  })

  it('is 0 for a query that reads no table', async () => {
    expect(await scanned('SELECT 1')).toBe(0)
    expect(await scanned('SELECT i FROM range(10) t(i)')).toBe(0)
  })
})

describe('Trino functions', () => {
  it('date and time functions', async () => {
    const r = await row(`SELECT
      from_iso8601_timestamp('2024-01-02T03:04:05Z') AS a,
      from_iso8601_timestamp('2024-01-02T05:04:05.123+02:00') AS b,
      from_iso8601_date('2024-01-02') AS c,
      to_iso8601(TIMESTAMP '2024-01-02 03:04:05.678') AS d,
      to_iso8601(DATE '2024-01-02') AS e,
      to_iso8601(from_iso8601_timestamp('2024-01-02T03:04:05Z')) AS f,
      date_add('day', 3, DATE '2024-01-30') AS g,
      date_add('month', 1, TIMESTAMP '2024-01-31 10:00:00') AS h,
      date_add('hour', -2, TIMESTAMP '2024-01-01 01:00:00') AS i,
      date_add('quarter', 1, DATE '2024-01-15') AS j,
      date_diff('day', TIMESTAMP '2024-01-01 23:00:00', TIMESTAMP '2024-01-02 01:00:00') AS k,
      date_diff('day', DATE '2024-01-01', DATE '2024-03-01') AS l,
      date_diff('hour', TIMESTAMP '2024-01-01 00:00:00', TIMESTAMP '2024-01-01 05:59:00') AS m,
      date_format(TIMESTAMP '2024-03-05 14:07:09', '%Y-%m-%d %H:%i:%s') AS n,
      date_format(TIMESTAMP '2024-03-05 14:07:09', '%W %a %b %M %e %c %j %p %h %l %k %T %r %y %%') AS o,
      date_parse('2024-03-05 14:07', '%Y-%m-%d %H:%i') AS p,
      from_unixtime(1704067200) AS q,
      to_unixtime(TIMESTAMP '2024-01-01 00:00:01.5') AS r,
      day_of_week(DATE '2024-01-07') AS s,
      day_of_week(DATE '2024-01-01') AS t,
      current_date = CAST(now() AS DATE) AS u,
      7 / 2 AS v,
      date_trunc('month', DATE '2024-01-15') AS w,
      date_trunc('hour', TIMESTAMP '2024-01-15 10:11:12') AS x`)
    expect(r).toEqual({
      a: '2024-01-02 03:04:05.000 UTC',
      b: '2024-01-02 03:04:05.123 UTC',
      c: '2024-01-02',
      d: '2024-01-02T03:04:05.678',
      e: '2024-01-02',
      f: '2024-01-02T03:04:05.000Z',
      g: '2024-02-02',
      h: '2024-02-29 10:00:00.000',
      i: '2023-12-31 23:00:00.000',
      j: '2024-04-15',
      k: '0',
      l: '60',
      m: '5',
      n: '2024-03-05 14:07:09',
      o: 'Tuesday Tue Mar March 5 3 065 PM 02 2 14 14:07:09 02:07:09 PM 24 %',
      p: '2024-03-05 14:07:00.000',
      q: '2024-01-01 00:00:00.000 UTC',
      r: '1.7040672015E9',
      s: '7',
      t: '1',
      u: 'true',
      v: '3',
      w: '2024-01-01',
      x: '2024-01-15 10:00:00.000',
    })
  })

  it('aggregate, array, map and string functions', async () => {
    const r = await row(`SELECT
      approx_distinct(country) AS a,
      approx_percentile(CAST(hour(event_time) AS DOUBLE), 0.0) AS b,
      arbitrary(device) IN ('desktop', 'mobile', 'tablet') AS c,
      cardinality(ARRAY[1, 2, 3]) AS d,
      cardinality(map(ARRAY['a'], ARRAY[1])) AS e,
      element_at(ARRAY[10, 20, 30], 2) AS f,
      element_at(ARRAY[10, 20, 30], -1) AS g,
      element_at(map(ARRAY['a'], ARRAY[1]), 'a') AS h,
      regexp_like('pricing-page', 'ic.*pa') AS i,
      regexp_like('pricing-page', '^page') AS j,
      try_cast('abc' AS INTEGER) AS k,
      TRY_CAST('12' AS INTEGER) AS l,
      json_extract_scalar('{"a": {"b": "x"}}', '$.a.b') AS m,
      array_join(ARRAY['a', 'b'], '-') AS n,
      count_if(CAST(NULL AS BOOLEAN)) AS o,
      (SELECT sum(n) FROM UNNEST(sequence(1, 2500)) AS s(n)) AS q,
      (SELECT sum(n) FROM UNNEST(sequence(10, 1, -3)) AS s(n)) AS r,
      (SELECT max(n) FROM (VALUES 1, 2, 3) AS v(n)) AS s,
      count_if(device = 'desktop') > 0 AS p
      FROM analytics WHERE dt = '2024-01-10'`)
    expect(Number(r.a)).toBeGreaterThanOrEqual(18)
    expect(Number(r.a)).toBeLessThanOrEqual(22)
    expect(r).toMatchObject({
      b: '0.0',
      c: 'true',
      d: '3',
      e: '1',
      f: '20',
      g: '30',
      h: '1',
      i: 'true',
      j: 'false',
      k: null,
      l: '12',
      m: 'x',
      n: 'a-b',
      o: '0',
      q: '3126250',
      r: '22',
      s: '3',
      p: 'true',
    })
  })

  it('leaves strings, comments and DuckDB-style calls alone', async () => {
    const r = await row(
      `SELECT 'date_add(' AS "date_add", date_add(DATE '2024-01-01', INTERVAL 1 DAY) AS two_args -- date_diff(`,
    )
    expect(r).toEqual({ date_add: 'date_add(', two_args: '2024-01-02 00:00:00.000' })
  })

  it('a dashboard-style query over the sample table', async () => {
    const { values } = await f.query(`
      SELECT date_format(date_trunc('day', event_time), '%Y-%m-%d') AS day, count(*) AS events
      FROM analytics
      WHERE event_time >= from_iso8601_timestamp('2024-01-10T00:00:00Z')
        AND event_time < date_add('day', 2, from_iso8601_timestamp('2024-01-10T00:00:00Z'))
      GROUP BY 1 ORDER BY 1`)
    const { values: byPartition } = await f.query(`
      SELECT dt, count(*) FROM analytics WHERE dt IN ('2024-01-10', '2024-01-11') GROUP BY dt ORDER BY dt`)
    expect(values.slice(1)).toEqual(byPartition.slice(1))
    expect(values.slice(1).map(([day]) => day)).toEqual(['2024-01-10', '2024-01-11'])
  })
})

describe('catalog', () => {
  it('resolves unqualified names in the context database, qualified names anywhere', async () => {
    const qualified = await row('SELECT count(*) AS n FROM analytics.analytics', undefined)
    const catalogQualified = await row('SELECT count(*) AS n FROM "AwsDataCatalog"."analytics"."analytics"')
    expect(qualified.n).toBe('50000')
    expect(catalogQualified).toEqual(qualified)
    const { values } = await f.query('SELECT count(*) FROM analytics.analytics', {
      QueryExecutionContext: { Database: 'default' },
    })
    expect(values[1]).toEqual(['50000'])
    expect((await f.query('SHOW TABLES')).values).toEqual([['analytics']])
  })
  it('refresh() picks up new tables and drops removed ones', async () => {
    const dir = path.join(f.dataDir, 'other', 'events')
    await cp(
      path.join(f.dataDir, 'analytics', 'analytics', 'dt=2024-01-01'),
      path.join(dir, 'dt=2024-01-01'),
      {
        recursive: true,
      },
    )
    const missing = "SCHEMA_NOT_FOUND: line 1:22: Schema 'other' does not exist"
    expect((await f.wait(await f.start('SELECT count(*) FROM other.events'))).Status?.StateChangeReason).toBe(
      missing,
    )
    await f.local.refresh()
    const copied = await row("SELECT count(*) AS n FROM other.events WHERE dt = '2024-01-01'")
    const original = await row("SELECT count(*) AS n FROM analytics WHERE dt = '2024-01-01'")
    expect(Number(copied.n)).toBeGreaterThan(0)
    expect(copied).toEqual(original)
    await rm(path.join(f.dataDir, 'other'), { recursive: true })
    await f.local.refresh()
    expect((await f.wait(await f.start('SELECT count(*) FROM other.events'))).Status?.StateChangeReason).toBe(
      missing,
    )
  })
})

import { GetQueryResultsCommand } from '@aws-sdk/client-athena'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LocalAthenaFixture, startLocalAthenaFixture } from '../helpers/local-athena-fixture.ts'

let f: LocalAthenaFixture

beforeAll(async () => {
  f = await startLocalAthenaFixture({ rows: 1_000 })
})

afterAll(async () => {
  await f?.close()
})

// [expression, Athena type, precision, scale, rendering]
const CASES: ReadonlyArray<readonly [string, string, number, number, string]> = [
  ["'héllo, world'", 'varchar', 2147483647, 0, 'héllo, world'],
  ['CAST(9007199254740993 AS BIGINT)', 'bigint', 19, 0, '9007199254740993'],
  ['CAST(-9223372036854775808 AS BIGINT)', 'bigint', 19, 0, '-9223372036854775808'],
  ['CAST(2147483647 AS INTEGER)', 'integer', 10, 0, '2147483647'],
  ['CAST(-32768 AS SMALLINT)', 'smallint', 5, 0, '-32768'],
  ['CAST(127 AS TINYINT)', 'tinyint', 3, 0, '127'],
  ['CAST(1234.5 AS DOUBLE)', 'double', 17, 0, '1234.5'],
  ['CAST(1 AS DOUBLE)', 'double', 17, 0, '1.0'],
  ['CAST(1e7 AS DOUBLE)', 'double', 17, 0, '1.0E7'],
  ['CAST(9999999.5 AS DOUBLE)', 'double', 17, 0, '9999999.5'],
  ['CAST(0.0001 AS DOUBLE)', 'double', 17, 0, '1.0E-4'],
  ['CAST(0.001 AS DOUBLE)', 'double', 17, 0, '0.001'],
  ['CAST(-123456789.125 AS DOUBLE)', 'double', 17, 0, '-1.23456789125E8'],
  ['CAST(0.1 AS DOUBLE) + CAST(0.2 AS DOUBLE)', 'double', 17, 0, '0.30000000000000004'],
  ["CAST('NaN' AS DOUBLE)", 'double', 17, 0, 'NaN'],
  ["CAST('-Infinity' AS DOUBLE)", 'double', 17, 0, '-Infinity'],
  ['CAST(0.1 AS REAL)', 'real', 7, 0, '0.1'],
  ['CAST(3.4e10 AS REAL)', 'real', 7, 0, '3.4E10'],
  ['true', 'boolean', 0, 0, 'true'],
  ['false', 'boolean', 0, 0, 'false'],
  ['CAST(12.3 AS DECIMAL(10,2))', 'decimal', 10, 2, '12.30'],
  ['CAST(-0.05 AS DECIMAL(10,2))', 'decimal', 10, 2, '-0.05'],
  ['CAST(12345678901234567890.123 AS DECIMAL(38,3))', 'decimal', 38, 3, '12345678901234567890.123'],
  ["DATE '2024-01-01'", 'date', 0, 0, '2024-01-01'],
  ["TIMESTAMP '2024-02-29 13:04:05.678901'", 'timestamp', 3, 0, '2024-02-29 13:04:05.678'],
  ["TIMESTAMP '2024-01-01 00:00:00'", 'timestamp', 3, 0, '2024-01-01 00:00:00.000'],
  [
    "TIMESTAMPTZ '2024-01-01 02:00:00+02:00'",
    'timestamp with time zone',
    3,
    0,
    '2024-01-01 00:00:00.000 UTC',
  ],
  ["TIME '13:04:05.5'", 'time', 3, 0, '13:04:05.500'],
  ['[1, 2, 3]', 'array', 0, 0, '[1, 2, 3]'],
  ["['a', NULL, 'c d']", 'array', 0, 0, '[a, null, c d]'],
  ['[CAST(1.5 AS DOUBLE), CAST(1e7 AS DOUBLE)]', 'array', 0, 0, '[1.5, 1.0E7]'],
  ["map(['a', 'b'], [1, 2])", 'map', 0, 0, '{a=1, b=2}'],
  ["{'x': 1, 'y': 'abc'}", 'row', 0, 0, '{x=1, y=abc}'],
  [
    "{'t': TIMESTAMP '2024-01-01 00:00:00', 'l': [DATE '2024-01-02']}",
    'row',
    0,
    0,
    '{t=2024-01-01 00:00:00.000, l=[2024-01-02]}',
  ],
  ['CAST(\'{"a":1,"b":[true,null]}\' AS JSON)', 'json', 0, 0, '{"a":1,"b":[true,null]}'],
  ["CAST('ab' AS BLOB)", 'varbinary', 2147483647, 0, '61 62'],
  // A sum of integers: DuckDB's HUGEINT, Trino's bigint.
  ['(SELECT sum(x) FROM (VALUES (2147483647), (2147483647)) t(x))', 'bigint', 19, 0, '4294967294'],
  [
    "CAST('0b7d6a6e-4bb0-4e1e-9a4e-3f5c2b2f1a00' AS UUID)",
    'uuid',
    0,
    0,
    '0b7d6a6e-4bb0-4e1e-9a4e-3f5c2b2f1a00',
  ],
  ['INTERVAL 3 DAY + INTERVAL 90 MINUTE', 'interval day to second', 0, 0, '3 01:30:00.000'],
]

const NULL_TYPES = [
  ['VARCHAR', 'varchar'],
  ['BIGINT', 'bigint'],
  ['INTEGER', 'integer'],
  ['SMALLINT', 'smallint'],
  ['TINYINT', 'tinyint'],
  ['DOUBLE', 'double'],
  ['REAL', 'real'],
  ['BOOLEAN', 'boolean'],
  ['DECIMAL(10,2)', 'decimal'],
  ['DATE', 'date'],
  ['TIMESTAMP', 'timestamp'],
  ['INTEGER[]', 'array'],
  ['MAP(VARCHAR, INTEGER)', 'map'],
  ['STRUCT(x INTEGER)', 'row'],
  ['JSON', 'json'],
] as const

describe('types and value rendering', () => {
  it('maps every DuckDB type to the Athena type name and renders values as Athena does', async () => {
    const sql = `SELECT ${CASES.map(([expr], i) => `${expr} AS c${i}`).join(', ')}`
    const { resultSet, values } = await f.query(sql)
    const columns = resultSet.ResultSetMetadata?.ColumnInfo ?? []
    const actual = columns.map((c, i) => [CASES[i]?.[0], c.Type, c.Precision, c.Scale, values[1]?.[i]])
    const expected = CASES.map(([expr, type, precision, scale, text]) => [expr, type, precision, scale, text])
    expect(actual).toEqual(expected)
    expect(values).toHaveLength(2)
    expect(values[0]).toEqual(CASES.map((_, i) => `c${i}`))
  })

  it('sends SQL NULL as a Datum without VarCharValue, for every type', async () => {
    const sql = `SELECT ${NULL_TYPES.map(([t], i) => `CAST(NULL AS ${t}) AS n${i}`).join(', ')}`
    const id = await f.start(sql)
    await f.wait(id)
    const page = await f.client.send(new GetQueryResultsCommand({ QueryExecutionId: id }))
    const types = page.ResultSet?.ResultSetMetadata?.ColumnInfo?.map((c) => c.Type)
    expect(types).toEqual(NULL_TYPES.map(([, athena]) => athena))
    const data = page.ResultSet?.Rows?.[1]?.Data ?? []
    expect(data).toHaveLength(NULL_TYPES.length)
    for (const datum of data) expect(datum).toEqual({})
    // Over the wire too: the key is absent, not null or empty.
    const raw = await fetch(f.local.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AmazonAthena.GetQueryResults',
      },
      body: JSON.stringify({ QueryExecutionId: id }),
    })
    const body = (await raw.json()) as { ResultSet: { Rows: { Data: object[] }[] } }
    expect(body.ResultSet.Rows[1]?.Data.every((d) => Object.keys(d).length === 0)).toBe(true)
  })

  it('renders table columns: timestamps, doubles, and NULL countries', async () => {
    const { values, resultSet } = await f.query(
      "SELECT event_time, value, country, dt FROM analytics WHERE country IS NULL OR measure = 'revenue' ORDER BY country NULLS FIRST, event_time LIMIT 3",
    )
    expect(resultSet.ResultSetMetadata?.ColumnInfo?.map((c) => c.Type)).toEqual([
      'timestamp',
      'double',
      'varchar',
      'varchar',
    ])
    const [, first] = values
    expect(first?.[0]).toMatch(/^2024-0[1-3]-\d{2} \d{2}:\d{2}:\d{2}\.000$/)
    expect(first?.[1]).toMatch(/^\d+\.\d+$/)
    expect(first?.[2]).toBeNull()
    expect(first?.[3]).toBe(first?.[0]?.slice(0, 10))
  })
})

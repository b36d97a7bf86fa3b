import type { AthenaError, StartQueryExecutionCommandInput } from '@aws-sdk/client-athena'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadCatalog, type QueryDef } from '../../src/config/catalog.ts'
import { bindQuery, parseParameters, type RawParams } from '../../src/service/parameters.ts'
import { type LocalAthenaFixture, startLocalAthenaFixture } from '../helpers/local-athena-fixture.ts'

let f: LocalAthenaFixture

beforeAll(async () => {
  f = await startLocalAthenaFixture({ rows: 5_000 })
})

afterAll(async () => {
  await f?.close()
})

async function mismatch(
  sql: string,
  input: Partial<StartQueryExecutionCommandInput> = {},
): Promise<AthenaError> {
  const e = await f.wait(await f.start(sql, input))
  expect(e.Status?.State).toBe('FAILED')
  return e.Status?.AthenaError ?? {}
}

/** TYPE_MISMATCH at the 1-based column of `at` in a one-line query. */
function typeMismatch(sql: string, at: string, message: string): AthenaError {
  const column = sql.indexOf(at) + 1
  if (column === 0) throw new Error(`${at} not in ${sql}`)
  return {
    ErrorCategory: 2,
    ErrorType: 1002,
    Retryable: false,
    ErrorMessage: `TYPE_MISMATCH: line 1:${column}: ${message}`,
  }
}

describe("Trino's stricter typing: varchar is never converted implicitly", () => {
  it('comparisons between varchar and timestamp, date or numbers fail (Trino analyses > as <)', async () => {
    const cases: [string, string, string][] = [
      [
        "SELECT count(*) FROM analytics WHERE event_time > '2024-01-01'",
        '>',
        'Cannot apply operator: timestamp(3) < varchar(10)',
      ],
      ['SELECT count(*) FROM analytics WHERE dt = 5', '=', 'Cannot apply operator: varchar = integer'],
      ["SELECT DATE '2024-01-01' <> '2024-01-01'", '<>', 'Cannot apply operator: date = varchar(10)'],
      [
        "SELECT count(*) FROM analytics WHERE value >= '1.5'",
        '>=',
        'Cannot apply operator: double <= varchar(3)',
      ],
      // Columns count characters, not UTF-8 bytes.
      ["SELECT 'héllo' AS h, value < 'x' FROM analytics", '<', 'Cannot apply operator: double < varchar(1)'],
      [
        "SELECT TIMESTAMP '2024-01-01 00:00:00.5' = 'x'",
        '=',
        'Cannot apply operator: timestamp(1) = varchar(1)',
      ],
    ]
    for (const [sql, at, message] of cases)
      expect(await mismatch(sql)).toEqual(typeMismatch(sql, at, message))
  })

  it('arithmetic, BETWEEN, IN and COALESCE with a varchar operand fail', async () => {
    const cases: [string, string, string][] = [
      ["SELECT value + '1' FROM analytics", '+', 'Cannot apply operator: double + varchar(1)'],
      [
        "SELECT count(*) FROM analytics WHERE event_time BETWEEN '2024-01-01' AND '2024-01-02'",
        'BETWEEN',
        'Cannot check if timestamp(3) is BETWEEN varchar(10) and varchar(10)',
      ],
      [
        'SELECT count(*) FROM analytics WHERE dt NOT BETWEEN 1 AND 2',
        'NOT',
        'Cannot check if varchar is BETWEEN integer and integer',
      ],
      [
        "SELECT count(*) FROM analytics WHERE event_time IN ('2024-01-01')",
        "'2024",
        'IN value and list items must be the same type or coercible to a common type. Cannot find common type between timestamp(3) and varchar(10), all types (without duplicates): [timestamp(3), varchar(10)]',
      ],
      [
        "SELECT coalesce(event_time, 'never') FROM analytics",
        "'never'",
        'All COALESCE operands must be the same type or coercible to a common type. Cannot find common type between timestamp(3) and varchar(5), all types (without duplicates): [timestamp(3), varchar(5)]',
      ],
    ]
    for (const [sql, at, message] of cases)
      expect(await mismatch(sql)).toEqual(typeMismatch(sql, at, message))
  })

  it('a parameter is typed like the literal it is: a varchar never compares with a timestamp', async () => {
    const sql = 'SELECT count(*) FROM analytics WHERE event_time > ?'
    expect(await mismatch(sql, { ExecutionParameters: ["'2024-01-01'"] })).toEqual(
      typeMismatch(sql, '>', 'Cannot apply operator: timestamp(3) < varchar(10)'),
    )
    const typed = await f.query(sql, { ExecutionParameters: ["TIMESTAMP '2024-03-31 00:00:00'"] })
    expect(Number(typed.values[1]?.[0])).toBeGreaterThan(0)
  })

  it('the same expressions with matching types run, and so does everyday string use', async () => {
    const { values } = await f.query(`
      SELECT 'a' || 'b' AS s,
             concat('x-', dt) AS c,
             CASE WHEN dt = '2024-01-05' THEN 'yes' ELSE 'no' END AS w,
             dt IN ('2024-01-05', '2024-01-06') AS i,
             dt LIKE '2024-01-0%' ESCAPE '!' AS l,
             date_format(date_trunc('day', event_time), '%Y-%m-%d') AS d,
             regexp_like(dt, '^2024-') AS r,
             json_extract_scalar('{"a": "b"}', '$.a') AS j,
             event_time > TIMESTAMP '2024-01-01 00:00:00' AS t1,
             event_time > CAST('2024-01-01' AS TIMESTAMP) AS t2,
             event_time >= from_iso8601_timestamp('2024-01-01T00:00:00Z') AS t3,
             DATE '2024-01-01' < event_time AS t4,
             dt BETWEEN '2024-01-01' AND '2024-12-31' AS b,
             value + 1 > 0 AS v,
             coalesce(country, 'none') <> '' AS k
      FROM analytics WHERE dt = '2024-01-05' LIMIT 1`)
    expect(values).toEqual([
      ['s', 'c', 'w', 'i', 'l', 'd', 'r', 'j', 't1', 't2', 't3', 't4', 'b', 'v', 'k'],
      [
        'ab',
        'x-2024-01-05',
        'yes',
        'true',
        'true',
        '2024-01-05',
        'true',
        'b',
        'true',
        'true',
        'true',
        'true',
        'true',
        'true',
        'true',
      ],
    ])
  })

  it("every query of the service's catalog runs", async () => {
    const catalog = await loadCatalog('wrangler-free-config')
    const sample: Record<string, string> = { date: '2024-01-05', timestamp: '2024-01-05T00:00:00Z' }
    for (const def of catalog.queries.values()) {
      for (const raw of parameterChoices(def, sample)) {
        const tenant = { id: 't', parameters: Object.fromEntries(tenantValues(def)) }
        const { sql, executionParameters } = bindQuery(def, parseParameters(def, raw, tenant))
        const e = await f.wait(
          await f.start(
            sql,
            executionParameters.length > 0 ? { ExecutionParameters: executionParameters } : {},
          ),
        )
        expect([def.name, raw, e.Status?.State, e.Status?.StateChangeReason]).toEqual([
          def.name,
          raw,
          'SUCCEEDED',
          undefined,
        ])
      }
    }
  })
})

/** One request per value of each enum the SQL substitutes (they change the SQL text), the first value otherwise. */
function parameterChoices(def: QueryDef, sample: Readonly<Record<string, string>>): RawParams[] {
  const base: RawParams = {}
  let variants: RawParams[] = [base]
  for (const p of def.parameters) {
    if (p.from === 'tenant') continue
    if (p.type === 'enum') {
      const values = p.values
      const substituted = def.template.some((part) => part.kind === 'substitute' && part.param === p.name)
      if (substituted) variants = variants.flatMap((v) => values.map((value) => ({ ...v, [p.name]: value })))
      else for (const v of variants) v[p.name] = values[0]
    } else if (p.required) {
      const value = sample[p.type]
      if (value !== undefined) for (const v of variants) v[p.name] = value
    }
  }
  return variants
}

function tenantValues(def: QueryDef): [string, string][] {
  return def.parameters
    .filter((p) => p.from === 'tenant')
    .map((p) => [p.name, p.type === 'enum' ? (p.values[0] ?? '') : 'x'])
}

describe('result types as Trino reports them', () => {
  it('sum of integers is a bigint with the exact value; avg a double; count a bigint', async () => {
    const { values, resultSet } = await f.query(
      'SELECT sum(x) AS s, sum(CAST(x AS BIGINT)) AS b, avg(x) AS a, count(*) AS n FROM (VALUES (2147483647), (2147483647), (3)) t(x)',
    )
    expect(resultSet.ResultSetMetadata?.ColumnInfo?.map((c) => [c.Type, c.Precision])).toEqual([
      ['bigint', 19],
      ['bigint', 19],
      ['double', 17],
      ['bigint', 19],
    ])
    expect(values[1]).toEqual(['4294967297', '4294967297', '1.4316557656666667E9', '3'])
  })

  it('a sum beyond the bigint range fails with NUMERIC_VALUE_OUT_OF_RANGE', async () => {
    const e = await f.wait(
      await f.start(
        'SELECT sum(x) FROM (VALUES (CAST(9223372036854775807 AS BIGINT)), (CAST(1 AS BIGINT))) t(x)',
      ),
    )
    expect(e.Status?.State).toBe('FAILED')
    expect(e.Status?.AthenaError).toEqual({
      ErrorCategory: 2,
      ErrorType: 1100,
      Retryable: false,
      ErrorMessage: 'NUMERIC_VALUE_OUT_OF_RANGE: bigint addition overflow',
    })
  })

  it("varbinary literals X'…' are varbinary, rendered as hex bytes", async () => {
    const { values, resultSet } = await f.query("SELECT X'0A' AS a, x'00ff 10' AS b, X'' AS c")
    expect(resultSet.ResultSetMetadata?.ColumnInfo?.map((c) => c.Type)).toEqual([
      'varbinary',
      'varbinary',
      'varbinary',
    ])
    expect(values[1]).toEqual(['0a', '00 ff 10', ''])
  })
})

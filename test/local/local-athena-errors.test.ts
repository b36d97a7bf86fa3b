import {
  type AthenaError,
  GetQueryResultsCommand,
  InvalidRequestException,
  type StartQueryExecutionCommandInput,
} from '@aws-sdk/client-athena'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LocalAthenaFixture, startLocalAthenaFixture } from '../helpers/local-athena-fixture.ts'

let f: LocalAthenaFixture

beforeAll(async () => {
  f = await startLocalAthenaFixture({ rows: 2_000 })
})

afterAll(async () => {
  await f?.close()
})

const STATEMENTS =
  "'ALTER', 'ANALYZE', 'CALL', 'COMMENT', 'COMMIT', 'CREATE', 'DEALLOCATE', 'DELETE', 'DENY', 'DESC', 'DESCRIBE', " +
  "'DROP', 'EXECUTE', 'EXPLAIN', 'GRANT', 'INSERT', 'MERGE', 'PREPARE', 'REFRESH', 'RESET', 'REVOKE', 'ROLLBACK', " +
  "'SET', 'SHOW', 'START', 'TRUNCATE', 'UNLOAD', 'UPDATE', 'USE', <query>"
const NOT_AUTHORIZED = 'or requester is not authorized to access requested resources'

/** The InvalidRequestException StartQueryExecution answers with. */
async function refused(sql: string): Promise<InvalidRequestException> {
  const before = f.local.stats().executionsStarted
  const err = await f.start(sql).catch((e: unknown) => e)
  expect(err).toBeInstanceOf(InvalidRequestException)
  expect(f.local.stats().executionsStarted).toBe(before)
  return err as InvalidRequestException
}

/** Starts the query (accepted), waits, and returns its AthenaError; asserts StateChangeReason is the same text. */
async function failure(
  sql: string,
  input: Partial<StartQueryExecutionCommandInput> = {},
): Promise<AthenaError> {
  const e = await f.wait(await f.start(sql, input))
  expect(e.Status?.State).toBe('FAILED')
  expect(e.Status?.StateChangeReason).toBe(e.Status?.AthenaError?.ErrorMessage)
  return e.Status?.AthenaError ?? {}
}

function userError(type: number, message: string): AthenaError {
  return { ErrorCategory: 2, ErrorType: type, Retryable: false, ErrorMessage: message }
}

/** Trino's 1-based column of the first `needle` in a one-line query. */
function column(sql: string, needle: string): number {
  const at = sql.indexOf(needle)
  if (at < 0) throw new Error(`${needle} not in ${sql}`)
  return at + 1
}

describe('syntax errors are refused at StartQueryExecution', () => {
  it("with Trino's message, MALFORMED_QUERY, and no execution", async () => {
    const err = await refused('SELEC 1')
    expect(err.message).toBe(`line 1:1: mismatched input 'SELEC'. Expecting: ${STATEMENTS}`)
    expect(err.AthenaErrorCode).toBe('MALFORMED_QUERY')
    expect((await refused('SELECT')).message).toBe(
      "line 1:7: mismatched input '<EOF>'. Expecting: '*', 'ALL', 'DISTINCT', <expression>",
    )
    expect((await refused('-- only a comment')).message).toBe(
      `line 1:18: mismatched input '<EOF>'. Expecting: ${STATEMENTS}`,
    )
  })

  it('locates the error on its line, also after a rewritten Trino function', async () => {
    expect((await refused('SELECT *\nFROM analytics\nWHERE')).message).toBe(
      "line 3:6: mismatched input '<EOF>'",
    )
    const sql = "SELECT date_add('day', 1, event_time) FROM analytics analytics2 analytics3"
    expect((await refused(sql)).message).toBe(
      `line 1:${column(sql, 'analytics3')}: mismatched input 'analytics3'`,
    )
    expect((await refused("SELECT 1\n  FROM analytics WHERE 'a' 'b'")).message).toBe(
      "line 2:28: mismatched input ''b''",
    )
  })

  it('one statement only; statements DuckDB has and Trino lacks are syntax errors too', async () => {
    expect((await refused('SELECT 1; SELECT 2')).message).toBe("line 1:9: mismatched input ';'")
    expect((await refused('FROM analytics')).message).toBe(
      `line 1:1: mismatched input 'FROM'. Expecting: ${STATEMENTS}`,
    )
    expect((await refused("  COPY analytics TO '/tmp/out.csv'")).message).toBe(
      `line 1:3: mismatched input 'COPY'. Expecting: ${STATEMENTS}`,
    )
    expect((await f.query('SELECT 1 AS one;')).values).toEqual([['one'], ['1']])
  })

  it('binary literals are checked while parsing, as Trino does', async () => {
    expect((await refused("SELECT 1, X'0G'")).message).toBe(
      'line 1:11: Binary literal can only contain hexadecimal digits',
    )
    expect((await refused("SELECT X'ABC'")).message).toBe(
      'line 1:8: Binary literal must contain an even number of digits',
    )
  })
})

describe('semantic errors end the execution FAILED', () => {
  it('TABLE_NOT_FOUND, with the table qualified as Athena qualifies it', async () => {
    expect(await failure('SELECT * FROM nope')).toEqual(
      userError(1301, "TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.analytics.nope' does not exist"),
    )
    expect(await failure('SELECT count(*)\nFROM "AwsDataCatalog".analytics.Nope')).toEqual(
      userError(1301, "TABLE_NOT_FOUND: line 2:6: Table 'awsdatacatalog.analytics.nope' does not exist"),
    )
  })

  it('SCHEMA_NOT_FOUND for a database that does not exist, named or from the context', async () => {
    expect(await failure('SELECT * FROM nodb.t')).toEqual(
      userError(1301, "SCHEMA_NOT_FOUND: line 1:15: Schema 'nodb' does not exist"),
    )
    const context = { QueryExecutionContext: { Database: 'no_such_db' } }
    expect(await failure('SELECT count(*) FROM analytics', context)).toEqual(
      userError(1301, "SCHEMA_NOT_FOUND: line 1:22: Schema 'no_such_db' does not exist"),
    )
    // Nothing to resolve in the missing database: the query runs.
    expect((await f.query('SELECT 1 AS one', context)).values).toEqual([['one'], ['1']])
    expect((await f.query('SELECT count(*) AS n FROM analytics.analytics', context)).values).toEqual([
      ['n'],
      ['2000'],
    ])
  })

  it('CATALOG_NOT_FOUND for a catalog other than AwsDataCatalog in the query', async () => {
    expect(await failure('SELECT * FROM other.analytics.analytics')).toEqual(
      userError(1006, "CATALOG_NOT_FOUND: line 1:15: Catalog 'other' does not exist"),
    )
  })

  it('COLUMN_NOT_FOUND, in Athena words, on any line and after a rewritten function', async () => {
    expect(await failure('SELECT nope FROM analytics')).toEqual(
      userError(1006, `COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved ${NOT_AUTHORIZED}`),
    )
    expect(await failure('SELECT event_time,\n       a.nope\nFROM analytics a')).toEqual(
      userError(1006, `COLUMN_NOT_FOUND: line 2:8: Column 'a.nope' cannot be resolved ${NOT_AUTHORIZED}`),
    )
    const sql = "SELECT date_format(event_time, '%Y'), date_add('day', 1, event_time), nope FROM analytics"
    expect(await failure(sql)).toEqual(
      userError(
        1006,
        `COLUMN_NOT_FOUND: line 1:${column(sql, 'nope')}: Column 'nope' cannot be resolved ${NOT_AUTHORIZED}`,
      ),
    )
  })

  it('FUNCTION_NOT_FOUND', async () => {
    expect(await failure('SELECT 1 AS x, foo(1)')).toEqual(
      userError(1303, "FUNCTION_NOT_FOUND: line 1:16: Function 'foo' not registered"),
    )
  })

  it('EXPRESSION_NOT_AGGREGATE and AMBIGUOUS_NAME (no ErrorType observed: the generic user error)', async () => {
    expect(await failure('SELECT measure, count(*) FROM analytics')).toEqual(
      userError(
        1000,
        "EXPRESSION_NOT_AGGREGATE: line 1:8: 'measure' must be an aggregate expression or appear in GROUP BY clause",
      ),
    )
    expect(await failure('SELECT dt FROM analytics a, analytics b')).toEqual(
      userError(1000, "AMBIGUOUS_NAME: line 1:8: Column 'dt' is ambiguous"),
    )
  })

  it('statements that write are accepted and fail: the endpoint is read-only', async () => {
    expect(await failure('INSERT INTO analytics SELECT * FROM analytics')).toEqual(
      userError(1200, 'NOT_SUPPORTED: The local Athena endpoint is read-only: INSERT is not supported'),
    )
    expect(await failure('DROP TABLE analytics')).toEqual(
      userError(1200, 'NOT_SUPPORTED: The local Athena endpoint is read-only: DROP is not supported'),
    )
    expect(await failure('EXPLAIN ANALYZE INSERT INTO analytics SELECT * FROM analytics')).toEqual(
      userError(1200, 'NOT_SUPPORTED: The local Athena endpoint is read-only: INSERT is not supported'),
    )
    expect((await f.query('SELECT count(*) AS n FROM analytics')).values).toEqual([['n'], ['2000']])
  })

  it('EXPLAIN of a query that does not analyse fails like the query', async () => {
    expect(await failure('EXPLAIN SELECT nope FROM analytics')).toEqual(
      userError(1006, `COLUMN_NOT_FOUND: line 1:16: Column 'nope' cannot be resolved ${NOT_AUTHORIZED}`),
    )
  })

  it('a failed execution has no results', async () => {
    const id = await f.start('SELECT * FROM nope')
    await f.wait(id)
    const err = await f.client
      .send(new GetQueryResultsCommand({ QueryExecutionId: id }))
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InvalidRequestException)
    expect((err as Error).message).toBe('Query did not finish successfully. Final query state: FAILED')
  })
})

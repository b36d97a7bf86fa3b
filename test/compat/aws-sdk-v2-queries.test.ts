import type Athena from 'aws-sdk/clients/athena.js'
import type S3 from 'aws-sdk/clients/s3.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type CompatAthena,
  FAILING,
  NUMBERS,
  NUMBERS_CSV,
  NUMBERS_SQL,
  SUM_SQL,
  SYNTAX_ERROR,
  startCompatAthena,
  WORK_GROUP_OUTPUT,
} from '../helpers/compat-athena.ts'
import { v2Athena, v2ErrorCode, v2S3 } from '../helpers/compat-aws-sdk-v2.ts'

type Page = Athena.GetQueryResultsOutput

/** Every page of GetQueryResults through the SDK's own paginator (`eachPage`, following NextToken). */
function allPages(athena: Athena, id: string): Promise<Page[]> {
  return new Promise((resolve, reject) => {
    const pages: Page[] = []
    athena.getQueryResults({ QueryExecutionId: id }).eachPage((err, data) => {
      if (err) reject(err)
      else if (data === null) resolve(pages)
      else pages.push(data)
      return !err && data !== null
    })
  })
}

const values = (pages: Page[]) =>
  pages.flatMap((p) => p.ResultSet?.Rows ?? []).map((r) => (r.Data ?? []).map((d) => d.VarCharValue ?? null))

// aws-sdk 2.1693.0: its own awsJson1_1 implementation (request signing, idempotency tokens filled in when absent,
// timestamps parsed to Date, errors as `code`/`statusCode`, paginators declared in its API model).
describe('AWS SDK v2 (aws-sdk) queries against the local Athena', () => {
  let f: CompatAthena
  let athena: Athena
  let s3: S3
  let numbersId: string

  const start = async (sql: string, input: Partial<Athena.StartQueryExecutionInput> = {}) => {
    const out = await athena
      .startQueryExecution({ QueryString: sql, QueryExecutionContext: { Database: 'analytics' }, ...input })
      .promise()
    return out.QueryExecutionId ?? ''
  }
  const final = async (id: string) => {
    for (;;) {
      const { QueryExecution: e } = await athena.getQueryExecution({ QueryExecutionId: id }).promise()
      const state = e?.Status?.State
      if (e && state !== 'QUEUED' && state !== 'RUNNING') return e
      await new Promise((r) => setTimeout(r, 10))
    }
  }

  beforeAll(async () => {
    f = await startCompatAthena()
    athena = v2Athena(f.local.endpoint)
    s3 = v2S3(f.local.endpoint)
  })

  afterAll(async () => {
    f.local.setMinQueryMs(0)
    await f?.close()
  })

  it('runs a query to SUCCEEDED and reads all its pages with eachPage', async () => {
    numbersId = await start(NUMBERS_SQL)
    const e = await final(numbersId)
    expect(e).toMatchObject({
      QueryExecutionId: numbersId,
      Query: NUMBERS_SQL,
      StatementType: 'DML',
      WorkGroup: 'primary',
      Status: { State: 'SUCCEEDED' },
      ResultConfiguration: { OutputLocation: `${WORK_GROUP_OUTPUT}${numbersId}.csv` },
    })
    expect(e.Status?.SubmissionDateTime).toBeInstanceOf(Date)
    expect(e.Statistics?.DataScannedInBytes).toBeGreaterThan(0)
    const pages = await allPages(athena, numbersId)
    expect(pages.map((p) => p.ResultSet?.Rows?.length)).toEqual([1000, 1000, 501])
    expect(values(pages)).toEqual([['n'], ...NUMBERS.map((n) => [n])])
    expect(pages[0]?.ResultSet?.ResultSetMetadata?.ColumnInfo).toMatchObject([{ Name: 'n', Type: 'bigint' }])
  })

  it('reads the result file through S3 (getObject, path style)', async () => {
    const object = await s3
      .getObject({ Bucket: 'acp-local-results', Key: `athena/${numbersId}.csv` })
      .promise()
    expect(object.ContentType).toBe('text/csv')
    expect(String(object.Body)).toBe(NUMBERS_CSV)
  })

  it('returns the first execution for a repeated ClientRequestToken, a new one for the token it generates', async () => {
    const token = 'compat-aws-sdk-v2-token-0123456789abcdef'
    const sql = "SELECT 'token' AS word"
    const first = await start(sql, { ClientRequestToken: token })
    expect(await start(sql, { ClientRequestToken: token })).toBe(first)
    // Without a token the SDK fills in a fresh UUID (idempotencyToken in its model): another execution.
    const [a, b] = [await start(sql), await start(sql)]
    expect(new Set([first, a, b]).size).toBe(3)
  })

  it('binds ExecutionParameters to the placeholders', async () => {
    const id = await start('SELECT ? AS word, ? AS num, ? AS day', {
      ExecutionParameters: ["'it''s'", '42', "DATE '2024-01-02'"],
    })
    expect((await final(id)).ExecutionParameters).toEqual(["'it''s'", '42', "DATE '2024-01-02'"])
    const pages = await allPages(athena, id)
    expect(values(pages)).toEqual([
      ['word', 'num', 'day'],
      ["it's", '42', '2024-01-02'],
    ])
    expect(pages[0]?.ResultSet?.ResultSetMetadata?.ColumnInfo?.map((c) => c.Type)).toEqual([
      'varchar',
      'integer',
      'date',
    ])
  })

  it('reuses a previous result when asked to', async () => {
    const id = await start(NUMBERS_SQL, {
      ResultReuseConfiguration: { ResultReuseByAgeConfiguration: { Enabled: true, MaxAgeInMinutes: 60 } },
    })
    const e = await final(id)
    expect(e.Status?.State).toBe('SUCCEEDED')
    expect(e.Statistics?.ResultReuseInformation?.ReusedPreviousResult).toBe(true)
    expect(e.Statistics?.DataScannedInBytes).toBe(0)
    expect(e.ResultConfiguration?.OutputLocation).toBe(`${WORK_GROUP_OUTPUT}${numbersId}.csv`)
  })

  it('stops a running query', async () => {
    f.local.setMinQueryMs(60_000)
    try {
      const id = await start("SELECT 'slow' AS word")
      await athena.stopQueryExecution({ QueryExecutionId: id }).promise()
      const e = await final(id)
      expect(e.Status?.State).toBe('CANCELLED')
      // Stopping a finished execution changes nothing.
      await athena.stopQueryExecution({ QueryExecutionId: id }).promise()
      expect((await final(id)).Status?.State).toBe('CANCELLED')
    } finally {
      f.local.setMinQueryMs(0)
    }
  })

  it('lists and batch-gets executions', async () => {
    const listed = await athena.listQueryExecutions({ WorkGroup: 'primary' }).promise()
    expect(listed.QueryExecutionIds).toContain(numbersId)
    const unknown = '00000000-0000-4000-8000-000000000000'
    const batch = await athena.batchGetQueryExecution({ QueryExecutionIds: [numbersId, unknown] }).promise()
    expect(batch.QueryExecutions?.map((e) => e.QueryExecutionId)).toEqual([numbersId])
    expect(batch.UnprocessedQueryExecutionIds).toMatchObject([{ QueryExecutionId: unknown }])
  })

  it('types the sum of integers bigint', async () => {
    const id = await start(SUM_SQL)
    expect((await final(id)).Status?.State).toBe('SUCCEEDED')
    const pages = await allPages(athena, id)
    expect(values(pages)).toEqual([['total'], ['6']])
    expect(pages[0]?.ResultSet?.ResultSetMetadata?.ColumnInfo?.[0]?.Type).toBe('bigint')
  })

  it("runs Trino's sequence() and a VALUES list without parentheses, as Athena does", async () => {
    const id = await start('SELECT count(*) AS c, sum(n) AS s FROM UNNEST(sequence(1, 2500)) AS t(n)')
    expect((await final(id)).Status).toMatchObject({ State: 'SUCCEEDED' })
    expect(values(await allPages(athena, id))).toEqual([
      ['c', 's'],
      ['2500', '3126250'],
    ])
    const bare = await start('SELECT n FROM (VALUES 1, 2, 3) AS t(n) ORDER BY n')
    expect((await final(bare)).Status).toMatchObject({ State: 'SUCCEEDED' })
    expect(values(await allPages(athena, bare))).toEqual([['n'], ['1'], ['2'], ['3']])
  })

  it('accepts queries naming unknown tables or columns, which end FAILED with the reason', async () => {
    for (const { sql, reason } of [FAILING.unknownTable, FAILING.unknownColumn, FAILING.typeMismatch]) {
      const e = await final(await start(sql))
      expect(e.Status?.State).toBe('FAILED')
      expect(e.Status?.StateChangeReason).toMatch(reason)
      expect(e.Status?.AthenaError?.ErrorCategory).toBe(2)
      expect(e.Status?.AthenaError?.ErrorType).toEqual(expect.any(Number))
    }
  })

  it('refuses a syntax error at StartQueryExecution (InvalidRequestException, HTTP 400)', async () => {
    const err = await start(SYNTAX_ERROR.sql).catch((e: unknown) => e)
    expect(v2ErrorCode(err)).toMatchObject({ code: 'InvalidRequestException', statusCode: 400 })
    expect(v2ErrorCode(err).message).toMatch(SYNTAX_ERROR.message)
  })

  it('answers GetQueryExecution for an unknown id with InvalidRequestException', async () => {
    const err = await athena
      .getQueryExecution({ QueryExecutionId: '00000000-0000-4000-8000-000000000000' })
      .promise()
      .catch((e: unknown) => e)
    expect(v2ErrorCode(err)).toMatchObject({ code: 'InvalidRequestException', statusCode: 400 })
  })
})

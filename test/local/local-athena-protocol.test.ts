import {
  BatchGetQueryExecutionCommand,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  InvalidRequestException,
  ListQueryExecutionsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  TooManyRequestsException,
} from '@aws-sdk/client-athena'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type LocalAthenaFixture,
  localAthenaClient,
  startLocalAthenaFixture,
} from '../helpers/local-athena-fixture.ts'
import { rejection } from '../helpers/rejection.ts'

let f: LocalAthenaFixture

beforeAll(async () => {
  // The work groups the listing tests run in exist, as they would have to on Athena.
  f = await startLocalAthenaFixture({
    workGroups: [{ name: 'listing' }, { name: 'batch' }, { name: 'other' }],
  })
})

afterAll(async () => {
  await f?.close()
})

async function expectInvalidRequest(
  fn: () => Promise<unknown>,
  message: RegExp | string,
): Promise<InvalidRequestException> {
  const err = await rejection(fn)
  expect(err).toBeInstanceOf(InvalidRequestException)
  const e = err as InvalidRequestException
  expect(e.name).toBe('InvalidRequestException')
  expect(e.$metadata.httpStatusCode).toBe(400)
  if (typeof message === 'string') expect(e.message).toContain(message)
  else expect(e.message).toMatch(message)
  return e
}

describe('GetQueryResults pagination', () => {
  const rowCount = 2_600

  it('pages through every row with NextToken, the header only on the first page', async () => {
    const id = await f.start(
      `SELECT i AS n, 'row-' || CAST(i AS VARCHAR) AS label FROM range(${rowCount}) t(i) ORDER BY i`,
    )
    expect((await f.wait(id)).Status?.State).toBe('SUCCEEDED')
    const pages: string[][][] = []
    let token: string | undefined
    do {
      const page = await f.client.send(new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: token }))
      pages.push((page.ResultSet?.Rows ?? []).map((r) => (r.Data ?? []).map((d) => d.VarCharValue ?? '∅')))
      expect(page.ResultSet?.ResultSetMetadata?.ColumnInfo?.map((c) => c.Name)).toEqual(['n', 'label'])
      token = page.NextToken
    } while (token)
    expect(pages.map((p) => p.length)).toEqual([1000, 1000, 601])
    expect(pages[0]?.[0]).toEqual(['n', 'label'])
    const data = pages.flat().slice(1)
    expect(data).toHaveLength(rowCount)
    expect(data.every(([n, label], i) => n === String(i) && label === `row-${i}`)).toBe(true)
    expect(pages.slice(1).some((p) => p.some(([n]) => n === 'n'))).toBe(false)
  })

  it('counts the header against MaxResults and never repeats it', async () => {
    const id = await f.start('SELECT i FROM range(3) t(i) ORDER BY i')
    await f.wait(id)
    const seen: string[] = []
    let token: string | undefined
    let pages = 0
    do {
      const page = await f.client.send(
        new GetQueryResultsCommand({ QueryExecutionId: id, MaxResults: 1, NextToken: token }),
      )
      expect(page.ResultSet?.Rows).toHaveLength(1)
      seen.push(page.ResultSet?.Rows?.[0]?.Data?.[0]?.VarCharValue ?? '∅')
      token = page.NextToken
      pages++
    } while (token)
    expect(pages).toBe(4)
    expect(seen).toEqual(['i', '0', '1', '2'])
  })

  it('describes columns like Athena', async () => {
    const { resultSet } = await f.query(
      'SELECT count(*), measure AS m, max(value) AS "Top" FROM analytics GROUP BY measure',
    )
    const columns = resultSet.ResultSetMetadata?.ColumnInfo ?? []
    expect(columns.map((c) => [c.Name, c.Label, c.Type])).toEqual([
      ['_col0', '_col0', 'bigint'],
      ['m', 'm', 'varchar'],
      ['top', 'top', 'double'],
    ])
    expect(columns[1]).toMatchObject({
      CatalogName: 'hive',
      SchemaName: '',
      TableName: '',
      Precision: 2147483647,
      Scale: 0,
      Nullable: 'UNKNOWN',
      CaseSensitive: true,
    })
    expect(columns[0]).toMatchObject({ Precision: 19, CaseSensitive: false })
  })

  it('rejects MaxResults out of range and foreign or forged tokens', async () => {
    const id = await f.start('SELECT i FROM range(5) t(i)')
    await f.wait(id)
    await expectInvalidRequest(
      () => f.client.send(new GetQueryResultsCommand({ QueryExecutionId: id, MaxResults: 1001 })),
      'MaxResults',
    )
    await expectInvalidRequest(
      () => f.client.send(new GetQueryResultsCommand({ QueryExecutionId: id, MaxResults: 0 })),
      'MaxResults',
    )
    await expectInvalidRequest(
      () => f.client.send(new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: 'not-a-token' })),
      'Invalid NextToken',
    )
    const other = await f.start('SELECT i FROM range(5) t(i)')
    await f.wait(other)
    const page = await f.client.send(new GetQueryResultsCommand({ QueryExecutionId: other, MaxResults: 2 }))
    expect(page.NextToken).toBeDefined()
    await expectInvalidRequest(
      () => f.client.send(new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: page.NextToken })),
      'Invalid NextToken',
    )
  })
})

describe('error shapes', () => {
  it('unknown QueryExecutionId', async () => {
    const missing = '00000000-0000-4000-8000-000000000000'
    const e = await expectInvalidRequest(
      () => f.client.send(new GetQueryExecutionCommand({ QueryExecutionId: missing })),
      `QueryExecution ${missing} was not found`,
    )
    expect(e.AthenaErrorCode).toBe('INVALID_INPUT')
    await expectInvalidRequest(
      () => f.client.send(new GetQueryResultsCommand({ QueryExecutionId: missing })),
      'was not found',
    )
    await expectInvalidRequest(
      () => f.client.send(new StopQueryExecutionCommand({ QueryExecutionId: missing })),
      'was not found',
    )
  })

  it('SQL that does not parse or bind is rejected at StartQueryExecution', async () => {
    const before = f.local.stats().executionsStarted
    const syntax = await expectInvalidRequest(() => f.start('SELEC 1'), /syntax error/i)
    expect(syntax.AthenaErrorCode).toBe('MALFORMED_QUERY')
    await expectInvalidRequest(() => f.start('SELECT nope FROM analytics'), /nope/)
    await expectInvalidRequest(() => f.start('SELECT * FROM no_such_table'), /no_such_table/)
    await expectInvalidRequest(() => f.start('SELECT 1; SELECT 2'), /multiple statements/i)
    await expectInvalidRequest(() => f.start("COPY analytics TO '/tmp/x.csv'"), 'Only queries')
    await expectInvalidRequest(
      () => f.start('SELECT 1', { QueryExecutionContext: { Database: 'no_such_db' } }),
      "Database 'no_such_db' does not exist",
    )
    expect(f.local.stats().executionsStarted).toBe(before)
  })

  it('results before the query finished', async () => {
    f.local.faults.add({ kind: 'hang', match: 'still-running', times: 1 })
    const id = await f.start("SELECT 'still-running'")
    await new Promise((r) => setTimeout(r, 30))
    await expectInvalidRequest(
      () => f.client.send(new GetQueryResultsCommand({ QueryExecutionId: id })),
      'Query has not yet finished. Current state: RUNNING',
    )
    await f.client.send(new StopQueryExecutionCommand({ QueryExecutionId: id }))
    await expectInvalidRequest(
      () => f.client.send(new GetQueryResultsCommand({ QueryExecutionId: id })),
      'Final query state: CANCELLED',
    )
  })

  it('throttling answers TooManyRequestsException', async () => {
    const noRetry = localAthenaClient(f.local.endpoint, 1)
    try {
      f.local.faults.add({ kind: 'throttle', operation: 'StartQueryExecution', times: 1 })
      const err = await rejection(() =>
        noRetry.send(
          new StartQueryExecutionCommand({
            QueryString: 'SELECT 1',
            QueryExecutionContext: { Database: 'analytics' },
          }),
        ),
      )
      expect(err).toBeInstanceOf(TooManyRequestsException)
      const e = err as TooManyRequestsException
      expect(e.name).toBe('TooManyRequestsException')
      expect(e.Reason).toBe('CONCURRENT_QUERY_LIMIT_EXCEEDED')
      expect(e.$metadata.httpStatusCode).toBe(400)
      // The fault fired once and is gone.
      await expect(
        noRetry.send(
          new StartQueryExecutionCommand({
            QueryString: 'SELECT 1',
            QueryExecutionContext: { Database: 'analytics' },
          }),
        ),
      ).resolves.toHaveProperty('QueryExecutionId')
    } finally {
      noRetry.destroy()
    }
  })

  it('the SDK retries a transient throttle transparently', async () => {
    f.local.faults.add({ kind: 'throttle', operation: 'GetQueryExecution', match: 'retry-me', times: 1 })
    const id = await f.start("SELECT 'retry-me'")
    const before = f.local.stats().statusCallsByExecution[id] ?? 0
    await f.client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))
    expect(f.local.stats().statusCallsByExecution[id]).toBe(before + 2)
  })

  it('unknown operations and non-JSON bodies, over raw HTTP', async () => {
    const post = (target: string, body: string) =>
      fetch(f.local.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target },
        body,
      })
    const unknown = await post('AmazonAthena.DeleteEverything', '{}')
    expect(unknown.status).toBe(400)
    expect(unknown.headers.get('content-type')).toBe('application/x-amz-json-1.1')
    expect(unknown.headers.get('x-amzn-errortype')).toBe('UnknownOperationException')
    expect(await unknown.json()).toMatchObject({ __type: 'UnknownOperationException' })
    const invalid = await post('AmazonAthena.GetQueryExecution', '{nope')
    expect(invalid.status).toBe(400)
    expect(await invalid.json()).toMatchObject({ __type: 'SerializationException' })
    const missing = await post('AmazonAthena.GetQueryExecution', '{"QueryExecutionId":"x"}')
    expect(await missing.json()).toEqual({
      __type: 'InvalidRequestException',
      Message: 'QueryExecution x was not found',
      AthenaErrorCode: 'INVALID_INPUT',
    })
  })
})

describe('ClientRequestToken idempotency', () => {
  const token = 'token-0123456789-0123456789-0123456789'

  it('the same token and request return the same execution without running again', async () => {
    const before = f.local.stats().executionsStarted
    const first = await f.start('SELECT 42', { ClientRequestToken: token })
    const second = await f.start('SELECT 42', { ClientRequestToken: token })
    expect(second).toBe(first)
    expect(f.local.stats().executionsStarted).toBe(before + 1)
  })

  it('the same token with a different query is rejected', async () => {
    await expectInvalidRequest(
      () => f.start('SELECT 43', { ClientRequestToken: token }),
      'Idempotent parameters do not match',
    )
  })

  it('tokens must be 32 to 128 characters', async () => {
    await expectInvalidRequest(
      () => f.start('SELECT 1', { ClientRequestToken: 'short' }),
      'ClientRequestToken',
    )
    await expectInvalidRequest(
      () => f.start('SELECT 1', { ClientRequestToken: 'x'.repeat(129) }),
      'ClientRequestToken',
    )
  })
})

describe('listing and batch get', () => {
  it('lists executions newest first with pagination, per work group', async () => {
    const ids: string[] = []
    for (let i = 0; i < 3; i++) ids.push(await f.start(`SELECT ${i}`, { WorkGroup: 'listing' }))
    const first = await f.client.send(new ListQueryExecutionsCommand({ WorkGroup: 'listing', MaxResults: 2 }))
    expect(first.QueryExecutionIds).toEqual([ids[2], ids[1]])
    expect(first.NextToken).toBeDefined()
    const second = await f.client.send(
      new ListQueryExecutionsCommand({ WorkGroup: 'listing', MaxResults: 2, NextToken: first.NextToken }),
    )
    expect(second.QueryExecutionIds).toEqual([ids[0]])
    expect(second.NextToken).toBeUndefined()
    const primary = await f.client.send(new ListQueryExecutionsCommand({}))
    expect(primary.QueryExecutionIds?.some((id) => ids.includes(id))).toBe(false)
    await expectInvalidRequest(
      () => f.client.send(new ListQueryExecutionsCommand({ WorkGroup: 'other', NextToken: first.NextToken })),
      'Invalid NextToken',
    )
  })

  it('batch get reports unknown ids as unprocessed', async () => {
    const id = await f.start('SELECT 1', { WorkGroup: 'batch' })
    const out = await f.client.send(
      new BatchGetQueryExecutionCommand({ QueryExecutionIds: [id, 'missing-id'] }),
    )
    expect(out.QueryExecutions?.map((e) => e.QueryExecutionId)).toEqual([id])
    expect(out.QueryExecutions?.[0]?.WorkGroup).toBe('batch')
    expect(out.UnprocessedQueryExecutionIds).toEqual([
      {
        QueryExecutionId: 'missing-id',
        ErrorCode: 'INVALID_INPUT',
        ErrorMessage: 'QueryExecution missing-id was not found',
      },
    ])
  })

  it('GetQueryExecution echoes the request and fills Status and Statistics', async () => {
    const id = await f.start('SELECT count(*) FROM analytics', {
      QueryExecutionContext: { Database: 'analytics', Catalog: 'AwsDataCatalog' },
      ResultConfiguration: { OutputLocation: 's3://bucket/prefix/' },
    })
    const e = await f.wait(id)
    expect(e).toMatchObject({
      QueryExecutionId: id,
      Query: 'SELECT count(*) FROM analytics',
      StatementType: 'DML',
      QueryExecutionContext: { Database: 'analytics', Catalog: 'AwsDataCatalog' },
      ResultConfiguration: { OutputLocation: `s3://bucket/prefix/${id}.csv` },
      WorkGroup: 'primary',
      EngineVersion: { EffectiveEngineVersion: 'Athena engine version 3' },
      Status: { State: 'SUCCEEDED' },
      Statistics: { ResultReuseInformation: { ReusedPreviousResult: false } },
    })
    expect(e.Status?.SubmissionDateTime).toBeInstanceOf(Date)
    expect(e.Status?.CompletionDateTime).toBeInstanceOf(Date)
    const submitted = e.Status?.SubmissionDateTime?.getTime() ?? 0
    expect(Math.abs(submitted - Date.now())).toBeLessThan(60_000)
    expect((e.Status?.CompletionDateTime?.getTime() ?? 0) >= submitted).toBe(true)
    expect(e.Statistics?.TotalExecutionTimeInMillis).toBeGreaterThanOrEqual(0)
  })
})

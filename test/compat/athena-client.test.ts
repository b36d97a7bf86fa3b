import type { AthenaClient, AthenaClientConfig } from 'athena-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type CompatAthena,
  FAILING,
  NUMBERS,
  NUMBERS_SQL,
  startCompatAthena,
  UNKNOWN_WORK_GROUP,
} from '../helpers/compat-athena.ts'
import { athenaClientFor } from '../helpers/compat-athena-client.ts'

const RESULTS = 's3://acp-local-results/athena-client/'

type Row = Record<string, string>

// athena-client 2.5.1: configures the SDK v2 globally (aws.config.update), StartQueryExecution with its own
// OutputLocation, GetQueryExecution every pollingInterval, StopQueryExecution when queryTimeout passes, then streams
// the result CSV from S3 (GetObject) through csv-parser: every value a string.
describe('athena-client against the local Athena', () => {
  let f: CompatAthena
  const client = (config: Partial<AthenaClientConfig> = {}): AthenaClient =>
    athenaClientFor(f.local.endpoint, { bucketUri: RESULTS, database: 'analytics', ...config })

  beforeAll(async () => {
    f = await startCompatAthena()
  })

  afterAll(async () => {
    f.local.setMinQueryMs(0)
    await f?.close()
  })

  it('runs a query and streams every row of its CSV from S3', async () => {
    const { records, queryExecution } = await client().execute<Row>(NUMBERS_SQL).toPromise()
    expect(records).toEqual(NUMBERS.map((n) => ({ n })))
    expect(queryExecution).toMatchObject({
      Query: NUMBERS_SQL,
      Status: { State: 'SUCCEEDED' },
      WorkGroup: 'primary',
      ResultConfiguration: { OutputLocation: `${RESULTS}${queryExecution.QueryExecutionId}.csv` },
    })
  })

  it('parses quoted values; NULL and the empty string both arrive as ""', async () => {
    const { records } = await client()
      .execute<Row>(`SELECT 'a "quoted", value' AS q, CAST(NULL AS varchar) AS n, '' AS e, 'line
break' AS l`)
      .toPromise()
    expect(records).toEqual([{ q: 'a "quoted", value', n: '', e: '', l: 'line\nbreak' }])
  })

  it('reads information_schema', async () => {
    const { records } = await client()
      .execute<Row>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'analytics'")
      .toPromise()
    expect(records).toEqual([{ table_name: 'analytics' }])
  })

  it('skips the result file when asked to', async () => {
    const { records, queryExecution } = await client({ skipFetchResult: true })
      .execute<Row>("SELECT 'x' AS x")
      .toPromise()
    expect(records).toEqual([])
    expect(queryExecution.Status?.State).toBe('SUCCEEDED')
  })

  it("rejects with a FAILED query's StateChangeReason", async () => {
    await expect(client().execute(FAILING.unknownTable.sql).toPromise()).rejects.toThrow(
      FAILING.unknownTable.reason,
    )
  })

  it('stops the query when its queryTimeout passes (StopQueryExecution)', async () => {
    f.local.setMinQueryMs(60_000)
    try {
      const sql = "SELECT 'too slow' AS word"
      await expect(client({ queryTimeout: 300 }).execute(sql).toPromise()).rejects.toThrow('query timeout')
      const stopped = await f.final(await f.newestId())
      expect(stopped).toMatchObject({ Query: sql, Status: { State: 'CANCELLED' } })
    } finally {
      f.local.setMinQueryMs(0)
    }
  })

  it('rejects with the service error for an unknown work group', async () => {
    const err = await client({ workGroup: UNKNOWN_WORK_GROUP.name })
      .execute('SELECT 1')
      .toPromise()
      .catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'InvalidRequestException', statusCode: 400 })
    expect((err as Error).message).toMatch(UNKNOWN_WORK_GROUP.message)
  })
})

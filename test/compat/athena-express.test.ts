import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type CompatAthena,
  FAILING,
  NUMBERS,
  NUMBERS_SQL,
  SAMPLE_PARTITIONS,
  SAMPLE_TRINO_COLUMNS,
  SUM_SQL,
  SYNTAX_ERROR,
  startCompatAthena,
  UNKNOWN_WORK_GROUP,
} from '../helpers/compat-athena.ts'
import { athenaExpressFor } from '../helpers/compat-athena-express.ts'

const RESULTS = 's3://acp-local-results/athena-express/'

// athena-express 7.1.5 (SDK v2): StartQueryExecution with its own OutputLocation, GetQueryExecution every `retry` ms,
// GetQueryResults MaxResults 1 for the column types, then the result file from S3 (GetObject): the CSV for DML, read
// with csvtojson and typed from ColumnInfo; the .txt for UTILITY/DDL statements, one object a line.
describe('athena-express against the local Athena', () => {
  let f: CompatAthena
  const client = (options: Parameters<typeof athenaExpressFor>[1] = {}) =>
    athenaExpressFor(f.local.endpoint, { s3: RESULTS, db: 'analytics', ...options })

  beforeAll(async () => {
    f = await startCompatAthena()
  })

  afterAll(async () => {
    await f?.close()
  })

  it('runs a query and types the CSV it reads from S3 by the result metadata', async () => {
    const result = await client({ getStats: true }).query(
      `SELECT CAST(2 AS integer) AS i, CAST(9007199254740993 AS bigint) AS b, 1.5e0 AS d, true AS t, false AS f,
              'x' AS s, DATE '2024-01-02' AS day, CAST(NULL AS varchar) AS n, '' AS e, 'a "quoted", value' AS q`,
    )
    // ignoreEmpty (the default) drops NULL and the empty string alike: both are empty CSV fields.
    expect(result.Items).toEqual([
      {
        i: 2,
        b: 9007199254740993n,
        d: 1.5,
        t: true,
        f: false,
        s: 'x',
        day: '2024-01-02',
        q: 'a "quoted", value',
      },
    ])
    expect(result).toMatchObject({
      Count: 1,
      DataScannedInBytes: 0,
      DataScannedInMB: 0,
      S3Location: `${RESULTS}${result.QueryExecutionId}.csv`,
    })
    const execution = await f.final(result.QueryExecutionId ?? '')
    expect(execution.QueryExecutionContext).toEqual({ Database: 'analytics' })
    expect(execution.WorkGroup).toBe('primary')
  })

  it('reads every row of a result larger than a page from the CSV', async () => {
    const result = await client().query(NUMBERS_SQL)
    expect(result.Items).toHaveLength(2500)
    expect(result.Items?.map((row) => row.n)).toEqual(NUMBERS.map(BigInt))
  })

  it('pages through GetQueryResults with `pagination` and the NextToken it returns', async () => {
    const ae = client({ catalog: 'AwsDataCatalog' })
    const first = await ae.query({ sql: NUMBERS_SQL, pagination: 999 })
    const items = [...(first.Items ?? [])]
    let token = first.NextToken
    let pages = 1
    while (token) {
      const page = await ae.query({
        queryExecutionId: first.QueryExecutionId,
        nextToken: token,
        pagination: 999,
      })
      items.push(...(page.Items ?? []))
      token = page.NextToken
      pages++
    }
    expect(pages).toBe(3)
    expect(items.map((row) => row.n)).toEqual(NUMBERS.map(BigInt))
    const execution = await f.final(first.QueryExecutionId ?? '')
    expect(execution.QueryExecutionContext).toEqual({ Database: 'analytics', Catalog: 'AwsDataCatalog' })
  })

  it('reads the results of an earlier execution given its id', async () => {
    const run = await client({ skipResults: true, getStats: true }).query(
      "SELECT 'again' AS word, CAST(7 AS smallint) AS n",
    )
    expect(run.Items).toBeUndefined()
    const again = await client().query(run.QueryExecutionId ?? '')
    expect(again.Items).toEqual([{ word: 'again', n: 7 }])
  })

  it('types the sum of integers bigint', async () => {
    expect((await client().query(SUM_SQL)).Items).toEqual([{ total: 6n }])
  })

  it("rejects with a FAILED query's StateChangeReason", async () => {
    await expect(client().query(FAILING.unknownColumn.sql)).rejects.toThrow(FAILING.unknownColumn.reason)
    await expect(client().query(FAILING.typeMismatch.sql)).rejects.toThrow(FAILING.typeMismatch.reason)
  })

  it('rejects with the InvalidRequestException of StartQueryExecution', async () => {
    const err = await client()
      .query(SYNTAX_ERROR.sql)
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(Error)
    expect((err as Error).message).toMatch(/^InvalidRequestException: /)
    expect((err as Error).message).toMatch(SYNTAX_ERROR.message)
    const wrongGroup = await client({ workgroup: UNKNOWN_WORK_GROUP.name })
      .query('SELECT 1')
      .catch((e: unknown) => e)
    expect((wrongGroup as Error).message).toMatch(/^InvalidRequestException: /)
    expect((wrongGroup as Error).message).toMatch(UNKNOWN_WORK_GROUP.message)
  })

  it('reads SHOW statements from their .txt result file', async () => {
    const ae = client()
    const [tables, partitions, databases] = await Promise.all([
      ae.query('SHOW TABLES IN analytics'),
      ae.query('SHOW PARTITIONS analytics.analytics'),
      ae.query('SHOW DATABASES'),
    ])
    expect(tables.Items).toEqual([{ row: 'analytics' }])
    expect(partitions.Items).toEqual(SAMPLE_PARTITIONS.map((row) => ({ row })))
    expect(databases.Items).toContainEqual({ row: 'analytics' })
    expect(databases.Items).not.toContainEqual({ row: 'main' })
  })

  it('reads DESCRIBE as name → type pairs (Hive type names, partition key in its own section)', async () => {
    const { Items } = await client().query('DESCRIBE analytics.analytics')
    expect(Items?.slice(0, 6)).toEqual([
      { event_time: 'timestamp' },
      { measure: 'string' },
      { value: 'double' },
      { page: 'string' },
      { country: 'string' },
      { device: 'string' },
    ])
    // Hive pads the section header with tabs, which athena-express turns into a key; either way it is there.
    const texts = (Items ?? []).flatMap((item) => [...Object.keys(item), ...Object.values(item)])
    expect(texts).toContain('# Partition Information')
    expect(Items?.at(-1)).toEqual({ dt: 'string' })
  })

  it('queries information_schema.columns (Trino type names)', async () => {
    const { Items } = await client().query(
      `SELECT column_name, data_type FROM information_schema.columns
       WHERE table_schema = 'analytics' AND table_name = 'analytics' ORDER BY ordinal_position`,
    )
    expect(Items).toEqual(
      SAMPLE_TRINO_COLUMNS.map(([column_name, data_type]) => ({ column_name, data_type })),
    )
  })
})

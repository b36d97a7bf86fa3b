import type { QueryExecution, ResultSet } from '@aws-sdk/client-athena'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  BUILT_IN_CATALOG_NOT_DESCRIBED,
  type CompatAthena,
  FAILING,
  NUMBERS,
  NUMBERS_CSV,
  NUMBERS_SQL,
  SAMPLE_COLUMNS,
  SAMPLE_PARTITION_KEYS,
  SAMPLE_PARTITIONS,
  SYNTAX_ERROR,
  startCompatAthena,
  UNKNOWN_WORK_GROUP,
  WORK_GROUP_OUTPUT,
} from '../helpers/compat-athena.ts'
import { AWS_CLI, AWS_CLI_SKIP_REASON, type AwsCli, createAwsCli } from '../helpers/compat-aws-cli.ts'

const CATALOG = ['--catalog-name', 'AwsDataCatalog']
const REUSE = 'ResultReuseByAgeConfiguration={Enabled=true,MaxAgeInMinutes=60}'

// The AWS CLI v1 (botocore): its own JSON protocol, idempotency tokens, and paginators that follow NextToken and
// merge every page into one answer (get-query-results, list-query-executions, list-table-metadata).
describe.skipIf(!AWS_CLI)(`the AWS CLI against the local Athena ${AWS_CLI_SKIP_REASON ?? ''}`, () => {
  let f: CompatAthena
  let cli: AwsCli
  let numbersId: string

  const start = async (sql: string, ...args: string[]) => {
    const out = await cli.json<{ QueryExecutionId: string }>(
      'athena',
      'start-query-execution',
      '--query-string',
      sql,
      '--query-execution-context',
      'Database=analytics',
      ...args,
    )
    return out.QueryExecutionId
  }
  /** get-query-execution until the execution is final (the CLI takes longer to start than most queries run). */
  const final = async (id: string) => {
    for (let i = 0; ; i++) {
      const { QueryExecution: e } = await cli.json<{ QueryExecution: QueryExecution }>(
        'athena',
        'get-query-execution',
        '--query-execution-id',
        id,
      )
      const state = e.Status?.State
      if ((state !== 'QUEUED' && state !== 'RUNNING') || i === 20) return e
    }
  }
  const results = (id: string) =>
    cli.json<{ ResultSet: ResultSet }>('athena', 'get-query-results', '--query-execution-id', id)
  const values = (set: ResultSet) =>
    (set.Rows ?? []).map((r) => (r.Data ?? []).map((d) => d.VarCharValue ?? null))

  beforeAll(async () => {
    f = await startCompatAthena()
    cli = await createAwsCli(f.local.endpoint)
  })

  afterAll(async () => {
    f?.local.setMinQueryMs(0)
    await cli?.close()
    await f?.close()
  })

  it('runs a query once per --client-request-token and reads every page and the CSV', async () => {
    const token = 'compat-aws-cli-token-0123456789abcdef'
    numbersId = await start(NUMBERS_SQL, '--client-request-token', token)
    expect(await start(NUMBERS_SQL, '--client-request-token', token)).toBe(numbersId)
    const e = await final(numbersId)
    expect(e).toMatchObject({
      QueryExecutionId: numbersId,
      StatementType: 'DML',
      WorkGroup: 'primary',
      Status: { State: 'SUCCEEDED' },
      ResultConfiguration: { OutputLocation: `${WORK_GROUP_OUTPUT}${numbersId}.csv` },
    })
    const [{ ResultSet: set }, csv] = await Promise.all([
      results(numbersId),
      cli.text('s3', 'cp', `${WORK_GROUP_OUTPUT}${numbersId}.csv`, '-'),
    ])
    // The paginator merged the three pages (1000 + 1000 + 501 rows).
    expect(values(set)).toEqual([['n'], ...NUMBERS.map((n) => [n])])
    expect(set.ResultSetMetadata?.ColumnInfo).toMatchObject([{ Name: 'n', Type: 'bigint' }])
    expect(csv).toBe(NUMBERS_CSV)
  })

  it('binds --execution-parameters and reuses a previous result', async () => {
    const [bound, reused] = await Promise.all([
      start('SELECT ? AS word, ? AS num', '--execution-parameters', "'it''s'", '42'),
      start(NUMBERS_SQL, '--result-reuse-configuration', REUSE),
    ])
    const [boundExecution, reusedExecution] = await Promise.all([final(bound), final(reused)])
    expect(boundExecution).toMatchObject({
      Status: { State: 'SUCCEEDED' },
      ExecutionParameters: ["'it''s'", '42'],
    })
    expect(values((await results(bound)).ResultSet)).toEqual([
      ['word', 'num'],
      ["it's", '42'],
    ])
    expect(reusedExecution.Statistics?.ResultReuseInformation?.ReusedPreviousResult).toBe(true)
    expect(reusedExecution.ResultConfiguration?.OutputLocation).toBe(`${WORK_GROUP_OUTPUT}${numbersId}.csv`)
  })

  it('stops a running query', async () => {
    f.local.setMinQueryMs(60_000)
    try {
      const id = await start("SELECT 'slow' AS word")
      await cli.json('athena', 'stop-query-execution', '--query-execution-id', id)
      expect((await final(id)).Status?.State).toBe('CANCELLED')
    } finally {
      f.local.setMinQueryMs(0)
    }
  })

  it('lists and batch-gets executions', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000'
    const [listed, batch] = await Promise.all([
      cli.json<{ QueryExecutionIds: string[] }>('athena', 'list-query-executions', '--work-group', 'primary'),
      cli.json<{ QueryExecutions: QueryExecution[]; UnprocessedQueryExecutionIds: unknown[] }>(
        'athena',
        'batch-get-query-execution',
        '--query-execution-ids',
        numbersId,
        unknown,
      ),
    ])
    expect(listed.QueryExecutionIds).toContain(numbersId)
    expect(batch.QueryExecutions.map((e) => e.QueryExecutionId)).toEqual([numbersId])
    expect(batch.UnprocessedQueryExecutionIds).toMatchObject([{ QueryExecutionId: unknown }])
  })

  it('ends a query naming an unknown column FAILED; refuses a syntax error and an unknown work group', async () => {
    const [id, syntax, group] = await Promise.all([
      start(FAILING.unknownColumn.sql),
      cli.failure('athena', 'start-query-execution', '--query-string', SYNTAX_ERROR.sql),
      cli.failure(
        'athena',
        'start-query-execution',
        '--query-string',
        'SELECT 1',
        '--work-group',
        UNKNOWN_WORK_GROUP.name,
      ),
    ])
    const e = await final(id)
    expect(e.Status?.State).toBe('FAILED')
    expect(e.Status?.StateChangeReason).toMatch(FAILING.unknownColumn.reason)
    expect(e.Status?.AthenaError?.ErrorCategory).toBe(2)
    expect(syntax.exitCode).not.toBe(0)
    expect(syntax.stderr).toContain('(InvalidRequestException)')
    expect(syntax.stderr).toMatch(SYNTAX_ERROR.message)
    expect(group.stderr).toContain('(InvalidRequestException)')
    expect(group.stderr).toMatch(UNKNOWN_WORK_GROUP.message)
  })

  it('writes SHOW PARTITIONS to a .txt result file that `aws s3 cp` reads', async () => {
    const id = await start('SHOW PARTITIONS analytics.analytics')
    const e = await final(id)
    expect(['UTILITY', 'DDL']).toContain(e.StatementType)
    expect(e).toMatchObject({
      Status: { State: 'SUCCEEDED' },
      ResultConfiguration: { OutputLocation: `${WORK_GROUP_OUTPUT}${id}.txt` },
    })
    const text = await cli.text('s3', 'cp', `${WORK_GROUP_OUTPUT}${id}.txt`, '-')
    expect(text).toBe(`${SAMPLE_PARTITIONS.join('\n')}\n`)
  })

  it('discovers catalogs, databases and tables', async () => {
    const [catalogs, catalog, databases, database, tables, table] = await Promise.all([
      cli.json<{ DataCatalogsSummary: unknown[] }>('athena', 'list-data-catalogs'),
      cli.failure('athena', 'get-data-catalog', '--name', 'AwsDataCatalog'),
      cli.json<{ DatabaseList: { Name: string }[] }>('athena', 'list-databases', ...CATALOG),
      cli.json<{ Database: unknown }>('athena', 'get-database', ...CATALOG, '--database-name', 'analytics'),
      cli.json<{ TableMetadataList: { Name: string }[] }>(
        'athena',
        'list-table-metadata',
        ...CATALOG,
        '--database-name',
        'analytics',
      ),
      cli.json<{ TableMetadata: Record<string, unknown> }>(
        'athena',
        'get-table-metadata',
        ...CATALOG,
        '--database-name',
        'analytics',
        '--table-name',
        'analytics',
      ),
    ])
    expect(catalogs.DataCatalogsSummary).toMatchObject([{ CatalogName: 'AwsDataCatalog', Type: 'GLUE' }])
    // Listed, but not described: Athena's GetDataCatalog refuses the built-in catalog.
    expect(catalog.stderr).toContain('(InvalidRequestException)')
    expect(catalog.stderr).toMatch(BUILT_IN_CATALOG_NOT_DESCRIBED)
    expect(databases.DatabaseList.map((d) => d.Name)).toEqual(
      expect.arrayContaining(['analytics', 'default']),
    )
    expect(database.Database).toMatchObject({ Name: 'analytics' })
    expect(tables.TableMetadataList.map((t) => t.Name)).toEqual(['analytics'])
    expect(table.TableMetadata).toMatchObject({
      Name: 'analytics',
      TableType: 'EXTERNAL_TABLE',
      Columns: SAMPLE_COLUMNS,
      PartitionKeys: SAMPLE_PARTITION_KEYS,
    })
    // botocore parsed CreateTime as a timestamp and prints it back as epoch seconds or ISO 8601.
    expect(table.TableMetadata.CreateTime).toEqual(expect.anything())
  })

  it('gets and lists work groups; unknown databases and work groups are refused', async () => {
    const [group, groups, noDatabase, noGroup] = await Promise.all([
      cli.json<{ WorkGroup: unknown }>('athena', 'get-work-group', '--work-group', 'primary'),
      cli.json<{ WorkGroups: unknown[] }>('athena', 'list-work-groups'),
      cli.failure('athena', 'get-database', ...CATALOG, '--database-name', 'nope'),
      cli.failure('athena', 'get-work-group', '--work-group', UNKNOWN_WORK_GROUP.name),
    ])
    expect(group.WorkGroup).toMatchObject({
      Name: 'primary',
      State: 'ENABLED',
      Configuration: {
        ResultConfiguration: { OutputLocation: WORK_GROUP_OUTPUT },
        EngineVersion: { EffectiveEngineVersion: 'Athena engine version 3' },
      },
    })
    expect(groups.WorkGroups).toContainEqual(expect.objectContaining({ Name: 'primary', State: 'ENABLED' }))
    expect(noDatabase.stderr).toContain('(MetadataException)')
    expect(noGroup.stderr).toContain('(InvalidRequestException)')
    expect(noGroup.stderr).toMatch(UNKNOWN_WORK_GROUP.message)
  })
})

import type Athena from 'aws-sdk/clients/athena.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  BUILT_IN_CATALOG_NOT_DESCRIBED,
  type CompatAthena,
  SAMPLE_COLUMNS,
  SAMPLE_PARTITION_KEYS,
  SAMPLE_PARTITIONS,
  SAMPLE_TRINO_COLUMNS,
  startCompatAthena,
  UNKNOWN_WORK_GROUP,
  WORK_GROUP_OUTPUT,
} from '../helpers/compat-athena.ts'
import { v2Athena, v2ErrorCode } from '../helpers/compat-aws-sdk-v2.ts'

const CATALOG = 'AwsDataCatalog'

// aws-sdk 2.1693.0: the schema discovery and work-group calls a tool makes before its first query, and the SQL
// statements that answer the same questions.
describe('AWS SDK v2 (aws-sdk) schema discovery against the local Athena', () => {
  let f: CompatAthena
  let athena: Athena

  /** Runs a statement to SUCCEEDED and returns every row's values (no header row for SHOW/DESCRIBE). */
  const rows = async (sql: string): Promise<(string | null)[][]> => {
    const { QueryExecutionId: id = '' } = await athena
      .startQueryExecution({ QueryString: sql, QueryExecutionContext: { Database: 'analytics' } })
      .promise()
    const e = await f.final(id)
    expect(e.Status?.State, `${sql}: ${e.Status?.StateChangeReason}`).toBe('SUCCEEDED')
    const out: (string | null)[][] = []
    let token: string | undefined
    do {
      const page = await athena.getQueryResults({ QueryExecutionId: id, NextToken: token }).promise()
      out.push(...(page.ResultSet?.Rows ?? []).map((r) => (r.Data ?? []).map((d) => d.VarCharValue ?? null)))
      token = page.NextToken
    } while (token)
    return out
  }
  const serviceError = (p: Promise<unknown>) => p.then(() => undefined).catch((e: unknown) => v2ErrorCode(e))

  beforeAll(async () => {
    f = await startCompatAthena()
    athena = v2Athena(f.local.endpoint)
  })

  afterAll(async () => {
    await f?.close()
  })

  it('lists the data catalog, which GetDataCatalog does not describe (as on Athena)', async () => {
    const listed = await athena.listDataCatalogs({}).promise()
    expect(listed.DataCatalogsSummary).toMatchObject([{ CatalogName: CATALOG, Type: 'GLUE' }])
    const refused = await serviceError(athena.getDataCatalog({ Name: CATALOG }).promise())
    expect(refused).toMatchObject({ code: 'InvalidRequestException', statusCode: 400 })
    expect(refused?.message).toMatch(BUILT_IN_CATALOG_NOT_DESCRIBED)
  })

  it('lists and gets databases; an unknown one is a MetadataException', async () => {
    const listed = await athena.listDatabases({ CatalogName: CATALOG }).promise()
    const names = (listed.DatabaseList ?? []).map((d) => d.Name)
    expect(names).toEqual(expect.arrayContaining(['analytics', 'default']))
    expect(names).toEqual([...names].sort())
    const got = await athena.getDatabase({ CatalogName: CATALOG, DatabaseName: 'analytics' }).promise()
    expect(got.Database?.Name).toBe('analytics')
    expect(
      await serviceError(athena.getDatabase({ CatalogName: CATALOG, DatabaseName: 'nope' }).promise()),
    ).toMatchObject({ code: 'MetadataException', statusCode: 400 })
  })

  it('lists table metadata (Expression, MaxResults) and gets one table', async () => {
    const all = await athena.listTableMetadata({ CatalogName: CATALOG, DatabaseName: 'analytics' }).promise()
    expect(all.TableMetadataList?.map((t) => t.Name)).toEqual(['analytics'])
    expect(all.NextToken).toBeUndefined()
    const filtered = await athena
      .listTableMetadata({
        CatalogName: CATALOG,
        DatabaseName: 'analytics',
        Expression: 'ana*',
        MaxResults: 1,
      })
      .promise()
    expect(filtered.TableMetadataList?.map((t) => t.Name)).toEqual(['analytics'])
    const none = await athena
      .listTableMetadata({ CatalogName: CATALOG, DatabaseName: 'analytics', Expression: 'zzz*' })
      .promise()
    expect(none.TableMetadataList).toEqual([])

    const { TableMetadata: table } = await athena
      .getTableMetadata({ CatalogName: CATALOG, DatabaseName: 'analytics', TableName: 'analytics' })
      .promise()
    expect(table).toMatchObject({ Name: 'analytics', TableType: 'EXTERNAL_TABLE' })
    expect(table?.Columns).toEqual(SAMPLE_COLUMNS)
    expect(table?.PartitionKeys).toEqual(SAMPLE_PARTITION_KEYS)
    expect(table?.Parameters).toMatchObject({ classification: 'parquet' })
    expect(table?.CreateTime).toBeInstanceOf(Date)
    expect(
      await serviceError(
        athena
          .getTableMetadata({ CatalogName: CATALOG, DatabaseName: 'analytics', TableName: 'nope' })
          .promise(),
      ),
    ).toMatchObject({ code: 'MetadataException', statusCode: 400 })
  })

  it('gets and lists work groups; an unknown one is refused everywhere', async () => {
    const { WorkGroup: primary } = await athena.getWorkGroup({ WorkGroup: 'primary' }).promise()
    expect(primary).toMatchObject({
      Name: 'primary',
      State: 'ENABLED',
      Configuration: {
        ResultConfiguration: { OutputLocation: WORK_GROUP_OUTPUT },
        EngineVersion: { EffectiveEngineVersion: 'Athena engine version 3' },
      },
    })
    const listed = await athena.listWorkGroups({}).promise()
    expect(listed.WorkGroups).toContainEqual(expect.objectContaining({ Name: 'primary', State: 'ENABLED' }))

    const refusals = await Promise.all([
      serviceError(athena.getWorkGroup({ WorkGroup: UNKNOWN_WORK_GROUP.name }).promise()),
      serviceError(
        athena.startQueryExecution({ QueryString: 'SELECT 1', WorkGroup: UNKNOWN_WORK_GROUP.name }).promise(),
      ),
      serviceError(athena.listQueryExecutions({ WorkGroup: UNKNOWN_WORK_GROUP.name }).promise()),
    ])
    for (const refusal of refusals) {
      expect(refusal).toMatchObject({ code: 'InvalidRequestException', statusCode: 400 })
      expect(refusal?.message).toMatch(UNKNOWN_WORK_GROUP.message)
    }
  })

  it('answers SHOW DATABASES, SHOW TABLES, SHOW COLUMNS and SHOW PARTITIONS in rows without a header', async () => {
    const [databases, tables, columns, partitions] = await Promise.all([
      rows('SHOW DATABASES'),
      rows('SHOW TABLES IN analytics'),
      rows('SHOW COLUMNS IN analytics.analytics'),
      rows('SHOW PARTITIONS analytics.analytics'),
    ])
    expect(databases.flat()).toContain('analytics')
    expect(databases.flat()).not.toContain('main')
    expect(tables).toEqual([['analytics']])
    // Athena pads SHOW COLUMNS values; the names are what matters.
    expect(columns.map((r) => r[0]?.trim())).toEqual(SAMPLE_TRINO_COLUMNS.map(([name]) => name))
    expect(partitions).toEqual(SAMPLE_PARTITIONS.map((p) => [p]))
  })

  it('answers SHOW CREATE TABLE with Hive DDL and DESCRIBE with Hive types', async () => {
    const ddl = (await rows('SHOW CREATE TABLE analytics.analytics')).map((r) => r[0] ?? '').join('\n')
    expect(ddl).toMatch(/^CREATE EXTERNAL TABLE `(analytics`\.`)?analytics`\(/)
    expect(ddl).toMatch(/`event_time` timestamp/)
    expect(ddl).toMatch(/PARTITIONED BY \(\s*`dt` string/)
    expect(ddl).toMatch(
      /STORED AS INPUTFORMAT\s+'org\.apache\.hadoop\.hive\.ql\.io\.parquet\.MapredParquetInputFormat'/,
    )
    expect(ddl).toMatch(/LOCATION\s+'s3:\/\//)
    expect(ddl).not.toMatch(/VARCHAR|TIMESTAMP/)

    const described = (await rows('DESCRIBE analytics.analytics')).map((r) =>
      (r[0] ?? '').split('\t')[0]?.trim(),
    )
    expect(described.slice(0, 6)).toEqual(SAMPLE_COLUMNS.map((c) => c.Name))
    expect(described).toContain('# Partition Information')
  })

  it('answers information_schema queries with Trino type names', async () => {
    const [tables, columns] = await Promise.all([
      rows("SELECT table_name FROM information_schema.tables WHERE table_schema = 'analytics'"),
      rows(`SELECT column_name, data_type FROM information_schema.columns
            WHERE table_schema = 'analytics' AND table_name = 'analytics' ORDER BY ordinal_position`),
    ])
    expect(tables).toEqual([['table_name'], ['analytics']])
    expect(columns).toEqual([['column_name', 'data_type'], ...SAMPLE_TRINO_COLUMNS])
  })
})

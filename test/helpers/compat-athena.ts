import {
  AthenaClient,
  GetQueryExecutionCommand,
  ListQueryExecutionsCommand,
  type QueryExecution,
} from '@aws-sdk/client-athena'
import { inject } from 'vitest'
import { type LocalAthena, startLocalAthena } from '../../local/athena-server.ts'
import { SAMPLE_TABLE_DESCRIPTION } from '../../local/sample-data.ts'

/** The local endpoint over the shared sample data, and the reference client used to check what another client did. */
export interface CompatAthena {
  local: LocalAthena
  /** @aws-sdk/client-athena, for checks only: the client under test does the work. */
  reference: AthenaClient
  /** Polls GetQueryExecution (reference client) until the execution is final. */
  final(id: string): Promise<QueryExecution>
  /** The id of the newest execution of the `primary` work group. */
  newestId(): Promise<string>
  close(): Promise<void>
}

/** Starts the endpoint on a free port over the test data dir (sample table `analytics.analytics`). */
export async function startCompatAthena(): Promise<CompatAthena> {
  const local = await startLocalAthena({ dataDir: inject('dataDir'), port: 0, minQueryMs: 0 })
  const reference = new AthenaClient({
    endpoint: local.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  })
  return {
    local,
    reference,
    async final(id) {
      const deadline = Date.now() + 30_000
      for (;;) {
        const { QueryExecution: e } = await reference.send(
          new GetQueryExecutionCommand({ QueryExecutionId: id }),
        )
        const state = e?.Status?.State
        if (e && state !== 'QUEUED' && state !== 'RUNNING') return e
        if (Date.now() > deadline) throw new Error(`query ${id} still ${state}`)
        await new Promise((r) => setTimeout(r, 10))
      }
    },
    async newestId() {
      const { QueryExecutionIds } = await reference.send(new ListQueryExecutionsCommand({ MaxResults: 1 }))
      const id = QueryExecutionIds?.[0]
      if (!id) throw new Error('no execution listed')
      return id
    },
    async close() {
      reference.destroy()
      await local.close()
    },
  }
}

/** The work group's result location (startLocalAthena's default). */
export const WORK_GROUP_OUTPUT = 's3://acp-local-results/athena/'

/**
 * 2,500 rows numbered 1 … 2500 (bigint), more than one GetQueryResults page (1,000 rows at most). Valid on Athena
 * too: row_number() over the 200,000 sample rows numbers them 1 … 200000 whatever their order.
 */
export const NUMBERS_SQL =
  'SELECT n FROM (SELECT row_number() OVER () AS n FROM analytics.analytics) t WHERE n <= 2500 ORDER BY n'
export const NUMBERS = Array.from({ length: 2500 }, (_, i) => String(i + 1))

/** The result file Athena writes for NUMBERS_SQL: a quoted header and one quoted value a line. */
export const NUMBERS_CSV = `"n"\n${NUMBERS.map((n) => `"${n}"`).join('\n')}\n`

/** The sample table's data columns as GetTableMetadata reports them (Hive type names, comments from `_table.json`). */
export const SAMPLE_COLUMNS = [
  { Name: 'event_time', Type: 'timestamp', Comment: SAMPLE_TABLE_DESCRIPTION.columns.event_time },
  { Name: 'measure', Type: 'string', Comment: SAMPLE_TABLE_DESCRIPTION.columns.measure },
  { Name: 'value', Type: 'double', Comment: SAMPLE_TABLE_DESCRIPTION.columns.value },
  { Name: 'page', Type: 'string', Comment: SAMPLE_TABLE_DESCRIPTION.columns.page },
  { Name: 'country', Type: 'string', Comment: SAMPLE_TABLE_DESCRIPTION.columns.country },
  { Name: 'device', Type: 'string', Comment: SAMPLE_TABLE_DESCRIPTION.columns.device },
]
export const SAMPLE_PARTITION_KEYS = [
  { Name: 'dt', Type: 'string', Comment: SAMPLE_TABLE_DESCRIPTION.columns.dt },
]

/** `information_schema.columns` of the sample table: Trino's type names, the partition key last. */
export const SAMPLE_TRINO_COLUMNS = [
  ['event_time', 'timestamp(3)'],
  ['measure', 'varchar'],
  ['value', 'double'],
  ['page', 'varchar'],
  ['country', 'varchar'],
  ['device', 'varchar'],
  ['dt', 'varchar'],
]

/** SHOW PARTITIONS of the sample table: one day a row, 2024-01-01 … 2024-03-31. */
export const SAMPLE_PARTITIONS = Array.from({ length: 91 }, (_, day) => {
  const date = new Date(Date.UTC(2024, 0, 1 + day)).toISOString().slice(0, 10)
  return `dt=${date}`
})

/** Queries Athena accepts and then fails, with the start of the StateChangeReason Athena gives (Trino's wording). */
export const FAILING = {
  unknownColumn: {
    sql: 'SELECT nope FROM analytics',
    reason: /^COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved/,
  },
  unknownTable: {
    sql: 'SELECT * FROM nope',
    reason: /^TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog\.analytics\.nope' does not exist/,
  },
  typeMismatch: {
    sql: "SELECT count(*) FROM analytics WHERE event_time > '2024-01-01'",
    reason: /^TYPE_MISMATCH: line 1:\d+: Cannot apply operator: timestamp\(3\) < varchar\(10\)/,
  },
} as const

/** A syntax error: refused by StartQueryExecution (InvalidRequestException) with Trino's parser message. */
export const SYNTAX_ERROR = { sql: 'SELEC 1', message: /line 1:1: mismatched input 'SELEC'/ } as const

/**
 * What Athena answers (InvalidRequestException) for a work group that does not exist: "WorkGroup is not found." as
 * StartQueryExecution words it; some reports of GetWorkGroup name the group ("WorkGroup nope is not found.").
 */
export const UNKNOWN_WORK_GROUP = { name: 'nope', message: /WorkGroup (nope )?is not found\./ } as const

/** GetDataCatalog does not describe the built-in catalog that ListDataCatalogs lists (InvalidRequestException). */
export const BUILT_IN_CATALOG_NOT_DESCRIBED = /DataCatalog AwsDataCatalog was not found\./

/** Trino types `sum` of an integer column `bigint` (DuckDB's own result would be a 128-bit HUGEINT). */
export const SUM_SQL = 'SELECT sum(n) AS total FROM (VALUES (1), (2), (3)) AS t(n)'

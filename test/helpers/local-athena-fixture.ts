import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  type QueryExecution,
  type ResultSet,
  type Row,
  StartQueryExecutionCommand,
  type StartQueryExecutionCommandInput,
} from '@aws-sdk/client-athena'
import { type LocalAthena, startLocalAthena, type WorkGroupConfig } from '../../local/athena-server.ts'
import { generateSampleData, REFERENCE_START } from '../../local/sample-data.ts'

/** Rows of the per-file sample data set: small enough to generate in well under a second. */
export const FIXTURE_ROWS = 50_000

export interface LocalAthenaFixture {
  local: LocalAthena
  /** The real AWS SDK client, pointed at the local endpoint. */
  client: AthenaClient
  dataDir: string
  /** Starts a query (database `analytics` unless given) and returns its id. */
  start(sql: string, input?: Partial<StartQueryExecutionCommandInput>): Promise<string>
  /** Polls GetQueryExecution until the execution is final. */
  wait(id: string, timeoutMs?: number): Promise<QueryExecution>
  /** Starts, waits, and expects SUCCEEDED; returns every page of results concatenated. */
  query(sql: string, input?: Partial<StartQueryExecutionCommandInput>): Promise<QueryResult>
  close(): Promise<void>
}

export interface QueryResult {
  id: string
  execution: QueryExecution
  resultSet: ResultSet
  /** All rows of all pages, header row included when Athena sends one. */
  rows: Row[]
  /** Rows as arrays of VarCharValue (null where the Datum has none). */
  values: (string | null)[][]
}

/** Creates an AthenaClient for a local endpoint with the same settings an application would use. */
export function localAthenaClient(endpoint: string, maxAttempts?: number): AthenaClient {
  return new AthenaClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
  })
}

/** Generates sample data (2024-01-01 … 2024-03-31) into a fresh temp dir and starts an embedded local Athena on an ephemeral port. */
export async function startLocalAthenaFixture(
  options: { rows?: number; minQueryMs?: number; workGroups?: WorkGroupConfig[] } = {},
): Promise<LocalAthenaFixture> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'local-athena-test-'))
  await generateSampleData({ dataDir, start: REFERENCE_START, days: 91, rows: options.rows ?? FIXTURE_ROWS })
  const local = await startLocalAthena({
    dataDir,
    port: 0,
    minQueryMs: options.minQueryMs ?? 0,
    workGroups: options.workGroups,
  })
  const client = localAthenaClient(local.endpoint)

  const start = async (sql: string, input: Partial<StartQueryExecutionCommandInput> = {}) => {
    const out = await client.send(
      new StartQueryExecutionCommand({
        QueryString: sql,
        QueryExecutionContext: { Database: 'analytics' },
        ...input,
      }),
    )
    if (out.QueryExecutionId === undefined) throw new Error('no QueryExecutionId')
    return out.QueryExecutionId
  }

  const wait = async (id: string, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const { QueryExecution: e } = await client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))
      const state = e?.Status?.State
      if (e && (state === 'SUCCEEDED' || state === 'FAILED' || state === 'CANCELLED')) return e
      if (Date.now() > deadline) throw new Error(`query ${id} still ${state} after ${timeoutMs} ms`)
      await new Promise((r) => setTimeout(r, 5))
    }
  }

  const query = async (sql: string, input: Partial<StartQueryExecutionCommandInput> = {}) => {
    const id = await start(sql, input)
    const execution = await wait(id)
    if (execution.Status?.State !== 'SUCCEEDED') {
      throw new Error(`query ${execution.Status?.State}: ${execution.Status?.StateChangeReason}`)
    }
    const rows: Row[] = []
    let resultSet: ResultSet | undefined
    let token: string | undefined
    do {
      const page = await client.send(new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: token }))
      resultSet ??= page.ResultSet
      rows.push(...(page.ResultSet?.Rows ?? []))
      token = page.NextToken
    } while (token)
    const values = rows.map((r) => (r.Data ?? []).map((d) => d.VarCharValue ?? null))
    return { id, execution, resultSet: resultSet ?? {}, rows, values }
  }

  return {
    local,
    client,
    dataDir,
    start,
    wait,
    query,
    async close() {
      client.destroy()
      await local.close()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  type QueryExecution,
  StartQueryExecutionCommand,
  type StartQueryExecutionCommandInput,
} from '@aws-sdk/client-athena'
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { inject } from 'vitest'
import { type LocalAthena, type LocalAthenaOptions, startLocalAthena } from '../../../local/athena-server.ts'

const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' }

/** One local endpoint with the two real SDK clients an application would point at it. */
export interface LocalS3Stack {
  local: LocalAthena
  athena: AthenaClient
  s3: S3Client
  /** Starts a query (database `analytics`) and returns its id without waiting. */
  start(sql: string, input?: Partial<StartQueryExecutionCommandInput>): Promise<string>
  /** Polls GetQueryExecution until the execution is final. */
  wait(id: string): Promise<QueryExecution>
  /** Starts, waits, expects SUCCEEDED; returns the execution and its result object's bucket and key. */
  run(sql: string, input?: Partial<StartQueryExecutionCommandInput>): Promise<RunResult>
  /** Every row of every GetQueryResults page as VarCharValues (null where the Datum has none). */
  results(id: string): Promise<(string | null)[][]>
  /** The whole object through GetObject. */
  object(bucket: string, key: string): Promise<Buffer>
  close(): Promise<void>
}

export interface RunResult {
  id: string
  execution: QueryExecution
  bucket: string
  key: string
}

/** Splits `s3://bucket/key`. */
export function splitS3Uri(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri)
  if (!match?.[1] || !match[2]) throw new Error(`not an s3 object URI: ${uri}`)
  return { bucket: match[1], key: match[2] }
}

/** An S3Client for the local endpoint: path style, as the local S3 serves no virtual-hosted buckets. */
export function localS3Client(endpoint: string, maxAttempts?: number): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    credentials: CREDENTIALS,
    forcePathStyle: true,
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
  })
}

/** Starts a local endpoint over the shared test data (options as given) and both clients. */
export async function startLocalS3Stack(options: Partial<LocalAthenaOptions> = {}): Promise<LocalS3Stack> {
  const local = await startLocalAthena({ dataDir: inject('dataDir'), port: 0, minQueryMs: 0, ...options })
  const athena = new AthenaClient({ endpoint: local.endpoint, region: 'us-east-1', credentials: CREDENTIALS })
  const s3 = localS3Client(local.endpoint)

  const start = async (sql: string, input: Partial<StartQueryExecutionCommandInput> = {}) => {
    const out = await athena.send(
      new StartQueryExecutionCommand({
        QueryString: sql,
        QueryExecutionContext: { Database: 'analytics' },
        ...input,
      }),
    )
    if (out.QueryExecutionId === undefined) throw new Error('no QueryExecutionId')
    return out.QueryExecutionId
  }
  const wait = async (id: string) => {
    const deadline = Date.now() + 60_000
    for (;;) {
      const { QueryExecution: e } = await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))
      const state = e?.Status?.State
      if (e && (state === 'SUCCEEDED' || state === 'FAILED' || state === 'CANCELLED')) return e
      if (Date.now() > deadline) throw new Error(`query ${id} still ${state}`)
      await new Promise((r) => setTimeout(r, 5))
    }
  }
  const run = async (sql: string, input: Partial<StartQueryExecutionCommandInput> = {}) => {
    const id = await start(sql, input)
    const execution = await wait(id)
    if (execution.Status?.State !== 'SUCCEEDED') {
      throw new Error(`query ${execution.Status?.State}: ${execution.Status?.StateChangeReason}`)
    }
    return { id, execution, ...splitS3Uri(execution.ResultConfiguration?.OutputLocation ?? '') }
  }
  const results = async (id: string) => {
    const values: (string | null)[][] = []
    let token: string | undefined
    do {
      const page = await athena.send(new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: token }))
      for (const row of page.ResultSet?.Rows ?? []) {
        values.push((row.Data ?? []).map((d) => d.VarCharValue ?? null))
      }
      token = page.NextToken
    } while (token)
    return values
  }
  const object = async (bucket: string, key: string) => {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
    if (!out.Body) throw new Error('GetObject returned no body')
    return Buffer.from(await out.Body.transformToByteArray())
  }
  return {
    local,
    athena,
    s3,
    start,
    wait,
    run,
    results,
    object,
    async close() {
      athena.destroy()
      s3.destroy()
      await local.close()
    },
  }
}

// `npx tsx bench/local-endpoint.ts`: what the local Athena endpoint's Athena-shaped answers cost. For dashboard-style
// queries over the sample table: StartQueryExecution's round trip (parse, bind, the Trino type check) and the time
// from submission to SUCCEEDED; for the calls clients make first: GetTableMetadata, ListTableMetadata, GetWorkGroup
// round trips and a SHOW TABLES / information_schema query to SUCCEEDED. Each is timed ROUNDS times (default 100);
// median and p95 go to stdout and .bench/local-endpoint.json. An operation the endpoint does not know is reported as
// such, so the script also runs against an older checkout for a before/after comparison.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetTableMetadataCommand,
  GetWorkGroupCommand,
  ListTableMetadataCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena'
import { startLocalAthena } from '../local/athena-server.ts'
import { generateSampleData } from '../local/sample-data.ts'
import { SAMPLE_START } from './sample-start.ts'

const ROUNDS = Number(process.env.ROUNDS ?? 100)

const QUERIES: Record<string, string> = {
  daily: `SELECT date_trunc('day', event_time) AS day, sum(value) AS total FROM analytics
    WHERE measure = 'pageviews' AND event_time >= TIMESTAMP '2024-02-01 00:00:00'
      AND event_time < TIMESTAMP '2024-03-01 00:00:00' AND dt BETWEEN '2024-02-01' AND '2024-02-29'
    GROUP BY 1 ORDER BY 1`,
  topPages: `SELECT page, count(*) AS views FROM analytics WHERE dt = '2024-03-15' AND measure = 'pageviews'
    GROUP BY page ORDER BY views DESC LIMIT 10`,
  byCountry: `SELECT coalesce(country, 'unknown') AS country, sum(CASE WHEN measure = 'revenue' THEN value ELSE 0 END)
    AS revenue FROM analytics WHERE dt >= '2024-01-01' AND dt < '2024-02-01' GROUP BY 1 ORDER BY 2 DESC`,
  showTables: 'SHOW TABLES IN analytics',
  informationSchema: `SELECT column_name, data_type FROM information_schema.columns
    WHERE table_schema = 'analytics' AND table_name = 'analytics' ORDER BY ordinal_position`,
}

interface Figures {
  medianMs: number
  p95Ms: number
}

function figures(samples: number[]): Figures {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0
  return { medianMs: Number(at(50).toFixed(2)), p95Ms: Number(at(95).toFixed(2)) }
}

async function timed(work: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = []
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now()
    await work()
    samples.push(performance.now() - t0)
  }
  return samples
}

function isUnknownOperation(err: unknown): boolean {
  return err instanceof Error && err.name === 'UnknownOperationException'
}

const dataDir = await mkdtemp(path.join(tmpdir(), 'acp-bench-local-'))
await generateSampleData({ dataDir, start: SAMPLE_START, days: 91 })
const local = await startLocalAthena({ dataDir, port: 0, minQueryMs: 0 })
const athena = new AthenaClient({
  endpoint: local.endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
})
const results: Record<string, Figures | { state: string } | 'unsupported'> = {}
try {
  for (const [name, sql] of Object.entries(QUERIES)) {
    const start = async () => {
      const out = await athena.send(
        new StartQueryExecutionCommand({
          QueryString: sql,
          QueryExecutionContext: { Database: 'analytics' },
        }),
      )
      return out.QueryExecutionId as string
    }
    const finish = async (id: string) => {
      for (;;) {
        const e = await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))
        const state = e.QueryExecution?.Status?.State
        if (state === 'SUCCEEDED') return
        if (state === 'FAILED' || state === 'CANCELLED') throw new Error(`${name}: ${state}`)
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
    try {
      await finish(await start())
    } catch (err) {
      results[`${name}.toSucceeded`] = { state: String(err) }
      continue
    }
    results[`${name}.start`] = figures(await timed(start))
    results[`${name}.toSucceeded`] = figures(await timed(async () => finish(await start())))
  }
  const calls: Record<string, () => Promise<unknown>> = {
    GetTableMetadata: () =>
      athena.send(
        new GetTableMetadataCommand({
          CatalogName: 'AwsDataCatalog',
          DatabaseName: 'analytics',
          TableName: 'analytics',
        }),
      ),
    ListTableMetadata: () =>
      athena.send(new ListTableMetadataCommand({ CatalogName: 'AwsDataCatalog', DatabaseName: 'analytics' })),
    GetWorkGroup: () => athena.send(new GetWorkGroupCommand({ WorkGroup: 'primary' })),
  }
  for (const [name, call] of Object.entries(calls)) {
    try {
      await call()
      results[name] = figures(await timed(call))
    } catch (err) {
      if (!isUnknownOperation(err)) throw err
      results[name] = 'unsupported'
    }
  }
} finally {
  athena.destroy()
  await local.close()
  await rm(dataDir, { recursive: true, force: true })
}

const report = { rounds: ROUNDS, node: process.version, results }
console.log(JSON.stringify(report, null, 2))
await mkdir('.bench', { recursive: true })
await writeFile(path.join('.bench', 'local-endpoint.json'), `${JSON.stringify(report, null, 2)}\n`)

import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { createAdaptorServer } from '@hono/node-server'
import { ValidationError } from '../src/errors.ts'
import { DuckDBEngine } from './duckdb-engine.ts'
import { ExecutionStore } from './execution-store.ts'
import { FaultInjector } from './fault-injector.ts'
import { createLocalAthenaApp } from './http-app.ts'
import { LocalAthenaService } from './local-athena-service.ts'
import { type LocalAthenaStats, LocalStats } from './local-stats.ts'
import { checkWorkGroupOutputLocation, DEFAULT_WORK_GROUP_OUTPUT_LOCATION } from './output-location.ts'
import { type ResultFileLimits, ResultFiles } from './result-files.ts'
import { type WorkGroupConfig, WorkGroups } from './work-groups.ts'

export type { Fault } from './fault-injector.ts'
export type { LocalAthenaStats } from './local-stats.ts'
export type { ResultFileLimits } from './result-files.ts'
export type { WorkGroupConfig } from './work-groups.ts'
export { FaultInjector }

export interface LocalAthenaOptions {
  /** Directory laid out as `<database>/<table>/[key=value/]…/*.parquet`. */
  dataDir: string
  /** 0 (default) picks a free port. */
  port?: number
  /** Defaults to 127.0.0.1. */
  host?: string
  /** No execution reaches a final state sooner than this after submission (default 0). */
  minQueryMs?: number
  /**
   * Where result files are written and served from by the S3 routes: object `s3://b/p/k` is `<resultsDir>/b/p/k`.
   * Absent: a fresh temp directory, removed by `close()`.
   */
  resultsDir?: string | undefined
  /** Budget of the result files; the oldest result sets are deleted first (default 1 GiB, 10,000 results). */
  resultFileLimits?: Partial<ResultFileLimits> | undefined
  /**
   * The result location of `primary` and of every configured work group that sets none, used when
   * StartQueryExecution names none (default `s3://acp-local-results/athena/`). `null`: no work-group location, so
   * requests must carry one.
   */
  workGroupOutputLocation?: string | null | undefined
  /**
   * Work groups besides `primary` (which always exists; listing it here changes its settings). A request naming
   * any other work group is refused with InvalidRequestException, as on Athena.
   */
  workGroups?: readonly WorkGroupConfig[] | undefined
  /** Delay added to the answer of every Athena call and every S3 request, for benchmarks (default 0). */
  requestLatencyMs?: number | undefined
  logger?: { info(o: object, msg?: string): void; warn(o: object, msg?: string): void }
}

export interface LocalAthena {
  /** e.g. `http://127.0.0.1:43123`, for `new AthenaClient({ endpoint })`. */
  endpoint: string
  port: number
  /** The directory holding the result files (absolute, symlinks resolved). */
  resultsDir: string
  faults: FaultInjector
  stats(): LocalAthenaStats
  resetStats(): void
  setMinQueryMs(ms: number): void
  setRequestLatencyMs(ms: number): void
  /** Re-scans the data directory for tables. */
  refresh(): Promise<void>
  /** Cancels running executions, stops the server, releases DuckDB and removes a temp results directory. */
  close(): Promise<void>
}

/** Starts an Athena-compatible endpoint (awsJson1_1) answering queries with DuckDB over local Parquet files. */
export async function startLocalAthena(options: LocalAthenaOptions): Promise<LocalAthena> {
  const workGroupOutputLocation = checkWorkGroupOutputLocation(
    options.workGroupOutputLocation === undefined
      ? DEFAULT_WORK_GROUP_OUTPUT_LOCATION
      : options.workGroupOutputLocation,
  )
  const config = {
    minQueryMs: checkMs('minQueryMs', options.minQueryMs ?? 0),
    requestLatencyMs: checkMs('requestLatencyMs', options.requestLatencyMs ?? 0),
    workGroups: new WorkGroups(options.workGroups ?? [], workGroupOutputLocation),
  }
  const files = await ResultFiles.open({
    dir: options.resultsDir,
    limits: options.resultFileLimits,
    logger: options.logger,
  })
  let engine: DuckDBEngine
  try {
    // The work groups' buckets exist from the start, as they would on AWS.
    for (const bucket of config.workGroups.buckets()) await files.ensureBucket(bucket)
    engine = await DuckDBEngine.create(path.resolve(options.dataDir), options.logger)
  } catch (err) {
    await files.close()
    throw err
  }
  const faults = new FaultInjector()
  const stats = new LocalStats()
  const service = new LocalAthenaService(
    engine,
    new ExecutionStore(),
    files,
    faults,
    stats,
    config,
    options.logger,
  )
  const setMinQueryMs = (ms: number) => {
    config.minQueryMs = checkMs('minQueryMs', ms)
  }
  const setRequestLatencyMs = (ms: number) => {
    config.requestLatencyMs = checkMs('requestLatencyMs', ms)
  }
  const refresh = async () => (await engine.refresh()).map((t) => `${t.database}.${t.table}`)
  const app = createLocalAthenaApp({
    service,
    faults,
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    minQueryMs: () => config.minQueryMs,
    setMinQueryMs,
    requestLatencyMs: () => config.requestLatencyMs,
    setRequestLatencyMs,
    resultsRoot: files.root,
    refresh,
    logger: options.logger,
  })

  const host = options.host ?? '127.0.0.1'
  const server = createAdaptorServer({ fetch: app.fetch })
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject)
        resolve()
      })
    })
  } catch (err) {
    engine.close()
    await files.close()
    throw err
  }
  const port = (server.address() as AddressInfo).port
  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  options.logger?.info(
    { endpoint, dataDir: engine.dataDir, resultsDir: files.root },
    'local athena: listening (Athena and S3 API)',
  )

  let closing: Promise<void> | undefined
  return {
    endpoint,
    port,
    resultsDir: files.root,
    faults,
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    setMinQueryMs,
    setRequestLatencyMs,
    refresh: async () => {
      await refresh()
    },
    close: () => {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
        // SDK clients keep connections alive; without this close() would wait for them to time out.
        if ('closeAllConnections' in server) server.closeAllConnections()
        await service.close()
        await stopped
        engine.close()
        await files.close()
      })()
      return closing
    },
  }
}

function checkMs(name: string, ms: number): number {
  if (!Number.isFinite(ms) || ms < 0)
    throw new ValidationError(`${name} must be a non-negative number, got ${ms}`)
  return Math.round(ms)
}

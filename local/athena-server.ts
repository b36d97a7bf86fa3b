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

export type { Fault } from './fault-injector.ts'
export type { LocalAthenaStats } from './local-stats.ts'
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
  logger?: { info(o: object, msg?: string): void; warn(o: object, msg?: string): void }
}

export interface LocalAthena {
  /** e.g. `http://127.0.0.1:43123`, for `new AthenaClient({ endpoint })`. */
  endpoint: string
  port: number
  faults: FaultInjector
  stats(): LocalAthenaStats
  resetStats(): void
  setMinQueryMs(ms: number): void
  /** Re-scans the data directory for tables. */
  refresh(): Promise<void>
  /** Cancels running executions, stops the server and releases DuckDB. */
  close(): Promise<void>
}

/** Starts an Athena-compatible endpoint (awsJson1_1) answering queries with DuckDB over local Parquet files. */
export async function startLocalAthena(options: LocalAthenaOptions): Promise<LocalAthena> {
  const engine = await DuckDBEngine.create(path.resolve(options.dataDir), options.logger)
  const faults = new FaultInjector()
  const stats = new LocalStats()
  const config = { minQueryMs: checkMinQueryMs(options.minQueryMs ?? 0) }
  const service = new LocalAthenaService(engine, new ExecutionStore(), faults, stats, config, options.logger)
  const setMinQueryMs = (ms: number) => {
    config.minQueryMs = checkMinQueryMs(ms)
  }
  const refresh = async () => (await engine.refresh()).map((t) => `${t.database}.${t.table}`)
  const app = createLocalAthenaApp({
    service,
    faults,
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    minQueryMs: () => config.minQueryMs,
    setMinQueryMs,
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
    throw err
  }
  const port = (server.address() as AddressInfo).port
  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  options.logger?.info({ endpoint, dataDir: engine.dataDir }, 'local athena: listening')

  let closing: Promise<void> | undefined
  return {
    endpoint,
    port,
    faults,
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    setMinQueryMs,
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
      })()
      return closing
    },
  }
}

function checkMinQueryMs(ms: number): number {
  if (!Number.isFinite(ms) || ms < 0)
    throw new ValidationError(`minQueryMs must be a non-negative number, got ${ms}`)
  return Math.round(ms)
}

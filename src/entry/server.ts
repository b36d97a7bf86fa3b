import { createServer, type Server } from 'node:http'
import { getRequestListener } from '@hono/node-server'
import { createApp } from '../app.ts'
import { buildDeps, type Deps } from '../build-deps.ts'
import { type AppConfig, loadConfig } from '../config/load-config.ts'
import { type LocalAthena, startLocalAthena } from '../local/athena-server.ts'
import { generateSampleData, hasData } from '../local/sample-data.ts'
import { createLogger, flushLogger } from '../logger.ts'
import { fastHitListener } from './fast-hit.ts'

export interface RunningServer {
  url: string
  port: number
  config: AppConfig
  deps: Deps
  localAthena: LocalAthena | undefined
  close(): Promise<void>
}

/** Starts the Node server (and, in `local` engine mode, the embedded Athena-compatible endpoint). */
export async function startServer(
  env: Record<string, string | undefined> = process.env,
): Promise<RunningServer> {
  const config = loadConfig(env, {
    defaultEngine: 'local',
    defaultLocalMinQueryMs: 500,
    defaultL1TtlMs: 1_000,
  })
  const logger = createLogger({ level: config.logLevel, sync: false })
  let localAthena: LocalAthena | undefined
  if (config.engine === 'local' && !config.athena.endpoint) {
    if (!(await hasData(config.dataDir))) {
      logger.info({ dataDir: config.dataDir }, 'data dir is empty: generating sample data')
      const report = await generateSampleData({ dataDir: config.dataDir })
      logger.info(report, 'sample data ready')
    }
    localAthena = await startLocalAthena({
      dataDir: config.dataDir,
      port: 0,
      minQueryMs: config.localAthenaMinQueryMs,
      logger,
    })
    logger.info(
      { endpoint: localAthena.endpoint, minQueryMs: config.localAthenaMinQueryMs },
      'embedded local Athena started',
    )
  }
  const deps = await buildDeps(config, {
    logger,
    ...(localAthena ? { athenaEndpoint: localAthena.endpoint } : {}),
  })
  const app = createApp(deps)
  const honoListener = getRequestListener(app.fetch)
  // Cache hits are answered before the framework runs (see fast-hit.ts); everything else goes to the Hono app.
  const server: Server = createServer(fastHitListener(deps, honoListener))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.port, config.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : config.port
  const url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`
  logger.info({ url, cache: deps.store.kind, engine: config.engine }, 'athena-cache-proxy listening')
  return {
    url,
    port,
    config,
    deps,
    localAthena,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await deps.close()
      await localAthena?.close()
      flushLogger(logger)
    },
  }
}

import { createServer, type Server } from 'node:http'
import { SchedulerClient } from '@aws-sdk/client-scheduler'
import { getRequestListener } from '@hono/node-server'
import { type LocalAthena, startLocalAthena } from '../../local/athena-server.ts'
import { generateSampleData, hasData } from '../../local/sample-data.ts'
import { type LocalScheduler, startLocalScheduler } from '../../local/scheduler/scheduler-server.ts'
import { createApp } from '../app.ts'
import { buildDeps, type Deps } from '../build-deps.ts'
import { type AppConfig, loadConfig } from '../config/load-config.ts'
import { loadSchedulerConfig } from '../config/scheduler-config.ts'
import { createLogger, flushLogger } from '../logger.ts'
import { startInProcessSchedules } from '../prewarm/in-process-schedules.ts'
import { syncSchedules } from '../prewarm/schedule-sync.ts'
import { fastHitListener } from './fast-hit.ts'

export interface RunningServer {
  url: string
  port: number
  config: AppConfig
  deps: Deps
  localAthena: LocalAthena | undefined
  /** The embedded local EventBridge Scheduler (engine `local` without SCHEDULER_ENDPOINT). */
  localScheduler: LocalScheduler | undefined
  close(): Promise<void>
}

/** Placeholder ARNs of the embedded scheduler's target and role: it invokes this process, whatever they say. */
const LOCAL_TARGET_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:athena-cache-proxy'
const LOCAL_ROLE_ARN = 'arn:aws:iam::000000000000:role/athena-cache-proxy-scheduler'

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
  // Schedules of schedules.yaml fire in this process: through the embedded local Scheduler in `local` mode (the same
  // wire protocol and sync code as on AWS), on in-process timers otherwise. With SCHEDULER_ENDPOINT set an external
  // scheduler fires them, and with PREWARM_SCHEDULES=off nothing does.
  const schedulerConfig = loadSchedulerConfig(env)
  let localScheduler: LocalScheduler | undefined
  let inProcess: { stop(): void } | undefined
  const fire = (payload: unknown) =>
    deps.operations.handleEvent(
      typeof payload === 'object' && payload !== null ? (payload as { action: string }) : { action: '' },
    )
  if (env.PREWARM_SCHEDULES !== 'off' && !schedulerConfig.endpoint) {
    if (config.engine === 'local') {
      localScheduler = await startLocalScheduler({ port: 0, invoke: (payload) => fire(payload), logger })
      const client = new SchedulerClient({
        region: schedulerConfig.region,
        endpoint: localScheduler.endpoint,
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      })
      const report = await syncSchedules({
        client,
        groupName: schedulerConfig.groupName,
        targetArn: LOCAL_TARGET_ARN,
        roleArn: LOCAL_ROLE_ARN,
        schedules: deps.operations.schedules,
        dryRun: false,
      })
      client.destroy()
      logger.info(
        { endpoint: localScheduler.endpoint, group: report.groupName, schedules: report.created },
        'embedded local Scheduler started',
      )
    } else {
      inProcess = startInProcessSchedules(
        deps.operations.schedules,
        (schedule, scheduledTime) =>
          deps.operations.prewarm({
            trigger: 'in-process',
            schedule: schedule.name,
            scheduledTime: scheduledTime.toISOString(),
          }),
        logger,
      )
    }
  }
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
    localScheduler,
    async close() {
      inProcess?.stop()
      await localScheduler?.close()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await deps.close()
      await localAthena?.close()
      flushLogger(logger)
    },
  }
}

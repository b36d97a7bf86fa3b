import { createServer, type Server } from 'node:http'
import { fileURLToPath } from 'node:url'
import { getRequestListener } from '@hono/node-server'
import type { Logger } from 'pino'
import { createApp, requestGuardOf } from '../app.ts'
import { buildDeps, type Deps } from '../build-deps.ts'
import type { ScheduleDef } from '../config/schedules.ts'
import type { LoadSettingsOptions, Settings } from '../config/settings.ts'
import { ConfigError } from '../errors.ts'
import { answerClientError } from '../http/request-guard.ts'
import { createLogger, flushLogger } from '../logger.ts'
import { startInProcessSchedules } from '../prewarm/in-process-schedules.ts'
import { fastHitListener } from './fast-hit.ts'
import { startMetricsServer } from './metrics-server.ts'

/** The option defaults of `acp serve`: the embedded engine, a 1 s in-process tier, a miss that looks like one. */
export const SERVER_DEFAULTS: LoadSettingsOptions = {
  defaultEngine: 'local',
  defaultLocalMinQueryMs: 500,
  defaultL1TtlMs: 1_000,
}

/** The pages `npm run build:ui` writes (scripts/build-ui.ts), served at `/` and `/admin/`. */
export const PACKAGE_UI_DIR = fileURLToPath(new URL('../../dist/ui', import.meta.url))

/** An endpoint started beside the server (the development emulators of local/): reported, and closed after it. */
export interface SideEndpoint {
  readonly endpoint: string
  close(): Promise<void>
}

export interface StartServerOptions {
  /** The logger of what the caller started beside the server; default: a new one at LOG_LEVEL. */
  logger?: Logger
  /** An Athena-compatible endpoint started for this server (the embedded local Athena): used instead of ATHENA_ENDPOINT. */
  localAthena?: SideEndpoint
  /**
   * Starts what fires the schedules of schedules.yaml in place of in-process timers (the embedded local Scheduler);
   * called once the service exists, and only when this process fires schedules (PREWARM_SCHEDULES on, no
   * SCHEDULER_ENDPOINT). `invoke` hands a schedule's Input to the service as the Lambda handler would.
   */
  startScheduler?: (context: {
    invoke: (payload: unknown) => Promise<unknown>
    schedules: readonly ScheduleDef[]
    logger: Logger
  }) => Promise<SideEndpoint>
}

export interface RunningServer {
  url: string
  port: number
  config: Settings
  deps: Deps
  localAthena: SideEndpoint | undefined
  /** What fires the schedules through a Scheduler endpoint in this process (the embedded local Scheduler). */
  localScheduler: SideEndpoint | undefined
  /** Where `/metrics` answers without a key (METRICS_PORT), if it does. */
  metricsUrl: string | undefined
  close(): Promise<void>
}

/**
 * Starts the Node server from loaded settings. The development endpoints are not its business: `acp serve` in
 * `local` engine mode starts them beside it (local/embedded-stack.ts) and hands them in through `options`.
 */
export async function startServer(
  settings: Settings,
  options: StartServerOptions = {},
): Promise<RunningServer> {
  const logger = options.logger ?? createLogger({ level: settings.logLevel, sync: false })
  const athenaEndpoint = options.localAthena?.endpoint ?? settings.athena.endpoint
  // Without an endpoint the SDK would send the local engine's dummy credentials to AWS.
  if (settings.engine === 'local' && athenaEndpoint === undefined)
    throw new ConfigError(
      'QUERY_ENGINE=local needs ATHENA_ENDPOINT, or the embedded local Athena that `acp serve` starts',
    )
  const deps = await buildDeps(settings, {
    logger,
    ...(options.localAthena ? { athenaEndpoint: options.localAthena.endpoint } : {}),
  })
  // Schedules of schedules.yaml fire in this process: through a Scheduler endpoint of the caller's (the embedded
  // local Scheduler: the same wire protocol and sync code as on AWS), on in-process timers otherwise. With
  // SCHEDULER_ENDPOINT set an external scheduler fires them, and with PREWARM_SCHEDULES off nothing does.
  let localScheduler: SideEndpoint | undefined
  let inProcess: { stop(): void } | undefined
  if (settings.prewarmSchedules && !settings.scheduler.endpoint) {
    if (options.startScheduler) {
      localScheduler = await options.startScheduler({
        invoke: (payload) =>
          deps.operations.handleEvent(
            typeof payload === 'object' && payload !== null
              ? (payload as { action: string })
              : { action: '' },
          ),
        schedules: deps.operations.schedules,
        logger,
      })
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
  const app = createApp({ ...deps, uiDir: PACKAGE_UI_DIR })
  const guard = requestGuardOf(deps)
  // What fails before the app runs (a request the adapter cannot turn into a fetch Request) is answered by the
  // same guard as everything else, not with the adapter's empty 400/500.
  const honoListener = getRequestListener(app.fetch, { errorHandler: (err) => guard.adapterError(err) })
  // Cache hits are answered before the framework runs (see fast-hit.ts); everything else goes to the Hono app.
  const server: Server = createServer(fastHitListener(deps, honoListener))
  // Requests Node's parser rejects never reach a listener: answered as problem+json too.
  server.on('clientError', answerClientError)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(settings.port, settings.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : settings.port
  const url = `http://${settings.host === '0.0.0.0' ? 'localhost' : settings.host}:${port}`
  logger.info({ url, cache: deps.store.kind, engine: settings.engine }, 'athena-cache-proxy listening')
  const metricsServer =
    settings.metrics.port !== undefined && deps.prometheus
      ? await startMetricsServer(deps.prometheus, settings.host, settings.metrics.port)
      : undefined
  if (metricsServer) logger.info({ url: `${metricsServer.url}/metrics` }, 'Prometheus metrics')
  return {
    url,
    port,
    config: settings,
    deps,
    localAthena: options.localAthena,
    localScheduler,
    metricsUrl: metricsServer ? `${metricsServer.url}/metrics` : undefined,
    async close() {
      inProcess?.stop()
      await localScheduler?.close()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await metricsServer?.close()
      await deps.close()
      await options.localAthena?.close()
      flushLogger(logger)
    },
  }
}

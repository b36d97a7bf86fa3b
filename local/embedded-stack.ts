// `acp serve` in `local` engine mode: the development endpoints of this folder started beside the service, so that
// `npm start` needs nothing else. The service (src/entry/server.ts) only receives their endpoints; this file is the
// one place that wires them in, and nothing in src/ imports it statically (the Lambda bundle never contains it).
import { SchedulerClient } from '@aws-sdk/client-scheduler'
import type { Settings } from '../src/config/settings.ts'
import { type RunningServer, type StartServerOptions, startServer } from '../src/entry/server.ts'
import { createLogger, flushLogger } from '../src/logger.ts'
import { syncSchedules } from '../src/prewarm/schedule-sync.ts'
import { type LocalAthena, startLocalAthena } from './athena-server.ts'
import { ensureSampleData } from './sample-data-refresh.ts'
import { type LocalScheduler, startLocalScheduler } from './scheduler/scheduler-server.ts'

/** Placeholder ARNs of the embedded scheduler's target and role: it invokes this process, whatever they say. */
const LOCAL_TARGET_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:athena-cache-proxy'
const LOCAL_ROLE_ARN = 'arn:aws:iam::000000000000:role/athena-cache-proxy-scheduler'

/** The running server with the embedded endpoints as their own types (tests reach their stats and faults). */
export interface EmbeddedServer extends RunningServer {
  localAthena: LocalAthena | undefined
  localScheduler: LocalScheduler | undefined
}

/**
 * Starts the service with the embedded development endpoints: the local Athena on DuckDB unless ATHENA_ENDPOINT
 * names one (with the sample data of the last 91 days written into an empty DATA_DIR, and again when it no longer
 * ends today: see sample-data-refresh.ts), and the local EventBridge Scheduler, holding the schedules of
 * schedules.yaml (synced as on AWS) and invoking this process, when the server fires schedules itself.
 */
export async function startEmbeddedStack(settings: Settings): Promise<EmbeddedServer> {
  if (settings.engine !== 'local')
    throw new Error(`the embedded stack is for QUERY_ENGINE=local, not ${settings.engine}`)
  const logger = createLogger({ level: settings.logLevel, sync: false })
  let localAthena: LocalAthena | undefined
  if (!settings.athena.endpoint) {
    // The last 91 days, so the shipped prewarm sets (relative dates) find data; regenerated when a day has passed.
    const sample = await ensureSampleData({ dataDir: settings.dataDir })
    if (sample.action === 'generate')
      logger.info({ ...sample.report, reason: sample.reason }, 'sample data written')
    else logger.info({ dataDir: settings.dataDir, reason: sample.reason }, 'sample data kept')
    // No resultsDir: result files go to a temp dir removed on close. Executions live in memory and are gone after
    // a restart, so result objects kept across restarts would be objects no execution points to any more.
    localAthena = await startLocalAthena({
      dataDir: settings.dataDir,
      port: 0,
      minQueryMs: settings.localAthenaMinQueryMs,
      // Every work group the service may name exists (Athena refuses unknown ones), with the default location.
      workGroups: serviceWorkGroups(settings).map((name) => ({ name })),
      logger,
    })
    logger.info(
      {
        endpoint: localAthena.endpoint,
        minQueryMs: settings.localAthenaMinQueryMs,
        resultsDir: localAthena.resultsDir,
      },
      'embedded local Athena started (Athena and S3 API)',
    )
  }
  let localScheduler: LocalScheduler | undefined
  // The same wire protocol and sync code as on AWS: what `acp schedules sync` would create is what fires here.
  const startScheduler: StartServerOptions['startScheduler'] = async ({ invoke, schedules }) => {
    const scheduler = await startLocalScheduler({ port: 0, invoke: (payload) => invoke(payload), logger })
    localScheduler = scheduler
    const client = new SchedulerClient({
      region: settings.scheduler.region,
      endpoint: scheduler.endpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    })
    try {
      const report = await syncSchedules({
        client,
        groupName: settings.scheduler.groupName,
        targetArn: LOCAL_TARGET_ARN,
        roleArn: LOCAL_ROLE_ARN,
        schedules,
        dryRun: false,
      })
      logger.info(
        { endpoint: scheduler.endpoint, group: report.groupName, schedules: report.created },
        'embedded local Scheduler started',
      )
    } catch (err) {
      await scheduler.close()
      throw err
    } finally {
      client.destroy()
    }
    return scheduler
  }
  try {
    const server = await startServer(settings, {
      logger,
      ...(localAthena ? { localAthena } : {}),
      startScheduler,
    })
    return { ...server, localAthena, localScheduler }
  } catch (err) {
    // A server that failed to start must not leave DuckDB and a listening endpoint behind.
    await localAthena?.close()
    flushLogger(logger)
    throw err
  }
}

/** The work groups the service's queries run in: ATHENA_WORKGROUP and the catalog queries' own `workgroup`s. */
export function serviceWorkGroups(settings: {
  athena: { workgroup: string }
  catalog: { queries: ReadonlyMap<string, { workgroup: string | undefined }> }
}): string[] {
  const names = [settings.athena.workgroup]
  for (const query of settings.catalog.queries.values())
    if (query.workgroup !== undefined) names.push(query.workgroup)
  return [...new Set(names)].sort()
}

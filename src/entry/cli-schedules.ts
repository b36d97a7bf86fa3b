import { randomUUID } from 'node:crypto'
import { GetScheduleCommand, paginateListSchedules, SchedulerClient } from '@aws-sdk/client-scheduler'
import type { Command } from 'commander'
import type { LambdaContext } from 'hono/aws-lambda'
import { type Env, loadConfig, requireSyncTargets, type SchedulerConfig } from '../config/load-config.ts'
import { nextFireTime } from '../config/schedule-expression.ts'
import { loadSettings } from '../config/settings.ts'
import type { SyncReport } from '../prewarm/schedule-sync.ts'
import { onSignals, port, positiveInt } from './cli-args.ts'

/**
 * The SchedulerClient of the CLI: AWS's endpoint and credential chain, or SCHEDULER_ENDPOINT (the local endpoint,
 * which checks no signature) with dummy credentials. Five standard-mode attempts ride out throttling.
 */
export function createSchedulerClient(config: SchedulerConfig): SchedulerClient {
  return new SchedulerClient({
    region: config.region,
    maxAttempts: 5,
    retryMode: 'standard',
    ...(config.endpoint !== undefined
      ? { endpoint: config.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
  })
}

/**
 * Adds `acp schedules sync|list` and `acp local-scheduler` to the `acp` command line; `env` goes to the configuration
 * loader only.
 */
export function registerScheduleCommands(program: Command, env: Env): void {
  const schedules = program
    .command('schedules')
    .description('prewarm schedules on EventBridge Scheduler (SCHEDULER_ENDPOINT, PREWARM_TARGET_ARN…)')

  schedules
    .command('sync')
    .description(
      'make the schedule group <CACHE_PREFIX>-prewarm hold exactly the schedules of schedules.yaml',
    )
    .option('--dry-run', 'show what would change without changing anything')
    .option(
      '-c, --config-dir <dir>',
      'configuration directory (default: CONFIG_DIR or ./wrangler-free-config)',
    )
    .option('--json', 'also print the report as one JSON line')
    .action(async (opts: { dryRun?: boolean; configDir?: string; json?: boolean }) => {
      const { syncSchedules } = await import('../prewarm/schedule-sync.ts')
      // The schedules as the service loads them: validated, and checked against the catalog.
      const settings = await loadSettings(env, opts.configDir ? { configDir: opts.configDir } : {})
      const targets = requireSyncTargets(settings.scheduler)
      const client = createSchedulerClient(settings.scheduler)
      try {
        const report = await syncSchedules({
          client,
          groupName: settings.scheduler.groupName,
          ...targets,
          schedules: settings.schedules,
          dryRun: opts.dryRun === true,
        })
        process.stdout.write(formatSyncReport(report))
        if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`)
        if (report.failed.length > 0) process.exitCode = 1
      } finally {
        client.destroy()
      }
    })

  schedules
    .command('list')
    .description('list the schedules in the group <CACHE_PREFIX>-prewarm with their next fire time')
    .option('--json', 'print one JSON object per schedule')
    .action(async (opts: { json?: boolean }) => {
      const config = loadConfig(env).scheduler
      const client = createSchedulerClient(config)
      try {
        const rows = await listGroup(client, config.groupName, new Date())
        if (opts.json) {
          for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`)
          return
        }
        if (rows.length === 0) {
          process.stdout.write(`no schedules in group ${config.groupName}\n`)
          return
        }
        const table = rows.map((r) => [r.name, r.expression, r.timezone, r.state, r.nextFireTime ?? '-'])
        process.stdout.write(
          formatTable([['NAME', 'EXPRESSION', 'TIMEZONE', 'STATE', 'NEXT FIRE (UTC)'], ...table]),
        )
      } finally {
        client.destroy()
      }
    })

  program
    .command('local-scheduler')
    .description(
      'run the local EventBridge Scheduler-compatible endpoint, invoking the Lambda handler in process',
    )
    .option('-p, --port <port>', 'port to listen on', port, 4567)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--tick-ms <ms>', 'how often due schedules fire', positiveInt, 1000)
    .action(async (opts: { port: number; host: string; tickMs: number }) => {
      const { startLocalScheduler } = await import('../../local/scheduler/scheduler-server.ts')
      const { createLogger } = await import('../logger.ts')
      const logger = createLogger({
        level: loadConfig(env).logLevel,
        sync: false,
        name: 'local-scheduler',
      })
      const local = await startLocalScheduler({
        port: opts.port,
        host: opts.host,
        tickMs: opts.tickMs,
        logger,
        invoke: async (payload, info) => {
          // The schedule's Input goes to the handler as it is, exactly as Lambda would hand it over.
          const { handler } = await import('./lambda.ts')
          return handler(payload, lambdaContext(info.targetArn))
        },
      })
      process.stdout.write(`${JSON.stringify({ endpoint: local.endpoint, port: local.port })}\n`)
      onSignals(() => local.close())
    })
}

/** A context with what handlers read; Lambda's own has more (identity, client context) that nothing here uses. */
function lambdaContext(functionArn: string): LambdaContext {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'acp',
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArn,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/acp',
    logStreamName: 'local-scheduler',
    getRemainingTimeInMillis: () => 900_000,
  }
}

/** The sync as a diff: `+ created`, `~ updated (what changed)`, `- deleted`, `! failed: why`, `= n unchanged`. */
export function formatSyncReport(report: SyncReport): string {
  const lines = [`schedule group ${report.groupName}${report.dryRun ? ' (dry run: nothing changed)' : ''}`]
  for (const name of report.created) lines.push(`+ ${name}`)
  for (const u of report.updated) lines.push(`~ ${u.name} (${u.changes.join(', ')})`)
  for (const name of report.deleted) lines.push(`- ${name}`)
  for (const f of report.failed) lines.push(`! ${f.name}: ${f.error}`)
  lines.push(`= ${report.unchanged.length} unchanged`)
  return `${lines.join('\n')}\n`
}

interface ListedSchedule {
  name: string
  expression: string
  timezone: string
  state: string
  /** ISO 8601 UTC; null when it will not fire again (or the expression cannot be evaluated). */
  nextFireTime: string | null
}

async function listGroup(client: SchedulerClient, groupName: string, now: Date): Promise<ListedSchedule[]> {
  const rows: ListedSchedule[] = []
  for await (const page of paginateListSchedules({ client }, { GroupName: groupName })) {
    for (const summary of page.Schedules ?? []) {
      if (summary.Name === undefined) continue
      const s = await client.send(new GetScheduleCommand({ Name: summary.Name, GroupName: groupName }))
      const expression = s.ScheduleExpression ?? ''
      const timezone = s.ScheduleExpressionTimezone ?? 'UTC'
      let next: Date | null = null
      try {
        // Rate schedules without StartDate count from their creation minute (the service fires with 60 s precision).
        const created = s.CreationDate
          ? new Date(Math.floor(s.CreationDate.getTime() / 60_000) * 60_000)
          : undefined
        const start = s.StartDate ?? (expression.startsWith('rate(') ? created : undefined)
        next = s.State === 'DISABLED' ? null : nextFireTime(expression, timezone, now, start)
        if (next && s.EndDate && next >= s.EndDate) next = null
      } catch {
        next = null
      }
      rows.push({
        name: summary.Name,
        expression,
        timezone,
        state: s.State ?? 'ENABLED',
        nextFireTime: next ? next.toISOString() : null,
      })
    }
  }
  return rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

function formatTable(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? []
  return rows
    .map(
      (r) =>
        `${r
          .map((cell, i) => cell.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd()}\n`,
    )
    .join('')
}

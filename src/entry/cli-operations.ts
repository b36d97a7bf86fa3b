import { SingleBar } from 'cli-progress'
import { type Command, InvalidArgumentError, Option } from 'commander'
import type { Deps } from '../build-deps.ts'
import { type Env, loadConfig } from '../config/load-config.ts'
import { ConfigError, ValidationError } from '../errors.ts'
import type { PrewarmReport } from '../prewarm/prewarm-job.ts'
import type { InvalidateRequest } from '../service/invalidation.ts'
import { parseInvalidateRequest } from '../service/invalidation.ts'

interface RemoteOptions {
  url?: string
  adminKey?: string
  json?: boolean
}

/** `key=value` pairs of `--param`, collected. */
function collectParam(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=')
  if (eq <= 0) throw new InvalidArgumentError('must be name=value')
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) }
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value]
}

/**
 * Builds the service from the settings for a one-off command. It acts on the shared cache, so a Redis is required:
 * against a server with the in-memory cache, use `--url` (the server's admin API) instead.
 */
async function withDeps<T>(env: Env, run: (deps: Deps) => Promise<T>): Promise<T> {
  const [{ loadSettings }, { buildDeps }, { createLogger, flushLogger }] = await Promise.all([
    import('../config/settings.ts'),
    import('../build-deps.ts'),
    import('../logger.ts'),
  ])
  // stdout carries the result (`--json`): logs go to stderr, warnings and worse unless LOG_LEVEL says otherwise.
  const settings = await loadSettings(env, { defaultEngine: 'athena', defaultLogLevel: 'warn' })
  if (!settings.redis)
    throw new ConfigError(
      'REDIS_URL is not set: this command acts on the shared cache. Set REDIS_URL, or pass --url to use a running server’s admin API',
    )
  if (settings.engine === 'local' && !settings.athena.endpoint)
    throw new ConfigError(
      'QUERY_ENGINE=local needs ATHENA_ENDPOINT (e.g. the endpoint of `acp local-athena`)',
    )
  const logger = createLogger({ level: settings.logLevel, sync: true, stream: 'stderr' })
  const deps = await buildDeps(settings, { logger, logSync: true, usageFlushMs: 0 })
  try {
    return await run(deps)
  } finally {
    await deps.close()
    flushLogger(logger)
  }
}

/**
 * Calls a running server's admin API (`--url`), with the admin key from `--admin-key` or ACP_ADMIN_KEY. Only the
 * environment step of the loader runs: this mode needs no configuration files on the machine it runs on.
 */
async function remote(
  env: Env,
  options: RemoteOptions,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const key = options.adminKey ?? loadConfig(env).cliAdminKey
  const response = await fetch(new URL(path, options.url), {
    method,
    headers: { 'content-type': 'application/json', ...(key ? { 'x-api-key': key } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  })
  const payload = (await response.json().catch(() => null)) as unknown
  if (!response.ok) {
    const detail = (payload as { detail?: string } | null)?.detail ?? response.statusText
    throw new ConfigError(`${method} ${path} answered ${response.status}: ${detail}`)
  }
  return payload
}

function printReport(report: PrewarmReport): void {
  const line = (s: string) => process.stderr.write(`${s}\n`)
  if (report.status === 'locked') {
    line('another prewarm run holds the lock: nothing done')
    return
  }
  for (const item of report.items) {
    if (item.action === 'fresh') continue
    const params = Object.entries(item.parameters)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')
    line(
      `${item.action.padEnd(9)} ${item.query} ${params}${item.reason ? ` (${item.reason})` : ''}${item.error ? `: ${item.error}` : ''}`,
    )
  }
  line(
    `considered ${report.considered}, refreshed ${report.refreshed}, fresh ${report.skippedFresh}, skipped ${report.skippedBudget}, failed ${report.failed}; ${report.dataScannedBytes} bytes scanned in ${report.durationMs} ms`,
  )
}

/** `acp invalidate` and `acp prewarm`; `env` goes to the configuration loader only. */
export function registerOperationCommands(program: Command, env: Env): void {
  const remoteOptions = (cmd: Command) =>
    cmd
      .option('--url <url>', "a running server's base URL: use its admin API instead of REDIS_URL")
      .option('--admin-key <key>', 'admin API key for --url (default: ACP_ADMIN_KEY)')
      .option('--json', 'print the whole result as JSON on stdout')

  remoteOptions(
    program
      .command('invalidate')
      .description('expire or delete cached results (one entry, a query, tags, or everything)')
      .option('-q, --query <name>', 'a catalog query')
      .option(
        '-p, --param <name=value>',
        'a parameter of the one entry to invalidate (repeatable)',
        collectParam,
      )
      .option('-t, --tag <tag>', 'invalidate every query with this tag (repeatable)', collect)
      .option('--all', 'invalidate every query')
      .option('--tenant <id>', "only this tenant's entries (tenants.yaml); every tenant's without it")
      .addOption(
        new Option('-m, --mode <mode>', 'expire: served stale while refreshed; delete: next read is a MISS')
          .choices(['expire', 'delete'])
          .default('expire'),
      )
      .option(
        '--range <start..end>',
        'only entries whose time range overlaps this half-open span (dates or ISO timestamps, e.g. 2024-01-15..2024-01-16)',
      )
      .option('--rewarm', 'refresh the invalidated entries of the prewarm set now'),
  ).action(
    async (
      opts: RemoteOptions & {
        query?: string
        param?: Record<string, string>
        tag?: string[]
        all?: boolean
        tenant?: string
        mode: 'expire' | 'delete'
        rewarm?: boolean
        range?: string
      },
    ) => {
      const range = opts.range === undefined ? undefined : opts.range.split('..')
      if (range && range.length !== 2)
        throw new ValidationError(`--range '${opts.range}' must be <start>..<end>`, [
          { name: 'range', message: 'must be <start>..<end>, e.g. 2024-01-15..2024-01-16' },
        ])
      // Sent as given to a server (--url), which validates it the same way.
      const body = {
        ...(opts.query ? { query: opts.query } : {}),
        ...(opts.param ? { parameters: opts.param } : {}),
        ...(opts.tag ? { tags: opts.tag } : {}),
        ...(opts.all ? { all: true } : {}),
        ...(opts.tenant ? { tenant: opts.tenant } : {}),
        ...(range ? { range: { start: range[0], end: range[1] } } : {}),
        mode: opts.mode,
        rewarm: opts.rewarm ?? false,
      }
      const request: InvalidateRequest = parseInvalidateRequest(body)
      const result = opts.url
        ? await remote(env, opts, 'POST', '/cache/invalidate', body)
        : await withDeps(env, (deps) => deps.operations.invalidate(request))
      const r = result as {
        scope: string
        mode: string
        queries: string[]
        tenant?: string
        rewarm: PrewarmReport | null
      }
      process.stderr.write(
        `${r.mode === 'delete' ? 'deleted' : 'expired'} (${r.scope}${r.tenant ? `, tenant ${r.tenant}` : ''}): ${r.queries.join(', ')}\n`,
      )
      if (r.rewarm) printReport(r.rewarm)
      if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`)
    },
  )

  remoteOptions(
    program
      .command('prewarm')
      .description('refresh the prewarm set and the most-read results that are missing or expire soon')
      .option(
        '-s, --schedule <name>',
        'run as this schedule of schedules.yaml (its queries, tags and next run)',
      )
      .option('--no-progress', 'no progress bar'),
  ).action(async (opts: RemoteOptions & { schedule?: string; progress: boolean }) => {
    let report: PrewarmReport
    if (opts.url) {
      report = (await remote(
        env,
        opts,
        'POST',
        '/admin/prewarm',
        opts.schedule ? { schedule: opts.schedule } : {},
      )) as PrewarmReport
    } else {
      const bar =
        opts.progress && process.stderr.isTTY
          ? new SingleBar({ format: 'prewarm [{bar}] {value}/{total} {query}', stream: process.stderr })
          : undefined
      let started = false
      report = await withDeps(env, (deps) =>
        deps.operations.prewarm({
          trigger: 'cli',
          ...(opts.schedule ? { schedule: opts.schedule } : {}),
          onProgress: (done, total, item) => {
            if (!bar) return
            if (!started) {
              bar.start(total, 0, { query: '' })
              started = true
            }
            bar.update(done, { query: item.query })
          },
        }),
      ).finally(() => bar?.stop())
    }
    printReport(report)
    if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`)
    if (report.failed > 0) process.exitCode = 1
  })
}

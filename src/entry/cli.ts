import { Command } from 'commander'
import type { Env } from '../config/load-config.ts'
import { loadSettings } from '../config/settings.ts'
import { AcpError, ValidationError } from '../errors.ts'
import { intBetween, isoDate, nonNegativeInt, onSignals, port, positiveInt } from './cli-args.ts'
import { registerOperationCommands } from './cli-operations.ts'
import { registerScheduleCommands } from './cli-schedules.ts'
import { registerTenantCommands } from './cli-tenants.ts'
import { operatorPageLine, withLocalAdminKey } from './local-admin-key.ts'

/**
 * The `acp` command line. `env` is the process environment, read by nothing but the configuration loader: each
 * command hands it to `loadSettings` (or its environment step, `loadConfig`) and uses only the result.
 */
export function buildCli(env: Env): Command {
  const program = new Command()
    .name('acp')
    .description('athena-cache-proxy: cached, precomputed Athena query results for dashboards')
    .showHelpAfterError()

  program
    .command('serve')
    .description('run the HTTP API (PORT, REDIS_URL, QUERY_ENGINE… from the environment)')
    .option('-p, --port <port>', 'port to listen on (overrides PORT)', port)
    .action(async (opts: { port?: number }) => {
      const { SERVER_DEFAULTS, startServer } = await import('./server.ts')
      const { settings, adminKey } = withLocalAdminKey(
        await loadSettings(
          { ...env, ...(opts.port !== undefined ? { PORT: String(opts.port) } : {}) },
          SERVER_DEFAULTS,
        ),
      )
      // The local engine's development endpoints live outside src/ (never in the Lambda bundle): loaded on demand.
      const server =
        settings.engine === 'local'
          ? await (await import('../../local/embedded-stack.ts')).startEmbeddedStack(settings)
          : await startServer(settings)
      process.stderr.write(`athena-cache-proxy listening on ${server.url}\n`)
      if (adminKey) process.stderr.write(operatorPageLine(server.url, adminKey))
      onSignals(() => server.close())
    })

  program
    .command('local-athena')
    .description('run the local Athena endpoint (awsJson1_1 over DuckDB, result files over S3) on its own')
    .option('-p, --port <port>', 'port to listen on', port, 4566)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('-d, --data-dir <dir>', 'directory with <database>/<table>/ Parquet data', './data')
    .option('--min-query-ms <ms>', 'minimum time before a query succeeds', nonNegativeInt, 0)
    .option('--results-dir <dir>', 'where result files are written and served over S3 (default: a temp dir)')
    .option('--request-latency-ms <ms>', 'delay added to every Athena and S3 answer', nonNegativeInt, 0)
    .option(
      '--work-groups <file>',
      'YAML or JSON list of work groups besides primary ({ name, description, outputLocation, enforceWorkGroupConfiguration, … })',
    )
    .option(
      '--sample-data',
      'write the sample data (the last 91 days) into an empty data dir, and again when it no longer ends today',
    )
    .option('--sample-start <date>', 'with --sample-data: the 91 days from this date instead', isoDate)
    .action(
      async (opts: {
        port: number
        host: string
        dataDir: string
        minQueryMs: number
        resultsDir?: string
        requestLatencyMs: number
        workGroups?: string
        sampleData?: boolean
        sampleStart?: string
      }) => {
        const { startLocalAthena } = await import('../../local/athena-server.ts')
        // Read first: a bad file fails before sample data is written or a port is taken.
        const workGroups =
          opts.workGroups === undefined
            ? undefined
            : await (await import('../../local/work-groups-file.ts')).readWorkGroupsFile(opts.workGroups)
        if (opts.sampleData || opts.sampleStart !== undefined) {
          const { ensureSampleData } = await import('../../local/sample-data-refresh.ts')
          const outcome = await ensureSampleData({ dataDir: opts.dataDir, start: opts.sampleStart })
          if (outcome.action === 'generate')
            process.stderr.write(`${outcome.reason}: ${describeSampleData(outcome.report)}\n`)
        }
        const local = await startLocalAthena({
          dataDir: opts.dataDir,
          port: opts.port,
          host: opts.host,
          minQueryMs: opts.minQueryMs,
          resultsDir: opts.resultsDir,
          requestLatencyMs: opts.requestLatencyMs,
          workGroups,
        })
        const ready = { endpoint: local.endpoint, port: local.port, resultsDir: local.resultsDir }
        process.stdout.write(`${JSON.stringify(ready)}\n`)
        onSignals(() => local.close())
      },
    )

  program
    .command('sample-data')
    .description(
      'write the deterministic sample table analytics.analytics as hive-partitioned Parquet: by default the last 91 ' +
        'days up to today (UTC); --start 2024-01-01 gives the fixed range of the tests and benchmarks',
    )
    .option('-d, --data-dir <dir>', 'target data directory', './data')
    .option(
      '--start <date>',
      'first day, YYYY-MM-DD (default: the last <days> days up to today, UTC)',
      isoDate,
    )
    // 3660: the generator's limit (MAX_DAYS in local/sample-data.ts), checked here to fail as other bad flags do.
    .option('--days <n>', 'number of days, 1–3660', intBetween(1, 3660), 91)
    .option('--rows <n>', 'number of rows (default: 1.2 M per 91 days)', positiveInt)
    .option('--force', 'regenerate even when data exists')
    .action(
      async (opts: { dataDir: string; start?: string; days: number; rows?: number; force?: boolean }) => {
        const { generateSampleData, hasData, resolveSampleRange } = await import('../../local/sample-data.ts')
        resolveSampleRange(opts) // bad input fails before anything is read or written
        if (!opts.force && (await hasData(opts.dataDir))) {
          process.stdout.write(`${opts.dataDir} already holds data (use --force to regenerate)\n`)
          return
        }
        const report = await generateSampleData(opts)
        process.stdout.write(`${describeSampleData(report)}\n`)
      },
    )

  program
    .command('catalog')
    .description('validate the configuration (catalog, prewarm sets, schedules) and list the queries')
    .option(
      '-c, --config-dir <dir>',
      'configuration directory (default: CONFIG_DIR or ./wrangler-free-config)',
    )
    .action(async (opts: { configDir?: string }) => {
      const { catalog } = await loadSettings(env, opts.configDir ? { configDir: opts.configDir } : {})
      for (const q of catalog.queries.values()) {
        const params = q.parameters.map((p) => `${p.name}${p.required ? '' : '?'}:${p.type}`).join(', ')
        process.stdout.write(
          `${q.name}(${params})  ttl=${q.ttlSeconds}s stale=${q.staleSeconds}s  ${q.description}\n`,
        )
      }
    })

  registerOperationCommands(program, env)
  registerScheduleCommands(program, env)
  registerTenantCommands(program, env)
  return program
}

/** One line on a written sample data set. */
function describeSampleData(report: {
  start: string
  end: string
  days: number
  rows: number
  files: number
  bytes: number
  dataDir: string
}): string {
  return (
    `wrote analytics.analytics to ${report.dataDir}: ${report.start} … ${report.end} (${report.days} days), ` +
    `${report.rows} rows, ${report.files} files, ${report.bytes} bytes`
  )
}

try {
  // The one hand-off of the environment to the configuration loader.
  await buildCli(process.env).parseAsync(process.argv)
} catch (err) {
  const issues =
    err instanceof ValidationError ? err.issues.map((i) => `\n  ${i.name}: ${i.message}`).join('') : ''
  process.stderr.write(`acp: ${err instanceof AcpError ? err.message : (err as Error).stack}${issues}\n`)
  process.exit(1)
}

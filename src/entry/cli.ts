import { Command } from 'commander'
import type { Env } from '../config/load-config.ts'
import { loadSettings } from '../config/settings.ts'
import { AcpError, ValidationError } from '../errors.ts'
import { nonNegativeInt, onSignals, port } from './cli-args.ts'
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
    .option('--sample-data', 'generate the sample data first when the data dir is empty')
    .action(
      async (opts: {
        port: number
        host: string
        dataDir: string
        minQueryMs: number
        resultsDir?: string
        requestLatencyMs: number
        sampleData?: boolean
      }) => {
        const { startLocalAthena } = await import('../../local/athena-server.ts')
        const { generateSampleData, hasData } = await import('../../local/sample-data.ts')
        if (opts.sampleData && !(await hasData(opts.dataDir)))
          await generateSampleData({ dataDir: opts.dataDir })
        const local = await startLocalAthena({
          dataDir: opts.dataDir,
          port: opts.port,
          host: opts.host,
          minQueryMs: opts.minQueryMs,
          resultsDir: opts.resultsDir,
          requestLatencyMs: opts.requestLatencyMs,
        })
        const ready = { endpoint: local.endpoint, port: local.port, resultsDir: local.resultsDir }
        process.stdout.write(`${JSON.stringify(ready)}\n`)
        onSignals(() => local.close())
      },
    )

  program
    .command('sample-data')
    .description('write the deterministic sample table analytics.analytics as hive-partitioned Parquet')
    .option('-d, --data-dir <dir>', 'target data directory', './data')
    .option('--rows <n>', 'number of rows', nonNegativeInt, 1_200_000)
    .option('--force', 'regenerate even when data exists')
    .action(async (opts: { dataDir: string; rows: number; force?: boolean }) => {
      const { generateSampleData, hasData } = await import('../../local/sample-data.ts')
      if (!opts.force && (await hasData(opts.dataDir))) {
        process.stdout.write(`${opts.dataDir} already holds data (use --force to regenerate)\n`)
        return
      }
      const report = await generateSampleData({ dataDir: opts.dataDir, rows: opts.rows })
      process.stdout.write(`${JSON.stringify(report)}\n`)
    })

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

try {
  // The one hand-off of the environment to the configuration loader.
  await buildCli(process.env).parseAsync(process.argv)
} catch (err) {
  const issues =
    err instanceof ValidationError ? err.issues.map((i) => `\n  ${i.name}: ${i.message}`).join('') : ''
  process.stderr.write(`acp: ${err instanceof AcpError ? err.message : (err as Error).stack}${issues}\n`)
  process.exit(1)
}

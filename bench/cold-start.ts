// `npx tsx bench/cold-start.ts`: size of the Lambda artifact and the cold start of the built handler — import of
// dist/lambda/index.mjs plus its first request (a cache HIT through a fresh Redis connection, what a dashboard read
// meets on a new container) — over COLD_STARTS fresh Node processes. Results go to stdout and .bench/cold-start.json.
import { execFile } from 'node:child_process'
import { mkdir, stat, writeFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { startLocalAthena } from '../local/athena-server.ts'
import { ensureSampleData } from '../local/sample-data-refresh.ts'
import { deployedLambdaEnv } from '../test/helpers/lambda-env.ts'
import { spawnRedisServer } from '../test/helpers/redis-server.ts'
import { SAMPLE_START } from './sample-start.ts'

const run = promisify(execFile)
const COLD_STARTS = Number(process.env.COLD_STARTS ?? 10)
const DATA_DIR = process.env.DATA_DIR ?? './data'

const event = {
  resource: '/analytics',
  path: '/analytics',
  httpMethod: 'GET',
  headers: { 'x-api-key': 'cold-start-key', 'Accept-Encoding': 'gzip' },
  multiValueHeaders: { 'x-api-key': ['cold-start-key'], 'Accept-Encoding': ['gzip'] },
  queryStringParameters: { measure: 'pageviews', period: 'day', start: '2024-01-01' },
  multiValueQueryStringParameters: { measure: ['pageviews'], period: ['day'], start: ['2024-01-01'] },
  pathParameters: null,
  stageVariables: null,
  requestContext: { stage: 'default', requestId: 'cold', path: '/default/analytics', httpMethod: 'GET' },
  body: null,
  isBase64Encoded: false,
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

async function main(): Promise<void> {
  const built = await run(process.execPath, ['--import', 'tsx', 'scripts/build.ts'], { encoding: 'utf8' })
  process.stdout.write(built.stdout)
  await ensureSampleData({ dataDir: DATA_DIR, start: SAMPLE_START }) // the fixed range of the published figures
  const redis = await spawnRedisServer()
  const local = await startLocalAthena({ dataDir: DATA_DIR, port: 0, minQueryMs: 0 })
  const env = {
    ...process.env,
    ...deployedLambdaEnv({
      athenaEndpoint: local.endpoint,
      redisUrl: redis.url,
      prefix: 'coldstart',
      apiKeys: 'cold-start-key',
    }),
    LOG_LEVEL: 'warn',
    NODE_NO_WARNINGS: '1',
  }
  const once = async () => {
    const t0 = performance.now()
    const { stdout } = await run(
      process.execPath,
      ['bench/cold-start-child.mjs', 'dist/lambda/index.mjs', JSON.stringify(event)],
      { env, encoding: 'utf8' },
    )
    const wallMs = performance.now() - t0
    const line = stdout.trim().split('\n').at(-1) ?? '{}'
    return {
      ...(JSON.parse(line) as { importMs: number; firstRequestMs: number; status: number; cache: string }),
      wallMs,
    }
  }
  const warm = await once() // computes the entry: every measured start then meets a HIT
  const samples = []
  for (let i = 0; i < COLD_STARTS; i++) samples.push(await once())
  const result = {
    bundleBytes: (await stat('dist/lambda/index.mjs')).size,
    zipBytes: (await stat('dist/lambda.zip')).size,
    firstRun: warm,
    coldStarts: COLD_STARTS,
    outcomes: [...new Set(samples.map((s) => `${s.status} ${s.cache}`))],
    importMs: median(samples.map((s) => s.importMs)),
    firstRequestMs: median(samples.map((s) => s.firstRequestMs)),
    processWallMs: median(samples.map((s) => s.wallMs)),
  }
  process.stdout.write(
    `bundle ${(result.bundleBytes / 1024).toFixed(0)} KiB, zip ${(result.zipBytes / 1024).toFixed(0)} KiB; ` +
      `cold start (median of ${COLD_STARTS}, ${result.outcomes.join(', ')}): import ${result.importMs.toFixed(0)} ms + ` +
      `first request ${result.firstRequestMs.toFixed(0)} ms = ${(result.importMs + result.firstRequestMs).toFixed(0)} ms ` +
      `(whole process incl. Node start-up ${result.processWallMs.toFixed(0)} ms)\n`,
  )
  await mkdir('.bench', { recursive: true })
  await writeFile('.bench/cold-start.json', `${JSON.stringify(result, null, 2)}\n`)
  await local.close()
  await redis.stop()
}

await main()

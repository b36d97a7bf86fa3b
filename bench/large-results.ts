// `npx tsx bench/large-results.ts`: large results end to end (docs/benchmarks.md, "Large results").
//   (1) reading a result: the CSV file from S3 vs GetQueryResults paging, with the same latency injected into every
//       request of both (the local endpoint's requestLatencyMs), at ~100k and ~1M rows; isolated reads of one
//       execution (median of BENCH_READ_ROUNDS) and whole misses through a server of each kind;
//   (2) the server's peak RSS (VmHWM, reset before each step) while it computes and serves the 1M-row result as
//       JSON, CSV and NDJSON, gzip and plain, against the stored (compressed) entry sizes;
//   (3) hit throughput of a ~10 MB gzip body against the floor server (one Redis GET, bytes written as they are).
// The local Athena runs in a process of its own, so the servers' memory is theirs alone.
import { spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { gunzipSync } from 'node:zlib'
import { AthenaClient, GetQueryExecutionCommand, StartQueryExecutionCommand } from '@aws-sdk/client-athena'
import { S3Client } from '@aws-sdk/client-s3'
import { Redis } from 'ioredis'
import { ResultReader } from '../src/athena/result-reader.ts'
import { decodeEntry } from '../src/cache/entry-codec.ts'
import { ResultBody } from '../src/service/result-body.ts'
import { freePort, provideRedis, spawnRedisServer } from '../test/helpers/redis-server.ts'
import { children, OUT_DIR, start, waitFor } from './children.ts'
import { SAMPLE_START } from './sample-start.ts'

const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 20)
const READ_ROUNDS = Number(process.env.BENCH_READ_ROUNDS ?? 3)
const PARTS = new Set((process.env.BENCH_PARTS ?? 'read,rss,hit,lambda').split(','))
const DATA_DIR = process.env.DATA_DIR ?? './data'
/** Date ranges of the `events` query: about 100k and 1M rows of the sample data. */
const RANGES = {
  '100k': { start: '2024-01-01', end: '2024-01-10' },
  '1M': { start: '2024-01-01', end: '2024-03-18' },
} as const

/** Peak resident set size (VmHWM) and current RSS of a process, in bytes. */
function memoryOf(pid: number): { peak: number; rss: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024
  return { peak: kb('VmHWM'), rss: kb('VmRSS') }
}

/** Resets a process's peak RSS to its current RSS (Linux: writing 5 to clear_refs). */
function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5')
}

const HEY_CONNECTIONS = 4
const HEY_DURATION = `${process.env.BENCH_DURATION_S ?? 8}s`

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** One `hey` run (after a short warm-up) against a server: requests per second, median latency, server CPU. */
function hey(
  url: string,
  pid: number,
): { rps: number; p50Ms: number; cpuMsPerRequest: number; non200: number } {
  const args = ['-c', String(HEY_CONNECTIONS), '-H', 'Accept-Encoding: gzip', url]
  spawnSync('hey', ['-z', '2s', ...args])
  const cpu0 = cpuSeconds(pid)
  const out = spawnSync('hey', ['-z', HEY_DURATION, ...args], { encoding: 'utf8' }).stdout
  const cpu1 = cpuSeconds(pid)
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0)
  const ok = Number(/\[200\]\s+(\d+) responses/.exec(out)?.[1] ?? 0)
  const total = [...out.matchAll(/\[(\d+)\]\s+(\d+) responses/g)].reduce((n, m) => n + Number(m[2]), 0)
  return {
    rps,
    p50Ms: Number(/50%+ in ([\d.]+) secs/.exec(out)?.[1] ?? 0) * 1000,
    cpuMsPerRequest: total > 0 ? ((cpu1 - cpu0) * 1000) / total : 0,
    non200: total - ok,
  }
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now()
  const value = await work()
  return { ms: performance.now() - t0, value }
}

/** Reads a whole response, counting its bytes without keeping them. */
async function drain(res: Response): Promise<number> {
  let bytes = 0
  const reader = res.body?.getReader()
  if (!reader) return 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return bytes
    bytes += value.length
  }
}

async function main(): Promise<void> {
  await mkdir(OUT_DIR, { recursive: true })
  const spawned = process.env.REDIS_URL ? undefined : await spawnRedisServer().catch(() => undefined)
  const redisInfo = spawned ? { url: spawned.url, stop: spawned.stop } : await provideRedis()
  const redis = new Redis(redisInfo.url)
  const athenaPort = await freePort()
  const endpoint = `http://127.0.0.1:${athenaPort}`
  start(
    'large-local-athena',
    [
      ...['bin/acp.js', 'local-athena', '--port', String(athenaPort), '--data-dir', DATA_DIR],
      ...['--sample-data', '--sample-start', SAMPLE_START],
    ],
    {},
  )
  await waitFor(`${endpoint}/_local/health`)
  const setLatency = (ms: number) =>
    fetch(`${endpoint}/_local/config`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requestLatencyMs: ms }),
    })
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' }
  const athena = new AthenaClient({ endpoint, region: 'us-east-1', credentials })
  const s3 = new S3Client({ endpoint, region: 'us-east-1', credentials, forcePathStyle: true })
  const report: Record<string, unknown> = { latencyMs: LATENCY_MS }
  const lines: string[] = []
  const say = (line: string) => {
    lines.push(line)
    process.stdout.write(`${line}\n`)
  }

  const serverEnv = (port: number, env: Record<string, string> = {}) => ({
    PORT: String(port),
    HOST: '127.0.0.1',
    REDIS_URL: redisInfo.url,
    QUERY_ENGINE: 'athena',
    ATHENA_ENDPOINT: endpoint,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    CACHE_PREFIX: `acplarge-${randomUUID().slice(0, 8)}`,
    QUERY_TIMEOUT_MS: '600000',
    SYNC_DEADLINE_MS: '600000',
    LOG_REQUESTS: 'false',
    PREWARM_SCHEDULES: 'off',
    ...env,
  })
  const startServer = async (name: string, env: Record<string, string> = {}) => {
    const port = await freePort()
    const childEnv = serverEnv(port, env)
    const child = start(name, ['bin/acp.js', 'serve'], childEnv)
    const url = `http://127.0.0.1:${port}`
    await waitFor(`${url}/health`)
    return { child, url, pid: child.pid ?? 0, prefix: childEnv.CACHE_PREFIX }
  }

  // ---- (1) reading a result: S3 vs paging ------------------------------------------------------------------------
  if (PARTS.has('read')) {
    await setLatency(LATENCY_MS)
    const readResults: Record<string, unknown> = {}
    for (const [size, range] of Object.entries(RANGES)) {
      // One execution, read again and again both ways: the same result, only the read path differs.
      const { QueryExecutionId: id } = await athena.send(
        new StartQueryExecutionCommand({
          QueryString: `SELECT event_time, measure, value, page, country, device FROM analytics WHERE dt >= '${range.start}' AND dt < '${range.end}' ORDER BY event_time, measure, page, country, device, value`,
          QueryExecutionContext: { Database: 'analytics' },
          WorkGroup: 'primary',
        }),
      )
      let execution = (await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id })))
        .QueryExecution
      while (execution?.Status?.State === 'QUEUED' || execution?.Status?.State === 'RUNNING') {
        await new Promise((r) => setTimeout(r, 100))
        execution = (await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))).QueryExecution
      }
      if (execution?.Status?.State !== 'SUCCEEDED') throw new Error(`query ${id} did not succeed`)
      const times: Record<string, number[]> = { s3: [], pages: [] }
      let rows = 0
      let etags = new Set<string>()
      for (let round = 0; round < READ_ROUNDS; round++) {
        for (const mode of ['s3', 'pages'] as const) {
          const reader = new ResultReader({ athena, s3, mode: mode === 's3' ? 'auto' : 'api' })
          const body = new ResultBody('json', { maxRows: 10_000_000, maxResultBytes: 2 ** 31 }, id ?? '')
          const { ms, value: source } = await timed(() => reader.read(execution, body))
          const encoded = await body.finish({
            query: 'events',
            parameters: null,
            queryExecutionId: id ?? '',
            dataScannedBytes: 0,
            computedAt: '',
            expiresAt: '',
          })
          if (source !== (mode === 's3' ? 's3' : 'pages'))
            throw new Error(`read ${mode} went through ${source}`)
          times[mode]?.push(ms)
          rows = body.rows
          etags = new Set([...etags, encoded.etag])
        }
      }
      const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0
      const s3Ms = med(times.s3 ?? [])
      const pagesMs = med(times.pages ?? [])
      readResults[size] = { rows, s3Ms, pagesMs, speedup: pagesMs / s3Ms, sameBody: etags.size === 1 }
      say(
        `read ${size} (${rows} rows, ${LATENCY_MS} ms per request): S3 ${s3Ms.toFixed(0)} ms, paging ${pagesMs.toFixed(0)} ms → ${(pagesMs / s3Ms).toFixed(1)}× (bodies ${etags.size === 1 ? 'identical' : 'DIFFER'})`,
      )
    }
    // Whole misses through the server: start, polls, read, body, store.
    for (const mode of ['auto', 'api'] as const) {
      const server = await startServer(`large-server-${mode}`, { ATHENA_RESULT_READ: mode })
      const { start: from, end } = RANGES['100k']
      const { ms, value: res } = await timed(() =>
        fetch(`${server.url}/queries/events?start=${from}&end=${end}`, {
          headers: { 'accept-encoding': 'gzip' },
        }),
      )
      await drain(res)
      readResults[`miss-${mode}`] = { ms, status: res.status }
      say(
        `miss 100k through the server, ATHENA_RESULT_READ=${mode}: ${ms.toFixed(0)} ms (status ${res.status})`,
      )
      server.child.kill('SIGTERM')
    }
    report.read = readResults
    await setLatency(0)
  }

  // ---- (2) peak RSS while serving the 1M-row result --------------------------------------------------------------
  if (PARTS.has('rss')) {
    // Each step in a fresh server process (the same cache prefix, so hits find what earlier steps stored): RSS
    // never shrinks, so a step measured after another would carry the other's high-water mark.
    const prefix = `acplarge-${randomUUID().slice(0, 8)}`
    const { start: from, end } = RANGES['1M']
    const path = `/queries/events?start=${from}&end=${end}`
    const gzip = { 'accept-encoding': 'gzip' }
    const identity = { 'accept-encoding': 'identity' }
    const steps: Array<[string, string, Record<string, string>]> = [
      ['JSON miss, gzip client', path, gzip],
      ['JSON hit, gzip client', path, gzip],
      ['JSON hit, plain client (inflated as sent)', path, identity],
      ['CSV rendered from the result file, gzip client', `${path}&format=csv`, gzip],
      ['CSV hit, plain client', `${path}&format=csv`, identity],
      ['NDJSON rendered, plain client', path, { ...identity, accept: 'application/x-ndjson' }],
    ]
    const rssResults: Array<Record<string, unknown>> = []
    for (const [label, url, headers] of steps) {
      const server = await startServer('large-server-rss', {
        MAX_RESULT_ROWS: '2000000',
        CACHE_PREFIX: prefix,
      })
      // Warm-up on the 100k-row result in every format and encoding: the JIT has compiled the paths and V8's young
      // generation has grown to the size this allocation rate gives it — a fixed cost, whatever the result's size.
      const warm = RANGES['100k']
      for (const format of ['json', 'csv', 'ndjson'])
        for (const h of [gzip, identity])
          await drain(
            await fetch(`${server.url}/queries/events?start=${warm.start}&end=${warm.end}&format=${format}`, {
              headers: h,
            }),
          )
      const base = memoryOf(server.pid).rss
      resetPeak(server.pid)
      const { ms, value: res } = await timed(async () => {
        const r = await fetch(`${server.url}${url}`, { headers })
        // fetch inflates gzip itself: the bytes on the wire are the Content-Length.
        const wire = Number(r.headers.get('content-length') ?? 0)
        return { status: r.status, cache: r.headers.get('x-cache'), bytes: await drain(r), wire }
      })
      const { peak } = memoryOf(server.pid)
      rssResults.push({ step: label, ms, ...res, base, peak, aboveBase: peak - base })
      say(
        `${label}: ${res.status} ${res.cache}, ${mb(res.wire)} sent (${mb(res.bytes)} plain) in ${ms.toFixed(0)} ms; RSS ${mb(base)} before, peak ${mb(peak)} (+${mb(peak - base)})`,
      )
      server.child.kill('SIGTERM')
      await new Promise((r) => server.child.once('exit', r))
    }
    // The stored entries of the 1M-row result (the 100k ones of the warm-up are a tenth of their size).
    const stored: Record<string, number> = {}
    for (const key of await redis.keys(`${prefix}:v3:*`)) {
      const type = await redis.type(key)
      const bytes = type === 'string' ? await redis.strlen(key) : 0
      if (bytes > 1e6) stored[key.slice(prefix.length + 1)] = bytes
    }
    const largest = Math.max(...Object.values(stored))
    const worst = Math.max(...rssResults.map((r) => r.aboveBase as number))
    report.rss = { stored, steps: rssResults, worstAboveBase: worst, target: 2 * largest }
    say(
      `stored entries ${Object.values(stored).map(mb).join(', ')}; worst peak above the warmed-up base ${mb(worst)} vs 2 × ${mb(largest)} = ${mb(2 * largest)} → ${worst < 2 * largest ? 'met' : 'NOT met'}`,
    )
  }

  // ---- (3) hit throughput of a ~10 MB gzip body vs the floor -----------------------------------------------------
  if (PARTS.has('hit')) {
    const server = await startServer('large-server-hit', {
      L1_TTL_MS: process.env.BENCH_L1_TTL_MS ?? '1000',
      MAX_RESULT_ROWS: '2000000',
    })
    // The whole sample quarter: about 1.2M rows, a gzip body of about 10 MB.
    const path = `/queries/events?start=2024-01-01&end=${process.env.BENCH_HIT_END ?? '2024-04-01'}`
    const first = await fetch(`${server.url}${path}`, { headers: { 'accept-encoding': 'gzip' } })
    await drain(first)
    // The floor serves the very bytes we send: the entry's gzip body (fetch would inflate the response).
    let gzip = Buffer.alloc(0)
    for (const key of await redis.keys(`${server.prefix}:v3:e:*`)) {
      const entry = await redis.getBuffer(key)
      if (entry && entry.length > gzip.length) gzip = Buffer.from(decodeEntry(entry).gzipBody)
    }
    const baselineKey = `${server.prefix}:floor`
    await redis.set(baselineKey, gzip)
    const floorPort = await freePort()
    const floor = start(
      'large-floor',
      ['--import', 'tsx', 'bench/floor-server.ts', 'floor', String(floorPort), redisInfo.url, baselineKey],
      {},
    )
    await waitFor(`http://127.0.0.1:${floorPort}/x`)
    // hey (Go) as the load generator: autocannon parses bodies in JavaScript and, at 10 MB a response, measured
    // itself rather than the servers.
    const ours = hey(`${server.url}${path}`, server.pid)
    const base = hey(`http://127.0.0.1:${floorPort}/x`, floor.pid ?? 0)
    report.hit = { bodyBytes: gzip.length, ours, floor: base }
    say(
      `hit of a ${mb(gzip.length)} gzip body (${HEY_CONNECTIONS} connections, ${HEY_DURATION}): ours ${ours.rps.toFixed(1)} req/s = ${mb(ours.rps * gzip.length)}/s (p50 ${ours.p50Ms.toFixed(0)} ms, ${ours.cpuMsPerRequest.toFixed(1)} ms CPU/req), floor ${base.rps.toFixed(1)} req/s (p50 ${base.p50Ms.toFixed(0)} ms, ${base.cpuMsPerRequest.toFixed(1)} ms CPU/req) → ${((100 * ours.rps) / base.rps).toFixed(0)} % of the floor`,
    )
    await redis.del(baselineKey)
  }

  // ---- (4) the 1M-row result from the built Lambda bundle, streamed ---------------------------------------------
  // dist/lambda/index.mjs's streamingHandler, in a process of its own with the runtime's `awslambda` global emulated
  // (test/helpers/lambda-runner.ts), the deployed environment and the default limits, against the same local Athena.
  if (PARTS.has('lambda')) {
    if (spawnSync('npm', ['run', 'build'], { stdio: 'ignore' }).status !== 0)
      throw new Error('npm run build failed')
    const { start: from, end } = RANGES['1M']
    const event = (query: Record<string, string>) => {
      const headers = { Host: 'abc123.execute-api.eu-west-2.amazonaws.com', 'Accept-Encoding': 'gzip' }
      return {
        resource: '/queries/events',
        path: '/queries/events',
        httpMethod: 'GET',
        headers,
        multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
        queryStringParameters: query,
        multiValueQueryStringParameters: Object.fromEntries(Object.entries(query).map(([k, v]) => [k, [v]])),
        requestContext: {
          resourcePath: '/queries/events',
          httpMethod: 'GET',
          stage: 'default',
          requestId: 'r',
        },
        body: null,
        isBase64Encoded: false,
      }
    }
    const invocations = ['json', 'csv', 'ndjson'].map((format) => ({
      handler: 'streamingHandler',
      event: event({ start: from, end, format }),
    }))
    const t0 = performance.now()
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'test/helpers/lambda-runner.ts', '--invocations', JSON.stringify(invocations)],
      {
        encoding: 'utf8',
        maxBuffer: 512 * 1024 * 1024,
        env: {
          ...process.env,
          LAMBDA_MODULE: 'dist/lambda/index.mjs',
          QUERY_ENGINE: 'athena',
          ATHENA_ENDPOINT: endpoint,
          AWS_REGION: 'eu-west-2',
          AWS_ACCESS_KEY_ID: 'local',
          AWS_SECRET_ACCESS_KEY: 'local',
          REDIS_URL: redisInfo.url,
          CACHE_PREFIX: `acplarge-${randomUUID().slice(0, 8)}`,
          ATHENA_WORKGROUP: 'primary',
          ATHENA_DATABASE: 'analytics',
          CONFIG_DIR: 'wrangler-free-config',
          LOG_LEVEL: 'silent',
          SYNC_DEADLINE_MS: '300000',
        },
      },
    )
    const line = run.stdout.split('\n').find((l) => l.startsWith('RESULTS '))
    if (!line) throw new Error(`lambda runner: ${run.stderr.slice(0, 2000)}`)
    const results = JSON.parse(line.slice('RESULTS '.length)) as Array<{
      streamed?: { prelude: string | null; bodyBase64: string; ended: boolean }
    }>
    const lambda: Array<Record<string, unknown>> = []
    for (const [i, format] of ['json', 'csv', 'ndjson'].entries()) {
      const streamed = results[i]?.streamed
      const prelude = JSON.parse(streamed?.prelude ?? 'null') as {
        statusCode: number
        headers: Record<string, string>
      }
      const body = Buffer.from(streamed?.bodyBase64 ?? '', 'base64')
      const plain = gunzipSync(body)
      const rows =
        format === 'json'
          ? (JSON.parse(plain.toString()) as { meta: { rowCount: number } }).meta.rowCount
          : plain.toString().split(format === 'csv' ? '\r\n' : '\n').length - (format === 'csv' ? 2 : 1)
      lambda.push({
        format,
        status: prelude.statusCode,
        rows,
        streamedBytes: body.length,
        plainBytes: plain.length,
      })
      say(
        `Lambda bundle, streamingHandler, ${format}: ${prelude.statusCode}, ${rows} rows, ${mb(body.length)} streamed (gzip; ${mb(plain.length)} plain), stream ended: ${streamed?.ended}`,
      )
    }
    report.lambda = { results: lambda, ms: performance.now() - t0 }
  }

  await writeFile(`${OUT_DIR}/large-results.json`, JSON.stringify({ report, lines }, null, 2))
  redis.disconnect()
  for (const child of children) child.kill('SIGTERM')
  await redisInfo.stop()
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    for (const child of children) child.kill('SIGKILL')
    process.exit(1)
  },
)

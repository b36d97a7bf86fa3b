// `npm run bench`: hit-path throughput against two baselines, and miss-path polling overhead.
// Every server runs in its own process; autocannon runs here. Results go to stdout and .bench/results.json.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { closeSync, openSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { cpus } from 'node:os'
import { AthenaClient, GetQueryExecutionCommand } from '@aws-sdk/client-athena'
import { Redis } from 'ioredis'
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml'
import { freePort, provideRedis, spawnRedisServer } from '../test/helpers/redis-server.ts'
import { type LoadResult, load as loadRun, median } from './load.ts'
import { SAMPLE_START } from './sample-start.ts'

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const CONNECTIONS = 50
const MISS_QUERY_MS = (process.env.BENCH_MISS_QUERY_MS ?? '2000,30000').split(',').filter(Boolean).map(Number)
const OUT_DIR = '.bench'
// BENCH_PARTS=hit (or miss) runs one part only.
const PARTS = new Set((process.env.BENCH_PARTS ?? 'hit,miss').split(','))
type HitServer = 'a' | 'aPlain' | 'l1' | 'l1Plain' | 'b' | 'c' | 'variant'
const children: ChildProcess[] = []

// With two or more CPUs and taskset, the server under test gets CPU 1 to itself while the load generator (this
// process) and the benchmark's own Redis share CPU 0: every server is measured on the same dedicated core, instead
// of competing with autocannon and Redis for two cores and drifting with the scheduler.
const PIN = cpus().length >= 2 && spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0

function pinPid(pid: number, cpu: number): void {
  if (PIN) spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' })
}

function start(name: string, args: string[], env: Record<string, string>): ChildProcess {
  // Output goes straight to a file: piping it through this process would spend the load generator's CPU.
  const fd = openSync(`${OUT_DIR}/${name}.log`, 'w')
  const [command, argv] = PIN ? ['taskset', ['-c', '1', process.execPath, ...args]] : [process.execPath, args]
  const child = spawn(command, argv, { env: { ...process.env, ...env }, stdio: ['ignore', fd, fd] })
  closeSync(fd)
  children.push(child)
  return child
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
    setTimeout(() => child.kill('SIGKILL'), 5_000).unref()
  })
}

async function waitFor(url: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const res = await fetch(url)
      if (res.status < 500) return
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not come up`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

async function ownRedis(): Promise<{ url: string; source: string; stop(): Promise<void> }> {
  try {
    const spawned = await spawnRedisServer()
    if (spawned.process.pid) pinPid(spawned.process.pid, 0)
    return { url: spawned.url, source: 'spawned for the benchmark', stop: spawned.stop }
  } catch {
    return provideRedis()
  }
}

async function main(): Promise<void> {
  await mkdir(OUT_DIR, { recursive: true })
  pinPid(process.pid, 0)
  // The benchmark's own Redis (pinned beside the load generator) unless REDIS_URL names one.
  const redisInfo = process.env.REDIS_URL ? await provideRedis() : await ownRedis()
  const redis = new Redis(redisInfo.url)
  const prefix = `acpbench-${randomUUID().slice(0, 8)}`
  const athenaPort = await freePort()
  const athenaUrl = `http://127.0.0.1:${athenaPort}`
  const dataDir = process.env.DATA_DIR ?? './data'
  process.stdout.write(
    `redis ${redisInfo.url} (${redisInfo.source}); local Athena on ${athenaUrl}, data ${dataDir}; ${PIN ? 'servers pinned to CPU 1, load generator and Redis to CPU 0' : 'no CPU pinning'}\n`,
  )
  const athena = start(
    'local-athena',
    [
      ...['bin/acp.js', 'local-athena', '--port', String(athenaPort), '--data-dir', dataDir],
      ...['--sample-data', '--sample-start', SAMPLE_START],
    ],
    {},
  )
  await waitFor(`${athenaUrl}/_local/stats`, 300_000)

  const serverEnv = (cachePrefix: string, port: number, l1TtlMs = '0'): Record<string, string> => ({
    // BENCH_SERVER_ENV='LOG_REQUESTS=false,…' runs the servers under test with these settings (for comparisons).
    ...Object.fromEntries(
      (process.env.BENCH_SERVER_ENV ?? '')
        .split(',')
        .filter(Boolean)
        .map((kv) => kv.split('=') as [string, string]),
    ),
    PORT: String(port),
    HOST: '127.0.0.1',
    REDIS_URL: redisInfo.url,
    QUERY_ENGINE: 'athena',
    ATHENA_ENDPOINT: athenaUrl,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    CACHE_PREFIX: cachePrefix,
    QUERY_TIMEOUT_MS: '120000',
    SYNC_DEADLINE_MS: '120000',
    L1_TTL_MS: l1TtlMs,
    PREWARM_SCHEDULES: 'off',
  })

  // ---- (1) hit path ----------------------------------------------------------------------------------------------
  const payloads = {
    '2KB': '/analytics?measure=pageviews&period=day&start=2024-01-01',
    '200KB': '/analytics?measure=pageviews&period=hour&start=2024-01-01&end=2024-03-31',
  }
  // (a) Redis-backed: the in-process L1 tier off, so every hit reads the entry and its stamps from Redis.
  // (l1) the Node server's default: L1 on (1 s), fresh hits answered in-process.
  const ourPort = await freePort()
  const ours = start('server-a', ['bin/acp.js', 'serve'], serverEnv(prefix, ourPort, '0'))
  const l1Port = await freePort()
  const withL1 = start('server-l1', ['bin/acp.js', 'serve'], serverEnv(prefix, l1Port, '1000'))
  // BENCH_VARIANT_ENV='K=V,…': a second Redis-backed server with these settings, measured in the same interleaved
  // rounds as (a) — the way to compare a setting's cost on a machine whose speed drifts.
  const variantEnv = Object.fromEntries(
    (process.env.BENCH_VARIANT_ENV ?? '')
      .split(',')
      .filter(Boolean)
      .map((kv) => kv.split('=') as [string, string]),
  )
  const variantPort = await freePort()
  const variant = process.env.BENCH_VARIANT_ENV
    ? start('server-variant', ['bin/acp.js', 'serve'], {
        ...serverEnv(prefix, variantPort, '0'),
        ...variantEnv,
      })
    : undefined
  if (variant) await waitFor(`http://127.0.0.1:${variantPort}/health`)
  const ourUrl = `http://127.0.0.1:${ourPort}`
  const l1Url = `http://127.0.0.1:${l1Port}`
  await waitFor(`${ourUrl}/health`)
  await waitFor(`${l1Url}/health`)
  const hit: Record<string, Record<HitServer, LoadResult & { payloadBytes: number }>> = {}
  // BENCH_SIZES=2KB (or 200KB) measures one payload only.
  const sizes = new Set((process.env.BENCH_SIZES ?? '2KB,200KB').split(','))
  for (const [size, path] of Object.entries(payloads)) {
    if (!PARTS.has('hit')) break
    if (!sizes.has(size)) continue
    const first = await fetch(`${ourUrl}${path}`) // MISS: computes and stores the entry
    const body = Buffer.from(await first.arrayBuffer())
    for (const url of [ourUrl, l1Url]) {
      const check = await fetch(`${url}${path}`)
      if (check.headers.get('x-cache') !== 'HIT') throw new Error(`expected a HIT for ${url}${path}`)
    }
    // The baselines serve the same plain JSON bytes from one Redis key.
    const baselineKey = `${prefix}:baseline:${size}`
    await redis.set(baselineKey, body)
    const floorPort = await freePort()
    const naivePort = await freePort()
    const floor = start(
      `floor-${size}`,
      ['--import', 'tsx', 'bench/floor-server.ts', 'floor', String(floorPort), redisInfo.url, baselineKey],
      {},
    )
    const naive = start(
      `naive-${size}`,
      ['--import', 'tsx', 'bench/floor-server.ts', 'naive', String(naivePort), redisInfo.url, baselineKey],
      {},
    )
    await waitFor(`http://127.0.0.1:${floorPort}/x`)
    await waitFor(`http://127.0.0.1:${naivePort}/x`)
    const plain = {}
    const gzip = { 'accept-encoding': 'gzip' }
    const targets: Record<
      HitServer,
      { url: string; pid: number | undefined; headers: Record<string, string> }
    > = {
      a: { url: `${ourUrl}${path}`, pid: ours.pid, headers: gzip },
      aPlain: { url: `${ourUrl}${path}`, pid: ours.pid, headers: plain },
      l1: { url: `${l1Url}${path}`, pid: withL1.pid, headers: gzip },
      l1Plain: { url: `${l1Url}${path}`, pid: withL1.pid, headers: plain },
      b: { url: `http://127.0.0.1:${floorPort}/x`, pid: floor.pid, headers: gzip },
      c: { url: `http://127.0.0.1:${naivePort}/x`, pid: naive.pid, headers: gzip },
      ...(variant
        ? { variant: { url: `http://127.0.0.1:${variantPort}${path}`, pid: variant.pid, headers: gzip } }
        : {}),
    } as Record<HitServer, { url: string; pid: number | undefined; headers: Record<string, string> }>
    process.stdout.write(
      `hit path, ${size} payload (${body.length} bytes of JSON): ${ROUNDS} rounds × ${Object.keys(targets).length} runs × ${DURATION_S} s…\n`,
    )
    // Interleaved rounds, median per server: the machine's throughput drifts between runs, and a drift must not
    // land on one server only.
    const runs = Object.fromEntries(Object.keys(targets).map((k) => [k, [] as LoadResult[]])) as Record<
      HitServer,
      LoadResult[]
    >
    // BENCH_TARGETS=a,b (say) measures those runs only.
    const only = process.env.BENCH_TARGETS ? new Set(process.env.BENCH_TARGETS.split(',')) : undefined
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, t] of Object.entries(targets) as Array<[HitServer, (typeof targets)[HitServer]]>)
        if (!only || only.has(name))
          runs[name].push(
            await loadRun(t.url, {
              connections: CONNECTIONS,
              durationS: DURATION_S,
              pid: t.pid,
              headers: t.headers,
            }),
          )
    }
    hit[size] = Object.fromEntries(
      Object.entries(runs)
        .filter(([, r]) => r.length > 0)
        .map(([k, r]) => [k, { ...median(r), payloadBytes: body.length }]),
    ) as Record<HitServer, LoadResult & { payloadBytes: number }>
    await stop(floor)
    await stop(naive)
  }
  await stop(ours)
  await stop(withL1)
  if (variant) await stop(variant)

  // ---- (2) miss path -------------------------------------------------------------------------------------------
  const athenaClient = new AthenaClient({
    endpoint: athenaUrl,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  })
  // Athena result reuse would answer the second run of the same query from the first one's result, which is not
  // what this part measures: the miss servers get a copy of the catalog with reuse off.
  const catalog = parseYaml(await readFile('wrangler-free-config/queries.yaml', 'utf8')) as {
    queries: Record<string, Record<string, unknown>>
  }
  for (const q of Object.values(catalog.queries)) q.resultReuseMinutes = 0
  await mkdir(`${OUT_DIR}/config`, { recursive: true })
  await writeFile(`${OUT_DIR}/config/queries.yaml`, stringifyYaml(catalog))
  const miss: Array<Record<string, number | string>> = []
  for (const queryMs of PARTS.has('miss') ? MISS_QUERY_MS : []) {
    await fetch(`${athenaUrl}/_local/config`, {
      method: 'POST',
      body: JSON.stringify({ minQueryMs: queryMs }),
    })
    const missPrefix = `${prefix}-miss${queryMs}` // a fresh prefix: no run-time history at all
    const port = await freePort()
    const server = start(`server-miss-${queryMs}`, ['bin/acp.js', 'serve'], {
      ...serverEnv(missPrefix, port),
      CONFIG_DIR: `${OUT_DIR}/config`,
    })
    await waitFor(`http://127.0.0.1:${port}/health`)
    // Warm the process (JIT, SDK client, connections) on another query, so the first measured miss pays only for
    // having no history: run-time history is per key and per query, and by_country has none yet.
    await fetch(`http://127.0.0.1:${port}/analytics?measure=signups&start=2024-03-01`)
    const path = `/queries/by_country?measure=sessions&start=2024-02-01&end=2024-03-01`
    for (const run of ['without history', 'with history']) {
      const t0 = performance.now()
      const res = await fetch(`http://127.0.0.1:${port}${path}`)
      const latencyMs = performance.now() - t0
      const json = (await res.json()) as { meta: { queryExecutionId: string } }
      if (res.headers.get('x-cache') !== 'MISS')
        throw new Error(`expected a MISS, got ${res.headers.get('x-cache')}`)
      const id = json.meta.queryExecutionId
      const stats = (await (await fetch(`${athenaUrl}/_local/stats`)).json()) as {
        statusCallsByExecution: Record<string, number>
      }
      const statusCalls = stats.statusCallsByExecution[id] ?? Number.NaN
      const exec = await athenaClient.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))
      const engineMs = exec.QueryExecution?.Statistics?.TotalExecutionTimeInMillis ?? Number.NaN
      const overheadMs = latencyMs - engineMs
      miss.push({
        queryMs,
        run,
        latencyMs: Math.round(latencyMs),
        engineMs,
        overheadMs: Math.round(overheadMs),
        overheadPct: Math.round((overheadMs / engineMs) * 1000) / 10,
        statusCalls,
      })
      process.stdout.write(`miss path ${queryMs} ms, ${run}: ${JSON.stringify(miss.at(-1))}\n`)
      // Drop the entry (not the history) so the next request is a miss again.
      const keys = await redis.keys(`${missPrefix}:v3:e:*`)
      if (keys.length > 0) await redis.del(...keys)
    }
    await stop(server)
    const historyKeys = await redis.keys(`${missPrefix}:*`)
    if (historyKeys.length > 0) await redis.del(...historyKeys)
  }
  athenaClient.destroy()
  await stop(athena)
  const leftover = await redis.keys(`${prefix}*`)
  if (leftover.length > 0) await redis.del(...leftover)
  redis.disconnect()
  await redisInfo.stop()

  // ---- report ----------------------------------------------------------------------------------------------------
  const lines: string[] = [
    '',
    `Hit path — autocannon, ${CONNECTIONS} connections, median of ${ROUNDS} interleaved ${DURATION_S} s runs`,
  ]
  lines.push(
    'payload  server                                   req/s    p50 ms  p99 ms  bytes/resp  CPU µs/req',
  )
  const labels: Record<HitServer, string> = {
    a: '(a) HIT from Redis, gzip',
    aPlain: '(a) HIT from Redis, no gzip',
    l1: '(l1) HIT with L1, gzip',
    l1Plain: '(l1) HIT with L1, no gzip',
    b: '(b) floor: getBuffer + write',
    c: '(c) naive: get+parse+c.json',
    variant: `(v) (a) with ${process.env.BENCH_VARIANT_ENV ?? ''}`,
  }
  const ratios: Record<string, Record<string, number>> = {}
  for (const [size, r] of Object.entries(hit)) {
    const row = (label: string, x: LoadResult) =>
      `${size.padEnd(8)} ${label.padEnd(39)} ${String(x.rps).padStart(7)} ${String(x.p50).padStart(8)} ${String(x.p99).padStart(7)} ${String(x.bytesPerRequest).padStart(11)} ${String(x.cpuMicrosPerRequest ?? '?').padStart(11)}${x.non2xx + x.errors > 0 ? `  (${x.non2xx} non-2xx, ${x.errors} errors)` : ''}`
    for (const k of Object.keys(labels) as HitServer[]) if (r[k]) lines.push(row(labels[k], r[k]))
    const vsFloor = (k: HitServer) => Math.round(((r[k]?.rps ?? Number.NaN) / r.b.rps) * 100) / 100
    ratios[size] = {
      gzipVsFloor: vsFloor('a'),
      plainVsFloor: vsFloor('aPlain'),
      l1GzipVsFloor: vsFloor('l1'),
      l1PlainVsFloor: vsFloor('l1Plain'),
      gzipVsNaive: Math.round(((r.a?.rps ?? Number.NaN) / (r.c?.rps ?? Number.NaN)) * 100) / 100,
    }
    lines.push(`${size.padEnd(8)} ratios to the floor: ${JSON.stringify(ratios[size])}`)
  }
  lines.push(
    '',
    'Miss path — local engine, overhead = MISS latency − engine time (Athena TotalExecutionTimeInMillis)',
  )
  for (const m of miss)
    lines.push(
      `query ${String(m.queryMs).padStart(6)} ms, ${String(m.run).padEnd(16)} latency ${m.latencyMs} ms, overhead ${m.overheadMs} ms (${m.overheadPct}%), status calls ${m.statusCalls}`,
    )
  process.stdout.write(`${lines.join('\n')}\n`)
  await writeFile(
    `${OUT_DIR}/results.json`,
    JSON.stringify({ at: new Date().toISOString(), hit, ratios, miss }, null, 2),
  )
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).stack}\n`)
    process.exitCode = 1
  })
  .finally(async () => {
    await Promise.all(children.map(stop))
  })

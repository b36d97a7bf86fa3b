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

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const CONNECTIONS = 50
const MISS_QUERY_MS = (process.env.BENCH_MISS_QUERY_MS ?? '2000,30000').split(',').filter(Boolean).map(Number)
const OUT_DIR = '.bench'
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
    ['bin/acp.js', 'local-athena', '--port', String(athenaPort), '--data-dir', dataDir, '--sample-data'],
    {},
  )
  await waitFor(`${athenaUrl}/_local/stats`, 300_000)

  const serverEnv = (cachePrefix: string, port: number): Record<string, string> => ({
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
    // (a) is measured Redis-backed: the in-process L1 tier is off here (bench/resilience.ts measures it on).
    L1_TTL_MS: '0',
  })

  // ---- (1) hit path ----------------------------------------------------------------------------------------------
  const payloads = {
    '2KB': '/analytics?measure=pageviews&period=day&start=2024-01-01',
    '200KB': '/analytics?measure=pageviews&period=hour&start=2024-01-01&end=2024-03-31',
  }
  const ourPort = await freePort()
  const ours = start('server-a', ['bin/acp.js', 'serve'], serverEnv(prefix, ourPort))
  const ourUrl = `http://127.0.0.1:${ourPort}`
  await waitFor(`${ourUrl}/health`)
  const hit: Record<string, Record<string, LoadResult & { payloadBytes: number }>> = {}
  for (const [size, path] of Object.entries(payloads)) {
    const first = await fetch(`${ourUrl}${path}`) // MISS: computes and stores the entry
    const body = Buffer.from(await first.arrayBuffer())
    const check = await fetch(`${ourUrl}${path}`)
    if (check.headers.get('x-cache') !== 'HIT') throw new Error(`expected a HIT for ${path}`)
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
    process.stdout.write(
      `hit path, ${size} payload (${body.length} bytes of JSON): ${ROUNDS} rounds × 3 servers × ${DURATION_S} s…\n`,
    )
    // Interleaved rounds, median per server: the machine's throughput drifts between runs, and a drift must not
    // land on one server only.
    const runs: Record<'a' | 'b' | 'c' | 'aPlain', LoadResult[]> = { a: [], b: [], c: [], aPlain: [] }
    for (let round = 0; round < ROUNDS; round++) {
      runs.a.push(
        await loadRun(`${ourUrl}${path}`, { connections: CONNECTIONS, durationS: DURATION_S, pid: ours.pid }),
      )
      runs.b.push(
        await loadRun(`http://127.0.0.1:${floorPort}/x`, {
          connections: CONNECTIONS,
          durationS: DURATION_S,
          pid: floor.pid,
        }),
      )
      runs.c.push(
        await loadRun(`http://127.0.0.1:${naivePort}/x`, {
          connections: CONNECTIONS,
          durationS: DURATION_S,
          pid: naive.pid,
        }),
      )
    }
    runs.aPlain.push(
      await loadRun(`${ourUrl}${path}`, { connections: CONNECTIONS, durationS: DURATION_S, headers: {} }),
    )
    hit[size] = {
      a: { ...median(runs.a), payloadBytes: body.length },
      b: { ...median(runs.b), payloadBytes: body.length },
      c: { ...median(runs.c), payloadBytes: body.length },
      aPlain: { ...median(runs.aPlain), payloadBytes: body.length },
    }
    await stop(floor)
    await stop(naive)
  }
  await stop(ours)

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
  for (const queryMs of MISS_QUERY_MS) {
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
      const keys = await redis.keys(`${missPrefix}:v2:e:*`)
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
    `Hit path — autocannon, ${CONNECTIONS} connections, median of ${ROUNDS} interleaved ${DURATION_S} s runs, Accept-Encoding: gzip`,
  ]
  lines.push('payload  server                          req/s    p50 ms  p99 ms  bytes/resp  CPU µs/req')
  const ratios: Record<string, { ab: number; ac: number }> = {}
  for (const [size, r] of Object.entries(hit)) {
    const row = (label: string, x: LoadResult) =>
      `${size.padEnd(8)} ${label.padEnd(30)} ${String(x.rps).padStart(7)} ${String(x.p50).padStart(8)} ${String(x.p99).padStart(7)} ${String(x.bytesPerRequest).padStart(11)} ${String(x.cpuMicrosPerRequest ?? '?').padStart(11)}${x.non2xx + x.errors > 0 ? `  (${x.non2xx} non-2xx, ${x.errors} errors)` : ''}`
    if (!r.a || !r.b || !r.c || !r.aPlain) continue
    lines.push(row('(a) athena-cache-proxy HIT', r.a))
    lines.push(row('(b) floor: getBuffer + write', r.b))
    lines.push(row('(c) naive: get+parse+c.json', r.c))
    lines.push(row('(a) without Accept-Encoding', r.aPlain))
    ratios[size] = { ab: r.a.rps / r.b.rps, ac: r.a.rps / r.c.rps }
    lines.push(
      `${size.padEnd(8)} ratios: a/b = ${(r.a.rps / r.b.rps).toFixed(2)}, a/c = ${(r.a.rps / r.c.rps).toFixed(2)}`,
    )
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

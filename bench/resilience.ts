// `npx tsx bench/resilience.ts`: how the service behaves across processes and through a Redis outage, and what the
// in-process L1 tier buys on the hit path. About 2 minutes; results go to stdout and .bench/resilience.json.
//   (a) stampede: 100 concurrent identical misses over three `acp serve` processes → Athena executions (target 1)
//   (b) Redis outage: constant load on one server; its Redis is killed at 5 s and restarted at 10 s
//   (c) hit path, 2 KB payload: this service with L1 on vs the floor server (one getBuffer per request)
import { mkdir, writeFile } from 'node:fs/promises'
import { Redis } from 'ioredis'
import {
  CAN_PIN,
  listExecutionIds,
  localStats,
  pinPid,
  type ServeProcess,
  serveEnv,
  startChild,
  startLocalAthenaProcess,
  startServeProcess,
  stopAllChildren,
  waitUntil,
} from '../test/helpers/processes.ts'
import { freePort, spawnRedisServer } from '../test/helpers/redis-server.ts'
import { type LoadResult, load as loadRun, median } from './load.ts'
import { SAMPLE_START } from './sample-start.ts'

const OUT_DIR = '.bench'
const DATA_DIR = process.env.DATA_DIR ?? './data'
const HIT_DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5)
const HIT_ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const HIT_CONNECTIONS = 50
const OUTAGE_CONNECTIONS = 20
const OUTAGE_KILL_S = 5
const OUTAGE_RESTART_S = 10
const OUTAGE_TOTAL_S = 15
const HIT_PATH = '/analytics?measure=pageviews&period=day&start=2024-01-01'

type SpawnedRedis = Awaited<ReturnType<typeof spawnRedisServer>>
const redises = new Set<SpawnedRedis>()

async function ownRedis(port?: number, cpu?: number): Promise<SpawnedRedis> {
  const redis = await spawnRedisServer(port)
  redises.add(redis)
  if (cpu !== undefined && redis.process.pid) pinPid(redis.process.pid, cpu)
  return redis
}

async function cleanup(): Promise<void> {
  await stopAllChildren()
  await Promise.all([...redises].map((r) => r.stop()))
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number
}

// ---- (a) stampede ----------------------------------------------------------------------------------------------

interface StampedeResult {
  requests: number
  executionsStarted: number
  executionsListed: number
  statuses: Record<string, number>
  xCache: Record<string, number>
  distinctBodies: number
  p50Ms: number
  maxMs: number
}

async function stampede(athenaEndpoint: string, redisUrl: string): Promise<StampedeResult> {
  const env = serveEnv({
    redisUrl,
    prefix: 'bench-stampede',
    athenaEndpoint,
    dataDir: DATA_DIR,
    extra: { LOG_LEVEL: 'warn' },
  })
  const servers = await Promise.all(
    [0, 1, 2].map((i) =>
      startServeProcess(env, { name: `stampede-${i}`, logFile: `${OUT_DIR}/resilience-stampede-${i}.log` }),
    ),
  )
  await fetch(`${athenaEndpoint}/_local/config`, {
    method: 'POST',
    body: JSON.stringify({ minQueryMs: 1500 }),
  })
  const path = '/queries/top_pages?measure=revenue&start=2024-02-01&limit=20'
  const startedBefore = (await localStats(athenaEndpoint)).executionsStarted
  const listedBefore = await listExecutionIds(athenaEndpoint)
  const answers = await Promise.all(
    Array.from({ length: 100 }, async (_, i) => {
      const t0 = performance.now()
      const res = await fetch(`${(servers[i % 3] as ServeProcess).url}${path}`)
      const text = await res.text()
      return { ms: performance.now() - t0, status: res.status, xCache: res.headers.get('x-cache'), text }
    }),
  )
  const startedAfter = (await localStats(athenaEndpoint)).executionsStarted
  const listedAfter = await listExecutionIds(athenaEndpoint)
  await fetch(`${athenaEndpoint}/_local/config`, { method: 'POST', body: JSON.stringify({ minQueryMs: 0 }) })
  await Promise.all(servers.map((s) => s.stop()))
  const ms = answers.map((a) => a.ms).sort((x, y) => x - y)
  return {
    requests: answers.length,
    executionsStarted: startedAfter - startedBefore,
    executionsListed: listedAfter.filter((id) => !listedBefore.includes(id)).length,
    statuses: countBy(answers.map((a) => String(a.status))),
    xCache: countBy(answers.map((a) => String(a.xCache))),
    distinctBodies: new Set(answers.map((a) => a.text)).size,
    p50Ms: Math.round(percentile(ms, 50)),
    maxMs: Math.round(ms.at(-1) ?? Number.NaN),
  }
}

// ---- (b) Redis outage ------------------------------------------------------------------------------------------

interface OutageResult {
  connections: number
  seconds: number
  requests: number
  fiveXx: number
  otherNon200: number
  clientErrors: number
  xCache: Record<string, number>
  bypass: number
  bypassWhileDown: number
  healthWhileDown: string
  redisBackAfterS: number
  secondsToFirstHit: number | null
  p99Ms: number
  maxMs: number
}

async function outage(athenaEndpoint: string): Promise<OutageResult> {
  const redisPort = await freePort()
  let redis = await ownRedis(redisPort)
  // L1 off: a HIT is then a Redis hit, so "first HIT after the restart" measures the reconnection itself.
  const server = await startServeProcess(
    serveEnv({
      redisUrl: redis.url,
      prefix: 'bench-outage',
      athenaEndpoint,
      dataDir: DATA_DIR,
      extra: { L1_TTL_MS: '0', LOG_LEVEL: 'warn' },
    }),
    { name: 'outage', logFile: `${OUT_DIR}/resilience-outage.log` },
  )
  const paths = [
    '/analytics?measure=revenue&period=day&start=2024-01-15',
    '/analytics?measure=revenue&period=day&start=2024-01-15',
    '/analytics?measure=revenue&period=day&start=2024-01-15',
    '/analytics?measure=sessions&period=week&start=2024-02-01',
    '/queries/top_pages?measure=pageviews&start=2024-03-01&limit=5',
  ]
  for (const p of new Set(paths)) await (await fetch(`${server.url}${p}`)).arrayBuffer() // warm: MISS → stored

  const answers: Array<{ sentAt: number; doneAt: number; status: number; xCache: string | null }> = []
  let clientErrors = 0
  let running = true
  const t0 = Date.now()
  const loops = Array.from({ length: OUTAGE_CONNECTIONS }, async (_, loop) => {
    for (let i = loop; running; i++) {
      const sentAt = Date.now()
      try {
        const res = await fetch(`${server.url}${paths[i % paths.length]}`, {
          headers: { 'accept-encoding': 'gzip' },
          signal: AbortSignal.timeout(10_000),
        })
        await res.arrayBuffer()
        answers.push({ sentAt, doneAt: Date.now(), status: res.status, xCache: res.headers.get('x-cache') })
      } catch {
        clientErrors++
      }
    }
  })
  await sleep(OUTAGE_KILL_S * 1000 - (Date.now() - t0))
  const killedAt = Date.now()
  await redis.stop() // SIGKILL
  redises.delete(redis)
  await sleep(2_000)
  const health = (await (await fetch(`${server.url}/health`)).json()) as { status: string }
  await sleep(OUTAGE_RESTART_S * 1000 - (Date.now() - t0))
  const restartAt = Date.now()
  redis = await ownRedis(redisPort)
  const upAt = Date.now()
  await sleep(OUTAGE_TOTAL_S * 1000 - (Date.now() - t0))
  running = false
  await Promise.all(loops)
  const seconds = (Date.now() - t0) / 1000
  await server.stop()
  await redis.stop()
  redises.delete(redis)
  const firstHit = answers
    .filter((a) => a.sentAt >= restartAt && a.xCache === 'HIT')
    .reduce((min, a) => Math.min(min, a.doneAt), Number.POSITIVE_INFINITY)
  const ms = answers.map((a) => a.doneAt - a.sentAt).sort((x, y) => x - y)
  return {
    connections: OUTAGE_CONNECTIONS,
    seconds: Math.round(seconds * 10) / 10,
    requests: answers.length,
    fiveXx: answers.filter((a) => a.status >= 500).length,
    otherNon200: answers.filter((a) => a.status !== 200 && a.status < 500).length,
    clientErrors,
    xCache: countBy(answers.map((a) => String(a.xCache))),
    bypass: answers.filter((a) => a.xCache === 'BYPASS').length,
    bypassWhileDown: answers.filter((a) => a.xCache === 'BYPASS' && a.doneAt > killedAt && a.sentAt < upAt)
      .length,
    healthWhileDown: health.status,
    redisBackAfterS: Math.round((upAt - restartAt) / 10) / 100,
    secondsToFirstHit: Number.isFinite(firstHit) ? Math.round((firstHit - restartAt) / 10) / 100 : null,
    p99Ms: percentile(ms, 99),
    maxMs: ms.at(-1) ?? Number.NaN,
  }
}

// ---- (c) hit path: L1 on vs the floor --------------------------------------------------------------------------

interface HitResult {
  payloadBytes: number
  ours: LoadResult
  floor: LoadResult
  ratio: number
  /** Requests one core can serve, ours ÷ floor, from CPU time per request (independent of the load generator). */
  capacityRatio: number | undefined
  runs: { ours: number[]; floor: number[] }
}

async function hitPath(athenaEndpoint: string, redis: SpawnedRedis): Promise<HitResult> {
  pinPid(process.pid, 0) // the load generator shares CPU 0 with Redis; servers get CPU 1
  const prefix = 'bench-l1'
  const ours = await startServeProcess(
    serveEnv({
      redisUrl: redis.url,
      prefix,
      athenaEndpoint,
      dataDir: DATA_DIR,
      extra: { L1_TTL_MS: '1000' },
    }),
    { name: 'l1', cpu: 1, logFile: `${OUT_DIR}/resilience-l1.log` },
  )
  const first = await fetch(`${ours.url}${HIT_PATH}`) // MISS: computes and stores the entry
  const body = Buffer.from(await first.arrayBuffer())
  const check = await fetch(`${ours.url}${HIT_PATH}`)
  await check.arrayBuffer()
  if (check.headers.get('x-cache') !== 'HIT') throw new Error(`expected a HIT for ${HIT_PATH}`)
  const client = new Redis(redis.url)
  const baselineKey = `${prefix}:baseline:2KB`
  await client.set(baselineKey, body)
  client.disconnect()
  const floorPort = await freePort()
  const floor = startChild(
    'floor',
    ['--import', 'tsx', 'bench/floor-server.ts', 'floor', String(floorPort), redis.url, baselineKey],
    {},
    { cpu: 1, logFile: `${OUT_DIR}/resilience-floor.log` },
  )
  const floorUrl = `http://127.0.0.1:${floorPort}/x`
  await waitUntil(async () => (await fetch(floorUrl)).ok, { timeoutMs: 60_000, what: 'floor server' })
  const runs: { ours: LoadResult[]; floor: LoadResult[] } = { ours: [], floor: [] }
  for (let round = 0; round < HIT_ROUNDS; round++) {
    runs.ours.push(
      await loadRun(`${ours.url}${HIT_PATH}`, {
        connections: HIT_CONNECTIONS,
        durationS: HIT_DURATION_S,
        pid: ours.process.pid,
      }),
    )
    runs.floor.push(
      await loadRun(floorUrl, {
        connections: HIT_CONNECTIONS,
        durationS: HIT_DURATION_S,
        pid: floor.process.pid,
      }),
    )
    process.stdout.write(
      `  round ${round + 1}: ours ${runs.ours.at(-1)?.rps} req/s (${runs.ours.at(-1)?.cpuMicrosPerRequest} µs CPU/req), floor ${runs.floor.at(-1)?.rps} req/s (${runs.floor.at(-1)?.cpuMicrosPerRequest} µs CPU/req)\n`,
    )
  }
  const o = median(runs.ours)
  const f = median(runs.floor)
  return {
    payloadBytes: body.length,
    ours: o,
    floor: f,
    ratio: Math.round((o.rps / f.rps) * 100) / 100,
    capacityRatio:
      o.cpuMicrosPerRequest && f.cpuMicrosPerRequest
        ? Math.round((f.cpuMicrosPerRequest / o.cpuMicrosPerRequest) * 100) / 100
        : undefined,
    runs: { ours: runs.ours.map((r) => r.rps), floor: runs.floor.map((r) => r.rps) },
  }
}

// ---- main ------------------------------------------------------------------------------------------------------

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1
  return counts
}

const mark = (ok: boolean) => (ok ? 'ok' : 'MISSED')

async function main(): Promise<void> {
  await mkdir(OUT_DIR, { recursive: true })
  const startedAt = Date.now()
  const redis = await ownRedis(undefined, 0)
  const athena = await startLocalAthenaProcess({
    dataDir: DATA_DIR,
    sampleData: true,
    sampleStart: SAMPLE_START,
    logFile: `${OUT_DIR}/resilience-local-athena.log`,
    timeoutMs: 300_000,
  })
  process.stdout.write(
    `local Athena ${athena.endpoint} (data ${DATA_DIR}), Redis ${redis.url}; ${CAN_PIN ? 'hit path: servers on CPU 1, load generator and Redis on CPU 0' : 'no CPU pinning'}\n`,
  )

  process.stdout.write('(a) stampede: 100 concurrent identical misses over 3 processes…\n')
  const a = await stampede(athena.endpoint, redis.url)
  process.stdout.write(
    `(b) Redis outage: ${OUTAGE_CONNECTIONS} connections for ${OUTAGE_TOTAL_S} s, Redis killed at ${OUTAGE_KILL_S} s, restarted at ${OUTAGE_RESTART_S} s…\n`,
  )
  const b = await outage(athena.endpoint)
  process.stdout.write(
    `(c) hit path, 2 KB: L1 on vs floor, ${HIT_ROUNDS} interleaved ${HIT_DURATION_S} s runs, ${HIT_CONNECTIONS} connections…\n`,
  )
  const c = await hitPath(athena.endpoint, redis)

  const lines = [
    '',
    'figure                                              value        target',
    `(a) Athena executions for 100 identical misses      ${String(a.executionsStarted).padEnd(12)} 1  ${mark(a.executionsStarted === 1)}`,
    `(a)   ListQueryExecutions (new)                     ${String(a.executionsListed).padEnd(12)} 1  ${mark(a.executionsListed === 1)}`,
    `(a)   latency p50 / max                             ${`${a.p50Ms} / ${a.maxMs} ms`.padEnd(12)} (query takes 1,500 ms)`,
    `(a)   statuses · X-Cache · distinct bodies          ${JSON.stringify(a.statuses)} · ${JSON.stringify(a.xCache)} · ${a.distinctBodies}`,
    `(b) requests in ${b.seconds} s                            ${String(b.requests).padEnd(12)}`,
    `(b)   5xx                                           ${String(b.fiveXx).padEnd(12)} 0  ${mark(b.fiveXx === 0)}`,
    `(b)   other non-200 · client errors                 ${`${b.otherNon200} · ${b.clientErrors}`.padEnd(12)} 0  ${mark(b.otherNon200 + b.clientErrors === 0)}`,
    `(b)   BYPASS (while down)                           ${`${b.bypass} (${b.bypassWhileDown})`.padEnd(12)}`,
    `(b)   /health while down                            ${b.healthWhileDown.padEnd(12)} degraded  ${mark(b.healthWhileDown === 'degraded')}`,
    `(b)   seconds from restart to first HIT             ${String(b.secondsToFirstHit ?? 'never').padEnd(12)} ≤ 5  ${mark(b.secondsToFirstHit !== null && b.secondsToFirstHit <= 5)}`,
    `(b)   latency p99 / max                             ${`${b.p99Ms} / ${b.maxMs} ms`}`,
    `(c) L1 on, req/s (p50 / p99 ms)                     ${`${c.ours.rps} (${c.ours.p50} / ${c.ours.p99})`.padEnd(12)}`,
    `(c) floor, req/s (p50 / p99 ms)                     ${`${c.floor.rps} (${c.floor.p50} / ${c.floor.p99})`.padEnd(12)}`,
    `(c)   ratio L1 / floor (req/s)                      ${String(c.ratio).padEnd(12)} ≥ 1.2  ${mark(c.ratio >= 1.2)}`,
    `(c)   server CPU per request, ours / floor          ${`${c.ours.cpuMicrosPerRequest ?? '?'} / ${c.floor.cpuMicrosPerRequest ?? '?'} µs`.padEnd(12)}`,
    `(c)   capacity ratio (floor CPU/req ÷ ours)         ${String(c.capacityRatio ?? '?').padEnd(12)} ≥ 1.2  ${c.capacityRatio === undefined ? '' : mark(c.capacityRatio >= 1.2)}`,
    `total ${Math.round((Date.now() - startedAt) / 1000)} s`,
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
  await writeFile(
    `${OUT_DIR}/resilience.json`,
    JSON.stringify(
      { at: new Date().toISOString(), pinned: CAN_PIN, stampede: a, outage: b, hitPath: c },
      null,
      2,
    ),
  )
}

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    cleanup().finally(() => process.exit(130))
  })

main()
  .catch((err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).stack}\n`)
    process.exitCode = 1
  })
  .finally(cleanup)

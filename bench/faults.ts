// `npx tsx bench/faults.ts`: the fault matrix. One `acp serve` (L1 off, short deadlines) on its own Redis and a
// standalone local Athena, under constant load of three kinds of reads at once — a fresh entry (a HIT normally), an
// old entry past its stale window (stale-if-error applies), and no entry (a new key every request) — while one fault
// at a time is held for FAULT_MS. Per fault × entry: status codes, X-Cache, latency p50/p99/max, Athena executions
// started; per fault: /health during it and the time back to normal after it. About a minute and a half; results go
// to stdout and .bench/faults.json.
import { mkdir, writeFile } from 'node:fs/promises'
import { AthenaClient, BatchGetQueryExecutionCommand } from '@aws-sdk/client-athena'
import { Redis } from 'ioredis'
import {
  type Answer,
  countBy,
  latencyOf,
  percentile,
  SHORT_LIVED_QUERY,
  startLoad,
  withShortLivedQuery,
} from '../test/helpers/fault-load.ts'
import {
  listExecutionIds,
  localControl,
  type ServeProcess,
  serveEnv,
  startLocalAthenaProcess,
  startServeProcess,
  stopAllChildren,
} from '../test/helpers/processes.ts'
import { freePort, spawnRedisServer } from '../test/helpers/redis-server.ts'
import { SAMPLE_START } from './sample-start.ts'

const OUT_DIR = '.bench'
const DATA_DIR = process.env.DATA_DIR ?? './data'
const FAULT_MS = Number(process.env.FAULT_MS ?? 3_000)
const CONNECTIONS_PER_KIND = 4
/** The deadlines of the server under test (the rest are the defaults). */
const SETTINGS = {
  REDIS_COMMAND_TIMEOUT_MS: '300',
  CACHE_BREAKER_OPEN_MS: '500',
  SYNC_DEADLINE_MS: '2000',
  QUERY_TIMEOUT_MS: '10000',
  L1_TTL_MS: '0',
  POLL_INITIAL_DELAY_MS: '20',
  POLL_MAX_INTERVAL_MS: '100',
}
const HOT = [
  '/analytics?measure=revenue&period=day&start=2024-01-15',
  '/analytics?measure=sessions&period=week&start=2024-02-01',
  '/queries/top_pages?measure=pageviews&start=2024-03-01&limit=5',
]
const STALE_PATH = `/queries/${SHORT_LIVED_QUERY}?measure=signups&start=2024-01-15`
/** A fresh entry of its own for the recovery probe, so that recomputing it is not counted against the fault. */
const PROBE_HOT = '/analytics?measure=pageviews&period=month&start=2024-01-15'
const KINDS = ['fresh', 'stale', 'none'] as const
type EntryKind = (typeof KINDS)[number]

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** A read no other request of the run makes (the measures are an enum: distinct keys come from distinct dates). */
const distinctRead = (series: number, n: number) =>
  `/analytics?measure=signups&period=day&start=${new Date(Date.UTC(1990, 0, 1) + (series * 20_000 + n) * 86_400_000).toISOString().slice(0, 10)}`

type SpawnedRedis = Awaited<ReturnType<typeof spawnRedisServer>>

/** What the faults act on; Redis is replaced when a fault kills it. */
interface Context {
  redis: SpawnedRedis
  redisPort: number
  athena: Awaited<ReturnType<typeof startLocalAthenaProcess>>
}

interface Fault {
  name: string
  inject(ctx: Context): Promise<void>
  remove(ctx: Context): Promise<void>
}

async function withAdmin<T>(url: string, use: (admin: Redis) => Promise<T>): Promise<T> {
  const admin = new Redis(url)
  try {
    return await use(admin)
  } finally {
    admin.disconnect()
  }
}

const FAULTS: Fault[] = [
  {
    name: 'Redis SIGSTOP',
    inject: async (ctx) => void ctx.redis.process.kill('SIGSTOP'),
    remove: async (ctx) => void ctx.redis.process.kill('SIGCONT'),
  },
  {
    name: 'Redis CLIENT PAUSE',
    // Longer than the fault: it ends when the fault is removed, not before.
    inject: (ctx) =>
      withAdmin(
        ctx.redis.url,
        async (a) => void (await a.call('CLIENT', 'PAUSE', String(FAULT_MS + 5_000), 'ALL')),
      ),
    remove: (ctx) => withAdmin(ctx.redis.url, async (a) => void (await a.call('CLIENT', 'UNPAUSE'))),
  },
  {
    name: 'Redis killed',
    inject: (ctx) => ctx.redis.stop(),
    remove: async (ctx) => {
      ctx.redis = await spawnRedisServer(ctx.redisPort)
    },
  },
  {
    name: 'Redis OOM',
    inject: (ctx) =>
      withAdmin(ctx.redis.url, async (a) => {
        await a.set('ballast', Buffer.alloc(2 * 1024 * 1024, 1))
        await a.config('SET', 'maxmemory-policy', 'noeviction')
        await a.config('SET', 'maxmemory', '1mb')
      }),
    remove: (ctx) =>
      withAdmin(ctx.redis.url, async (a) => {
        await a.config('SET', 'maxmemory', '0')
        await a.del('ballast')
      }),
  },
  {
    name: 'Athena SIGSTOP',
    inject: async (ctx) => void ctx.athena.process.kill('SIGSTOP'),
    remove: async (ctx) => void ctx.athena.process.kill('SIGCONT'),
  },
  {
    name: 'Athena throttling',
    inject: async (ctx) =>
      void (await localControl(ctx.athena.endpoint, '/_local/faults', { add: { kind: 'throttle' } })),
    remove: async (ctx) => void (await localControl(ctx.athena.endpoint, '/_local/faults', { clear: true })),
  },
  {
    name: 'Athena failing',
    inject: async (ctx) =>
      void (await localControl(ctx.athena.endpoint, '/_local/faults', {
        add: { kind: 'fail', category: 1, message: 'injected engine failure' },
      })),
    remove: async (ctx) => void (await localControl(ctx.athena.endpoint, '/_local/faults', { clear: true })),
  },
]

interface Cell {
  fault: string
  entry: EntryKind
  requests: number
  statuses: Record<string, number>
  xCache: Record<string, number>
  p50Ms: number
  p99Ms: number
  maxMs: number
  executions: number
}

interface FaultRun {
  fault: string
  cells: Cell[]
  health: { status: string; ms: number; reason?: string }
  /** From the fault's removal to a HIT on a fresh entry and a 200 on a new key. */
  recoveryMs: number | null
}

function kindOfPath(path: string): EntryKind {
  if (path === STALE_PATH) return 'stale'
  return HOT.includes(path) ? 'fresh' : 'none'
}

/** Which kind of read an execution served, from its first parameter (the measure); `probe`: the recovery probes. */
function kindOfMeasure(literal: string | undefined): EntryKind | 'probe' {
  if (literal === "'signups'") return 'stale'
  if (literal?.startsWith("'nk")) return 'none'
  return literal?.startsWith("'rk") ? 'probe' : 'fresh'
}

async function newExecutionsByKind(
  endpoint: string,
  before: Set<string>,
): Promise<Record<EntryKind | 'probe', number>> {
  const ids = (await listExecutionIds(endpoint)).filter((id) => !before.has(id))
  const counts: Record<EntryKind | 'probe', number> = { fresh: 0, stale: 0, none: 0, probe: 0 }
  const client = new AthenaClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  })
  try {
    for (let i = 0; i < ids.length; i += 50) {
      const out = await client.send(
        new BatchGetQueryExecutionCommand({ QueryExecutionIds: ids.slice(i, i + 50) }),
      )
      for (const e of out.QueryExecutions ?? []) counts[kindOfMeasure(e.ExecutionParameters?.[0])]++
    }
  } finally {
    client.destroy()
  }
  return counts
}

async function status(url: string): Promise<{ status: number; xCache: string | null }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(15_000) })
  await res.arrayBuffer()
  return { status: res.status, xCache: res.headers.get('x-cache') }
}

/** Fresh entries in Redis for the hot reads, and an old one (past its 1 s TTL, no stale window) for the stale read. */
async function prepare(server: ServeProcess): Promise<void> {
  for (const path of [...HOT, PROBE_HOT]) {
    for (let i = 0; i < 20 && (await status(`${server.url}${path}`)).xCache !== 'HIT'; i++) await sleep(100)
  }
  await status(`${server.url}${STALE_PATH}`)
  await sleep(1_200)
}

async function runFault(fault: Fault, ctx: Context, server: ServeProcess, index: number): Promise<FaultRun> {
  await prepare(server)
  const before = new Set(await listExecutionIds(ctx.athena.endpoint))
  await fault.inject(ctx)
  const injectAt = Date.now()
  const load = startLoad(server.url, {
    connections: CONNECTIONS_PER_KIND * KINDS.length,
    pathOf: (loop, i) => {
      const kind = KINDS[loop % KINDS.length]
      if (kind === 'fresh') return HOT[i % HOT.length] ?? ''
      if (kind === 'stale') return STALE_PATH
      return distinctRead(index * 2, loop * 1_000 + i)
    },
  })
  await sleep(FAULT_MS / 2)
  const h0 = Date.now()
  const health = (await (await fetch(`${server.url}/health`)).json()) as { status: string; reason?: string }
  const healthMs = Date.now() - h0
  await sleep(FAULT_MS - (Date.now() - injectAt))
  // Every request measured was sent while the fault held; the ones in flight finish (or not) under it too.
  const answers = await load.stop()
  await fault.remove(ctx)
  const removedAt = Date.now()
  let recoveryMs: number | null = null
  for (let i = 0; Date.now() - removedAt < 15_000; i++) {
    const hot = await status(`${server.url}${PROBE_HOT}`)
    const none = await status(`${server.url}${distinctRead(index * 2 + 1, i)}`)
    if (hot.xCache === 'HIT' && none.status === 200) {
      recoveryMs = Date.now() - removedAt
      break
    }
    await sleep(100)
  }
  const executions = await newExecutionsByKind(ctx.athena.endpoint, before)
  const cells = KINDS.map((entry): Cell => {
    const mine = answers.filter((a: Answer) => kindOfPath(a.path) === entry)
    const ms = mine.map(latencyOf)
    return {
      fault: fault.name,
      entry,
      requests: mine.length,
      statuses: countBy(mine.map((a) => a.status)),
      xCache: countBy(mine.map((a) => a.xCache ?? '-')),
      p50Ms: percentile(ms, 50),
      p99Ms: percentile(ms, 99),
      maxMs: ms.length ? Math.max(...ms) : Number.NaN,
      executions: executions[entry],
    }
  })
  return { fault: fault.name, cells, health: { ...health, ms: healthMs }, recoveryMs }
}

const fmt = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort(([, a], [, b]) => b - a)
    .map(([k, n]) => `${k}×${n}`)
    .join(' ')

function table(runs: FaultRun[]): string {
  const head = ['fault', 'entry', 'requests', 'status', 'X-Cache', 'p50 ms', 'p99 ms', 'max ms', 'executions']
  const rows = runs.flatMap((r) =>
    r.cells.map((c) => [
      c.entry === 'fresh' ? c.fault : '',
      c.entry,
      String(c.requests),
      fmt(c.statuses),
      fmt(c.xCache),
      String(c.p50Ms),
      String(c.p99Ms),
      String(c.maxMs),
      String(c.executions),
    ]),
  )
  const lines = [head, ...rows].map((cols) => `| ${cols.join(' | ')} |`)
  lines.splice(1, 0, `|${head.map(() => '---').join('|')}|`)
  const health = runs.map(
    (r) =>
      `| ${r.fault} | ${r.health.status} in ${r.health.ms} ms${r.health.reason ? ` (${r.health.reason})` : ''} | ${r.recoveryMs ?? 'not within 15 s'} |`,
  )
  return [
    ...lines,
    '',
    '| fault | /health during the fault | ms from removal to normal |',
    '|---|---|---|',
    ...health,
  ].join('\n')
}

async function main(): Promise<void> {
  await mkdir(OUT_DIR, { recursive: true })
  const startedAt = Date.now()
  const short = await withShortLivedQuery()
  const redisPort = await freePort()
  const ctx: Context = {
    redis: await spawnRedisServer(redisPort),
    redisPort,
    athena: await startLocalAthenaProcess({
      dataDir: DATA_DIR,
      sampleData: true,
      sampleStart: SAMPLE_START,
      logFile: `${OUT_DIR}/faults-local-athena.log`,
      timeoutMs: 300_000,
    }),
  }
  try {
    const server = await startServeProcess(
      serveEnv({
        redisUrl: ctx.redis.url,
        prefix: 'bench-faults',
        athenaEndpoint: ctx.athena.endpoint,
        dataDir: DATA_DIR,
        extra: { ...SETTINGS, CONFIG_DIR: short.configDir, LOG_LEVEL: 'warn' },
      }),
      { name: 'faults', logFile: `${OUT_DIR}/faults-serve.log` },
    )
    process.stdout.write(
      `fault matrix: each fault held ${FAULT_MS} ms under ${CONNECTIONS_PER_KIND * KINDS.length} connections; server ${JSON.stringify(SETTINGS)}\n`,
    )
    const runs: FaultRun[] = []
    for (const [i, fault] of FAULTS.entries()) {
      process.stdout.write(`  ${fault.name}…\n`)
      runs.push(await runFault(fault, ctx, server, i))
    }
    await server.stop()
    process.stdout.write(`\n${table(runs)}\n\ntotal ${Math.round((Date.now() - startedAt) / 1000)} s\n`)
    await writeFile(
      `${OUT_DIR}/faults.json`,
      JSON.stringify({ at: new Date().toISOString(), faultMs: FAULT_MS, settings: SETTINGS, runs }, null, 2),
    )
  } finally {
    ctx.redis.process.kill('SIGCONT')
    ctx.athena.process.kill('SIGCONT')
    await ctx.redis.stop()
    await short.remove()
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    stopAllChildren().finally(() => process.exit(130))
  })

main()
  .catch((err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).stack}\n`)
    process.exitCode = 1
  })
  .finally(() => stopAllChildren())

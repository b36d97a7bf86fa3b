// `npx tsx bench/bounds.ts`: what state grows with distinct input. One `acp serve` (its own Redis, spawned here, and
// a standalone local Athena); about 2 minutes. Results go to stdout and .bench/bounds.json.
//   (1) 200,000 distinct query strings: 160,000 spellings of 16 parameter sets (order, percent-encoding), 30,000
//       rejected ones (unknown measure or parameter, impossible date), 10,000 over the memo's length limit
//   (2) 50,000 distinct keys read: entries written straight to Redis (as a computation stores them), then each key
//       read over HTTP, so that the read path (resolve, memo, lookup, popularity) runs for every one of them
//   then /admin/stats and a prewarm run with those 50,000 keys read in the popularity window.
// Figures: the server's RSS and V8 heap after a full GC (bench/gc-probe.cjs), Redis used_memory (deltas from after
// the warm-up) and Redis memory per key kind.
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import autocannon from 'autocannon'
import { Redis } from 'ioredis'
import { CacheKeys } from '../src/cache/cache-key.ts'
import { encodeEntry } from '../src/cache/entry-codec.ts'
import { loadSettings } from '../src/config/settings.ts'
import { RequestResolver } from '../src/service/request-resolver.ts'
import {
  localStats,
  serveEnv,
  startLocalAthenaProcess,
  startServeProcess,
  stopAllChildren,
} from '../test/helpers/processes.ts'
import { provideRedis, spawnRedisServer } from '../test/helpers/redis-server.ts'
import { distinctAnalyticsParams } from './distinct-params.ts'
import { SAMPLE_START } from './sample-start.ts'

const OUT_DIR = '.bench'
const DATA_DIR = process.env.DATA_DIR ?? './data'
const PREFIX = 'bench-bounds'
const ADMIN = 'bench-bounds-admin'
const STRINGS = Number(process.env.BOUNDS_STRINGS ?? 200_000)
const KEYS = Number(process.env.BOUNDS_KEYS ?? 50_000)
const CONNECTIONS = 20
/** L1_TTL_MS of the server (default: the server's own, 1 s, with L1_MAX_BYTES 64 MiB); `0` turns the tier off. */
const L1_TTL_MS = process.env.BOUNDS_L1_TTL_MS
const MEASURES = ['pageviews', 'sessions', 'signups', 'revenue'] as const
const PERIODS = ['hour', 'day', 'week', 'month'] as const
const BASE_START = '2024-01-01'

// ---- the 200,000 query strings --------------------------------------------------------------------------------

/** `text` with the characters whose bit is set in `mask` percent-encoded (a spelling URLSearchParams decodes). */
function encodeSome(text: string, mask: number): string {
  let out = ''
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string
    out += (mask >> i) & 1 ? `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}` : ch
  }
  return out
}

const ORDERS = [
  [0, 1, 2],
  [0, 2, 1],
  [1, 0, 2],
  [1, 2, 0],
  [2, 0, 1],
  [2, 1, 0],
] as const

/** The i-th spelling of one of 16 parameter sets (measure × period, start 2024-01-01): distinct for every i. */
function spelling(i: number): string {
  const base = i % 16
  let r = Math.floor(i / 16)
  const order = ORDERS[r % 6] as readonly number[]
  r = Math.floor(r / 6)
  const dateMask = r % 1024
  const nameMask = Math.floor(r / 1024) % 128
  const pairs = [
    `${encodeSome('measure', nameMask)}=${MEASURES[base % 4]}`,
    `period=${PERIODS[Math.floor(base / 4)]}`,
    `start=${encodeSome(BASE_START, dateMask)}`,
  ]
  return order.map((k) => pairs[k]).join('&')
}

/** The i-th rejected query string: unknown measure, unknown parameter or impossible date, never the same twice. */
function rejected(i: number): string {
  switch (i % 3) {
    case 0:
      return `measure=bogus${i}&start=${BASE_START}`
    case 1:
      return `measure=pageviews&start=${BASE_START}&x${i}=1`
    default:
      return `measure=pageviews&start=2024-13-${String(i % 100).padStart(2, '0')}&period=day${i}`
  }
}

/** The i-th valid query string over the memo's length limit (padded with empty pairs, which parse to nothing). */
function overLong(i: number): string {
  const base = i % 16
  const before = Math.floor(i / 16) % 2000
  const core = `measure=${MEASURES[base % 4]}&period=${PERIODS[Math.floor(base / 4)]}&start=${BASE_START}`
  return `${'&'.repeat(before)}${core}${'&'.repeat(2100 - before)}`
}

/** 80 % spellings, 15 % rejected, 5 % over-long, interleaved. */
function phaseOnePath(n: number): string {
  const slot = n % 20
  const round = Math.floor(n / 20)
  if (slot < 16) return `/analytics?${spelling(round * 16 + slot)}`
  if (slot < 19) return `/analytics?${rejected(round * 3 + slot - 16)}`
  return `/analytics?${overLong(round)}`
}

// ---- measurements ---------------------------------------------------------------------------------------------

const PROBE_FILE = `${OUT_DIR}/bounds-gc-probe.json`

/**
 * The server's memory after a full garbage collection (bench/gc-probe.cjs, preloaded into it, collects on SIGUSR2):
 * RSS from /proc and the V8 heap in use, so that the figures count what the server keeps.
 */
async function serverMemory(pid: number | undefined): Promise<{ rss: number; heap: number }> {
  if (pid === undefined) throw new Error('the server has no pid')
  const asked = Date.now()
  process.kill(pid, 'SIGUSR2')
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 50))
    const probe = await readFile(PROBE_FILE, 'utf8').catch(() => '')
    const parsed = probe ? (JSON.parse(probe) as { at: number; heapUsed: number }) : undefined
    if (parsed && parsed.at >= asked) {
      const status = await readFile(`/proc/${pid}/status`, 'utf8')
      const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1])
      return { rss: kb * 1024, heap: parsed.heapUsed }
    }
  }
  throw new Error('the server did not answer the memory probe')
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory')
  return Number(/used_memory:(\d+)/.exec(info)?.[1])
}

const KINDS: Array<[RegExp, string]> = [
  [/^e:/, 'entries e:'],
  [/^\{p\}:/, 'popularity {p}:'],
  [/^rt:k:/, 'run time per key rt:k:'],
  [/^rt:q:/, 'run time per query rt:q:'],
  [/^x:/, 'execution records x:'],
  [/^l:[^:]+:c:/, 'collector claims l:…:c:'],
  [/^l:/, 'leases l:'],
  [/^\{g\}:/, 'invalidation stamps {g}:'],
]

function kindOf(key: string): string {
  return KINDS.find(([re]) => re.test(key))?.[1] ?? key.split(':')[0] ?? key
}

/** Redis memory by key kind (entries, popularity, run-time history, execution records, …) under the prefix. */
async function memoryByKind(redis: Redis): Promise<Record<string, { keys: number; bytes: number }>> {
  const { root } = new CacheKeys(PREFIX)
  const out: Record<string, { keys: number; bytes: number }> = {}
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${root}*`, 'COUNT', 2000)
    cursor = next
    const pipeline = redis.pipeline()
    for (const k of keys) pipeline.memory('USAGE', k)
    const sizes = (await pipeline.exec()) ?? []
    keys.forEach((k, i) => {
      const rest = k.slice(root.length)
      const kind = kindOf(rest)
      const slot = out[kind] ?? { keys: 0, bytes: 0 }
      slot.keys++
      slot.bytes += Number(sizes[i]?.[1] ?? 0)
      out[kind] = slot
    })
  } while (cursor !== '0')
  return out
}

async function run(
  url: string,
  amount: number,
  path: (n: number) => string,
): Promise<{ seconds: number; rps: number; statuses: Record<string, number>; errors: number }> {
  let n = 0
  const t0 = performance.now()
  const r = await autocannon({
    url,
    connections: CONNECTIONS,
    amount,
    headers: { 'accept-encoding': 'gzip' },
    requests: [{ setupRequest: (req) => ({ ...req, path: path(n++) }) }],
  })
  const seconds = (performance.now() - t0) / 1000
  const statuses: Record<string, number> = {}
  for (const [code, stat] of Object.entries(r.statusCodeStats ?? {})) statuses[code] = stat.count ?? 0
  return {
    seconds: Math.round(seconds * 10) / 10,
    rps: Math.round(amount / seconds),
    statuses,
    errors: r.errors,
  }
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`
const delta = (bytes: number) => `${bytes < 0 ? '−' : '+'}${mb(Math.abs(bytes))}`

// ---- the run --------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  await mkdir(OUT_DIR, { recursive: true })
  const own = await spawnRedisServer().catch(() => undefined)
  const provided = own ? undefined : await provideRedis()
  const redisUrl = own?.url ?? (provided as { url: string }).url
  const redis = new Redis(redisUrl)
  try {
    const athena = await startLocalAthenaProcess({
      dataDir: DATA_DIR,
      sampleData: true,
      sampleStart: SAMPLE_START,
      logFile: `${OUT_DIR}/bounds-athena.log`,
    })
    const env = serveEnv({
      redisUrl,
      prefix: PREFIX,
      athenaEndpoint: athena.endpoint,
      dataDir: DATA_DIR,
      extra: {
        LOG_LEVEL: 'warn',
        LOG_REQUESTS: 'false',
        ADMIN_API_KEYS: ADMIN,
        ...(L1_TTL_MS !== undefined ? { L1_TTL_MS } : {}),
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ./bench/gc-probe.cjs`.trim(),
        GC_PROBE_FILE: PROBE_FILE,
      },
    })
    const server = await startServeProcess(env, { name: 'bounds', logFile: `${OUT_DIR}/bounds-serve.log` })
    const pid = server.process.pid

    // Warm-up: the 16 parameter sets of phase 1 computed once (real executions), and the JIT warmed.
    process.stdout.write('warm-up: 16 parameter sets computed…\n')
    let sample: { columns: unknown; rows: unknown[] } | undefined
    for (let base = 0; base < 16; base++) {
      const res = await fetch(`${server.url}/analytics?${spelling(base)}`)
      if (res.status !== 200) throw new Error(`warm-up read answered ${res.status}`)
      const body = (await res.json()) as { columns: unknown; rows: unknown[] }
      if (base === 5) sample = body // pageviews by day, 31 rows: the body every phase-2 entry gets
    }
    await run(server.url, 5_000, (n) => `/analytics?${spelling(n % 16)}`)
    const base = { ...(await serverMemory(pid)), redis: await usedMemory(redis) }
    const executions0 = (await localStats(athena.endpoint)).executionsStarted

    // (1) 200,000 distinct query strings.
    process.stdout.write(`(1) ${STRINGS} distinct query strings…\n`)
    // BOUNDS_STRINGS=0 skips this phase (to compare the second with a build whose catalog accepts any measure).
    const one =
      STRINGS > 0
        ? await run(server.url, STRINGS, phaseOnePath)
        : { seconds: 0, rps: 0, statuses: {}, errors: 0 }
    const afterOne = { ...(await serverMemory(pid)), redis: await usedMemory(redis) }
    const executions1 = (await localStats(athena.endpoint)).executionsStarted

    // (2) 50,000 distinct keys: entries stored as a computation stores them, then each read over HTTP.
    process.stdout.write(`(2) ${KEYS} distinct keys: writing entries, then reading each…\n`)
    const settings = await loadSettings(env, { defaultEngine: 'athena' })
    const keys = new CacheKeys(settings.cachePrefix)
    const resolver = new RequestResolver({
      catalog: settings.catalog,
      keys,
      database: settings.athena.database,
      workgroup: settings.athena.workgroup,
    })
    const now = Date.now()
    const ttlMs = 60 * 3_600_000
    for (let i = 0; i < KEYS; i += 1_000) {
      const pipeline = redis.pipeline()
      for (let j = i; j < Math.min(KEYS, i + 1_000); j++) {
        const params = distinctAnalyticsParams(j)
        const resolved = resolver.resolve('analytics', params)
        const body = {
          columns: sample?.columns ?? [],
          rows: sample?.rows ?? [],
          meta: {
            query: 'analytics',
            parameters: resolved.params,
            rowCount: sample?.rows.length ?? 0,
            queryExecutionId: `bench-${j}`,
            dataScannedBytes: 100_000,
            computedAt: new Date(now).toISOString(),
            expiresAt: new Date(now + 12 * 3_600_000).toISOString(),
          },
        }
        const entry = encodeEntry(
          {
            kind: 'result',
            computedAt: now,
            freshUntil: now + 12 * 3_600_000,
            staleUntil: now + 36 * 3_600_000,
            dataScannedBytes: 100_000,
            engineMs: 500,
            rowCount: body.rows.length,
            queryExecutionId: `bench-${j}`,
            known: 0,
          },
          Buffer.from(JSON.stringify(body)),
        )
        pipeline.set(resolved.key, entry, 'PX', ttlMs)
      }
      await pipeline.exec()
    }
    const afterWrite = { redis: await usedMemory(redis) }
    const paths = (n: number) => {
      const p = distinctAnalyticsParams(n)
      return `/analytics?measure=${p.measure}&period=${p.period}&start=${p.start}`
    }
    const two = await run(server.url, KEYS, paths)
    const afterTwo = { ...(await serverMemory(pid)), redis: await usedMemory(redis) }

    // /admin/stats and a prewarm run, with the keys just read in the popularity window.
    const statsMs: number[] = []
    let topQueries = 0
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now()
      const res = await fetch(`${server.url}/admin/stats`, { headers: { 'x-api-key': ADMIN } })
      const stats = (await res.json()) as { topQueries?: unknown[] }
      statsMs.push(performance.now() - t0)
      topQueries = stats.topQueries?.length ?? 0
    }
    statsMs.sort((a, b) => a - b)
    const t0 = performance.now()
    const prewarmRes = await fetch(`${server.url}/admin/prewarm`, {
      method: 'POST',
      headers: { 'x-api-key': ADMIN, 'content-type': 'application/json' },
      body: '{}',
    })
    const prewarm = (await prewarmRes.json()) as {
      considered: number
      refreshed: number
      skippedFresh: number
      durationMs: number
    }
    const prewarmWallMs = performance.now() - t0
    const popularityMembers: number[] = []
    for (const k of await redis.keys(`${keys.root}{p}:*`)) popularityMembers.push(await redis.zcard(k))
    const byKind = await memoryByKind(redis)
    const executions2 = (await localStats(athena.endpoint)).executionsStarted

    const result = {
      l1TtlMs: L1_TTL_MS === undefined ? 'server default (1000)' : Number(L1_TTL_MS),
      strings: {
        requests: STRINGS,
        ...one,
        executions: executions1 - executions0,
        rssDeltaBytes: afterOne.rss - base.rss,
        heapDeltaBytes: afterOne.heap - base.heap,
        redisDeltaBytes: afterOne.redis - base.redis,
      },
      keys: {
        requests: KEYS,
        ...two,
        entriesWrittenBytes: afterWrite.redis - afterOne.redis,
        rssDeltaBytes: afterTwo.rss - afterOne.rss,
        heapDeltaBytes: afterTwo.heap - afterOne.heap,
        redisDeltaBytes: afterTwo.redis - afterOne.redis,
        redisDeltaBesideEntriesBytes: afterTwo.redis - afterWrite.redis,
      },
      baseline: base,
      rss: { baseline: base.rss, afterStrings: afterOne.rss, afterKeys: afterTwo.rss },
      heapUsed: { baseline: base.heap, afterStrings: afterOne.heap, afterKeys: afterTwo.heap },
      redisUsedMemory: { baseline: base.redis, afterStrings: afterOne.redis, afterKeys: afterTwo.redis },
      adminStats: {
        medianMs: Math.round(statsMs[5] ?? Number.NaN),
        maxMs: Math.round(statsMs.at(-1) ?? Number.NaN),
        topQueries,
      },
      prewarm: { ...prewarm, wallMs: Math.round(prewarmWallMs), executions: executions2 - executions1 },
      popularityMembersPerBucket: popularityMembers,
      redisByKind: byKind,
    }

    const rows: Array<[string, string, string, string, string]> = [
      ['', 'server RSS', 'V8 heap used', 'Redis used_memory', 'notes'],
      ['after warm-up (baseline)', mb(base.rss), mb(base.heap), mb(base.redis), '16 entries computed'],
      [
        `+ ${STRINGS} distinct query strings`,
        delta(afterOne.rss - base.rss),
        delta(afterOne.heap - base.heap),
        delta(afterOne.redis - base.redis),
        `${one.rps} req/s, statuses ${JSON.stringify(one.statuses)}, ${result.strings.executions} executions`,
      ],
      [
        `+ ${KEYS} distinct keys read`,
        delta(afterTwo.rss - afterOne.rss),
        delta(afterTwo.heap - afterOne.heap),
        delta(afterTwo.redis - afterOne.redis),
        `of which entries ${mb(afterWrite.redis - afterOne.redis)}; ${two.rps} req/s, statuses ${JSON.stringify(two.statuses)}`,
      ],
    ]
    const lines = rows.map(
      ([a, b, c, d, e]) => `${a.padEnd(36)}${b.padStart(12)}${c.padStart(14)}${d.padStart(20)}   ${e}`,
    )
    lines.push(
      `(memory after a full GC; L1_TTL_MS: ${result.l1TtlMs})`,
      '',
      `/admin/stats with ${KEYS} keys read: median ${result.adminStats.medianMs} ms, max ${result.adminStats.maxMs} ms`,
      `prewarm run: ${prewarm.durationMs} ms (wall ${result.prewarm.wallMs} ms), considered ${prewarm.considered}, refreshed ${prewarm.refreshed}, fresh ${prewarm.skippedFresh}`,
      `popularity members per bucket: ${popularityMembers.join(', ')}`,
      '',
      'Redis memory by key kind:',
      ...Object.entries(byKind)
        .sort(([, a], [, b]) => b.bytes - a.bytes)
        .map(
          ([kind, v]) => `  ${kind.padEnd(28)}${String(v.keys).padStart(8)} keys ${mb(v.bytes).padStart(10)}`,
        ),
    )
    process.stdout.write(`${lines.join('\n')}\n`)
    await writeFile(`${OUT_DIR}/bounds.json`, `${JSON.stringify(result, null, 2)}\n`)
    await server.stop()
    await athena.stop()
  } finally {
    redis.disconnect()
    await stopAllChildren()
    await own?.stop()
    await provided?.stop()
  }
}

await main()

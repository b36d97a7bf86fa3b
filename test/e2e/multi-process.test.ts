// The service as it runs in production: several `acp serve` processes sharing one Redis, a standalone
// Athena-compatible endpoint (`acp local-athena`) in a process of its own, reached through the real AWS SDK.
// Processes are started, killed and restarted; every test counts Athena executions on the endpoint itself.
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import {
  type LocalAthenaProcess,
  listExecutionIds,
  localControl,
  localStats,
  type ServeProcess,
  serveEnv,
  startLocalAthenaProcess,
  startServeProcess,
  stopAllChildren,
  waitUntil,
} from '../helpers/processes.ts'
import { testRedis } from '../helpers/redis-client.ts'
import { freePort, spawnRedisServer } from '../helpers/redis-server.ts'

interface ResultBody {
  columns: Array<{ name: string; type: string }>
  rows: Array<Record<string, unknown>>
  meta: {
    query: string
    parameters: Record<string, string | number>
    rowCount: number
    queryExecutionId: string
    computedAt: string
    expiresAt: string
  }
}

const DAY_MS = 86_400_000
const MEASURES = ['pageviews', 'sessions', 'signups', 'revenue'] as const
const PERIODS = ['hour', 'day', 'week', 'month'] as const

const addDays = (date: string, days: number) =>
  new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10)

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Every key under `prefix` on a Redis, with its value. */
async function keysUnder(redis: Redis, pattern: string): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>()
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = next
    for (const key of keys) {
      const value = await redis.getBuffer(key)
      if (value) found.set(key, value)
    }
  } while (cursor !== '0')
  return found
}

let athena: LocalAthenaProcess
let shared: Awaited<ReturnType<typeof testRedis>>

beforeAll(async () => {
  shared = await testRedis()
  athena = await startLocalAthenaProcess({ dataDir: inject('dataDir'), minQueryMs: 0 })
})

afterAll(async () => {
  await stopAllChildren()
  await shared?.cleanup()
})

/** Executions started so far, counted twice: the endpoint's own counter and ListQueryExecutions through the SDK. */
async function executionCounts(): Promise<{ started: number; listed: string[] }> {
  const [stats, listed] = await Promise.all([localStats(athena.endpoint), listExecutionIds(athena.endpoint)])
  return { started: stats.executionsStarted, listed }
}

describe('three acp serve processes sharing one Redis (L1 on: the default 1 s)', () => {
  let servers: ServeProcess[]

  beforeAll(async () => {
    const env = serveEnv({
      redisUrl: shared.url,
      prefix: shared.prefix,
      athenaEndpoint: athena.endpoint,
      dataDir: inject('dataDir'),
      // A thousand computations in three processes on two cores can hold a Redis round trip past the 500 ms
      // default, and a cache call past its deadline is answered BYPASS (as it must be: test/e2e/faults.test.ts).
      // These tests look at coalescing and results, so the deadline is set where load alone cannot reach it.
      extra: { LOG_LEVEL: 'warn', REDIS_COMMAND_TIMEOUT_MS: '5000' },
    })
    servers = await Promise.all([0, 1, 2].map((i) => startServeProcess(env, { name: `serve-${i}` })))
  })

  afterAll(async () => {
    await Promise.all((servers ?? []).map((s) => s.stop()))
  })

  it('100 concurrent misses of one key over three processes run exactly one Athena execution', async () => {
    await localControl(athena.endpoint, '/_local/config', { minQueryMs: 1500 })
    const path = '/analytics?measure=sessions&period=week&start=2024-02-05'
    const before = await executionCounts()
    const t0 = performance.now()
    const answers = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const server = servers[i % 3] as ServeProcess
        const sentAt = performance.now() - t0
        const res = await fetch(`${server.url}${path}`)
        const text = await res.text()
        return {
          server: i % 3,
          status: res.status,
          xCache: res.headers.get('x-cache'),
          text,
          sentAt,
          doneAt: performance.now() - t0,
        }
      }),
    )
    const after = await executionCounts()
    const newIds = after.listed.filter((id) => !before.listed.includes(id))
    console.log(
      `stampede: 100 requests in ${Math.round(performance.now() - t0)} ms, executions started ${after.started - before.started}, listed ${newIds.length}, X-Cache ${JSON.stringify(countBy(answers.map((a) => a.xCache)))}`,
    )

    // All 100 were in flight together: the last one was sent before the first answer came back.
    expect(Math.max(...answers.map((a) => a.sentAt))).toBeLessThan(Math.min(...answers.map((a) => a.doneAt)))
    expect(after.started - before.started).toBe(1)
    expect(newIds).toHaveLength(1)
    expect(answers.map((a) => a.status)).toEqual(Array(100).fill(200))
    // Nobody found an entry: the waiting requests (in every process) are answered by the one computation as MISS.
    expect(answers.map((a) => a.xCache)).toEqual(Array(100).fill('MISS'))
    // Same bytes within each process: its waiting requests share one computation and one entry.
    for (let i = 0; i < 3; i++)
      expect(new Set(answers.filter((a) => a.server === i).map((a) => a.text)).size).toBe(1)
    // Same bytes everywhere: one process collects the finished execution and writes the entry, the others pick
    // that entry up (QueryService.collectFinished), so there is one body and one ETag.
    expect(new Set(answers.map((a) => a.text)).size).toBe(1)
    const first = answers[0]?.text as string
    const body = JSON.parse(first) as ResultBody
    expect(body.meta.queryExecutionId).toBe(newIds[0])
    expect(body.meta.parameters).toEqual({
      end: '2024-03-07',
      measure: 'sessions',
      period: 'week',
      start: '2024-02-05',
    })
    expect(body.rows.length).toBeGreaterThan(0)
  })

  it('1,000 distinct concurrent requests over three processes each get their own result', async () => {
    await localControl(athena.endpoint, '/_local/config', { minQueryMs: 0 })
    interface Req {
      path: string
      query: 'top_pages' | 'analytics'
      params: Record<string, string | number>
    }
    // Short date windows (1–3 days): the local engine's cost grows with the Parquet files a query reads (one a day),
    // and a thousand 31-day queries would take this machine minutes. What is checked does not depend on the window.
    const requests: Req[] = []
    // 500 top_pages: limit 1..50 × 10 start dates (measure varies with the start), one day each.
    for (let s = 0; s < 10; s++) {
      const start = addDays('2024-01-01', s * 6)
      const end = addDays(start, 1)
      const measure = MEASURES[s % 4] as string
      for (let limit = 1; limit <= 50; limit++)
        requests.push({
          path: `/queries/top_pages?measure=${measure}&start=${start}&end=${end}&limit=${limit}`,
          query: 'top_pages',
          params: { end, limit, measure, start },
        })
    }
    // 500 analytics out of 61 start dates × 4 periods × 4 measures (a stride coprime with 976 picks distinct ones),
    // over 1, 2 or 3 days.
    const combos: Array<[string, string, string]> = []
    for (let d = 0; d <= 60; d++)
      for (const period of PERIODS)
        for (const measure of MEASURES) combos.push([addDays('2024-01-01', d), period, measure])
    for (let i = 0; i < 500; i++) {
      const [start, period, measure] = combos[(i * 37) % combos.length] as [string, string, string]
      const end = addDays(start, 1 + (i % 3))
      requests.push({
        path: `/analytics?measure=${measure}&period=${period}&start=${start}&end=${end}`,
        query: 'analytics',
        params: { end, measure, period, start },
      })
    }
    expect(new Set(requests.map((r) => r.path)).size).toBe(1000)
    // Interleave the two kinds so both run at once.
    const order = requests
      .map((_, i) => (i % 2 === 0 ? i / 2 : 500 + (i - 1) / 2))
      .map((i) => requests[i] as Req)

    const before = await executionCounts()
    const t0 = performance.now()
    // Ten waves of 100 concurrent requests, round-robin over the three processes. Waves rather than a sliding window:
    // the local endpoint truncates its file-read log only when no query is running, and under uninterrupted
    // concurrency every query scans an ever longer log (local/scan-accounting.ts): a sliding window of 100 made
    // the same 1,000 queries cost the endpoint about 3× the CPU.
    const answers: Array<{ req: Req; status: number; xCache: string | null; body: ResultBody }> = []
    for (let w = 0; w < order.length; w += 100) {
      const wave = order.slice(w, w + 100)
      answers.push(
        ...(await Promise.all(
          wave.map(async (req, i) => {
            const res = await fetch(`${(servers[i % 3] as ServeProcess).url}${req.path}`)
            return {
              req,
              status: res.status,
              xCache: res.headers.get('x-cache'),
              body: (await res.json()) as ResultBody,
            }
          }),
        )),
      )
    }
    const elapsed = Math.round(performance.now() - t0)
    const after = await executionCounts()
    console.log(
      `distinct: 1000 requests in ${elapsed} ms, executions started ${after.started - before.started}, X-Cache ${JSON.stringify(countBy(answers.map((a) => a.xCache)))}`,
    )

    const wrong = answers.filter(
      (a) =>
        a.status !== 200 ||
        a.body.meta.query !== a.req.query ||
        JSON.stringify(a.body.meta.parameters) !== JSON.stringify(sortKeys(a.req.params)),
    )
    expect(wrong.map((a) => ({ path: a.req.path, status: a.status, meta: a.body.meta }))).toEqual([])
    expect(answers.map((a) => a.xCache).filter((x) => x !== 'MISS')).toEqual([])
    // One execution per key, none shared: 1,000 executions and 1,000 distinct execution ids in the answers.
    expect(after.started - before.started).toBe(1000)
    expect(after.listed.length - before.listed.length).toBe(1000)
    expect(new Set(answers.map((a) => a.body.meta.queryExecutionId)).size).toBe(1000)

    const problems: string[] = []
    const topByStart = new Map<string, ResultBody>()
    for (const a of answers) {
      const { rows, meta } = a.body
      const p = a.req.params
      if (meta.rowCount !== rows.length)
        problems.push(`${a.req.path}: rowCount ${meta.rowCount} ≠ ${rows.length} rows`)
      if (rows.length === 0) problems.push(`${a.req.path}: no rows`)
      if (a.req.query === 'top_pages') {
        if (rows.length > Number(p.limit)) problems.push(`${a.req.path}: ${rows.length} rows > limit`)
        const totals = rows.map((r) => r.total as number)
        if (totals.some((t, i) => i > 0 && t > (totals[i - 1] as number)))
          problems.push(`${a.req.path}: not ranked`)
        if (p.limit === 50) topByStart.set(String(p.start), a.body)
      } else {
        const start = Date.parse(`${p.start}T00:00:00Z`)
        const end = Date.parse(`${p.end}T00:00:00Z`)
        const days = (end - start) / DAY_MS
        const max = { hour: 24 * days, day: days, week: 2, month: 2 }[p.period as (typeof PERIODS)[number]]
        if (rows.length > max) problems.push(`${a.req.path}: ${rows.length} rows > ${max}`)
        const starts = rows.map((r) => Date.parse(String(r.period_start)))
        const earliest = { hour: start, day: start, week: start - 6 * DAY_MS, month: start - 30 * DAY_MS }[
          p.period as (typeof PERIODS)[number]
        ]
        if (starts.some((t) => !(t >= earliest && t < end)))
          problems.push(`${a.req.path}: period_start outside the window`)
        if (starts.some((t, i) => i > 0 && t <= (starts[i - 1] as number)))
          problems.push(`${a.req.path}: not ordered`)
      }
    }
    // The top L pages of a start date are the first L of its top 50: results of different keys are consistent.
    for (const a of answers) {
      if (a.req.query !== 'top_pages') continue
      const top = topByStart.get(String(a.req.params.start))
      const limit = Number(a.req.params.limit)
      if (top && JSON.stringify(a.body.rows) !== JSON.stringify(top.rows.slice(0, limit)))
        problems.push(`${a.req.path}: not the first ${limit} of the top 50`)
    }
    expect(problems).toEqual([])
  }, 180_000) // a thousand real computations: minutes on a loaded 2-core machine, about half a minute on a quiet one

  it('Prefer: respond-async on one process, the execution polled to its result on another', async () => {
    await localControl(athena.endpoint, '/_local/config', { minQueryMs: 1000 })
    const [a, b] = servers as [ServeProcess, ServeProcess]
    const before = await executionCounts()
    const accepted = await fetch(`${a.url}/queries/by_country?measure=signups&start=2024-02-10`, {
      headers: { prefer: 'respond-async' },
    })
    expect(accepted.status).toBe(202)
    const pending = (await accepted.json()) as { executionId: string; state: string; statusUrl: string }
    expect(pending.executionId).toMatch(/^[A-Za-z0-9-]+$/)
    expect(pending.statusUrl).toBe(`/executions/${pending.executionId}`)
    expect(accepted.headers.get('location')).toBe(pending.statusUrl)
    expect(['QUEUED', 'RUNNING']).toContain(pending.state)

    const seen: Array<{ status: number; retryAfter: string | null }> = []
    let done: ResultBody | undefined
    const deadline = Date.now() + 15_000
    while (!done) {
      if (Date.now() > deadline) throw new Error(`no result after 15 s: ${JSON.stringify(seen)}`)
      const res = await fetch(`${b.url}${pending.statusUrl}`)
      seen.push({ status: res.status, retryAfter: res.headers.get('retry-after') })
      if (res.status === 200) done = (await res.json()) as ResultBody
      else {
        expect(res.status).toBe(202)
        expect(((await res.json()) as { executionId: string }).executionId).toBe(pending.executionId)
        await sleep(200)
      }
    }
    // The query takes 1 s: process B answered "still running" (with Retry-After) before the result.
    expect(seen[0]).toEqual({ status: 202, retryAfter: expect.stringMatching(/^\d+$/) })
    expect(seen.filter((s) => s.status === 202).every((s) => s.retryAfter !== null)).toBe(true)
    expect(done.meta.queryExecutionId).toBe(pending.executionId)
    expect(done.meta.parameters).toEqual({ end: '2024-03-12', measure: 'signups', start: '2024-02-10' })
    expect(done.rows.length).toBeGreaterThan(0)
    const after = await executionCounts()
    expect(after.started - before.started).toBe(1)

    const unknown = await fetch(`${b.url}/executions/${randomUUID()}`)
    expect(unknown.status).toBe(404)
    expect(unknown.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(((await unknown.json()) as { status: number }).status).toBe(404)
  })
})

describe('lease owner killed mid-query', () => {
  it('another process attaches to the running execution instead of starting a second one', async () => {
    await localControl(athena.endpoint, '/_local/config', { minQueryMs: 0 })
    // by_country's SQL is the only one with approx_distinct: its executions take 3 s more.
    const fault = (await localControl(athena.endpoint, '/_local/faults', {
      add: { kind: 'slow', delayMs: 3000, match: 'approx_distinct' },
    })) as { id: string }
    const env = serveEnv({
      redisUrl: shared.url,
      prefix: shared.prefix,
      athenaEndpoint: athena.endpoint,
      dataDir: inject('dataDir'),
      extra: { LOG_LEVEL: 'warn' },
    })
    const [a, b] = await Promise.all([
      startServeProcess(env, { name: 'owner' }),
      startServeProcess(env, { name: 'heir' }),
    ])
    try {
      const path = '/queries/by_country?measure=pageviews&start=2024-03-01'
      const before = await executionCounts()
      const t0 = Date.now()
      const doomed = fetch(`${a.url}${path}`).then(
        (r) => `answered ${r.status}`,
        () => 'connection lost',
      )
      // A took the lease, started the execution and recorded it in the lease.
      let executionId = ''
      await waitUntil(
        async () => {
          if ((await localStats(athena.endpoint)).executionsStarted !== before.started + 1) return false
          const leases = await keysUnder(shared.redis, `${shared.prefix}:v3:l:*`)
          const named = [...leases.values()]
            .map((v) => (JSON.parse(v.toString()) as { executionId?: string }).executionId)
            .filter((id): id is string => id !== undefined && !before.listed.includes(id))
          executionId = named[0] ?? ''
          return named.length === 1
        },
        { timeoutMs: 2_000, what: 'the lease naming the execution', intervalMs: 20 },
      )
      await sleep(Math.max(0, 500 - (Date.now() - t0)))
      await a.kill()
      expect(await doomed).toBe('connection lost')
      // The dead owner's lease is still there, naming its execution.
      const leases = await keysUnder(shared.redis, `${shared.prefix}:v3:l:*`)
      expect([...leases.values()].filter((v) => v.toString().includes(executionId))).toHaveLength(1)

      const res = await fetch(`${b.url}${path}`)
      const elapsed = Date.now() - t0
      expect(res.status).toBe(200)
      const body = (await res.json()) as ResultBody
      expect(res.headers.get('x-cache')).toBe('MISS')
      expect(body.meta.queryExecutionId).toBe(executionId)
      expect(body.meta.parameters).toEqual({ end: '2024-04-01', measure: 'pageviews', start: '2024-03-01' })
      expect(body.rows.length).toBeGreaterThan(0)
      const after = await executionCounts()
      console.log(
        `lease owner killed: B answered ${elapsed} ms after A was asked; executions started ${after.started - before.started}`,
      )
      expect(after.started - before.started).toBe(1)
      expect(after.listed.filter((id) => !before.listed.includes(id))).toEqual([executionId])
      // B collected the result it attached to: the query had been running for about 3 s by then.
      expect(elapsed).toBeGreaterThanOrEqual(3000)
    } finally {
      await localControl(athena.endpoint, '/_local/faults', { remove: fault.id })
      await Promise.all([a.kill(), b.stop()])
    }
  })
})

describe('Redis killed and restarted under load', () => {
  it('serves every request without a 5xx while Redis is down, and HITs again soon after it is back', async () => {
    await localControl(athena.endpoint, '/_local/config', { minQueryMs: 0 })
    const redisPort = await freePort()
    let redis = await spawnRedisServer(redisPort)
    // L1 off: every HIT comes from Redis itself, so a HIT after the restart proves the connection recovered.
    const server = await startServeProcess(
      serveEnv({
        redisUrl: redis.url,
        prefix: 'outage',
        athenaEndpoint: athena.endpoint,
        dataDir: inject('dataDir'),
        extra: { L1_TTL_MS: '0', LOG_LEVEL: 'warn', POLL_INITIAL_DELAY_MS: '100' },
      }),
      { name: 'outage-serve' },
    )
    try {
      const hot = '/analytics?measure=revenue&period=day&start=2024-01-15'
      const paths = [
        hot,
        hot,
        hot,
        '/analytics?measure=pageviews&period=month&start=2024-02-01',
        '/queries/top_pages?measure=sessions&start=2024-01-20&limit=7',
      ]
      const warm1 = await fetch(`${server.url}${hot}`)
      expect(warm1.headers.get('x-cache')).toBe('MISS')
      await warm1.arrayBuffer()
      const warm2 = await fetch(`${server.url}${hot}`)
      expect(warm2.headers.get('x-cache')).toBe('HIT')
      await warm2.arrayBuffer()

      interface Answer {
        sentAt: number
        doneAt: number
        status: number
        xCache: string | null
      }
      const answers: Answer[] = []
      const errors: string[] = []
      let running = true
      const loops = Array.from({ length: 20 }, async (_, loop) => {
        for (let i = loop; running; i++) {
          const sentAt = Date.now()
          try {
            const res = await fetch(`${server.url}${paths[i % paths.length]}`, {
              signal: AbortSignal.timeout(10_000),
            })
            await res.arrayBuffer()
            answers.push({
              sentAt,
              doneAt: Date.now(),
              status: res.status,
              xCache: res.headers.get('x-cache'),
            })
          } catch (err) {
            errors.push((err as Error).message)
          }
        }
      })
      const loadStart = Date.now()
      await sleep(1_500)
      const killedAt = Date.now()
      await redis.stop() // SIGKILL
      await sleep(1_000)
      const health = (await (await fetch(`${server.url}/health`)).json()) as { status: string; cache: string }
      await sleep(1_000)
      const restartAt = Date.now()
      redis = await spawnRedisServer(redisPort)
      const upAt = Date.now()
      let firstHitAt: number | undefined
      const hitDeadline = restartAt + 8_000
      while (firstHitAt === undefined && Date.now() < hitDeadline) {
        await sleep(50)
        firstHitAt = answers.find((a) => a.sentAt >= restartAt && a.xCache === 'HIT')?.doneAt
      }
      await sleep(500)
      running = false
      await Promise.all(loops)
      const healthAfter = (await (await fetch(`${server.url}/health`)).json()) as { status: string }

      const fiveXx = answers.filter((a) => a.status >= 500).length
      const bypassWhileDown = answers.filter(
        (a) => a.xCache === 'BYPASS' && a.doneAt > killedAt && a.sentAt < upAt,
      )
      const secondsToHit = firstHitAt === undefined ? undefined : (firstHitAt - restartAt) / 1000
      console.log(
        `redis outage: ${answers.length} requests in ${((Date.now() - loadStart) / 1000).toFixed(1)} s, ${fiveXx} 5xx, ${errors.length} errors, ` +
          `X-Cache ${JSON.stringify(countBy(answers.map((a) => a.xCache)))}, BYPASS while down ${bypassWhileDown.length}, ` +
          `health while down ${health.status}, first HIT ${secondsToHit?.toFixed(2) ?? 'never'} s after the restart (Redis answered after ${((upAt - restartAt) / 1000).toFixed(2)} s)`,
      )
      expect(errors).toEqual([])
      expect(fiveXx).toBe(0)
      expect(answers.map((a) => a.status).filter((s) => s !== 200)).toEqual([])
      expect(bypassWhileDown.length).toBeGreaterThan(0)
      expect(health).toMatchObject({ status: 'degraded', cache: 'redis' })
      expect(secondsToHit).toBeDefined()
      expect(secondsToHit).toBeLessThanOrEqual(5)
      expect(healthAfter.status).toBe('ok')
      // The HIT came from the new Redis: the recomputed entry is stored there.
      const client = new Redis(redis.url)
      try {
        expect((await keysUnder(client, 'outage:v3:e:*')).size).toBeGreaterThan(0)
      } finally {
        client.disconnect()
      }
    } finally {
      await server.stop()
      await redis.stop()
    }
  })
})

function countBy(values: Array<string | null>): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const v of values) counts[String(v)] = (counts[String(v)] ?? 0) + 1
  return counts
}

function sortKeys(o: Record<string, string | number>): Record<string, string | number> {
  return Object.fromEntries(Object.entries(o).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
}

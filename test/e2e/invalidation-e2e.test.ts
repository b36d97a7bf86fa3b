// Invalidation across processes: two `acp serve` processes share one Redis key space and one `acp local-athena`
// process, each with its in-process L1 tier on. An invalidation made through one process (or the `acp invalidate`
// CLI) is announced on Redis pub/sub, and the other process must stop answering from its L1 at once.
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import {
  type LocalAthenaProcess,
  localStats,
  type NodeRun,
  runAcp,
  type ServeProcess,
  serveEnv,
  startLocalAthenaProcess,
  startServeProcess,
  stopAllChildren,
} from '../helpers/processes.ts'
import { testRedis } from '../helpers/redis-client.ts'

const ADMIN = 'admin-key-e2e-invalidate'

interface Read {
  status: number
  cache: string | null
  executionId: string
}

interface InvalidationBody {
  scope: string
  mode: string
  queries: string[]
  entry?: { query: string; parameters: Record<string, unknown>; key: string }
  invalidatedAt: string
  rewarm: unknown
}

let athena: LocalAthenaProcess
let shared: Awaited<ReturnType<typeof testRedis>>
let a: ServeProcess
let b: ServeProcess
let cliEnv: Record<string, string>

async function read(server: ServeProcess, path: string): Promise<Read> {
  const res = await fetch(`${server.url}${path}`)
  const body = await res.text()
  return {
    status: res.status,
    cache: res.headers.get('x-cache'),
    executionId:
      res.status === 200
        ? (JSON.parse(body) as { meta: { queryExecutionId: string } }).meta.queryExecutionId
        : '',
  }
}

async function invalidate(
  server: ServeProcess,
  body: unknown,
): Promise<{ status: number; body: InvalidationBody }> {
  const res = await fetch(`${server.url}/cache/invalidate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': ADMIN },
    body: JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as InvalidationBody }
}

/** Computes `path` once (a MISS on A) and reads it on both processes until each holds it in its L1 (HIT twice). */
async function warmBoth(path: string): Promise<Read> {
  const first = await read(a, path)
  expect(first.cache).toBe('MISS')
  for (const server of [a, b, b, a]) {
    const r = await read(server, path)
    expect(r.cache, `${server.name} ${path}`).toBe('HIT')
    expect(r.executionId).toBe(first.executionId)
  }
  return first
}

/** Re-reads until the background refresh started by a STALE answer has stored its entry. */
async function untilHit(server: ServeProcess, path: string): Promise<Read> {
  const giveUp = Date.now() + 5_000
  for (;;) {
    const r = await read(server, path)
    if (r.cache === 'HIT' || Date.now() > giveUp) return r
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** The entry keys under the shared prefix. */
async function entryKeys(redis: Redis): Promise<string[]> {
  const found: string[] = []
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${shared.prefix}:v3:e:*`, 'COUNT', 1000)
    cursor = next
    found.push(...keys)
  } while (cursor !== '0')
  return found
}

function json(run: NodeRun): InvalidationBody {
  expect(run.code, run.stderr).toBe(0)
  // --json: stdout holds the result and nothing else (human lines and logs belong on stderr).
  expect(run.stdout.trim().split('\n'), 'stdout of --json: one JSON document').toHaveLength(1)
  return JSON.parse(run.stdout) as InvalidationBody
}

beforeAll(async () => {
  shared = await testRedis()
  athena = await startLocalAthenaProcess({ dataDir: inject('dataDir'), minQueryMs: 0 })
  const env = serveEnv({
    redisUrl: shared.url,
    prefix: shared.prefix,
    athenaEndpoint: athena.endpoint,
    dataDir: inject('dataDir'),
    extra: {
      ADMIN_API_KEYS: ADMIN,
      LOG_LEVEL: 'warn',
      // L1 on, and long enough that a HIT after an invalidation can only come from a missed announcement (whatever
      // the pace of the test: an `acp invalidate` run alone takes longer than the 1 s default).
      L1_TTL_MS: '30000',
      // No scheduled prewarm run refreshing entries behind the tests' back.
      PREWARM_SCHEDULES: 'off',
      POLL_INITIAL_DELAY_MS: '20',
      POLL_MAX_INTERVAL_MS: '100',
    },
  })
  ;[a, b] = await Promise.all([
    startServeProcess(env, { name: 'serve-a' }),
    startServeProcess(env, { name: 'serve-b' }),
  ])
  cliEnv = {
    REDIS_URL: shared.url,
    CACHE_PREFIX: shared.prefix,
    QUERY_ENGINE: 'local',
    ATHENA_ENDPOINT: athena.endpoint,
    LOG_LEVEL: 'warn',
  }
})

afterAll(async () => {
  await stopAllChildren()
  await shared?.cleanup()
})

describe('two acp serve processes, L1 on, invalidation announced over Redis', () => {
  it('control: B answers a warmed key from its L1 without asking Redis (so it must be told)', async () => {
    const path = '/analytics?measure=signups&period=day&start=2024-01-03'
    const before = new Set(await entryKeys(shared.redis))
    const first = await read(b, path)
    expect(first.cache).toBe('MISS')
    expect((await read(b, path)).cache).toBe('HIT')
    const added = (await entryKeys(shared.redis)).filter((k) => !before.has(k))
    expect(added).toHaveLength(1)
    // The entry removed behind the processes' back (no invalidation, no announcement).
    expect(await shared.redis.del(added[0] as string)).toBe(1)
    const fromL1 = await read(b, path)
    expect(fromL1.cache).toBe('HIT')
    expect(fromL1.executionId).toBe(first.executionId)
    expect((await read(a, path)).cache).toBe('MISS')
  })

  it('expire through A: B’s very next read is STALE (same result), then refreshed', async () => {
    const path = '/analytics?measure=pageviews&period=day&start=2024-01-05'
    const warm = await warmBoth(path)
    const res = await invalidate(a, {
      query: 'analytics',
      parameters: { measure: 'pageviews', period: 'day', start: '2024-01-05' },
      mode: 'expire',
    })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({
      scope: 'entry',
      mode: 'expire',
      queries: ['analytics'],
      entry: {
        query: 'analytics',
        parameters: { measure: 'pageviews', period: 'day', start: '2024-01-05', end: '2024-02-05' },
        key: expect.stringMatching(new RegExp(`^${shared.prefix}:v3:e:`)),
      },
      rewarm: null,
    })
    expect(Math.abs(Date.parse(res.body.invalidatedAt) - Date.now())).toBeLessThan(60_000)
    const stale = await read(b, path)
    expect(stale.cache).toBe('STALE')
    expect(stale.executionId).toBe(warm.executionId)
    const refreshed = await untilHit(b, path)
    expect(refreshed.cache).toBe('HIT')
    expect(refreshed.executionId).not.toBe(warm.executionId)
    // A dropped its own L1 too: it reads the refreshed entry B stored.
    const onA = await read(a, path)
    expect(onA).toMatchObject({ cache: 'HIT', executionId: refreshed.executionId })
  })

  it('delete through A: B’s very next read is a MISS with a new execution', async () => {
    const path = '/analytics?measure=sessions&period=week&start=2024-01-08'
    const warm = await warmBoth(path)
    const started = (await localStats(athena.endpoint)).executionsStarted
    const res = await invalidate(a, {
      query: 'analytics',
      parameters: { measure: 'sessions', period: 'week', start: '2024-01-08' },
      mode: 'delete',
    })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ scope: 'entry', mode: 'delete', queries: ['analytics'] })
    const miss = await read(b, path)
    expect(miss.cache).toBe('MISS')
    expect(miss.executionId).not.toBe(warm.executionId)
    expect((await localStats(athena.endpoint)).executionsStarted - started).toBe(1)
    expect(await read(a, path)).toMatchObject({ cache: 'HIT', executionId: miss.executionId })
  })

  it('{tags}: only the tagged queries are invalidated, in both processes', async () => {
    const pages = '/queries/top_pages?measure=pageviews&start=2024-01-10&limit=5'
    const series = '/analytics?measure=revenue&period=day&start=2024-01-10'
    const warmPages = await warmBoth(pages)
    const warmSeries = await warmBoth(series)
    const res = await invalidate(b, { tags: ['pages'], mode: 'delete' })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ scope: 'tags', mode: 'delete', queries: ['top_pages'], rewarm: null })
    expect(res.body.entry).toBeUndefined()
    const miss = await read(a, pages)
    expect(miss.cache).toBe('MISS')
    expect(miss.executionId).not.toBe(warmPages.executionId)
    expect(await read(a, series)).toMatchObject({ cache: 'HIT', executionId: warmSeries.executionId })
    expect(await read(b, series)).toMatchObject({ cache: 'HIT', executionId: warmSeries.executionId })
    const two = await invalidate(b, { tags: ['geo', 'pages'] })
    expect([...two.body.queries].sort()).toEqual(['by_country', 'top_pages'])
    expect((await read(a, pages)).cache).toBe('STALE')
    expect((await read(a, series)).cache).toBe('HIT')
  })

  it('{all: true}: every query, in both processes; needs the admin key', async () => {
    const pages = '/queries/top_pages?measure=sessions&start=2024-01-12&limit=3'
    const series = '/analytics?measure=pageviews&period=month&start=2024-01-12'
    const warmPages = await warmBoth(pages)
    const warmSeries = await warmBoth(series)
    const noKey = await fetch(`${a.url}/cache/invalidate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ all: true }),
    })
    expect(noKey.status).toBe(401)
    expect((await read(b, pages)).cache).toBe('HIT')
    const res = await invalidate(a, { all: true })
    expect(res.status).toBe(200)
    expect(res.body.scope).toBe('all')
    expect(res.body.mode).toBe('expire')
    expect([...res.body.queries].sort()).toEqual([
      'analytics',
      'by_country',
      'country_daily',
      'events',
      'top_pages',
    ])
    expect(await read(b, pages)).toMatchObject({ cache: 'STALE', executionId: warmPages.executionId })
    expect(await read(b, series)).toMatchObject({ cache: 'STALE', executionId: warmSeries.executionId })
    await untilHit(b, pages)
    await untilHit(b, series)
  })
})

describe('acp invalidate', () => {
  it('direct mode (REDIS_URL + CACHE_PREFIX): expires one entry, and both servers see it at once', async () => {
    const path = '/analytics?measure=revenue&period=week&start=2024-01-20'
    const warm = await warmBoth(path)
    const run = await runAcp(
      [
        'invalidate',
        '--query',
        'analytics',
        '--param',
        'measure=revenue',
        '--param',
        'period=week',
        '--param',
        'start=2024-01-20',
        '--json',
      ],
      cliEnv,
    )
    const body = json(run)
    expect(body).toMatchObject({
      scope: 'entry',
      mode: 'expire',
      queries: ['analytics'],
      entry: {
        query: 'analytics',
        parameters: { measure: 'revenue', period: 'week', start: '2024-01-20', end: '2024-02-20' },
        key: expect.stringMatching(new RegExp(`^${shared.prefix}:v3:e:`)),
      },
      rewarm: null,
    })
    expect(run.stderr).toContain('expired (entry): analytics')
    expect(await read(b, path)).toMatchObject({ cache: 'STALE', executionId: warm.executionId })
    expect(await read(a, path)).toMatchObject({ cache: 'STALE', executionId: warm.executionId })
    await untilHit(a, path)
  })

  it('direct mode under another CACHE_PREFIX leaves this key space alone', async () => {
    const path = '/analytics?measure=signups&period=week&start=2024-01-22'
    const warm = await warmBoth(path)
    const run = await runAcp(['invalidate', '--all', '--mode', 'delete', '--json'], {
      ...cliEnv,
      CACHE_PREFIX: `${shared.prefix}:other`,
    })
    expect(json(run)).toMatchObject({ scope: 'all', mode: 'delete' })
    expect(run.stderr).toContain('deleted (all): analytics, top_pages, by_country')
    expect(await read(b, path)).toMatchObject({ cache: 'HIT', executionId: warm.executionId })
  })

  it('--url mode: goes through the server’s admin API, the other server drops its L1', async () => {
    const path = '/queries/top_pages?measure=revenue&start=2024-01-25&limit=4'
    const warm = await warmBoth(path)
    const run = await runAcp(
      ['invalidate', '--tag', 'pages', '--mode', 'delete', '--json', '--url', b.url, '--admin-key', ADMIN],
      {},
    )
    expect(json(run)).toMatchObject({
      scope: 'tags',
      mode: 'delete',
      queries: ['top_pages'],
      rewarm: null,
    })
    expect(run.stderr).toContain('deleted (tags): top_pages')
    const miss = await read(a, path)
    expect(miss.cache).toBe('MISS')
    expect(miss.executionId).not.toBe(warm.executionId)
  })

  it('bad invocations exit 1 with an `acp:` message on stderr and nothing on stdout', async () => {
    const [unknown, wrongKey, noRedis] = await Promise.all([
      runAcp(['invalidate', '--query', 'nope', '--json'], cliEnv),
      runAcp(['invalidate', '--all', '--json', '--url', a.url, '--admin-key', 'not-the-admin-key'], {}),
      runAcp(['invalidate', '--all', '--json'], { ...cliEnv, REDIS_URL: undefined }),
    ])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/^acp: No query named 'nope' in the catalog$/m)
    expect(unknown.stdout).toBe('')
    expect(wrongKey.code).toBe(1)
    expect(wrongKey.stderr).toMatch(/^acp: POST \/cache\/invalidate answered 403/m)
    expect(wrongKey.stdout).toBe('')
    expect(noRedis.code).toBe(1)
    expect(noRedis.stderr).toMatch(/^acp: REDIS_URL is not set/m)
    expect(noRedis.stdout).toBe('')
  })
})

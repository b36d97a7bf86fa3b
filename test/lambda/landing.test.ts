// Freshness driven by landed data, through the real Lambda handler (src/entry/lambda.ts in processes of its own: one
// per container) against a real Redis and the local Athena endpoint: EventBridge's S3 and Glue events, shaped like
// AWS's samples, invalidate exactly the days that landed, once per burst, and rewarm the prewarm set. Reads go
// through an in-process app sharing the Lambda's Redis prefix and configuration.
import { copyFile, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CacheKeys } from '../../src/cache/cache-key.ts'
import { deployedLambdaEnv } from '../helpers/lambda-env.ts'
import { glueTableChange, s3ObjectCreated } from '../helpers/landing-events.ts'
import { runNode, startChild, waitUntil } from '../helpers/processes.ts'
import { type Stack, startStack } from '../helpers/stack.ts'

const ADMIN = 'landing-admin-key'
const BUCKET = 'acp-test-data'
const DEBOUNCE_SECONDS = 4
const DAY = 86_400_000

type Item = { handler: 'handler' | 'streamingHandler'; event: unknown } | { waitForKey: string }
type OperationResult = {
  ok: boolean
  result?: Record<string, unknown>
  error?: { code: string; message: string }
}

/** Reads of the catalog, by name: which are in the prewarm set is decided by the test's prewarm.yaml below. */
const READS = {
  /** In the prewarm set, over both landed days: refreshed by the rewarm. */
  prewarmed: '/analytics?measure=pageviews&period=day&start=2024-01-11&end=2024-01-13',
  /** Over the second landed day, not in the prewarm set: stale until read. */
  sessions: '/analytics?measure=sessions&start=2024-01-12&end=2024-01-14',
  /** Ends where the landed days start (half-open): untouched. */
  before: '/queries/top_pages?measure=pageviews&start=2024-01-01&end=2024-01-11',
  /** Other days, in the prewarm set and fresh: untouched. */
  february: '/queries/top_pages?measure=pageviews&start=2024-02-01&end=2024-02-08',
  countries: '/queries/by_country?measure=pageviews&start=2024-02-01&end=2024-02-08',
  /** Around the Glue partition of 2024-01-20, and after it. */
  glueHit: '/queries/by_country?measure=pageviews&start=2024-01-18&end=2024-01-22',
  glueAfter: '/queries/by_country?measure=pageviews&start=2024-01-22&end=2024-01-25',
  /** The dead owner's day, a day between, and the next owner's day. */
  march1: '/analytics?measure=revenue&start=2024-03-01&end=2024-03-02',
  march5: '/analytics?measure=revenue&start=2024-03-05&end=2024-03-06',
  march10: '/analytics?measure=revenue&start=2024-03-10&end=2024-03-11',
} as const

describe('landed data through the Lambda handler (real Redis, local Athena)', () => {
  let s: Stack
  let env: Record<string, string>
  let keys: CacheKeys

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'acp-landing-'))
    await copyFile('wrangler-free-config/queries.yaml', join(dir, 'queries.yaml'))
    await writeFile(
      join(dir, 'prewarm.yaml'),
      `popular: { topN: 0 }
queries:
  analytics:
    - { measure: pageviews, period: day, start: 2024-01-11, end: 2024-01-13 }
  top_pages:
    - { measure: pageviews, start: 2024-02-01, end: 2024-02-08 }
`,
    )
    await writeFile(
      join(dir, 'landing.yaml'),
      `debounceSeconds: ${DEBOUNCE_SECONDS}
rewarm: true
tables:
  analytics:
    bucket: ${BUCKET}
    prefix: analytics/
`,
    )
    s = await startStack({ env: { CONFIG_DIR: dir, ADMIN_API_KEYS: ADMIN } })
    keys = new CacheKeys(s.redis.prefix)
    env = {
      ...deployedLambdaEnv({
        athenaEndpoint: s.local.endpoint,
        redisUrl: s.redis.url,
        prefix: s.redis.prefix,
        apiKeys: '',
      }),
      CONFIG_DIR: dir,
      ADMIN_API_KEYS: ADMIN,
      LOG_LEVEL: 'silent',
    }
  })
  afterAll(async () => {
    await s?.close()
  })

  /** Runs one container's items to completion. */
  async function container(items: Item[]): Promise<unknown[]> {
    const r = await runNode(
      ['--import', 'tsx', 'test/helpers/lambda-burst-runner.ts', JSON.stringify(items)],
      env,
      {
        timeoutMs: 90_000,
      },
    )
    expect(r.code, r.stderr).toBe(0)
    const line = r.stdout.split('\n').find((l) => l.startsWith('RESULTS '))
    expect(line, r.stdout + r.stderr).toBeDefined()
    return JSON.parse((line as string).slice(8)) as unknown[]
  }
  const returned = (r: unknown): OperationResult => {
    expect(r, JSON.stringify(r)).toHaveProperty('returned')
    return (r as { returned: OperationResult }).returned
  }

  async function read(path: string): Promise<{ cache: string | null; computedAt: string }> {
    const res = await s.app.request(path)
    expect(res.status, path).toBe(200)
    const body = (await res.json()) as { meta: { computedAt: string } }
    return { cache: res.headers.get('x-cache'), computedAt: body.meta.computedAt }
  }
  /** Every path computed and then a fresh HIT; their computedAt. */
  async function warm(...paths: string[]): Promise<Record<string, string>> {
    const out: Record<string, string> = {}
    for (const p of paths) await read(p)
    for (const p of paths) {
      const r = await read(p)
      expect(r.cache, p).toBe('HIT')
      out[p] = r.computedAt
    }
    return out
  }
  async function invalidations(): Promise<Array<Record<string, unknown>>> {
    const res = await s.app.request('/admin/invalidations?limit=100', { headers: { 'x-api-key': ADMIN } })
    expect(res.status).toBe(200)
    return ((await res.json()) as { invalidations: Array<Record<string, unknown>> }).invalidations
  }
  const file = (day: string, i: number) =>
    `analytics/dt=${day}/part-${String(i).padStart(5, '0')}.snappy.parquet`

  it('a burst of 20 files over two days in two containers: one invalidation of both days, one rewarm', async () => {
    const before = await warm(...Object.values(READS).slice(0, 5))
    const burst = Array.from({ length: 10 }, (_, i) => [
      s3ObjectCreated(BUCKET, file('2024-01-11', i)),
      s3ObjectCreated(BUCKET, file('2024-01-12', i)),
    ]).flat()
    const [first, ...rest] = burst
    expect(rest).toHaveLength(19)
    const ignored = [
      s3ObjectCreated(BUCKET, 'analytics/dt=2024-01-11/_SUCCESS'),
      s3ObjectCreated(BUCKET, 'analytics/dt=2024-01-12/_SUCCESS'),
      s3ObjectCreated(BUCKET, 'staging/dt=2024-01-11/part-00000.parquet'),
      s3ObjectCreated('someone-elses-bucket', file('2024-01-11', 0)),
    ]
    const window = keys.landingWindow('analytics')
    // The second container warms up (an ignored event), then joins once the first has opened the window.
    const second = container([
      { handler: 'handler', event: ignored[2] },
      { waitForKey: window },
      ...rest.map((event, i) => ({
        handler: i === 5 ? ('streamingHandler' as const) : ('handler' as const),
        event,
      })),
      ...ignored.map((event) => ({ handler: 'handler' as const, event })),
    ])
    const owner = container([{ handler: 'handler', event: first }])
    const [ownerResults, secondResults] = await Promise.all([owner, second])

    const flushed = returned(ownerResults[0])
    expect(flushed.ok, JSON.stringify(flushed)).toBe(true)
    expect(flushed.result).toMatchObject({
      status: 'flushed',
      table: 'analytics',
      spans: [{ start: '2024-01-11', end: '2024-01-12' }],
      flushed: [{ start: '2024-01-11', end: '2024-01-13' }],
      invalidation: {
        scope: 'landing',
        mode: 'expire',
        table: 'analytics',
        range: { start: '2024-01-11', end: '2024-01-13' },
        rewarm: { status: 'completed', refreshed: 1, failed: 0 },
      },
    })
    const joined = secondResults.slice(2, 21)
    for (const [i, r] of joined.entries()) {
      const answer =
        i === 5 ? (r as { streamed: { contentType: string; body: OperationResult } }).streamed : undefined
      if (answer) expect(answer.contentType).toBe('application/json')
      const result = answer ? answer.body : returned(r)
      expect(result, `event ${i}`).toMatchObject({
        ok: true,
        result: { status: 'pending', table: 'analytics' },
      })
    }
    for (const r of [secondResults[0], ...secondResults.slice(21)])
      expect(returned(r)).toMatchObject({
        ok: true,
        result: { status: 'ignored', reason: expect.any(String) },
      })
    expect(JSON.stringify(secondResults.slice(21))).toMatch(/_SUCCESS is a marker.*_SUCCESS is a marker/)

    // Exactly one invalidation, over both days.
    const log = await invalidations()
    expect(log).toHaveLength(1)
    expect(log[0]).toMatchObject({
      scope: 'landing',
      table: 'analytics',
      range: { start: '2024-01-11', end: '2024-01-13' },
      queries: ['analytics', 'top_pages', 'by_country', 'events', 'country_daily'],
      rewarm: { status: 'completed', refreshed: 1, failed: 0 },
    })
    // Nothing left pending, the window closed.
    expect(await s.redis.redis.exists(window, keys.landingPending('analytics'))).toBe(0)

    const prewarmed = await read(READS.prewarmed)
    expect(prewarmed.cache).toBe('HIT')
    expect(Date.parse(prewarmed.computedAt)).toBeGreaterThan(Date.parse(before[READS.prewarmed] ?? ''))
    expect((await read(READS.sessions)).cache).toBe('STALE')
    for (const p of [READS.before, READS.february, READS.countries])
      expect(await read(p), p).toEqual({ cache: 'HIT', computedAt: before[p] })
    expect(await s.deps.operations.landedUntil('analytics')).toEqual(new Date('2024-01-13T00:00:00Z'))
  }, 120_000)

  it('a Glue partition event: its day invalidated; an event of another database ignored', async () => {
    await warm(READS.glueHit, READS.glueAfter)
    const results = await container([
      {
        handler: 'handler',
        event: glueTableChange({
          database: 'analytics',
          table: 'analytics',
          typeOfChange: 'BatchCreatePartition',
          partitions: [['2024-01-20']],
        }),
      },
      {
        handler: 'handler',
        event: glueTableChange({
          database: 'staging',
          table: 'analytics',
          typeOfChange: 'BatchCreatePartition',
          partitions: [['2024-01-24']],
        }),
      },
    ])
    expect(returned(results[0])).toMatchObject({
      ok: true,
      result: {
        status: 'flushed',
        flushed: [{ start: '2024-01-20', end: '2024-01-21' }],
        invalidation: { scope: 'landing', range: { start: '2024-01-20', end: '2024-01-21' } },
      },
    })
    expect(returned(results[1])).toMatchObject({
      ok: true,
      result: { status: 'ignored', reason: 'staging.analytics is not a table of landing.yaml' },
    })
    expect((await read(READS.glueHit)).cache).toBe('STALE')
    expect((await read(READS.glueAfter)).cache).toBe('HIT')
    expect(await s.deps.operations.landedUntil('analytics')).toEqual(new Date('2024-01-21T00:00:00Z'))
  }, 120_000)

  it('an owner that dies: its window expires, and the next event flushes everything pending', async () => {
    const before = await warm(READS.march1, READS.march5, READS.march10)
    const window = keys.landingWindow('analytics')
    const pending = keys.landingPending('analytics')
    const doomed = startChild(
      'doomed-owner',
      [
        '--import',
        'tsx',
        'test/helpers/lambda-burst-runner.ts',
        JSON.stringify([{ handler: 'handler', event: s3ObjectCreated(BUCKET, file('2024-03-01', 0)) }]),
      ],
      env,
    )
    await waitUntil(async () => (await s.redis.redis.exists(window)) === 1, {
      timeoutMs: 60_000,
      what: 'the first owner opens its window',
      child: doomed,
      intervalMs: 20,
    })
    await doomed.kill()
    const march1 = Date.UTC(2024, 2, 1)
    expect(await s.redis.redis.smembers(pending)).toEqual([`${march1},${march1 + DAY}`])
    // The window outlives the wait by a grace period, then goes: nobody flushed.
    await waitUntil(async () => (await s.redis.redis.exists(window)) === 0, {
      timeoutMs: (DEBOUNCE_SECONDS + 10) * 1000,
      what: 'the dead owner’s window expires',
    })
    expect(await s.redis.redis.scard(pending)).toBe(1)
    expect((await read(READS.march1)).cache).toBe('HIT')

    const [next] = await container([
      { handler: 'handler', event: s3ObjectCreated(BUCKET, file('2024-03-10', 0)) },
    ])
    expect(returned(next)).toMatchObject({
      ok: true,
      result: {
        status: 'flushed',
        spans: [{ start: '2024-03-10', end: '2024-03-11' }],
        flushed: [
          { start: '2024-03-01', end: '2024-03-02' },
          { start: '2024-03-10', end: '2024-03-11' },
        ],
        invalidation: {
          range: { start: '2024-03-01', end: '2024-03-11' },
          spans: [
            { start: '2024-03-01', end: '2024-03-02' },
            { start: '2024-03-10', end: '2024-03-11' },
          ],
        },
      },
    })
    expect(await s.redis.redis.exists(pending)).toBe(0)
    // Both spans, and not the days between them.
    expect((await read(READS.march1)).cache).toBe('STALE')
    expect(await read(READS.march5)).toEqual({ cache: 'HIT', computedAt: before[READS.march5] })
    expect((await read(READS.march10)).cache).toBe('STALE')
    expect(await s.deps.operations.landedUntil('analytics')).toEqual(new Date('2024-03-11T00:00:00Z'))
    expect((await invalidations()).map((r) => r.range)).toEqual([
      { start: '2024-03-01', end: '2024-03-11' },
      { start: '2024-01-20', end: '2024-01-21' },
      { start: '2024-01-11', end: '2024-01-13' },
    ])
  }, 120_000)
})

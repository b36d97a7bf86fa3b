// POST /admin/events on the Node app: the EventBridge event JSON a Lambda would receive, from a local pipeline.
// On a server the window of a burst is waited out on a timer: the events are answered at once (202), and the one
// invalidation follows. Real Redis, local Athena.
import { copyFile, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CacheKeys } from '../../src/cache/cache-key.ts'
import { glueTableChange, s3ObjectCreated } from '../helpers/landing-events.ts'
import { waitUntil } from '../helpers/processes.ts'
import { type Stack, startStack } from '../helpers/stack.ts'

const ADMIN = 'landing-node-admin-key'
const BUCKET = 'local-data'

async function configDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'acp-landing-node-'))
  await copyFile('wrangler-free-config/queries.yaml', join(dir, 'queries.yaml'))
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text)
  return dir
}

describe('POST /admin/events (Node, real Redis, local Athena)', () => {
  let s: Stack
  let bare: Stack

  beforeAll(async () => {
    const dir = await configDir({
      'prewarm.yaml': `popular: { topN: 0 }
queries:
  analytics:
    - { measure: pageviews, period: day, start: 2024-01-15, end: 2024-01-17 }
`,
      // The local data directory's layout (<database>/<table>/), as the shipped file also lists it.
      'landing.yaml': `debounceSeconds: 1
tables:
  analytics:
    prefix: analytics/analytics/
`,
    })
    s = await startStack({ env: { CONFIG_DIR: dir, ADMIN_API_KEYS: ADMIN } })
    bare = await startStack({ env: { CONFIG_DIR: await configDir({}), ADMIN_API_KEYS: ADMIN } })
  })
  afterAll(async () => {
    await s?.close()
    await bare?.close()
  })

  const post = async (
    stack: Stack,
    body: unknown,
    headers: Record<string, string> = { 'x-api-key': ADMIN },
  ) => {
    const res = await stack.app.request('/admin/events', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    })
    return {
      status: res.status,
      type: res.headers.get('content-type'),
      body: (await res.json()) as Record<string, unknown>,
    }
  }
  const read = async (path: string) => {
    const res = await s.app.request(path)
    expect(res.status, path).toBe(200)
    const body = (await res.json()) as { meta: { computedAt: string } }
    return { cache: res.headers.get('x-cache'), computedAt: body.meta.computedAt }
  }
  const invalidations = async () => {
    const res = await s.app.request('/admin/invalidations', { headers: { 'x-api-key': ADMIN } })
    return ((await res.json()) as { invalidations: Array<Record<string, unknown>> }).invalidations
  }
  const key = (day: string, name: string) => `analytics/analytics/dt=${day}/${name}`

  it('a burst posted by a local pipeline: answered at once, invalidated once after the window, rewarmed', async () => {
    const PREWARMED = '/analytics?measure=pageviews&period=day&start=2024-01-15&end=2024-01-17'
    const OTHER_DAY = '/analytics?measure=pageviews&period=day&start=2024-01-20&end=2024-01-21'
    const LANDED = '/queries/top_pages?measure=pageviews&start=2024-01-16&end=2024-01-17'
    for (const p of [PREWARMED, OTHER_DAY, LANDED]) await read(p)
    const before = await read(PREWARMED)
    const other = await read(OTHER_DAY)
    expect([before.cache, other.cache, (await read(LANDED)).cache]).toEqual(['HIT', 'HIT', 'HIT'])

    const answers = []
    for (const day of ['2024-01-15', '2024-01-16'])
      for (let i = 0; i < 3; i++)
        answers.push(await post(s, s3ObjectCreated(BUCKET, key(day, `part-${i}.parquet`))))
    answers.push(await post(s, s3ObjectCreated(BUCKET, key('2024-01-16', '_SUCCESS'))))
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 202, 202, 200])
    expect(answers[0]?.body).toMatchObject({
      status: 'scheduled',
      table: 'analytics',
      spans: [{ start: '2024-01-15', end: '2024-01-16' }],
      flushAt: expect.any(String),
    })
    expect(answers.slice(1, 6).map((a) => a.body.status)).toEqual(Array(5).fill('pending'))
    expect(answers[6]?.body).toMatchObject({ status: 'ignored', reason: expect.stringMatching(/_SUCCESS/) })

    await waitUntil(async () => (await invalidations()).length > 0, {
      timeoutMs: 20_000,
      what: 'the burst is invalidated',
    })
    const [record] = await invalidations()
    expect(record).toMatchObject({
      scope: 'landing',
      table: 'analytics',
      range: { start: '2024-01-15', end: '2024-01-17' },
      rewarm: { status: 'completed', refreshed: 1 },
    })
    const after = await read(PREWARMED)
    expect(after.cache).toBe('HIT')
    expect(Date.parse(after.computedAt)).toBeGreaterThan(Date.parse(before.computedAt))
    expect((await read(LANDED)).cache).toBe('STALE')
    expect(await read(OTHER_DAY)).toEqual(other)
    // One window, one invalidation: nothing else follows.
    await new Promise((r) => setTimeout(r, 1_500))
    expect(await invalidations()).toHaveLength(1)
    expect(await s.deps.operations.landedUntil('analytics')).toEqual(new Date('2024-01-17T00:00:00Z'))
  }, 60_000)

  it('refuses what is not an S3 or Glue event, a malformed one, and a request without the admin key', async () => {
    const notEvent = await post(s, { action: 'prewarm' })
    expect(notEvent.status).toBe(400)
    expect(notEvent.type).toBe('application/problem+json')
    expect(notEvent.body).toMatchObject({ errors: [{ name: 'source' }] })
    expect((await post(s, '{"source": "aws.s3"')).status).toBe(400)
    const malformed = await post(s, {
      source: 'aws.s3',
      'detail-type': 'Object Created',
      detail: { bucket: {} },
    })
    expect(malformed.status).toBe(400)
    expect((malformed.body.errors as Array<{ name: string }>).map((e) => e.name)).toEqual([
      'detail.bucket.name',
      'detail.object',
    ])
    expect((await post(s, s3ObjectCreated(BUCKET, key('2024-01-15', 'a.parquet')), {})).status).toBe(401)
    expect(
      (await post(s, s3ObjectCreated(BUCKET, key('2024-01-15', 'a.parquet')), { 'x-api-key': 'wrong-key!' }))
        .status,
    ).toBe(403)
  })

  it('in a Lambda’s app (nothing runs after an answer) a request waits the window out within SYNC_DEADLINE_MS', async () => {
    const dir = await configDir({
      'landing.yaml': 'debounceSeconds: 30\ntables:\n  analytics:\n    prefix: analytics/\n',
    })
    const lambda = await startStack({
      env: { CONFIG_DIR: dir, ADMIN_API_KEYS: ADMIN, SYNC_DEADLINE_MS: '22000' },
      background: 'detach',
    })
    try {
      const t0 = Date.now()
      const r = await post(lambda, s3ObjectCreated(BUCKET, 'analytics/dt=2024-03-03/part-0.parquet'))
      const tookMs = Date.now() - t0
      expect(r.status).toBe(200)
      expect(r.body).toMatchObject({
        status: 'flushed',
        flushed: [{ start: '2024-03-03', end: '2024-03-04' }],
        invalidation: { scope: 'landing', range: { start: '2024-03-03', end: '2024-03-04' } },
      })
      // 22 s less the 20 s kept for the invalidation and the rewarm: a 2 s window, not 30 s.
      expect(tookMs).toBeGreaterThanOrEqual(2_000)
      expect(tookMs).toBeLessThan(15_000)
    } finally {
      await lambda.close()
    }
  }, 60_000)

  it('without landing.yaml, landing events are refused with a 404 saying so', async () => {
    const r = await post(bare, s3ObjectCreated(BUCKET, key('2024-01-15', 'a.parquet')))
    expect(r.status).toBe(404)
    expect(r.body.detail).toMatch(/landing\.yaml/)
    expect(await bare.deps.operations.landedUntil('analytics')).toBeNull()
  })

  it('a scheduled prewarm first flushes spans a dead owner left pending, and leaves a live owner’s alone', async () => {
    const keys = new CacheKeys(s.redis.prefix)
    const pending = keys.landingPending('analytics')
    const window = keys.landingWindow('analytics')
    const feb10 = Date.UTC(2024, 1, 10)
    const logged = (await invalidations()).length
    // A live owner holds the window: its spans are its to flush.
    await s.redis.redis.set(window, 'a-live-owner', 'PX', 60_000)
    await s.redis.redis.sadd(pending, `${feb10},${feb10 + 86_400_000}`)
    await s.deps.operations.prewarm({ trigger: 'schedule' })
    expect(await invalidations()).toHaveLength(logged)
    expect(await s.redis.redis.scard(pending)).toBe(1)
    // Its owner died (the window expired) and no event came since: the next scheduled run flushes them.
    await s.redis.redis.del(window)
    const report = await s.deps.operations.prewarm({ trigger: 'schedule' })
    expect(report.status).toBe('completed')
    const log = await invalidations()
    expect(log).toHaveLength(logged + 1)
    expect(log[0]).toMatchObject({
      scope: 'landing',
      table: 'analytics',
      range: { start: '2024-02-10', end: '2024-02-11' },
      rewarm: null,
    })
    expect(await s.redis.redis.exists(pending, window)).toBe(0)
  })

  it('closing the server flushes an open window at once, without the rewarm', async () => {
    const r = await post(
      s,
      glueTableChange({
        database: 'analytics',
        table: 'analytics',
        typeOfChange: 'CreatePartition',
        partitions: [['2024-02-02']],
      }),
    )
    expect(r.body.status).toBe('scheduled')
    const t0 = Date.now()
    await s.deps.operations.close()
    expect(Date.now() - t0).toBeLessThan(1_000)
    const [newest] = await invalidations()
    expect(newest).toMatchObject({ range: { start: '2024-02-02', end: '2024-02-03' }, rewarm: null })
  })
})

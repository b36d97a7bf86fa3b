import { rm } from 'node:fs/promises'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { EntriesReport, SchedulesReport } from '../../src/prewarm/admin-views.ts'
import type { InvalidationRecord } from '../../src/prewarm/invalidation-log.ts'
import { type Stack, startStack } from '../helpers/stack.ts'
import { TENANT_KEYS, tenantConfigDir } from '../helpers/tenant-config.ts'

const ADMIN = 'admin-key-for-tests'
const READ = 'read-key-for-tests'
const HOUR = 3_600_000
const DAY = 24 * HOUR
/** A Friday, 06:07 UTC (07:07 in Berlin, still CET). */
const T0 = Date.parse('2024-03-15T06:07:00Z')

const PREWARM_YAML = `
popular: { topN: 2, windowHours: 24 }
queries:
  analytics:
    - { measure: pageviews, period: day, start: -30d, end: today }
  country_daily:
    - { start: -7d }
`

const SCHEDULES_YAML = `
schedules:
  every-15-minutes:
    description: Keeps every catalog query warm.
    expression: rate(15 minutes)
  morning-dashboards:
    expression: cron(45 5 ? * MON-FRI *)
    timezone: Europe/Berlin
    tags: [analytics]
  paused:
    expression: rate(1 hour)
    enabled: false
`

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10)

describe('admin API for the operator page (real Redis, local Athena, fake clock)', () => {
  let s: Stack
  let dir: string
  let clock = T0

  beforeAll(async () => {
    dir = await tenantConfigDir({ 'prewarm.yaml': PREWARM_YAML, 'schedules.yaml': SCHEDULES_YAML })
    s = await startStack({
      env: { CONFIG_DIR: dir, API_KEYS: READ, ADMIN_API_KEYS: ADMIN },
      now: () => clock,
    })
  })
  afterAll(async () => {
    await s.close()
    await rm(dir, { recursive: true, force: true })
  })
  beforeEach(() => {
    // Every test starts with nothing fresh and an empty popularity window.
    clock += 48 * HOUR
  })

  const admin = (path: string) => s.app.request(path, { headers: { 'x-api-key': ADMIN } })
  const read = async (path: string, key: string = READ) => {
    const res = await s.app.request(path, { headers: { 'x-api-key': key } })
    await res.arrayBuffer()
    expect(res.status).toBe(200)
    return res.headers.get('x-cache')
  }
  const invalidate = async (body: unknown) => {
    const res = await s.app.request('/cache/invalidate', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': ADMIN },
      body: JSON.stringify(body),
    })
    expect(res.status).toBe(200)
    return (await res.json()) as { invalidatedAt: string }
  }
  const entries = async () => {
    const res = await admin('/admin/entries')
    expect(res.status).toBe(200)
    return (await res.json()) as EntriesReport
  }
  const invalidations = async (query = '') => {
    const res = await admin(`/admin/invalidations${query}`)
    expect(res.status).toBe(200)
    return ((await res.json()) as { invalidations: InvalidationRecord[] }).invalidations
  }
  /** The configured analytics set of prewarm.yaml, as a URL and as canonical parameters, for today's clock. */
  const analyticsSet = () => {
    const params = { end: day(clock), measure: 'pageviews', period: 'day', start: day(clock - 30 * DAY) }
    return { url: `/analytics?measure=pageviews&period=day&start=${params.start}&end=${params.end}`, params }
  }

  describe('GET /admin/entries', () => {
    it('lists the configured sets resolved against today, each tenant its own, all absent at first', async () => {
      const report = await entries()
      expect(report.generatedAt).toBe(new Date(clock).toISOString())
      const start7 = day(clock - 7 * DAY)
      expect(report.entries).toEqual([
        {
          query: 'analytics',
          tenant: null,
          parameters: analyticsSet().params,
          key: s.deps.service.resolve('analytics', analyticsSet().params).key,
          source: 'configured',
          state: 'absent',
          computedAt: null,
          expiresAt: null,
          ageSeconds: null,
          ttlSeconds: 43_200,
        },
        // Bound to the tenant's country: one entry per tenant that has a country (initech has none).
        ...(['acme', 'globex'] as const).map((tenant) => ({
          query: 'country_daily',
          tenant,
          parameters: { country: tenant === 'acme' ? 'US' : 'DE', end: day(clock), start: start7 },
          key: s.deps.service.replay('country_daily', { start: start7 }, tenant).key,
          source: 'configured',
          state: 'absent',
          computedAt: null,
          expiresAt: null,
          ageSeconds: null,
          ttlSeconds: 43_200,
        })),
      ])
      expect(new Set(report.entries.map((e) => e.key)).size).toBe(3)
    })

    it('follows an entry: absent → fresh after a read → stale after an expire → absent after a delete', async () => {
      const { url } = analyticsSet()
      const analytics = async () => (await entries()).entries.find((e) => e.query === 'analytics')
      expect((await analytics())?.state).toBe('absent')
      const computedAt = clock
      expect(await read(url)).toBe('MISS')
      clock += 100_000
      expect(await analytics()).toMatchObject({
        state: 'fresh',
        computedAt: new Date(computedAt).toISOString(),
        expiresAt: new Date(computedAt + 43_200_000).toISOString(),
        ageSeconds: 100,
        ttlSeconds: 43_200,
      })
      await invalidate({ query: 'analytics' })
      // Expired by the invalidation: still held, fresh no longer (its fresh period ends where it began).
      expect(await analytics()).toMatchObject({
        state: 'stale',
        computedAt: new Date(computedAt).toISOString(),
        expiresAt: new Date(computedAt).toISOString(),
        ageSeconds: 100,
      })
      await invalidate({ query: 'analytics', mode: 'delete' })
      expect(await analytics()).toMatchObject({ state: 'absent', computedAt: null, ageSeconds: null })
    })

    it('an entry past its TTL is stale', async () => {
      const { url } = analyticsSet()
      expect(await read(url)).toBe('MISS')
      clock += 43_200_000 + 5_000
      const analytics = (await entries()).entries.find((e) => e.query === 'analytics')
      expect(analytics).toMatchObject({ state: 'stale', ageSeconds: 43_205 })
    })

    it("a tenant's read freshens its own entry only", async () => {
      await read(`/queries/country_daily?start=${day(clock - 7 * DAY)}`, TENANT_KEYS.acme)
      const states = (await entries()).entries
        .filter((e) => e.query === 'country_daily')
        .map((e) => [e.tenant, e.state])
      expect(states).toEqual([
        ['acme', 'fresh'],
        ['globex', 'absent'],
      ])
    })

    it('adds the popular reads (top N per tenant, configured keys once), and looking counts as no read', async () => {
      for (let i = 0; i < 3; i++) await read('/queries/by_country?measure=signups&start=2024-02-01')
      for (let i = 0; i < 2; i++) await read('/queries/by_country?measure=revenue&start=2024-02-01')
      await read('/queries/by_country?measure=sessions&start=2024-02-01')
      // acme's configured set, read: popular too, listed once.
      for (let i = 0; i < 2; i++)
        await read(`/queries/country_daily?start=${day(clock - 7 * DAY)}`, TENANT_KEYS.acme)
      await read('/queries/country_daily?start=2024-02-01', TENANT_KEYS.globex)
      await s.deps.usage.flush()
      const statsBefore = (await (await admin('/admin/stats')).json()) as { reads: number }
      const executions = s.local.stats().executionsStarted

      const report = await entries()
      expect(report.entries.filter((e) => e.source === 'configured').map((e) => e.query)).toEqual([
        'analytics',
        'country_daily',
        'country_daily',
      ])
      // sessions is outside the untenanted top 2; each tenant has a top 2 of its own.
      expect(
        report.entries
          .filter((e) => e.source === 'popular')
          .map((e) => [e.query, e.tenant, e.parameters.measure ?? e.parameters.start, e.state]),
      ).toEqual([
        ['by_country', null, 'signups', 'fresh'],
        ['by_country', null, 'revenue', 'fresh'],
        ['country_daily', 'globex', '2024-02-01', 'fresh'],
      ])
      expect(new Set(report.entries.map((e) => e.key)).size).toBe(report.entries.length)

      // No Athena execution, and neither the counters nor the popularity moved.
      await entries()
      await s.deps.usage.flush()
      expect(s.local.stats().executionsStarted).toBe(executions)
      const statsAfter = (await (await admin('/admin/stats')).json()) as { reads: number }
      expect(statsAfter.reads).toBe(statsBefore.reads)
      const top = await s.deps.usage.top(10, DAY)
      expect(top.find((p) => p.parameters.measure === 'signups')?.reads).toBe(3)
    })

    it('answers no-store JSON', async () => {
      const res = await admin('/admin/entries')
      expect(res.headers.get('cache-control')).toBe('no-store')
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    })
  })

  describe('GET /admin/schedules', () => {
    it('lists schedules.yaml with the next fire time from now, and the last prewarm report', async () => {
      // Next fires are counted from the service's clock: a Friday in winter (Berlin on CET), later than any test's.
      const friday = Date.parse('2030-01-04T06:07:00Z')
      expect(friday).toBeGreaterThan(clock)
      clock = friday
      const res = await admin('/admin/schedules')
      expect(res.status).toBe(200)
      const first = (await res.json()) as SchedulesReport
      expect(first.schedules).toEqual([
        {
          name: 'every-15-minutes',
          expression: 'rate(15 minutes)',
          timezone: 'UTC',
          description: 'Keeps every catalog query warm.',
          nextFireTime: new Date(friday + 8 * 60_000).toISOString(),
        },
        {
          name: 'morning-dashboards',
          expression: 'cron(45 5 ? * MON-FRI *)',
          timezone: 'Europe/Berlin',
          // 05:45 in Berlin (UTC+1) on Monday.
          nextFireTime: '2030-01-07T04:45:00.000Z',
        },
        { name: 'paused', expression: 'rate(1 hour)', timezone: 'UTC', nextFireTime: null },
      ])

      const report = await s.deps.operations.prewarm({ trigger: 'admin' })
      clock += 10 * 60_000
      const second = (await (await admin('/admin/schedules')).json()) as SchedulesReport
      expect(second.schedules[0]?.nextFireTime).toBe(new Date(friday + 23 * 60_000).toISOString())
      expect(second.lastPrewarm).toEqual(report)
      expect(second.lastPrewarm?.trigger).toBe('admin')
    })
  })

  describe('GET /admin/invalidations', () => {
    beforeEach(async () => {
      await s.redis.redis.del(s.deps.keys.invalidationLog)
    })

    it('lists the invalidations newest first, with tenant, key and the rewarm outcome', async () => {
      const { params } = analyticsSet()
      const a = await invalidate({ query: 'analytics' })
      const b = await invalidate({ all: true, mode: 'delete' })
      const c = await invalidate({ query: 'country_daily', tenant: 'acme' })
      const d = await invalidate({ query: 'analytics', parameters: params, rewarm: true })
      const list = await invalidations()
      expect(list).toEqual([
        {
          at: d.invalidatedAt,
          scope: 'entry',
          mode: 'expire',
          queries: ['analytics'],
          key: s.deps.service.resolve('analytics', params).key,
          rewarm: { status: 'completed', refreshed: 1, failed: 0 },
        },
        {
          at: c.invalidatedAt,
          scope: 'query',
          mode: 'expire',
          queries: ['country_daily'],
          tenant: 'acme',
          rewarm: null,
        },
        {
          at: b.invalidatedAt,
          scope: 'all',
          mode: 'delete',
          queries: [...s.deps.service.catalog.queries.keys()],
          rewarm: null,
        },
        { at: a.invalidatedAt, scope: 'query', mode: 'expire', queries: ['analytics'], rewarm: null },
      ])
      const times = list.map((i) => Date.parse(i.at))
      expect(times).toEqual([...times].sort((x, y) => y - x))
      expect(await invalidations('?limit=2')).toEqual(list.slice(0, 2))
    })

    it('keeps the newest 100 in Redis; 20 by default, up to 100 with limit', async () => {
      const sent: string[] = []
      for (let i = 0; i < 105; i++) sent.push((await invalidate({ query: 'top_pages' })).invalidatedAt)
      expect(await s.redis.redis.llen(s.deps.keys.invalidationLog)).toBe(100)
      const newest = sent.reverse()
      expect((await invalidations()).map((i) => i.at)).toEqual(newest.slice(0, 20))
      expect((await invalidations('?limit=100')).map((i) => i.at)).toEqual(newest.slice(0, 100))
      expect((await invalidations('?limit=1')).map((i) => i.at)).toEqual(newest.slice(0, 1))
    })

    it('skips damaged stored items, still answering `limit` good ones', async () => {
      await invalidate({ query: 'analytics' })
      await invalidate({ query: 'top_pages' })
      const key = s.deps.keys.invalidationLog
      await s.redis.redis.lpush(key, 'not json')
      await s.redis.redis.lpush(key, JSON.stringify({ at: 'yesterday', scope: 'all', mode: 'expire' }))
      await s.redis.redis.lpush(key, JSON.stringify({ scope: 'query' }))
      await s.redis.redis.lpush(key, '\u0000\u00ff')
      expect((await invalidations('?limit=2')).map((i) => i.queries)).toEqual([['top_pages'], ['analytics']])
      expect(await invalidations()).toHaveLength(2)
    })

    it('an invalidation whose record cannot be written still succeeds', async () => {
      // A foreign value under the log's key: LPUSH fails (WRONGTYPE).
      await s.redis.redis.set(s.deps.keys.invalidationLog, 'a string')
      const { url } = analyticsSet()
      expect(await read(url)).toBe('MISS')
      expect(await read(url)).toBe('HIT')
      const started = s.local.stats().executionsStarted
      const res = await invalidate({ query: 'analytics', mode: 'delete' })
      expect(res.invalidatedAt).toMatch(/^\d{4}-/)
      // The invalidation happened: the next read runs the query again.
      expect(await read(url)).toBe('MISS')
      expect(s.local.stats().executionsStarted).toBe(started + 1)
      const unreadable = await admin('/admin/invalidations')
      expect(unreadable.status).toBe(503)
      expect(unreadable.headers.get('content-type')).toBe('application/problem+json')
      await s.redis.redis.del(s.deps.keys.invalidationLog)
      expect(await invalidations()).toEqual([])
    })

    it.each([['0'], ['101'], ['abc'], [''], ['1.5'], ['-1'], ['1e1'], ['9999999999']])(
      'limit=%j is a 400 naming limit',
      async (value) => {
        const res = await admin(`/admin/invalidations?limit=${encodeURIComponent(value)}`)
        expect(res.status).toBe(400)
        expect(res.headers.get('content-type')).toBe('application/problem+json')
        const body = (await res.json()) as { status: number; errors: Array<{ name: string }> }
        expect(body.status).toBe(400)
        expect(body.errors.map((e) => e.name)).toEqual(['limit'])
      },
    )

    it('a repeated or unknown parameter is a 400 naming it', async () => {
      const repeated = await admin('/admin/invalidations?limit=1&limit=2')
      expect(repeated.status).toBe(400)
      expect(((await repeated.json()) as { errors: Array<{ name: string }> }).errors).toEqual([
        { name: 'limit', message: 'must be given once' },
      ])
      for (const path of [
        '/admin/invalidations?count=5',
        '/admin/entries?count=5',
        '/admin/schedules?count=5',
      ]) {
        const res = await admin(path)
        expect(res.status).toBe(400)
        expect(((await res.json()) as { errors: Array<{ name: string }> }).errors.map((e) => e.name)).toEqual(
          ['count'],
        )
      }
    })
  })

  it.each(['/admin/entries', '/admin/schedules', '/admin/invalidations'])(
    '%s needs the admin key: none → 401, a read or tenant key → 403',
    async (path) => {
      const none = await s.app.request(path)
      expect(none.status).toBe(401)
      expect(none.headers.get('content-type')).toBe('application/problem+json')
      for (const key of [READ, TENANT_KEYS.acme]) {
        const res = await s.app.request(path, { headers: { 'x-api-key': key } })
        expect(res.status).toBe(403)
        expect(res.headers.get('content-type')).toBe('application/problem+json')
      }
      expect((await admin(path)).status).toBe(200)
    },
  )
})

import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  DEFAULT_PREWARM,
  loadPrewarmSettings,
  type PrewarmSettings,
  resolveSet,
} from '../../src/config/prewarm.ts'
import type { ScheduleDef } from '../../src/config/schedules.ts'
import { nextRunAfter, Prewarmer, type PrewarmReport, refreshReason } from '../../src/prewarm/prewarm-job.ts'
import { type Stack, startStack } from '../helpers/stack.ts'

const ADMIN = 'admin-key-for-tests'
const HOUR = 3_600_000
const T0 = Date.parse('2024-03-15T06:00:00Z')

/** A configuration directory: the shipped catalog and schedules plus a prewarm.yaml of the test's own. */
async function configDir(prewarmYaml: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'acp-prewarm-'))
  await copyFile('wrangler-free-config/queries.yaml', join(dir, 'queries.yaml'))
  await copyFile('wrangler-free-config/schedules.yaml', join(dir, 'schedules.yaml'))
  await writeFile(join(dir, 'prewarm.yaml'), prewarmYaml)
  return dir
}

const PREWARM_YAML = `
concurrency: 2
popular: { topN: 5, windowHours: 24 }
marginSeconds: 60
horizonSeconds: 600
queries:
  analytics:
    - { measure: pageviews, period: day, start: -30d, end: today }
    - { measure: sessions, period: week, start: -2w, end: today }
  top_pages:
    - { measure: pageviews, start: -7d, end: today }
`

function prewarmerWith(s: Stack, settings: Partial<PrewarmSettings>): Prewarmer {
  return new Prewarmer({
    service: s.deps.service,
    store: s.deps.store,
    keys: s.deps.keys,
    usage: s.deps.usage,
    settings: { ...DEFAULT_PREWARM, ...settings },
    logger: s.deps.logger,
  })
}

describe('refreshReason', () => {
  const e = (freshUntil: number, staleUntil = freshUntil + HOUR) => ({ freshUntil, staleUntil })
  it.each([
    ['missing', null, 0, 100, 'missing'],
    ['stale', e(50), 60, 100, 'stale'],
    ['expired', e(50, 55), 60, 100, 'stale'],
    ['expires before the next run', e(90), 60, 100, 'expiring'],
    ['fresh past the next run', e(150), 60, 100, undefined],
  ] as const)('%s', (_name, entry, now, before, expected) => {
    expect(refreshReason(entry, now, before)).toBe(expected)
  })
})

describe('nextRunAfter', () => {
  const schedule = (expression: string, timezone = 'UTC'): ScheduleDef => ({
    name: 's',
    expression,
    timezone,
    flexibleWindowMinutes: 0,
    description: '',
    enabled: true,
    queries: [],
    tags: [],
  })
  const at = new Date('2024-03-15T06:07:00Z')
  it.each([
    ['rate(15 minutes)', 'UTC', '2024-03-15T06:22:00.000Z'],
    ['rate(1 day)', 'UTC', '2024-03-16T06:07:00.000Z'],
    ['cron(0 8 * * ? *)', 'UTC', '2024-03-15T08:00:00.000Z'],
    ['cron(0 8 * * ? *)', 'Europe/Berlin', '2024-03-15T07:00:00.000Z'],
  ])('%s in %s', (expression, timezone, expected) => {
    expect(new Date(nextRunAfter(schedule(expression, timezone), at) ?? 0).toISOString()).toBe(expected)
  })
  it('an at() in the past has no next run', () => {
    expect(nextRunAfter(schedule('at(2024-01-01T00:00:00)'), at)).toBeUndefined()
  })
})

describe('prewarm job (real Redis, local Athena, fake clock)', () => {
  let s: Stack
  let dir: string
  let clock = T0
  beforeAll(async () => {
    dir = await configDir(PREWARM_YAML)
    s = await startStack({ env: { CONFIG_DIR: dir, ADMIN_API_KEYS: ADMIN }, now: () => clock })
  })
  afterAll(async () => {
    await s.close()
    await rm(dir, { recursive: true, force: true })
  })
  beforeEach(async () => {
    clock += 48 * HOUR // every test starts with nothing fresh and an empty popularity window
  })

  const run = (trigger: 'admin' | 'cli' = 'cli') =>
    s.deps.operations.prewarm({ trigger, scheduledTime: new Date(clock).toISOString() })

  it('refreshes the missing configured sets (relative dates resolved), then skips them while fresh', async () => {
    const started = s.local.stats().executionsStarted
    const first = await run()
    expect(first).toMatchObject({
      status: 'completed',
      considered: 3,
      refreshed: 3,
      skippedFresh: 0,
      failed: 0,
    })
    expect(first.dataScannedBytes).toBeGreaterThan(0)
    expect(first.durationMs).toBeGreaterThanOrEqual(0)
    const today = new Date(clock).toISOString().slice(0, 10)
    const minus30 = new Date(clock - 30 * 24 * HOUR).toISOString().slice(0, 10)
    expect(first.items[0]).toMatchObject({
      query: 'analytics',
      source: 'configured',
      action: 'refreshed',
      reason: 'missing',
      parameters: { measure: 'pageviews', period: 'day', start: minus30, end: today },
    })
    expect(first.items.every((i) => i.queryExecutionId && i.freshUntil)).toBe(true)
    expect(s.local.stats().executionsStarted - started).toBe(3)

    const second = await run()
    expect(second).toMatchObject({ considered: 3, refreshed: 0, skippedFresh: 3 })
    expect(s.local.stats().executionsStarted - started).toBe(3)
    // A read of a prewarmed set is a HIT.
    const hit = await s.app.request(`/analytics?measure=pageviews&period=day&start=${minus30}&end=${today}`)
    expect(hit.headers.get('x-cache')).toBe('HIT')
  })

  it('refreshes entries that would expire before the next run (horizon + margin)', async () => {
    await run()
    // analytics lives ttlSeconds; move to just inside "expires within horizon + margin" of it.
    const ttlMs = (s.deps.service.catalog.queries.get('analytics')?.ttlSeconds ?? 0) * 1000
    clock += ttlMs - 600_000
    const report = await run()
    const analytics = report.items.filter((i) => i.query === 'analytics')
    expect(analytics.map((i) => [i.action, i.reason])).toEqual([
      ['refreshed', 'expiring'],
      ['refreshed', 'expiring'],
    ])
  })

  it('adds the most-read parameter combinations of the window', async () => {
    for (let i = 0; i < 4; i++) await s.app.request('/queries/by_country?measure=signups&start=2024-02-01')
    for (let i = 0; i < 2; i++) await s.app.request('/queries/by_country?measure=revenue&start=2024-02-01')
    await s.deps.store.delete([
      s.deps.service.resolve('by_country', { measure: 'signups', start: '2024-02-01' }).key,
    ])
    const report = await run()
    const popular = report.items.filter((i) => i.source === 'popular')
    expect(popular.map((i) => [i.query, i.parameters.measure, i.reads, i.action])).toEqual([
      ['by_country', 'signups', 4, 'refreshed'],
      ['by_country', 'revenue', 2, 'fresh'],
    ])
    // Outside the window they are forgotten.
    clock += 25 * HOUR
    const later = await run()
    expect(later.items.filter((i) => i.source === 'popular')).toEqual([])
  })

  it('keeps to its budgets: count, bytes and time', async () => {
    const byCount = await prewarmerWith(s, {
      sets: (await loadSets(s, dir)).slice(0, 3),
      budgets: { ...DEFAULT_PREWARM.budgets, maxQueries: 1 },
      concurrency: 1,
    }).run({ trigger: 'cli' })
    expect(byCount.items.map((i) => i.action)).toEqual(['refreshed', 'skipped', 'skipped'])
    expect(byCount.items[1]?.reason).toBe('budget')
    clock += 48 * HOUR
    const byTime = await prewarmerWith(s, { sets: await loadSets(s, dir) }).run({
      trigger: 'schedule',
      remainingMs: () => 3_000,
    })
    expect(byTime.refreshed).toBe(0)
    expect(new Set(byTime.items.map((i) => i.reason))).toEqual(new Set(['deadline']))
  })

  it('runs one at a time: a concurrent run reports locked (409 on the admin route)', async () => {
    const a = s.deps.operations.prewarm({ trigger: 'schedule' })
    const b = s.deps.operations.prewarm({ trigger: 'schedule' })
    const reports: PrewarmReport[] = await Promise.all([a, b])
    expect(reports.map((r) => r.status).sort()).toEqual(['completed', 'locked'])
    const lock = s.deps.keys.prewarmLock
    // Another process's lock, as it stores it (a damaged one would be taken over: see crash-safety tests).
    const held = JSON.stringify({ token: 'someone else', until: Date.now() + 10_000 })
    await s.deps.store.set(lock, Buffer.from(held), 10_000)
    try {
      const res = await s.app.request('/admin/prewarm', { method: 'POST', headers: { 'x-api-key': ADMIN } })
      expect(res.status).toBe(409)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
    } finally {
      await s.deps.store.delete([lock])
    }
  })

  it('a schedule covers only its queries and tags, and looks ahead to its next run', async () => {
    const schedule: ScheduleDef = {
      name: 'pages-only',
      expression: 'rate(2 hours)',
      timezone: 'UTC',
      flexibleWindowMinutes: 0,
      description: '',
      enabled: true,
      queries: [],
      tags: ['pages'],
    }
    const report = await prewarmerWith(s, { sets: await loadSets(s, dir) }).run({
      trigger: 'schedule',
      schedule,
      scheduledTime: new Date(clock),
    })
    expect(report.items.map((i) => i.query)).toEqual(['top_pages'])
    expect(report.schedule).toBe('pages-only')
    // A rate counts from the run itself: the next one is two hours after this one.
    expect(Date.parse(report.refreshBefore)).toBe(clock + 2 * HOUR + DEFAULT_PREWARM.marginMs)
  })

  it('POST /admin/prewarm and GET /admin/stats report what happened', async () => {
    const res = await s.app.request('/admin/prewarm', { method: 'POST', headers: { 'x-api-key': ADMIN } })
    expect(res.status).toBe(200)
    const report = (await res.json()) as PrewarmReport
    expect(report).toMatchObject({ trigger: 'admin', status: 'completed' })
    const unknown = await s.app.request('/admin/prewarm', {
      method: 'POST',
      headers: { 'x-api-key': ADMIN },
      body: JSON.stringify({ schedule: 'nope' }),
    })
    expect(unknown.status).toBe(404)
    const before = (await (
      await s.app.request('/admin/stats', { headers: { 'x-api-key': ADMIN } })
    ).json()) as Record<string, number>
    const path = '/queries/top_pages?measure=sessions&start=2024-01-03'
    await s.app.request(path) // MISS
    await s.app.request(path) // HIT
    await s.app.request(path) // HIT
    const stats = (await (
      await s.app.request('/admin/stats', { headers: { 'x-api-key': ADMIN } })
    ).json()) as {
      hits: number
      misses: number
      athenaExecutions: number
      dataSavedBytes: number
      dataScannedBytes: number
      hitRatio: number
      topQueries: Array<{ query: string; parameters: Record<string, unknown>; reads: number }>
      lastPrewarm: PrewarmReport
    }
    expect(stats.hits - (before.hits ?? 0)).toBe(2)
    expect(stats.misses - (before.misses ?? 0)).toBe(1)
    expect(stats.athenaExecutions - (before.athenaExecutions ?? 0)).toBe(1)
    expect(stats.dataSavedBytes - (before.dataSavedBytes ?? 0)).toBeGreaterThan(0)
    expect(stats.hitRatio).toBeGreaterThan(0)
    expect(stats.hitRatio).toBeLessThan(1)
    expect(stats.topQueries).toContainEqual({
      query: 'top_pages',
      parameters: { measure: 'sessions', start: '2024-01-03', end: '2024-02-03', limit: 10 },
      reads: 3,
    })
    expect(stats.lastPrewarm.startedAt).toBe(report.startedAt)
  })

  it('admin routes are closed (403, saying why) without ADMIN_API_KEYS', async () => {
    const open = await startStack({ env: { CONFIG_DIR: dir } })
    try {
      for (const [method, path] of [
        ['POST', '/admin/prewarm'],
        ['GET', '/admin/stats'],
        ['POST', '/cache/invalidate'],
      ] as const) {
        const res = await open.app.request(path, { method, headers: { 'x-api-key': 'anything-at-all' } })
        expect(res.status).toBe(403)
        expect(((await res.json()) as { detail: string }).detail).toMatch(/ADMIN_API_KEYS/)
      }
    } finally {
      await open.close()
    }
  })
})

describe('prewarm shares the read lease', () => {
  let s: Stack
  let dir: string
  beforeAll(async () => {
    dir = await configDir(PREWARM_YAML)
    s = await startStack({ env: { CONFIG_DIR: dir }, minQueryMs: 600 })
  })
  afterAll(async () => {
    await s.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('a reader and a prewarm asking for the same key cause one execution', async () => {
    const sets = await loadSets(s, dir)
    const [first] = sets
    if (!first) throw new Error('no configured set')
    const params = new URLSearchParams(
      Object.entries(resolveSet(first, new Date())).map(([k, v]): [string, string] => [k, String(v)]),
    )
    const started = s.local.stats().executionsStarted
    const reading = s.app.request(`/analytics?${params}`)
    await new Promise((r) => setTimeout(r, 150))
    const report = await prewarmerWith(s, { sets: [first] }).run({ trigger: 'cli' })
    const res = await reading
    expect(res.headers.get('x-cache')).toBe('MISS')
    expect(report.items[0]?.action).toBe('refreshed')
    expect(s.local.stats().executionsStarted - started).toBe(1)
    const meta = ((await res.json()) as { meta: { queryExecutionId: string } }).meta
    expect(report.items[0]?.queryExecutionId).toBe(meta.queryExecutionId)
  })
})

/** The configured sets of the test's prewarm.yaml. */
async function loadSets(s: Stack, dir: string): Promise<PrewarmSettings['sets']> {
  return (await loadPrewarmSettings(dir, s.deps.service.catalog)).sets
}

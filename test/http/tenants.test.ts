// Tenants (tenants.yaml): each key sees only its own data — the values its reads are bound to, its own entries, its
// own executions. Real Redis, the local Athena through the AWS SDK, the app with no part of it replaced.
import { rm } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Stack, startStack } from '../helpers/stack.ts'
import { sha256Digest, TENANT_COUNTRY, TENANT_KEYS, tenantConfigDir } from '../helpers/tenant-config.ts'

const PATH = '/queries/country_daily?start=2024-01-01'
const ADMIN = 'admin-test-key-0123456789'
const PLAIN = 'plain-test-key-0123456789'

interface Body {
  rows: Array<{ dt: string; country: string; events: number }>
  meta: { parameters: Record<string, string> }
}

const as = (key: string, headers: Record<string, string> = {}) => ({
  headers: { 'x-api-key': key, ...headers },
})

describe('tenants: isolation through the cache key, the executions and the keys', () => {
  let s: Stack
  let configDir: string
  beforeAll(async () => {
    configDir = await tenantConfigDir({
      'prewarm.yaml': `concurrency: 2
popular: { topN: 0, windowHours: 24 }
queries:
  country_daily:
    - { start: '2024-01-15' }
`,
    })
    s = await startStack({
      env: { CONFIG_DIR: configDir, API_KEYS: PLAIN, ADMIN_API_KEYS: ADMIN },
      minQueryMs: 50,
    })
  })
  afterAll(async () => {
    await s?.close()
    if (configDir) await rm(configDir, { recursive: true, force: true })
  })

  it('two tenants reading the same URL each get their own country, entry and ETag; hits stay their own', async () => {
    const seen = new Map<string, string | null>()
    for (const round of [0, 1]) {
      for (const tenant of ['acme', 'globex'] as const) {
        const res = await s.app.request(PATH, as(TENANT_KEYS[tenant]))
        expect(res.status).toBe(200)
        expect(res.headers.get('x-cache')).toBe(round === 0 ? 'MISS' : 'HIT')
        expect(res.headers.get('cache-control')).toMatch(/^private/)
        expect(res.headers.get('vary')).toContain('x-api-key')
        const body = (await res.json()) as Body
        expect(body.rows.length).toBeGreaterThan(0)
        expect(new Set(body.rows.map((r) => r.country))).toEqual(new Set([TENANT_COUNTRY[tenant]]))
        expect(body.meta.parameters.country).toBe(TENANT_COUNTRY[tenant])
        if (round === 0) seen.set(tenant, res.headers.get('etag'))
        else expect(res.headers.get('etag')).toBe(seen.get(tenant))
      }
    }
    expect(seen.get('acme')).not.toBe(seen.get('globex'))
  })

  it('concurrent cold reads of one URL by both tenants, mixed: every answer is its caller’s', async () => {
    const path = '/queries/country_daily?start=2024-02-01'
    const callers = Array.from(
      { length: 120 },
      (_, i) => (i % 3 === 0 ? 'globex' : 'acme') as 'acme' | 'globex',
    )
    const answers = await Promise.all(
      callers.map(async (tenant) => {
        const res = await s.app.request(path, as(TENANT_KEYS[tenant]))
        const body = (await res.json()) as Body
        return { tenant, status: res.status, countries: new Set(body.rows.map((r) => r.country)) }
      }),
    )
    for (const a of answers) {
      expect(a.status).toBe(200)
      expect(a.countries).toEqual(new Set([TENANT_COUNTRY[a.tenant]]))
    }
  })

  it('a request may not set a tenant-bound parameter (400 naming it); no tenant value, no read (403)', async () => {
    const set = await s.app.request(`${PATH}&country=DE`, as(TENANT_KEYS.acme))
    expect(set.status).toBe(400)
    expect(((await set.json()) as { errors: Array<{ name: string }> }).errors.map((e) => e.name)).toEqual([
      'country',
    ])
    const initech = await s.app.request(PATH, as(TENANT_KEYS.initech))
    expect(initech.status).toBe(403)
    expect(((await initech.json()) as { detail: string }).detail).toContain("Tenant 'initech'")
    const plain = await s.app.request(PATH, as(PLAIN))
    expect(plain.status).toBe(403)
    const none = await s.app.request(PATH)
    expect(none.status).toBe(401)
    const wrong = await s.app.request(PATH, as('not-a-key-0123456789'))
    expect(wrong.status).toBe(403)
  })

  it('queries not bound to a tenant are still keyed per tenant: no tenant answers from another’s entry', async () => {
    const path = '/analytics?measure=signups&start=2024-03-01'
    const acme = await s.app.request(path, as(TENANT_KEYS.acme))
    expect(acme.headers.get('x-cache')).toBe('MISS')
    const globex = await s.app.request(path, as(TENANT_KEYS.globex))
    expect(globex.headers.get('x-cache')).toBe('MISS')
    const plain = await s.app.request(path, as(PLAIN))
    expect(plain.headers.get('x-cache')).toBe('MISS')
    expect((await s.app.request(path, as(TENANT_KEYS.acme))).headers.get('x-cache')).toBe('HIT')
  })

  it('an execution is visible to its tenant (and admins) only: another tenant gets a 404', async () => {
    const path = '/queries/country_daily?start=2024-03-10'
    const pending = await s.app.request(path, as(TENANT_KEYS.acme, { prefer: 'respond-async' }))
    expect(pending.status).toBe(202)
    const { statusUrl } = (await pending.json()) as { statusUrl: string }
    const other = await s.app.request(statusUrl, as(TENANT_KEYS.globex))
    expect(other.status).toBe(404)
    const untenanted = await s.app.request(statusUrl, as(PLAIN))
    expect(untenanted.status).toBe(404)
    await new Promise((r) => setTimeout(r, 300))
    const own = await s.app.request(statusUrl, as(TENANT_KEYS.acme))
    expect([200, 202]).toContain(own.status)
    const admin = await s.app.request(statusUrl, as(ADMIN))
    expect([200, 202]).toContain(admin.status)
    if (own.status === 200) {
      const body = (await own.json()) as Body
      expect(new Set(body.rows.map((r) => r.country))).toEqual(new Set(['US']))
    }
  })

  it('prewarm warms a tenant-bound configured set for each tenant with a value, as that tenant', async () => {
    const report = await s.deps.operations.prewarm({ trigger: 'admin' })
    expect(report.status).toBe('completed')
    const items = report.items.filter((i) => i.query === 'country_daily')
    // acme and globex (initech has no country): one entry each, refreshed with its own value.
    expect(items.map((i) => i.parameters.country).sort()).toEqual(['DE', 'US'])
    expect(items.every((i) => i.action === 'refreshed')).toBe(true)
    for (const tenant of ['acme', 'globex'] as const) {
      const res = await s.app.request('/queries/country_daily?start=2024-01-15', as(TENANT_KEYS[tenant]))
      expect(res.headers.get('x-cache')).toBe('HIT')
      const body = (await res.json()) as Body
      expect(new Set(body.rows.map((r) => r.country))).toEqual(new Set([TENANT_COUNTRY[tenant]]))
    }
  })
})

describe('tenant budgets: bytes scanned per day', () => {
  let s: Stack
  let configDir: string
  // The start of a UTC day: the TTL passes (12 hours) within the budget's day.
  let clock = Math.floor(Date.now() / 86_400_000) * 86_400_000 + 1_000
  beforeAll(async () => {
    configDir = await tenantConfigDir({
      'tenants.yaml': `tenants:
  acme:
    keys: ["${sha256Digest(TENANT_KEYS.acme)}"]
    parameters: { country: US }
    budget: { scannedBytesPerDay: 1 }
  globex:
    keys: ["${sha256Digest(TENANT_KEYS.globex)}"]
    parameters: { country: DE }
`,
    })
    s = await startStack({ env: { CONFIG_DIR: configDir, ADMIN_API_KEYS: ADMIN }, now: () => clock })
  })
  afterAll(async () => {
    await s?.close()
    if (configDir) await rm(configDir, { recursive: true, force: true })
  })

  it('over budget: hits are served, a miss gets the old result or a 429 with Retry-After; others are unaffected', async () => {
    const a = '/queries/country_daily?start=2024-01-01'
    const b = '/queries/country_daily?start=2024-02-01'
    const first = await s.app.request(a, as(TENANT_KEYS.acme))
    expect(first.status).toBe(200)
    expect(first.headers.get('x-cache')).toBe('MISS')
    const started = s.local.stats().executionsStarted
    // The first query spent the (one-byte) budget.
    const refused = await s.app.request(b, as(TENANT_KEYS.acme))
    expect(refused.status).toBe(429)
    expect(refused.headers.get('content-type')).toBe('application/problem+json')
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(86_400)
    expect(((await refused.json()) as { detail: string }).detail).toContain("Tenant 'acme'")
    expect((await s.app.request(a, as(TENANT_KEYS.acme))).headers.get('x-cache')).toBe('HIT')
    // Past its TTL (12 hours): served stale, and no refresh starts.
    clock += 43_201_000
    const stale = await s.app.request(a, as(TENANT_KEYS.acme))
    expect(stale.status).toBe(200)
    expect(stale.headers.get('x-cache')).toBe('STALE')
    await new Promise((r) => setTimeout(r, 200))
    expect(s.local.stats().executionsStarted).toBe(started)
    // globex has no budget.
    expect((await s.app.request(b, as(TENANT_KEYS.globex))).status).toBe(200)
    const stats = (await (await s.app.request('/admin/stats', as(ADMIN))).json()) as {
      tenants: Record<
        string,
        { scannedBytesToday: number; scannedBytesPerDay: number | null; reads: Record<string, number> }
      >
    }
    expect(stats.tenants.acme?.scannedBytesToday).toBeGreaterThan(0)
    // Reads per tenant, by outcome: acme had a MISS, a HIT and a STALE (the 429 is not a read that was answered).
    expect(stats.tenants.acme?.reads).toMatchObject({ misses: 1, hits: 1, stale: 1 })
    expect(stats.tenants.globex?.reads).toMatchObject({ misses: 1, hits: 0 })
    expect(stats.tenants.acme?.scannedBytesPerDay).toBe(1)
    expect(stats.tenants.globex?.scannedBytesPerDay).toBeNull()
    expect(stats.tenants.globex?.scannedBytesToday).toBeGreaterThan(0)
  })
})

describe('popularity and prewarm per tenant', () => {
  let s: Stack
  let configDir: string
  beforeAll(async () => {
    configDir = await tenantConfigDir({
      'prewarm.yaml': 'popular: { topN: 1, windowHours: 24 }\nqueries: {}\n',
    })
    s = await startStack({ env: { CONFIG_DIR: configDir, ADMIN_API_KEYS: ADMIN } })
  })
  afterAll(async () => {
    await s?.close()
    if (configDir) await rm(configDir, { recursive: true, force: true })
  })

  it('each tenant gets its own top N: a busy tenant does not crowd a quiet one out of the prewarm', async () => {
    for (let i = 0; i < 4; i++)
      await (
        await s.app.request('/queries/country_daily?start=2024-01-08', as(TENANT_KEYS.acme))
      ).arrayBuffer()
    await (
      await s.app.request('/queries/country_daily?start=2024-02-08', as(TENANT_KEYS.globex))
    ).arrayBuffer()
    const report = await s.deps.operations.prewarm({ trigger: 'admin' })
    const popular = report.items.filter((i) => i.source === 'popular')
    expect(popular.map((i) => `${i.parameters.country} ${i.parameters.start}`).sort()).toEqual([
      'DE 2024-02-08',
      'US 2024-01-08',
    ])
    expect(popular.find((i) => i.parameters.country === 'US')?.reads).toBe(4)
  })
})

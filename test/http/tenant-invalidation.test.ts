// Tenant-scoped invalidation: `"tenant": "<id>"` narrows {query} / {tags} / {all} / one entry to that tenant's
// entries, through the generation stamps (a `te:`/`td:` field per tenant in each query's hash). Real Redis, the
// local Athena through the AWS SDK; the HTTP route, the Lambda operation event and `acp invalidate --tenant`.
import { rm } from 'node:fs/promises'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { runAcp } from '../helpers/processes.ts'
import { type Stack, startStack } from '../helpers/stack.ts'
import { TENANT_KEYS, tenantConfigDir } from '../helpers/tenant-config.ts'

const PATH = '/queries/country_daily?start=2024-01-01'
const ADMIN = 'admin-test-key-0123456789'
const PLAIN = 'plain-test-key-0123456789'

type Tenant = 'acme' | 'globex'

async function read(s: Stack, tenant: Tenant): Promise<string | null> {
  const res = await s.app.request(PATH, { headers: { 'x-api-key': TENANT_KEYS[tenant] } })
  expect(res.status).toBe(200)
  await res.arrayBuffer()
  return res.headers.get('x-cache')
}

async function invalidate(s: Stack, body: unknown): Promise<Response> {
  return s.app.request('/cache/invalidate', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': ADMIN },
    body: JSON.stringify(body),
  })
}

/** Waits until the background refresh of a STALE answer has stored its entry. */
async function untilHit(s: Stack, tenant: Tenant): Promise<void> {
  const giveUp = Date.now() + 5_000
  while ((await read(s, tenant)) !== 'HIT') {
    if (Date.now() > giveUp) throw new Error(`${tenant}'s entry was not refreshed`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('tenant-scoped invalidation (real Redis, local Athena)', () => {
  let s: Stack
  let configDir: string
  beforeAll(async () => {
    configDir = await tenantConfigDir()
    s = await startStack({ env: { CONFIG_DIR: configDir, API_KEYS: PLAIN, ADMIN_API_KEYS: ADMIN } })
  })
  afterAll(async () => {
    await s?.close()
    if (configDir) await rm(configDir, { recursive: true, force: true })
  })
  beforeEach(async () => {
    // Every test starts with both tenants' entries of PATH computed and fresh.
    expect((await invalidate(s, { all: true, mode: 'delete' })).status).toBe(200)
    for (const tenant of ['acme', 'globex'] as const) {
      expect(await read(s, tenant)).toBe('MISS')
      expect(await read(s, tenant)).toBe('HIT')
    }
  })

  it("one tenant's query, expire: its entry is STALE then refreshed; the other tenant's stays HIT", async () => {
    const res = await invalidate(s, { query: 'country_daily', tenant: 'acme' })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({
      scope: 'query',
      mode: 'expire',
      tenant: 'acme',
      queries: ['country_daily'],
    })
    expect(await read(s, 'globex')).toBe('HIT')
    expect(await read(s, 'acme')).toBe('STALE')
    await untilHit(s, 'acme')
    expect(await read(s, 'globex')).toBe('HIT')
  })

  it("one tenant's everything, delete: its next read is a MISS; the other tenant's stays HIT", async () => {
    const res = await invalidate(s, { all: true, tenant: 'globex', mode: 'delete' })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ scope: 'all', tenant: 'globex' })
    expect(await read(s, 'acme')).toBe('HIT')
    expect(await read(s, 'globex')).toBe('MISS')
    expect(await read(s, 'globex')).toBe('HIT')
  })

  it("one entry with a tenant is that tenant's entry: resolved with its bound values", async () => {
    const res = await invalidate(s, {
      query: 'country_daily',
      parameters: { start: '2024-01-01' },
      tenant: 'globex',
      mode: 'delete',
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({
      scope: 'entry',
      tenant: 'globex',
      entry: { query: 'country_daily', parameters: { country: 'DE', start: '2024-01-01' } },
    })
    expect(await read(s, 'acme')).toBe('HIT')
    expect(await read(s, 'globex')).toBe('MISS')
  })

  it('without a tenant, an invalidation still reaches every tenant', async () => {
    expect((await invalidate(s, { query: 'country_daily' })).status).toBe(200)
    expect(await read(s, 'acme')).toBe('STALE')
    expect(await read(s, 'globex')).toBe('STALE')
    await untilHit(s, 'acme')
    await untilHit(s, 'globex')
    // A tenant's own stamp older than a later admin-wide one does not keep hiding its refreshed entry.
    expect((await invalidate(s, { query: 'country_daily', tenant: 'acme', mode: 'delete' })).status).toBe(200)
    expect((await invalidate(s, { query: 'country_daily', mode: 'delete' })).status).toBe(200)
    expect(await read(s, 'acme')).toBe('MISS')
    expect(await read(s, 'acme')).toBe('HIT')
  })

  it('an unknown tenant is a 400 naming the known ones, and invalidates nothing', async () => {
    const res = await invalidate(s, { all: true, tenant: 'umbrella', mode: 'delete' })
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    const problem = (await res.json()) as { detail: string }
    expect(problem.detail).toContain("No tenant 'umbrella' (known: acme, globex, initech)")
    expect(await read(s, 'acme')).toBe('HIT')
    expect(await read(s, 'globex')).toBe('HIT')
  })

  it('the Lambda operation event takes the tenant too', async () => {
    const report = await s.deps.operations.handleEvent({
      action: 'invalidate',
      query: 'country_daily',
      tenant: 'acme',
      mode: 'delete',
    } as { action: string })
    expect(report).toMatchObject({ scope: 'query', tenant: 'acme', rewarm: null })
    expect(await read(s, 'globex')).toBe('HIT')
    expect(await read(s, 'acme')).toBe('MISS')
  })

  it('acp invalidate --tenant, on the shared Redis', async () => {
    const run = await runAcp(
      ['invalidate', '--query', 'country_daily', '--tenant', 'globex', '--mode', 'delete', '--json'],
      {
        REDIS_URL: s.redis.url,
        CACHE_PREFIX: s.redis.prefix,
        CONFIG_DIR: configDir,
        QUERY_ENGINE: 'local',
        ATHENA_ENDPOINT: s.local.endpoint,
        LOG_LEVEL: 'warn',
      },
      { timeoutMs: 60_000 },
    )
    expect(run.code, run.stderr).toBe(0)
    expect(run.stderr).toContain('deleted (query, tenant globex): country_daily')
    expect(JSON.parse(run.stdout)).toMatchObject({ scope: 'query', tenant: 'globex' })
    // The CLI's announcement drops this process's in-process tier; it arrives asynchronously.
    const giveUp = Date.now() + 5_000
    let cache = await read(s, 'globex')
    while (cache === 'HIT' && Date.now() < giveUp) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      cache = await read(s, 'globex')
    }
    expect(cache).toBe('MISS')
    expect(await read(s, 'acme')).toBe('HIT')

    const unknown = await runAcp(['invalidate', '--all', '--tenant', 'umbrella'], {
      CONFIG_DIR: configDir,
      REDIS_URL: s.redis.url,
      CACHE_PREFIX: s.redis.prefix,
      QUERY_ENGINE: 'local',
      ATHENA_ENDPOINT: s.local.endpoint,
      LOG_LEVEL: 'warn',
    })
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain("No tenant 'umbrella' (known: acme, globex, initech)")
  })
})

// The leak test of tenancy: three `acp serve` processes sharing one Redis and one Athena-compatible endpoint (its own
// process), two tenants bound to different countries reading the same URLs at the same time, cold and warm, JSON and
// CSV, gzip and plain, sync and async (202 → /executions/{id}). Every answer must carry its own tenant's rows only.
import { rm } from 'node:fs/promises'
import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import {
  type LocalAthenaProcess,
  type ServeProcess,
  serveEnv,
  startLocalAthenaProcess,
  startServeProcess,
  stopAllChildren,
} from '../helpers/processes.ts'
import { testRedis } from '../helpers/redis-client.ts'
import { TENANT_COUNTRY, TENANT_KEYS, tenantConfigDir } from '../helpers/tenant-config.ts'

type Tenant = keyof typeof TENANT_COUNTRY
const TENANTS: readonly Tenant[] = ['acme', 'globex']

/** 60 days: 60 distinct URLs per format, each read by both tenants in five passes, the first cold. */
const STARTS = Array.from({ length: 60 }, (_, i) =>
  new Date(Date.UTC(2024, 0, 1 + i)).toISOString().slice(0, 10),
)

describe('tenants across three processes: no response ever carries another tenant’s rows', () => {
  let redis: Awaited<ReturnType<typeof testRedis>>
  let athena: LocalAthenaProcess
  let servers: ServeProcess[] = []
  let configDir: string

  beforeAll(async () => {
    redis = await testRedis()
    configDir = await tenantConfigDir()
    athena = await startLocalAthenaProcess({ dataDir: inject('dataDir'), minQueryMs: 30 })
    const env = serveEnv({
      redisUrl: redis.url,
      prefix: redis.prefix,
      athenaEndpoint: athena.endpoint,
      dataDir: inject('dataDir'),
      extra: { CONFIG_DIR: configDir, LOG_REQUESTS: 'false', REDIS_COMMAND_TIMEOUT_MS: '5000' },
    })
    servers = await Promise.all([0, 1, 2].map(() => startServeProcess(env)))
  }, 120_000)
  afterAll(async () => {
    await stopAllChildren()
    await redis?.cleanup()
    if (configDir) await rm(configDir, { recursive: true, force: true })
  })

  /** The countries in a response body of any of the formats asked for. */
  function countriesOf(format: 'json' | 'csv', body: string): Set<string> {
    if (format === 'json')
      return new Set((JSON.parse(body) as { rows: Array<{ country: string }> }).rows.map((r) => r.country))
    const lines = body.split('\r\n').filter((l) => l !== '')
    const column = lines[0]?.split(',').indexOf('country') ?? -1
    return new Set(lines.slice(1).map((l) => l.split(',')[column] ?? ''))
  }

  it('1,200 mixed requests: cold and warm, JSON and CSV, gzip and plain, async and sync', async () => {
    const requests: Array<{
      tenant: Tenant
      server: ServeProcess
      path: string
      format: 'json' | 'csv'
      gzip: boolean
      async: boolean
    }> = []
    let n = 0
    for (const pass of [0, 1, 2, 3, 4])
      for (const start of STARTS)
        for (const tenant of TENANTS)
          for (const format of ['json', 'csv'] as const) {
            n++
            requests.push({
              tenant,
              server: servers[n % 3] as ServeProcess,
              path: `/queries/country_daily?start=${start}${format === 'csv' ? '&format=csv' : ''}`,
              format,
              gzip: n % 2 === 0,
              // Some cold reads ask for 202 and follow /executions/{id} (with their own key).
              async: pass === 0 && n % 5 === 0,
            })
          }
    for (let i = requests.length - 1; i > 0; i--) {
      const j = (i * 7919) % (i + 1)
      ;[requests[i], requests[j]] = [
        requests[j] as (typeof requests)[number],
        requests[i] as (typeof requests)[number],
      ]
    }
    expect(requests.length).toBeGreaterThanOrEqual(1000)
    const outcomes = new Map<string, number>()
    let leaks = 0
    let checked = 0
    const one = async (r: (typeof requests)[number]) => {
      const headers: Record<string, string> = {
        'x-api-key': TENANT_KEYS[r.tenant],
        'accept-encoding': r.gzip ? 'gzip' : 'identity',
        ...(r.async ? { prefer: 'respond-async' } : {}),
      }
      let res = await fetch(`${r.server.url}${r.path}`, { headers })
      if (res.status === 202) {
        const { statusUrl } = (await res.json()) as { statusUrl: string }
        const follow = r.format === 'json' ? statusUrl : r.path
        for (let i = 0; i < 200; i++) {
          res = await fetch(`${r.server.url}${follow}`, { headers: { 'x-api-key': TENANT_KEYS[r.tenant] } })
          if (res.status !== 202) break
          await res.arrayBuffer()
          await new Promise((resolve) => setTimeout(resolve, 25))
        }
      }
      expect(res.status, `${r.tenant} ${r.path}`).toBe(200)
      const raw = Buffer.from(await res.arrayBuffer())
      // fetch inflates gzip itself; a body still starting with gzip's magic would be a double encoding.
      const text = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw).toString() : raw.toString()
      const countries = countriesOf(r.format, text)
      checked++
      if (countries.size !== 1 || !countries.has(TENANT_COUNTRY[r.tenant])) leaks++
      const cache = res.headers.get('x-cache') ?? 'none'
      outcomes.set(cache, (outcomes.get(cache) ?? 0) + 1)
    }
    // 24 requests in flight at a time.
    let next = 0
    await Promise.all(
      Array.from({ length: 24 }, async () => {
        while (next < requests.length) await one(requests[next++] as (typeof requests)[number])
      }),
    )
    process.stderr.write(
      `tenant leak test: ${checked} responses checked, ${leaks} leaks; outcomes ${JSON.stringify(Object.fromEntries(outcomes))}\n`,
    )
    expect(checked).toBe(requests.length)
    expect(leaks).toBe(0)
    expect(outcomes.get('HIT') ?? 0).toBeGreaterThan(requests.length / 2)
  }, 240_000)

  it('another tenant’s execution id is a 404 on every process', async () => {
    const res = await fetch(`${servers[0]?.url}/queries/country_daily?start=2024-03-20`, {
      headers: { 'x-api-key': TENANT_KEYS.acme, prefer: 'respond-async' },
    })
    expect(res.status).toBe(202)
    const { statusUrl } = (await res.json()) as { statusUrl: string }
    for (const server of servers) {
      const other = await fetch(`${server.url}${statusUrl}`, { headers: { 'x-api-key': TENANT_KEYS.globex } })
      expect(other.status).toBe(404)
    }
  })
})

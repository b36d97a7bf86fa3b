import { BatchGetQueryExecutionCommand, ListQueryExecutionsCommand } from '@aws-sdk/client-athena'
import { afterEach, describe, expect, it } from 'vitest'
import { ChaosCacheStore } from '../helpers/chaos-cache-store.ts'
import { type Stack, startStack } from '../helpers/stack.ts'

// analytics: ttlSeconds 43200, staleSeconds 86400, staleIfErrorSeconds 86400 (wrangler-free-config/queries.yaml)
const TTL = 43_200_000
const STALE = 86_400_000
const STALE_IF_ERROR = 86_400_000
const Q = '/analytics?measure=sessions&start=2024-02-01'

interface Body {
  meta: { queryExecutionId: string; computedAt: string }
  rows: unknown[]
}

let stack: Stack | undefined
afterEach(async () => {
  await stack?.close()
  stack = undefined
})

/** A stack whose service runs on a clock the test moves. */
async function clocked(options: Parameters<typeof startStack>[0] = {}) {
  let now = Date.UTC(2026, 0, 1)
  stack = await startStack({ ...options, now: () => now })
  const s = stack
  const get = async (path = Q, headers: Record<string, string> = {}) => {
    const res = await s.app.request(path, { headers })
    return {
      res,
      cache: res.headers.get('x-cache'),
      body: res.status === 200 ? ((await res.json()) as Body) : undefined,
    }
  }
  const executions = () => s.local.stats().executionsStarted
  /** Waits (real time) until `predicate` holds: background work runs on real timers. */
  const until = async (predicate: () => Promise<boolean> | boolean, ms = 10_000) => {
    const deadline = Date.now() + ms
    while (!(await predicate())) {
      if (Date.now() > deadline) throw new Error('condition not reached')
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  return { s, get, executions, until, advance: (ms: number) => (now += ms), now: () => now }
}

describe('freshness timeline (fake clock, real Redis and local Athena)', () => {
  it('fresh → stale (served at once, one refresh) → fresh again → expired', async () => {
    const t = await clocked()
    const first = await t.get()
    expect(first.cache).toBe('MISS')
    expect(t.executions()).toBe(1)

    t.advance(TTL - 1_000)
    expect((await t.get()).cache).toBe('HIT')
    expect(t.executions()).toBe(1)

    t.advance(2_000) // 1 s past the TTL: stale
    const stale = await Promise.all(Array.from({ length: 10 }, () => t.get()))
    expect(stale.map((r) => r.cache)).toEqual(Array(10).fill('STALE'))
    expect(stale[0]?.res.headers.get('cache-status')).toBe('athena-cache-proxy; hit; ttl=-1') // RFC 9211: a stale hit
    expect(stale[0]?.body?.meta.queryExecutionId).toBe(first.body?.meta.queryExecutionId)
    await t.until(() => t.executions() === 2)
    await t.until(async () => (await t.get()).cache === 'HIT')
    expect(t.executions()).toBe(2) // ten stale reads, exactly one refresh
    const refreshed = await t.get()
    expect(refreshed.body?.meta.queryExecutionId).not.toBe(first.body?.meta.queryExecutionId)

    t.advance(TTL + STALE + STALE_IF_ERROR + 1_000) // past every window: a plain miss
    expect((await t.get()).cache).toBe('MISS')
    expect(t.executions()).toBe(3)
  })

  it('stale-if-error: past the stale window a failed refresh serves the old entry; a user error does not', async () => {
    const t = await clocked()
    const first = await t.get()
    t.advance(TTL + STALE + 60_000)
    t.s.local.faults.add({ kind: 'fail', category: 1, message: 'INTERNAL_ERROR: injected', times: 1 })
    const degraded = await t.get()
    expect(degraded.res.status).toBe(200)
    expect(degraded.cache).toBe('STALE')
    expect(degraded.body?.meta.queryExecutionId).toBe(first.body?.meta.queryExecutionId)

    t.s.local.faults.add({ kind: 'throttle', operation: 'StartQueryExecution', times: 8 })
    const throttled = await t.get()
    expect(throttled.res.status).toBe(200)
    expect(throttled.cache).toBe('STALE')
    t.s.local.faults.clear()

    t.s.local.faults.add({ kind: 'fail', category: 2, message: 'COLUMN_NOT_FOUND: injected', times: 1 })
    expect((await t.get()).res.status).toBe(422)
  })

  it('user errors are cached briefly: no second execution inside ERROR_TTL_SECONDS', async () => {
    const t = await clocked()
    t.s.local.faults.add({ kind: 'fail', category: 2, message: 'SYNTAX_ERROR: injected' })
    const a = await t.get()
    expect(a.res.status).toBe(422)
    const b = await t.get()
    expect(b.res.status).toBe(422)
    expect(b.cache).toBe('HIT')
    expect(((await b.res.json()) as { detail: string }).detail).toContain('SYNTAX_ERROR: injected')
    expect(t.executions()).toBe(1)
    t.s.local.faults.clear()
    t.advance(31_000)
    expect((await t.get()).res.status).toBe(200)
    expect(t.executions()).toBe(2)
  })

  it('detached refresh (Lambda): a stale read starts the query; a later read collects it', async () => {
    const t = await clocked({ background: 'detach' })
    const first = await t.get()
    t.advance(TTL + 1_000)
    expect((await t.get()).cache).toBe('STALE')
    expect(t.executions()).toBe(2) // started, recorded in the lease, not awaited
    expect((await t.get()).cache).toBe('STALE')
    await new Promise((r) => setTimeout(r, 300)) // the execution finishes (real time)
    await t.get() // finds it SUCCEEDED and collects it
    const after = await t.get()
    expect(after.cache).toBe('HIT')
    expect(after.body?.meta.queryExecutionId).not.toBe(first.body?.meta.queryExecutionId)
    expect(t.executions()).toBe(2)
  })
})

describe('async mode and degradation', () => {
  it('Prefer: respond-async → 202 with Location; /executions/{id} → 202 while running, then the result', async () => {
    stack = await startStack({ minQueryMs: 600 })
    const s = stack
    const res = await s.app.request(Q, { headers: { Prefer: 'respond-async' } })
    expect(res.status).toBe(202)
    const body = (await res.json()) as { executionId: string; state: string; statusUrl: string }
    expect(body.statusUrl).toBe(`/executions/${body.executionId}`)
    expect(res.headers.get('location')).toBe(body.statusUrl)
    const running = await s.app.request(body.statusUrl)
    expect(running.status).toBe(202)
    expect(running.headers.get('retry-after')).toBe('1')
    expect(((await running.json()) as { state: string }).state).toMatch(/QUEUED|RUNNING/)
    await new Promise((r) => setTimeout(r, 900))
    const done = await s.app.request(body.statusUrl)
    expect(done.status).toBe(200)
    const result = (await done.json()) as Body
    expect(result.meta.queryExecutionId).toBe(body.executionId)
    expect(result.rows.length).toBeGreaterThan(0)
    // the same query now hits the cache, with the same execution
    const hit = await s.app.request(Q)
    expect(hit.headers.get('x-cache')).toBe('HIT')
    expect(s.local.stats().executionsStarted).toBe(1)
    expect((await s.app.request('/executions/00000000-0000-4000-8000-000000000000')).status).toBe(404)
    expect((await s.app.request('/executions/..%2F..%2Fetc')).status).toBe(404)
  })

  it('a miss still running at SYNC_DEADLINE_MS answers 202; the query is not stopped', async () => {
    stack = await startStack({ minQueryMs: 1_200, env: { SYNC_DEADLINE_MS: '300' } })
    const s = stack
    const res = await s.app.request(Q)
    expect(res.status).toBe(202)
    const { statusUrl } = (await res.json()) as { statusUrl: string }
    await new Promise((r) => setTimeout(r, 1_300))
    expect((await s.app.request(statusUrl)).status).toBe(200)
    expect((await s.app.request(Q)).headers.get('x-cache')).toBe('HIT')
  })

  it('DELETE /executions/{id} needs an admin key, stops the query and clears the lease', async () => {
    stack = await startStack({ minQueryMs: 5_000, env: { ADMIN_API_KEYS: 'admin-key-0001' } })
    const s = stack
    const res = await s.app.request(Q, { headers: { Prefer: 'respond-async' } })
    const { executionId, statusUrl } = (await res.json()) as { executionId: string; statusUrl: string }
    expect((await s.app.request(statusUrl, { method: 'DELETE' })).status).toBe(401)
    expect(
      (await s.app.request(statusUrl, { method: 'DELETE', headers: { 'x-api-key': 'nope-nope' } })).status,
    ).toBe(403)
    const stopped = await s.app.request(statusUrl, {
      method: 'DELETE',
      headers: { 'x-api-key': 'admin-key-0001' },
    })
    expect(stopped.status).toBe(200)
    expect(await stopped.json()).toEqual({ executionId, stopped: true })
    await new Promise((r) => setTimeout(r, 100))
    expect((await s.app.request(statusUrl)).status).toBe(502) // CANCELLED
    expect(
      await s.deps.store.get(
        s.deps.keys.lease(
          s.deps.service.resolve('analytics', { measure: 'sessions', start: '2024-02-01' }).key,
        ),
      ),
    ).toBeNull()
  })

  it('admin routes answer 403 when ADMIN_API_KEYS is unset, saying so', async () => {
    stack = await startStack()
    const res = await stack.app.request('/executions/abc', { method: 'DELETE' })
    expect(res.status).toBe(403)
    expect(((await res.json()) as { detail: string }).detail).toContain('ADMIN_API_KEYS')
  })

  it('a corrupt entry is a miss and is replaced', async () => {
    stack = await startStack()
    const s = stack
    const key = s.deps.service.resolve('analytics', { measure: 'sessions', start: '2024-02-01' }).key
    await s.redis.redis.set(key, 'garbage that is not an entry')
    const res = await s.app.request(Q)
    expect(res.status).toBe(200)
    expect(res.headers.get('x-cache')).toBe('MISS')
    expect((await s.app.request(Q)).headers.get('x-cache')).toBe('HIT')
  })

  it('the L1 tier serves within its TTL and never beyond it', async () => {
    let now = Date.UTC(2026, 0, 1)
    stack = await startStack({ env: { L1_TTL_MS: '1000' }, now: () => now })
    const s = stack
    expect((await s.app.request(Q)).headers.get('x-cache')).toBe('MISS')
    const key = s.deps.service.resolve('analytics', { measure: 'sessions', start: '2024-02-01' }).key
    await s.redis.redis.del(key) // gone from Redis, still in L1
    expect((await s.app.request(Q)).headers.get('x-cache')).toBe('HIT')
    now += 1_001
    expect((await s.app.request(Q)).headers.get('x-cache')).toBe('MISS')
  })

  it('Redis down: answers BYPASS from the engine (never a 5xx), /health degraded, HIT again after recovery', async () => {
    let chaos: ChaosCacheStore | undefined
    stack = await startStack({
      env: { CACHE_BREAKER_OPEN_MS: '1500' },
      wrapStore: (store) => {
        chaos = new ChaosCacheStore(store)
        return chaos
      },
    })
    const s = stack
    const c = chaos as ChaosCacheStore
    expect((await s.app.request(Q)).headers.get('x-cache')).toBe('MISS')
    c.failing = true
    const during = await Promise.all(Array.from({ length: 10 }, () => s.app.request(Q)))
    expect(during.map((r) => r.status)).toEqual(Array(10).fill(200))
    expect(during.map((r) => r.headers.get('x-cache'))).toEqual(Array(10).fill('BYPASS'))
    const health = (await (await s.app.request('/health')).json()) as { status: string; reason: string }
    expect(health.status).toBe('degraded')
    expect(health.reason).toMatch(/cache/)
    // what cannot work without the cache says so: 503 with Retry-After, not a 500
    const execution = await s.app.request('/executions/00000000-0000-4000-8000-000000000000')
    expect(execution.status).toBe(503)
    expect(execution.headers.get('retry-after')).toBe('1')
    expect(execution.headers.get('content-type')).toBe('application/problem+json')
    // the breaker is open: requests no longer touch the store at all
    const callsOpen = c.calls
    await s.app.request(Q)
    expect(c.calls).toBe(callsOpen)
    c.failing = false
    await new Promise((r) => setTimeout(r, 1_600))
    const statuses: string[] = []
    for (let i = 0; i < 5; i++) statuses.push((await s.app.request(Q)).headers.get('x-cache') ?? '')
    expect(statuses).toContain('HIT')
    expect(((await (await s.app.request('/health')).json()) as { status: string }).status).toBe('ok')
  })

  it('Athena result reuse is requested (MaxAgeInMinutes within the TTL) and honoured', async () => {
    stack = await startStack()
    const s = stack
    await s.app.request(Q)
    const key = s.deps.service.resolve('analytics', { measure: 'sessions', start: '2024-02-01' }).key
    await s.redis.redis.del(key)
    await s.app.request(Q)
    const ids = (await s.deps.athena.send(new ListQueryExecutionsCommand({}))).QueryExecutionIds ?? []
    const executions =
      (await s.deps.athena.send(new BatchGetQueryExecutionCommand({ QueryExecutionIds: ids })))
        .QueryExecutions ?? []
    expect(executions).toHaveLength(2)
    for (const e of executions)
      expect(e.ResultReuseConfiguration?.ResultReuseByAgeConfiguration).toEqual({
        Enabled: true,
        MaxAgeInMinutes: 60,
      })
    expect(executions.map((e) => e.Statistics?.ResultReuseInformation?.ReusedPreviousResult).sort()).toEqual([
      false,
      true,
    ])
  })
})

// The engine's deadlines, in process: the real service and the embedded local Athena endpoint reached through a TCP
// proxy that can stall (accepts, forwards nothing), as a hung endpoint or a stalled network path does.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { type LocalAthena, startLocalAthena } from '../../local/athena-server.ts'
import { createApp } from '../../src/app.ts'
import { buildDeps, type Deps } from '../../src/build-deps.ts'
import { MemoryCacheStore } from '../../src/cache/memory-cache-store.ts'
import { loadSettings } from '../../src/config/settings.ts'
import { createLogger } from '../../src/logger.ts'
import type { BackgroundMode } from '../../src/service/query-service.ts'
import { startStallProxy } from '../helpers/stall-proxy.ts'

const Q = '/analytics?measure=sessions&start=2024-02-01'
const DAY_MS = 86_400_000

let local: LocalAthena

beforeAll(async () => {
  local = await startLocalAthena({ dataDir: inject('dataDir'), port: 0, minQueryMs: 0 })
})
afterAll(async () => {
  await local.close()
})

async function setup(env: Record<string, string>, options: { background?: BackgroundMode } = {}) {
  const { hostname, port } = new URL(local.endpoint)
  const proxy = await startStallProxy({ host: hostname, port: Number(port) })
  let now = Date.now()
  const config = await loadSettings(
    { LOG_LEVEL: 'silent', QUERY_ENGINE: 'local', POLL_INITIAL_DELAY_MS: '20', ...env },
    { defaultEngine: 'local' },
  )
  const deps: Deps = await buildDeps(config, {
    logger: createLogger({ level: 'silent', sync: true }),
    athenaEndpoint: proxy.endpoint,
    store: new MemoryCacheStore({ maxBytes: 16 * 1024 * 1024 }),
    now: () => now,
    ...(options.background ? { background: options.background } : {}),
  })
  const app = createApp(deps)
  return {
    app,
    proxy,
    advance: (ms: number) => {
      now += ms
    },
    async timed(path = Q, headers: Record<string, string> = {}) {
      const t0 = performance.now()
      const res = await app.request(path, { headers })
      const body = await res.text()
      return { res, body, ms: performance.now() - t0 }
    },
    async close() {
      proxy.resume()
      await deps.close()
      await proxy.close()
    },
  }
}

type Setup = Awaited<ReturnType<typeof setup>>

function expectEngineTimeout(answer: Awaited<ReturnType<Setup['timed']>>, slug: string): void {
  expect(answer.res.status).toBe(504)
  expect(answer.res.headers.get('content-type')).toBe('application/problem+json')
  expect(Number(answer.res.headers.get('retry-after'))).toBeGreaterThan(0)
  expect(JSON.parse(answer.body)).toMatchObject({
    status: 504,
    type: `urn:athena-cache-proxy:problem:${slug}`,
  })
}

describe('SYNC_DEADLINE_MS bounds the whole request, the start of the query included', () => {
  it('a start that hangs: 504 problem+json with Retry-After at the deadline; the computation goes on after', async () => {
    const s = await setup({ SYNC_DEADLINE_MS: '500' })
    try {
      s.proxy.stall()
      const answer = await s.timed()
      expectEngineTimeout(answer, 'engine-timeout')
      expect(answer.ms).toBeGreaterThanOrEqual(450)
      expect(answer.ms).toBeLessThan(1_000)
      // Prefer: respond-async gets no 202 without an execution either, and no longer wait.
      const async = await s.timed(Q, { prefer: 'respond-async' })
      expectEngineTimeout(async, 'engine-timeout')
      expect(async.ms).toBeLessThan(1_000)
      s.proxy.resume()
      // The computation that hung goes on and stores its entry: the next reads hit it.
      let after = await s.timed()
      for (let i = 0; i < 30 && after.res.headers.get('x-cache') !== 'HIT'; i++) {
        await new Promise((r) => setTimeout(r, 100))
        after = await s.timed()
      }
      expect(after.res.status).toBe(200)
      expect(after.res.headers.get('x-cache')).toBe('HIT')
    } finally {
      await s.close()
    }
  })

  it('with an old entry at hand (past its stale window): stale-if-error at the deadline', async () => {
    const s = await setup({ SYNC_DEADLINE_MS: '500' })
    try {
      expect((await s.timed()).res.headers.get('x-cache')).toBe('MISS')
      s.advance(1.6 * DAY_MS) // past ttlSeconds (12 h) + staleSeconds (1 d), within staleIfErrorSeconds (1 d)
      s.proxy.stall()
      const answer = await s.timed()
      expect(answer.res.status).toBe(200)
      expect(answer.res.headers.get('x-cache')).toBe('STALE')
      expect(answer.ms).toBeLessThan(1_000)
    } finally {
      await s.close()
    }
  })

  it('on Lambda (detach), a stale read whose refresh start hangs is answered by the deadline', async () => {
    const s = await setup({ SYNC_DEADLINE_MS: '500' }, { background: 'detach' })
    try {
      expect((await s.timed()).res.headers.get('x-cache')).toBe('MISS')
      s.advance(0.6 * DAY_MS) // stale, within the stale window: served at once, one refresh started
      s.proxy.stall()
      const answer = await s.timed()
      expect(answer.res.status).toBe(200)
      expect(answer.res.headers.get('x-cache')).toBe('STALE')
      expect(answer.ms).toBeLessThan(1_000)
    } finally {
      await s.close()
    }
  })
})

describe('every Athena call has a request timeout, and QUERY_TIMEOUT_MS bounds the whole computation', () => {
  it('ATHENA_REQUEST_TIMEOUT_MS: a call that gets no answer fails as a 504 engine-timeout', async () => {
    const s = await setup({
      ATHENA_REQUEST_TIMEOUT_MS: '300',
      ATHENA_MAX_ATTEMPTS: '1',
      SYNC_DEADLINE_MS: '5000',
    })
    try {
      s.proxy.stall()
      const answer = await s.timed()
      expectEngineTimeout(answer, 'engine-timeout')
      expect(JSON.parse(answer.body).detail).toMatch(/StartQueryExecution did not answer in time/)
      expect(answer.ms).toBeLessThan(1_500)
    } finally {
      await s.close()
    }
  })

  it('QUERY_TIMEOUT_MS: a computation whose start hangs fails at the query timeout', async () => {
    const s = await setup({ QUERY_TIMEOUT_MS: '600', SYNC_DEADLINE_MS: '5000' })
    try {
      s.proxy.stall()
      const answer = await s.timed()
      expect(answer.res.status).toBe(504)
      expect(JSON.parse(answer.body)).toMatchObject({ type: 'urn:athena-cache-proxy:problem:query-timeout' })
      expect(answer.ms).toBeGreaterThanOrEqual(550)
      expect(answer.ms).toBeLessThan(1_500)
    } finally {
      await s.close()
    }
  })

  it('QUERY_TIMEOUT_MS: a result fetch that hangs fails at the query timeout too', async () => {
    const s = await setup({ QUERY_TIMEOUT_MS: '1000', SYNC_DEADLINE_MS: '5000' })
    try {
      // The query runs and succeeds; only GetQueryResults gets no answer (the result writer passes no signal).
      s.proxy.stallOn('AmazonAthena.GetQueryResults')
      const answer = await s.timed('/analytics?measure=pageviews&start=2024-03-03')
      expect(answer.res.status).toBe(504)
      expect(JSON.parse(answer.body)).toMatchObject({ type: 'urn:athena-cache-proxy:problem:query-timeout' })
      expect(answer.ms).toBeGreaterThanOrEqual(950)
      expect(answer.ms).toBeLessThan(2_000)
    } finally {
      await s.close()
    }
  })
})

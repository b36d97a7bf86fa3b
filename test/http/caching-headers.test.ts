import { createServer, type IncomingHttpHeaders, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { getRequestListener } from '@hono/node-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { QueryDef } from '../../src/config/catalog.ts'
import { fastHitListener } from '../../src/entry/fast-hit.ts'
import { type Stack, startStack } from '../helpers/stack.ts'

// The HTTP caching contract of results (RFC 9111, 9211, 5861) on both ways a response leaves the service: the Hono
// app (Lambda and the Node server's full path, exercised with app.request) and the Node server's fast path for hits.

const KEY = 'caching-read-key'
const ADMIN = 'caching-admin-key'
const ALLOWED = 'https://dash.example.com'
const START = Date.UTC(2026, 0, 1)

/** A read of its own per test, so that no test meets another's entry (or its background refresh). */
let seq = 0
const freshPath = () =>
  `/analytics?measure=pageviews&start=2024-01-01&end=${new Date(Date.UTC(2024, 1, 1) + ++seq * 86_400_000).toISOString().slice(0, 10)}`

interface Clocked {
  s: Stack
  def: QueryDef
  advance(ms: number): void
}

async function clockedStack(env: Record<string, string>): Promise<Clocked> {
  let now = START
  const s = await startStack({ env, now: () => now })
  const def = s.deps.service.catalog.queries.get('analytics')
  if (!def) throw new Error('the catalog has no analytics query')
  return { s, def, advance: (ms) => (now += ms) }
}

/** Cache-Control as the service should write it for `analytics` (RFC 5861 windows count from the end of freshness). */
function cacheControl(
  visibility: 'private' | 'public',
  def: QueryDef,
  maxAge = def.ttlSeconds,
  swr = def.staleSeconds,
): string {
  return `${visibility}, max-age=${maxAge}, stale-while-revalidate=${swr}, stale-if-error=${def.staleIfErrorSeconds}`
}

/** Waits for the background refresh a STALE answer started, so it does not outlive its test. */
async function untilHit(s: Stack, path: string, headers: Record<string, string>): Promise<void> {
  const giveUp = Date.now() + 10_000
  while ((await s.app.request(path, { headers })).headers.get('x-cache') !== 'HIT') {
    if (Date.now() > giveUp) throw new Error(`${path}: the refresh never landed`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** The headers a 304 must repeat from the 200 (RFC 9110 §15.4.5, RFC 9111 §4.3.4): all but the body's own. */
function withoutBodyHeaders(res: Response): Record<string, string> {
  const out: Record<string, string> = {}
  res.headers.forEach((v, k) => {
    if (!['content-type', 'content-length', 'content-encoding', 'server-timing'].includes(k)) out[k] = v
  })
  return out
}

describe('keyed deployment (API_KEYS): private, Vary on the key, honest freshness', () => {
  let t: Clocked
  const key = { 'x-api-key': KEY }
  beforeAll(async () => {
    t = await clockedStack({ API_KEYS: KEY, ADMIN_API_KEYS: ADMIN })
  })
  afterAll(async () => {
    await t.s.close()
  })

  it('MISS: private, max-age is the TTL, Age 0, Vary names the key header', async () => {
    const res = await t.s.app.request(freshPath(), { headers: key })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-cache')).toBe('MISS')
    expect(res.headers.get('cache-control')).toBe(cacheControl('private', t.def))
    expect(res.headers.get('age')).toBe('0')
    expect(res.headers.get('vary')).toBe('Accept, Accept-Encoding, x-api-key')
    expect(res.headers.get('cache-status')).toBe('athena-cache-proxy; fwd=miss; stored')
    expect(res.headers.get('timing-allow-origin')).toBeNull()
  })

  it('HIT: max-age stays the TTL and Age counts from the computation, so max-age − Age is what is left', async () => {
    const path = freshPath()
    await t.s.app.request(path, { headers: key })
    t.advance(10_500)
    const hit = await t.s.app.request(path, { headers: key })
    expect(hit.headers.get('x-cache')).toBe('HIT')
    expect(hit.headers.get('cache-control')).toBe(cacheControl('private', t.def))
    expect(hit.headers.get('age')).toBe('10')
    expect(hit.headers.get('cache-status')).toBe(`athena-cache-proxy; hit; ttl=${t.def.ttlSeconds - 10}`)
    t.advance(t.def.ttlSeconds * 1000 - 10_500 - 500) // half a second of freshness left
    const last = await t.s.app.request(path, { headers: key })
    expect(last.headers.get('x-cache')).toBe('HIT')
    expect(last.headers.get('age')).toBe(String(t.def.ttlSeconds - 1))
    expect(last.headers.get('cache-status')).toBe('athena-cache-proxy; hit; ttl=1')
  })

  it('STALE: Age > max-age from the first instant past freshness, and a negative Cache-Status ttl', async () => {
    const path = freshPath()
    await t.s.app.request(path, { headers: key })
    t.advance(t.def.ttlSeconds * 1000) // exactly freshUntil: rounding down alone would give Age == max-age
    const stale = await t.s.app.request(path, { headers: key })
    expect(stale.headers.get('x-cache')).toBe('STALE')
    expect(stale.headers.get('cache-control')).toBe(cacheControl('private', t.def))
    expect(Number(stale.headers.get('age'))).toBe(t.def.ttlSeconds + 1)
    expect(stale.headers.get('cache-status')).toBe('athena-cache-proxy; hit; ttl=-1')
    await untilHit(t.s, path, key)

    const later = freshPath()
    await t.s.app.request(later, { headers: key })
    t.advance(t.def.ttlSeconds * 1000 + 100_500)
    const old = await t.s.app.request(later, { headers: key })
    expect(old.headers.get('x-cache')).toBe('STALE')
    expect(old.headers.get('age')).toBe(String(t.def.ttlSeconds + 100))
    expect(old.headers.get('cache-status')).toBe('athena-cache-proxy; hit; ttl=-100')
    await untilHit(t.s, later, key)
  })

  it('an entry expired by an invalidation says max-age=0, Age > 0 and its whole stale window', async () => {
    const path = freshPath()
    await t.s.app.request(path, { headers: key })
    t.advance(5_000)
    const inv = await t.s.app.request('/cache/invalidate', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': ADMIN },
      body: JSON.stringify({ query: 'analytics', mode: 'expire' }),
    })
    expect(inv.status).toBe(200)
    const stale = await t.s.app.request(path, { headers: key })
    expect(stale.headers.get('x-cache')).toBe('STALE')
    // freshUntil == computedAt now; the stale window still ends where it did: TTL + stale seconds after computation.
    expect(stale.headers.get('cache-control')).toBe(
      cacheControl('private', t.def, 0, t.def.ttlSeconds + t.def.staleSeconds),
    )
    expect(stale.headers.get('age')).toBe('5')
    expect(stale.headers.get('cache-status')).toBe('athena-cache-proxy; hit; ttl=-5')
    await untilHit(t.s, path, key)
  })

  it('a 304 carries the caching headers of the 200: ETag, Cache-Control, Vary, Age, Cache-Status', async () => {
    const path = freshPath()
    await t.s.app.request(path, { headers: key })
    t.advance(3_000)
    const ok = await t.s.app.request(path, { headers: key })
    const etag = ok.headers.get('etag') ?? ''
    const notModified = await t.s.app.request(path, { headers: { ...key, 'if-none-match': etag } })
    expect(notModified.status).toBe(304)
    expect(withoutBodyHeaders(notModified)).toEqual(withoutBodyHeaders(ok))
    expect(notModified.headers.get('cache-control')).toBe(cacheControl('private', t.def))
    expect(notModified.headers.get('vary')).toBe('Accept, Accept-Encoding, x-api-key')
    expect(notModified.headers.get('age')).toBe('3')
  })

  it('a missing or wrong key gets a 401/403 that nothing may store', async () => {
    const path = freshPath()
    await t.s.app.request(path, { headers: key })
    const none = await t.s.app.request(path)
    expect(none.status).toBe(401)
    expect(none.headers.get('cache-control')).toBe('no-store')
    const wrong = await t.s.app.request(path, { headers: { 'x-api-key': 'not-a-key' } })
    expect(wrong.status).toBe(403)
    expect(wrong.headers.get('cache-control')).toBe('no-store')
  })

  it('the catalog listing is private and revalidated, varying on the key', async () => {
    const res = await t.s.app.request('/queries', { headers: key })
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('private, no-cache')
    expect(res.headers.get('vary')).toBe('Accept-Encoding, x-api-key')
  })
})

describe('open deployment (no API_KEYS): public, Vary on the encoding only', () => {
  let t: Clocked
  beforeAll(async () => {
    t = await clockedStack({})
  })
  afterAll(async () => {
    await t.s.close()
  })

  it('MISS, HIT and 304 are public and vary only on Accept and Accept-Encoding', async () => {
    const path = freshPath()
    const miss = await t.s.app.request(path)
    expect(miss.headers.get('cache-control')).toBe(cacheControl('public', t.def))
    expect(miss.headers.get('vary')).toBe('Accept, Accept-Encoding')
    expect(miss.headers.get('age')).toBe('0')
    t.advance(61_000)
    const hit = await t.s.app.request(path)
    expect(hit.headers.get('x-cache')).toBe('HIT')
    expect(hit.headers.get('cache-control')).toBe(cacheControl('public', t.def))
    expect(hit.headers.get('age')).toBe('61')
    const notModified = await t.s.app.request(path, {
      headers: { 'if-none-match': hit.headers.get('etag') ?? '' },
    })
    expect(notModified.status).toBe(304)
    expect(withoutBodyHeaders(notModified)).toEqual(withoutBodyHeaders(hit))
    const catalog = await t.s.app.request('/queries')
    expect(catalog.headers.get('cache-control')).toBe('public, no-cache')
    expect(catalog.headers.get('vary')).toBe('Accept-Encoding')
  })
})

describe('CORS: Timing-Allow-Origin for the allowed origins', () => {
  let list: Clocked
  let star: Clocked
  beforeAll(async () => {
    ;[list, star] = await Promise.all([
      clockedStack({ API_KEYS: KEY, CORS_ORIGIN: `${ALLOWED}, https://other.example.com` }),
      clockedStack({ CORS_ORIGIN: '*' }),
    ])
  })
  afterAll(async () => {
    await Promise.all([list.s.close(), star.s.close()])
  })

  it('an allowed origin gets TAO (its own origin), Vary: Origin and Server-Timing exposed; on 200 and 304', async () => {
    const path = freshPath()
    const headers = { 'x-api-key': KEY, Origin: ALLOWED }
    await list.s.app.request(path, { headers })
    const ok = await list.s.app.request(path, { headers })
    expect(ok.headers.get('timing-allow-origin')).toBe(ALLOWED)
    expect(ok.headers.get('access-control-allow-origin')).toBe(ALLOWED)
    expect(ok.headers.get('vary')).toBe('Accept, Accept-Encoding, x-api-key, Origin')
    expect(ok.headers.get('access-control-expose-headers')?.split(',')).toContain('Server-Timing')
    const notModified = await list.s.app.request(path, {
      headers: { ...headers, 'if-none-match': ok.headers.get('etag') ?? '' },
    })
    expect(notModified.status).toBe(304)
    expect(withoutBodyHeaders(notModified)).toEqual(withoutBodyHeaders(ok))
  })

  it('a disallowed origin gets neither TAO nor ACAO', async () => {
    const res = await list.s.app.request(freshPath(), {
      headers: { 'x-api-key': KEY, Origin: 'https://evil.example.net' },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('timing-allow-origin')).toBeNull()
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('errors through the CORS middleware carry TAO too (401, 404)', async () => {
    const unauthorized = await list.s.app.request(freshPath(), { headers: { Origin: ALLOWED } })
    expect(unauthorized.status).toBe(401)
    expect(unauthorized.headers.get('timing-allow-origin')).toBe(ALLOWED)
    const missing = await list.s.app.request('/nowhere', { headers: { Origin: ALLOWED } })
    expect(missing.status).toBe(404)
    expect(missing.headers.get('timing-allow-origin')).toBe(ALLOWED)
  })

  it('CORS_ORIGIN=* sends TAO * to every origin, and no Vary: Origin', async () => {
    const res = await star.s.app.request(freshPath(), { headers: { Origin: 'https://anyone.example.org' } })
    expect(res.headers.get('timing-allow-origin')).toBe('*')
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    expect(res.headers.get('vary')).toBe('Accept, Accept-Encoding')
  })
})

interface RawResponse {
  status: number
  headers: IncomingHttpHeaders
}

/** A GET with exactly these headers (fetch would add Accept-Encoding and others of its own). */
function rawGet(url: string, headers: Record<string, string>): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }))
    })
      .on('error', reject)
      .end()
  })
}

/** Headers of a response for comparison: the per-request ones (Date, the measured durations) left out. */
function comparable(res: RawResponse): Record<string, unknown> {
  const { date, 'server-timing': serverTiming, ...rest } = res.headers
  expect(serverTiming).toMatch(/^cache;dur=[\d.]+$/)
  expect(date).toBeDefined()
  return rest
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

describe.each<{ name: string; env: Record<string, string> }>([
  { name: 'open', env: {} },
  { name: 'keyed', env: { API_KEYS: KEY } },
  { name: 'keyed, CORS list', env: { API_KEYS: KEY, CORS_ORIGIN: `${ALLOWED}, https://other.example.com` } },
  { name: 'open, CORS *', env: { CORS_ORIGIN: '*' } },
])('the Node fast path answers a hit with the headers of the app ($name)', ({ env }) => {
  let t: Clocked
  let fast: Server
  let full: Server
  let fastUrl: string
  let fullUrl: string
  let handedToApp = 0
  const key: Record<string, string> = 'API_KEYS' in env ? { 'x-api-key': KEY } : {}
  beforeAll(async () => {
    t = await clockedStack({ ...env, L1_TTL_MS: '60000' })
    const app = getRequestListener(t.s.app.fetch)
    fast = createServer(
      fastHitListener(t.s.deps, (req, res) => {
        handedToApp++
        return app(req, res)
      }),
    )
    full = createServer(app)
    ;[fastUrl, fullUrl] = await Promise.all([listen(fast), listen(full)])
  })
  afterAll(async () => {
    await Promise.all([fast, full].map((s) => new Promise((r) => s.close(r))))
    await t.s.close()
  })

  it('200 (plain and gzip) and 304: the same header set on both paths', async () => {
    const path = freshPath()
    expect((await rawGet(`${fullUrl}${path}`, key)).headers['x-cache']).toBe('MISS')
    t.advance(7_000)
    const handedBefore = handedToApp
    for (const extra of [{}, { 'accept-encoding': 'gzip' }] as Record<string, string>[]) {
      const viaFast = await rawGet(`${fastUrl}${path}`, { ...key, ...extra })
      const viaApp = await rawGet(`${fullUrl}${path}`, { ...key, ...extra })
      expect(viaFast.status).toBe(200)
      expect(viaFast.headers['x-cache']).toBe('HIT')
      expect(viaFast.headers.age).toBe('7')
      expect(comparable(viaFast)).toEqual(comparable(viaApp))
    }
    const etag = String((await rawGet(`${fullUrl}${path}`, key)).headers.etag)
    const fast304 = await rawGet(`${fastUrl}${path}`, { ...key, 'if-none-match': etag })
    const app304 = await rawGet(`${fullUrl}${path}`, { ...key, 'if-none-match': etag })
    expect(fast304.status).toBe(304)
    expect(comparable(fast304)).toEqual(comparable(app304))
    expect(handedToApp).toBe(handedBefore) // every request above was answered by the fast path itself
  })
})

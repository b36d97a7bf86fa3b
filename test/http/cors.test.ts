import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { getRequestListener } from '@hono/node-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fastHitListener } from '../../src/entry/fast-hit.ts'
import { type Stack, startStack } from '../helpers/stack.ts'

const KEY = 'cors-read-key'
const ORIGIN = 'https://dashboards.example.com'
const Q = '/analytics?measure=pageviews&start=2024-01-01'

describe('CORS (CORS_ORIGIN set)', () => {
  let s: Stack
  let server: Server
  let base: string
  beforeAll(async () => {
    s = await startStack({
      env: { API_KEYS: KEY, CORS_ORIGIN: `${ORIGIN}, https://other.example.com`, L1_TTL_MS: '5000' },
    })
    server = createServer(fastHitListener(s.deps, getRequestListener(s.app.fetch)))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()))
    await s.close()
  })

  it('answers a preflight without an API key, with the allowed methods and headers', async () => {
    const res = await s.app.request(Q, {
      method: 'OPTIONS',
      headers: {
        Origin: ORIGIN,
        'Access-Control-Request-Method': 'GET',
        'Access-Control-Request-Headers': 'x-api-key',
      },
    })
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN)
    expect(res.headers.get('access-control-allow-methods')).toContain('GET')
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('x-api-key')
  })

  it('adds the origin to reads from allowed origins only, and exposes the cache headers', async () => {
    const ok = await s.app.request(Q, { headers: { Origin: ORIGIN, 'x-api-key': KEY } })
    expect(ok.status).toBe(200)
    expect(ok.headers.get('access-control-allow-origin')).toBe(ORIGIN)
    expect(ok.headers.get('access-control-expose-headers')).toContain('X-Cache')
    const other = await s.app.request(Q, {
      headers: { Origin: 'https://evil.example.net', 'x-api-key': KEY },
    })
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('the Node fast path hands cross-origin hits to the app, so they carry the CORS headers too', async () => {
    await fetch(`${base}${Q}`, { headers: { 'x-api-key': KEY } }) // warm: HIT from now on
    const plain = await fetch(`${base}${Q}`, { headers: { 'x-api-key': KEY } })
    expect(plain.headers.get('x-cache')).toBe('HIT')
    expect(plain.headers.get('access-control-allow-origin')).toBeNull()
    const cross = await fetch(`${base}${Q}`, { headers: { 'x-api-key': KEY, Origin: ORIGIN } })
    expect(cross.headers.get('x-cache')).toBe('HIT')
    expect(cross.headers.get('access-control-allow-origin')).toBe(ORIGIN)
  })
})

// No request can crash the process: damaged cache entries (a CorruptingCacheStore over the real Redis, and raw
// writes), through `app.request` and through the Node fast path, and the request guard both paths share.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'
import { getRequestListener } from '@hono/node-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeEntry } from '../../src/cache/entry-codec.ts'
import { fastHitListener } from '../../src/entry/fast-hit.ts'
import { answerClientError, RequestGuard } from '../../src/http/request-guard.ts'
import { createLogger } from '../../src/logger.ts'
import {
  CORRUPTIONS,
  CorruptingCacheStore,
  type Corruption,
  withForeignEtag,
} from '../helpers/corrupting-cache-store.ts'
import { rawHttp } from '../helpers/raw-http.ts'
import { type Stack, startStack } from '../helpers/stack.ts'

const CASES = Object.keys(CORRUPTIONS) as Corruption[]

interface ResultBody {
  rows: unknown[]
  meta: { queryExecutionId: string }
}

async function expectProblem(res: Response, status: number): Promise<Record<string, unknown>> {
  expect(res.status).toBe(status)
  expect(res.headers.get('content-type')).toBe('application/problem+json')
  const body = (await res.json()) as Record<string, unknown>
  expect(body).toMatchObject({ status, type: expect.stringMatching(/^urn:athena-cache-proxy:problem:/) })
  return body
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const close = (server: Server) => new Promise((r) => server.close(r))

/** A distinct read per case: its own cache key. */
function readOf(s: Stack, i: number): { path: string; key: string } {
  const start = `2024-02-${String(i + 1).padStart(2, '0')}`
  return {
    path: `/analytics?measure=pageviews&start=${start}`,
    key: s.deps.service.resolve('analytics', { measure: 'pageviews', start }).key,
  }
}

describe('damaged entries through app.request (CorruptingCacheStore over the real Redis)', () => {
  let s: Stack
  let store: CorruptingCacheStore
  beforeAll(async () => {
    s = await startStack({
      wrapStore: (real) => {
        store = new CorruptingCacheStore(real)
        return store
      },
    })
  })
  afterAll(async () => {
    await s.close()
  })

  it.each(CASES.map((c, i) => [c, i] as const))(
    '%s: plain, gzip and HEAD reads recompute and answer 200; the entry is replaced by a good one',
    async (corruption, i) => {
      const { path, key } = readOf(s, i)
      const first = await s.app.request(path)
      expect(first.headers.get('x-cache')).toBe('MISS')
      const rows = ((await first.json()) as ResultBody).rows
      let previous = decodeEntry((await s.redis.redis.getBuffer(key)) as Buffer).queryExecutionId
      for (const headers of [{}, { 'accept-encoding': 'gzip' }, {}] as Record<string, string>[]) {
        store.arm((k) => k === key, corruption)
        const res = await s.app.request(path, { headers })
        expect(res.status).toBe(200)
        expect(res.headers.get('x-cache')).toBe('MISS')
        const bytes = Buffer.from(await res.arrayBuffer())
        const text = headers['accept-encoding'] ? gunzipSync(bytes).toString('utf8') : bytes.toString('utf8')
        expect((JSON.parse(text) as ResultBody).rows).toEqual(rows)
        const stored = decodeEntry((await s.redis.redis.getBuffer(key)) as Buffer)
        expect(stored.queryExecutionId).not.toBe(previous)
        previous = stored.queryExecutionId
      }
      store.arm((k) => k === key, corruption)
      const head = await s.app.request(path, { method: 'HEAD' })
      expect(head.status).toBe(200)
      expect(head.headers.get('x-cache')).toBe('MISS')
      expect((await s.app.request(path)).headers.get('x-cache')).toBe('HIT')
    },
  )

  it('a damaged entry in the store itself (raw write) is replaced, not only skipped', async () => {
    const { path, key } = readOf(s, 20)
    await s.app.request(path)
    const good = (await s.redis.redis.getBuffer(key)) as Buffer
    await s.redis.redis.set(key, CORRUPTIONS.truncate(good))
    const res = await s.app.request(path)
    expect(res.headers.get('x-cache')).toBe('MISS')
    const repaired = (await s.redis.redis.getBuffer(key)) as Buffer
    expect(() => decodeEntry(repaired)).not.toThrow()
    expect((await s.app.request(path)).headers.get('x-cache')).toBe('HIT')
  })

  it('an entry that decodes but does not inflate to its ETag: 500 problem+json once, then recomputed', async () => {
    const { path, key } = readOf(s, 21)
    await s.app.request(path)
    await s.redis.redis.set(key, withForeignEtag((await s.redis.redis.getBuffer(key)) as Buffer))
    await expectProblem(await s.app.request(path), 500)
    // Discarded by the guard: the next read computes it again.
    await expect.poll(() => s.redis.redis.exists(key)).toBe(0)
    const next = await s.app.request(path)
    expect(next.status).toBe(200)
    expect(next.headers.get('x-cache')).toBe('MISS')
  })

  it('a garbage execution record is a 404 problem (not a 500) and is removed', async () => {
    const id = '5d7c1a4e-0000-4000-8000-00000000dead'
    const key = s.deps.keys.execution(id)
    for (const garbage of [
      'not json',
      '{"query":1}',
      '[]',
      'null',
      `{"query":"analytics","params":{},"key":"elsewhere:e:x","createdAt":1}`,
    ]) {
      await s.redis.redis.set(key, garbage)
      await expectProblem(await s.app.request(`/executions/${id}`), 404)
      expect(await s.redis.redis.exists(key)).toBe(0)
    }
  })
})

describe('damaged entries through the Node fast path (L1 on)', () => {
  let s: Stack
  let store: CorruptingCacheStore
  let server: Server
  let url: string
  beforeAll(async () => {
    s = await startStack({
      env: { L1_TTL_MS: '60000' },
      wrapStore: (real) => {
        store = new CorruptingCacheStore(real)
        return store
      },
    })
    server = createServer(fastHitListener(s.deps, getRequestListener(s.app.fetch)))
    url = await listen(server)
  })
  afterAll(async () => {
    await close(server)
    await s.close()
  })

  it.each(CASES.map((c, i) => [c, i] as const))(
    '%s read by the fast path: 200 from a recomputation',
    async (corruption, i) => {
      const { path, key } = readOf(s, i)
      expect((await fetch(`${url}${path}`)).headers.get('x-cache')).toBe('MISS')
      s.deps.service.dropL1()
      // Both lookups (the fast path's, then the app's) see the damage.
      store.arm((k) => k === key, corruption, 2)
      for (const encoding of ['identity', 'gzip']) {
        const res = await fetch(`${url}${path}`, { headers: { 'accept-encoding': encoding } })
        expect(res.status).toBe(200)
        expect(((await res.json()) as ResultBody).rows.length).toBeGreaterThan(0)
      }
      expect(store.damaged).toBeGreaterThan(0)
    },
  )

  it('an exception while answering an L1 hit (synchronous) is a 500 problem+json; the next read recomputes', async () => {
    const { path, key } = readOf(s, 22)
    await fetch(`${url}${path}`)
    await s.redis.redis.set(key, withForeignEtag((await s.redis.redis.getBuffer(key)) as Buffer))
    s.deps.service.dropL1()
    // gzip: the stored bytes are sent as they are, and the entry lands in L1.
    const gz = await fetch(`${url}${path}`, { headers: { 'accept-encoding': 'gzip' } })
    expect(gz.headers.get('x-cache')).toBe('HIT')
    await gz.arrayBuffer()
    // plain: inflated from L1 and checked against the ETag, synchronously, in the listener.
    await expectProblem(await fetch(`${url}${path}`, { headers: { 'accept-encoding': 'identity' } }), 500)
    const next = await fetch(`${url}${path}`, { headers: { 'accept-encoding': 'identity' } })
    expect(next.status).toBe(200)
    expect(next.headers.get('x-cache')).toBe('MISS')
  })

  it('an exception while answering a store hit (asynchronous) is a 500 problem+json; the next read recomputes', async () => {
    const { path, key } = readOf(s, 23)
    await fetch(`${url}${path}`)
    await s.redis.redis.set(key, withForeignEtag((await s.redis.redis.getBuffer(key)) as Buffer))
    s.deps.service.dropL1()
    await expectProblem(await fetch(`${url}${path}`, { headers: { 'accept-encoding': 'identity' } }), 500)
    const next = await fetch(`${url}${path}`, { headers: { 'accept-encoding': 'identity' } })
    expect(next.status).toBe(200)
    expect(next.headers.get('x-cache')).toBe('MISS')
  })
})

describe('the request guard (one for both paths)', () => {
  const guard = new RequestGuard({ logger: createLogger({ level: 'silent', sync: true }) })
  let server: Server
  let url: string
  const routes: Record<string, Parameters<RequestGuard['node']>[0]> = {
    '/sync': () => {
      throw new Error('boom')
    },
    '/async': async () => {
      await new Promise((r) => setTimeout(r, 5))
      throw new Error('later boom')
    },
    '/bad-header': (_req, res) => {
      // Node validates header values in writeHead: this throws before anything is sent.
      res.writeHead(200, { ETag: '"a\nb"' })
      res.end()
    },
    '/after-headers': (_req, res) => {
      res.writeHead(200, { 'Content-Length': '100' })
      res.write('partial')
      throw new Error('too late for a status')
    },
    '/ok': (_req, res) => {
      res.end('ok')
    },
  }
  beforeAll(async () => {
    server = createServer(guard.node((req, res) => (routes[req.url ?? ''] ?? routes['/ok'])?.(req, res)))
    server.on('clientError', answerClientError)
    url = await listen(server)
  })
  afterAll(async () => {
    server.closeAllConnections()
    await close(server)
  })

  it.each(['/sync', '/async', '/bad-header'])('%s: 500 problem+json for that request only', async (path) => {
    const body = await expectProblem(await fetch(`${url}${path}`), 500)
    expect(body).toMatchObject({ type: 'urn:athena-cache-proxy:problem:internal', instance: path })
    expect(await (await fetch(`${url}/ok`)).text()).toBe('ok')
  })

  it('after the headers went out, the socket is destroyed (a broken response, not a wrong one)', async () => {
    // Whether the head got out before the socket went down is up to the kernel: either way the response breaks.
    await expect(fetch(`${url}/after-headers`).then((res) => res.text())).rejects.toThrow()
    expect(await (await fetch(`${url}/ok`)).text()).toBe('ok')
  })

  /** Sends raw bytes and reads the whole answer. */
  const raw = (payload: string) => rawHttp((server.address() as AddressInfo).port, payload)

  it.each([
    ['a malformed request line', 400, 'GARBAGE\r\n\r\n'],
    ['a 20 KB header', 431, `GET /ok HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`],
  ])('%s, which the HTTP parser rejects: %i problem+json', async (_name, status, payload) => {
    const answer = await raw(payload)
    const [head = '', body = ''] = answer.split('\r\n\r\n')
    expect(head).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `))
    expect(head).toMatch(/\r\nContent-Type: application\/problem\+json\r\n/)
    expect(JSON.parse(body)).toMatchObject({
      status,
      type: expect.stringMatching(/^urn:athena-cache-proxy:problem:/),
    })
    expect(await (await fetch(`${url}/ok`)).text()).toBe('ok')
  })
})

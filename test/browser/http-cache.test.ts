import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { BrowserContext } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { CHROMIUM, chromiumMissing, launchChromium } from '../helpers/chromium.ts'
import { type ServeProcess, startServeProcess, stopAllChildren, waitUntil } from '../helpers/processes.ts'
import { testRedis } from '../helpers/redis-client.ts'

// What a real browser does with our caching headers: Debian's Chromium (never a downloaded build) fetching from a
// page on one origin to `acp serve` on another, with its HTTP cache, CORS and Resource Timing all real.

const KEY = 'browser-read-key'
const PATH = '/analytics?measure=sessions&start=2024-02-01&period=week'

const missing = chromiumMissing()
if (missing) console.warn(`test/browser skipped: ${missing}`)

/** The parts of a PerformanceResourceTiming entry the page reports back (the Node types have no DOM). */
interface ResourceEntry {
  name: string
  transferSize: number
  encodedBodySize: number
  decodedBodySize: number
  serverTiming: Array<{ name: string; duration: number }>
}

interface PageReport {
  statuses: number[]
  bodies: string[]
  entries: ResourceEntry[]
}

/** One JSON line of the server's access log. */
interface AccessLine {
  msg: string
  method: string
  path: string
  status: number
  cache?: string
}

describe.skipIf(missing !== undefined)(`a real browser (${CHROMIUM}) against acp serve`, () => {
  let redis: Awaited<ReturnType<typeof testRedis>>
  let api: ServeProcess
  let pages: Server
  let pageOrigin: string
  let chrome: Awaited<ReturnType<typeof launchChromium>> | undefined
  let browser: BrowserContext

  beforeAll(async () => {
    // The dashboard page: a tiny origin of its own, so every API call is a cross-origin (CORS) fetch.
    pages = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      res.end('<!doctype html><title>dashboard</title><p>dashboard</p>')
    })
    await new Promise<void>((r) => pages.listen(0, '127.0.0.1', r))
    pageOrigin = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`
    redis = await testRedis()
    api = await startServeProcess({
      REDIS_URL: redis.url,
      CACHE_PREFIX: redis.prefix,
      DATA_DIR: inject('dataDir'),
      LOCAL_ATHENA_MIN_QUERY_MS: '0',
      PREWARM_SCHEDULES: 'off',
      API_KEYS: KEY,
      CORS_ORIGIN: pageOrigin,
    })
    chrome = await launchChromium()
    browser = chrome.context
  })
  afterAll(async () => {
    await chrome?.close()
    await new Promise<void>((r) => (pages ? pages.close(() => r()) : r()))
    await stopAllChildren()
    await redis?.cleanup()
  })

  /** The server's access log for GET /analytics once `done` holds for it (lines are flushed every 50 ms). */
  async function serverReads(done: (lines: AccessLine[]) => boolean): Promise<AccessLine[]> {
    let lines: AccessLine[] = []
    await waitUntil(
      async () => {
        lines = api
          .output()
          .split('\n')
          .filter((l) => l.startsWith('{') && l.includes('"msg":"request"'))
          .map((l) => JSON.parse(l) as AccessLine)
          .filter((l) => l.method === 'GET' && l.path === '/analytics')
        return done(lines)
      },
      { timeoutMs: 5_000, what: 'the expected GET /analytics lines in the access log', child: api },
    )
    return lines
  }

  it('keeps keyed answers per key, revalidates with a 304, and shows Server-Timing and sizes cross-origin', async () => {
    const page = await browser.newPage()
    await page.goto(`${pageOrigin}/`)
    const report = await page.evaluate(
      async ({ url, key }): Promise<PageReport> => {
        const statuses: number[] = []
        const bodies: string[] = []
        const read = async (init: RequestInit) => {
          const res = await fetch(url, init)
          statuses.push(res.status)
          bodies.push(await res.text())
        }
        await read({ headers: { 'x-api-key': key } }) // (a) 200, computed now
        await read({}) // the browser must not answer this from its cache: 401 from the server
        await read({ headers: { 'x-api-key': 'not-the-key' } }) // 403 from the server
        await read({ headers: { 'x-api-key': key } }) // 200 again
        await read({ headers: { 'x-api-key': key }, cache: 'no-cache' }) // (b) If-None-Match → 304 → 200 here
        const entries = (performance.getEntriesByType('resource') as unknown as ResourceEntry[])
          .filter((e) => e.name === url)
          .map((e) => ({
            name: e.name,
            transferSize: e.transferSize,
            encodedBodySize: e.encodedBodySize,
            decodedBodySize: e.decodedBodySize,
            serverTiming: e.serverTiming.map((t) => ({ name: t.name, duration: t.duration })),
          }))
        return { statuses, bodies, entries }
      },
      { url: `${api.url}${PATH}`, key: KEY },
    )

    // (a) what the page saw: the key's answer, then the server's refusals, not the cached 200
    expect(report.statuses).toEqual([200, 401, 403, 200, 200])
    expect(report.bodies[3]).toBe(report.bodies[0])
    expect(report.bodies[4]).toBe(report.bodies[0])
    expect(JSON.parse(report.bodies[1] ?? '{}')).toMatchObject({ status: 401 })
    expect(JSON.parse(report.bodies[2] ?? '{}')).toMatchObject({ status: 403 })

    // (a) and (b) at the server: both refusals reached it, and the revalidation was answered 304 without a body
    const lines = await serverReads((seen) => seen.some((l) => l.status === 304))
    const statuses = lines.map((l) => l.status)
    expect(statuses.filter((s) => s === 401)).toHaveLength(1)
    expect(statuses.filter((s) => s === 403)).toHaveLength(1)
    expect(statuses[0]).toBe(200)
    expect(lines[0]?.cache).toBe('MISS')
    expect(statuses.at(-1)).toBe(304)

    // (c) Timing-Allow-Origin: the page may see Server-Timing and the real sizes of a cross-origin response
    const first = report.entries[0]
    expect(first?.serverTiming.map((t) => t.name)).toEqual(['cache', 'engine'])
    expect(first?.transferSize).toBeGreaterThan(0)
    expect(first?.encodedBodySize).toBeGreaterThan(0)
    const revalidated = report.entries.at(-1)
    expect(revalidated?.serverTiming.map((t) => t.name)).toContain('cache')
    expect(revalidated?.encodedBodySize).toBe(first?.encodedBodySize)
    // A 304 carries headers only: far less crossed the wire than the first full answer.
    expect(revalidated?.transferSize).toBeGreaterThan(0)
    expect(revalidated?.transferSize).toBeLessThan(first?.transferSize ?? 0)
    // The refusals went through the CORS middleware too: their sizes are visible (zero without TAO).
    for (const refused of report.entries.slice(1, 3)) expect(refused.transferSize).toBeGreaterThan(0)
  })
})

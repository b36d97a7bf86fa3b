import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { CHROMIUM, chromiumMissing, launchChromium } from '../helpers/chromium.ts'
import { type ServeProcess, startServeProcess, stopAllChildren, waitUntil } from '../helpers/processes.ts'
import { testRedis } from '../helpers/redis-client.ts'

const END = '2024-04-01'
const PANELS = ['pageviews-daily', 'top-pages', 'by-country', 'sessions-weekly']
const LINK = /operator page \(.*\): (http:\/\/[^/]+)\/admin\/#key=([A-Za-z0-9_-]+)/
const STORAGE_KEY = 'acp.adminKey'

const missing = chromiumMissing()
if (missing) console.warn(`test/browser skipped: ${missing}`)

/** What a page did wrong: console errors, uncaught exceptions, failed requests, answers of 400 and up. */
interface Watch {
  problems: string[]
  /** Answers of 400 and up, as "status url". */
  refused: string[]
}

function watch(page: Page): Watch {
  const seen: Watch = { problems: [], refused: [] }
  page.on('console', (m) => {
    if (m.type() === 'error') seen.problems.push(`console: ${m.text()}`)
  })
  page.on('pageerror', (err) => seen.problems.push(`exception: ${err.message}`))
  page.on('requestfailed', (r) => seen.problems.push(`failed: ${r.url()} ${r.failure()?.errorText ?? ''}`))
  page.on('response', (r) => {
    if (r.status() >= 400) seen.refused.push(`${r.status()} ${new URL(r.url()).pathname}`)
  })
  return seen
}

interface PanelState {
  state: string
  url: string
  points: number
  total: number
  xCache: string
  shownXCache: string
  reads: string[]
  paintedPixels: number
}

/** A panel's data attributes, what it shows, and how much of its canvas chart.js painted. */
function panelState(page: Page, id: string): Promise<PanelState> {
  return page.evaluate((panelId) => {
    const panel = document.getElementById(`panel-${panelId}`)
    const canvas = panel?.querySelector('canvas')
    let painted = 0
    if (canvas && canvas.width > 0 && canvas.height > 0) {
      const pixels = canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data ?? []
      for (let i = 3; i < pixels.length; i += 4) if ((pixels[i] ?? 0) > 0) painted++
    }
    const d = panel?.dataset ?? {}
    return {
      state: d.state ?? '',
      url: d.url ?? '',
      points: Number(d.points),
      total: Number(d.total),
      xCache: d.xCache ?? '',
      shownXCache: panel?.querySelector('[data-role="x-cache"]')?.textContent ?? '',
      reads: (d.reads ?? '').split(' ').filter((r) => r !== ''),
      paintedPixels: painted,
    }
  }, id)
}

describe.skipIf(missing !== undefined)(`the pages in a real browser (${CHROMIUM})`, () => {
  let redis: Awaited<ReturnType<typeof testRedis>>
  let api: ServeProcess
  let adminKey: string
  let chrome: Awaited<ReturnType<typeof launchChromium>> | undefined
  let browser: BrowserContext

  const adminGet = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${api.url}${path}`, { headers: { 'x-api-key': adminKey } })
    expect(res.status, path).toBe(200)
    return (await res.json()) as T
  }

  beforeAll(async () => {
    redis = await testRedis()
    api = await startServeProcess({
      REDIS_URL: redis.url,
      CACHE_PREFIX: redis.prefix,
      DATA_DIR: inject('dataDir'),
      LOCAL_ATHENA_MIN_QUERY_MS: '100',
      PREWARM_SCHEDULES: 'off',
      ADMIN_API_KEYS: '',
      LOG_REQUESTS: 'false',
    })
    await waitUntil(async () => LINK.test(api.output()), {
      timeoutMs: 5_000,
      what: 'the operator link',
      child: api,
    })
    const [, origin, key] = LINK.exec(api.output()) ?? []
    expect(origin).toBe(api.url)
    adminKey = key ?? ''
    chrome = await launchChromium({ viewport: { width: 1400, height: 1000 } })
    browser = chrome.context
  })
  afterAll(async () => {
    await chrome?.close()
    await stopAllChildren()
    await redis?.cleanup()
  })

  it('the demo draws every panel from the API, shows X-Cache, and invalidating shows STALE then HIT', async () => {
    const page = await browser.newPage()
    const seen = watch(page)
    await page.goto(`${api.url}/?end=${END}`)
    await page.waitForFunction(
      (ids) => ids.every((id) => document.getElementById(`panel-${id}`)?.dataset.state === 'ready'),
      PANELS,
      { timeout: 30_000 },
    )
    for (const id of PANELS) {
      const panel = await panelState(page, id)
      // What the page drew is what the API answers for the same request.
      const res = await fetch(`${api.url}${panel.url}`)
      expect(res.status, panel.url).toBe(200)
      const body = (await res.json()) as { rows: Array<{ total: number }> }
      expect(body.rows.length, id).toBeGreaterThan(5)
      expect(panel.points, id).toBe(body.rows.length)
      expect(panel.total, id).toBeCloseTo(
        body.rows.reduce((sum, r) => sum + r.total, 0),
        6,
      )
      // A fresh cache prefix and no prewarm: each panel's first read ran the query.
      expect(panel.xCache, id).toBe('MISS')
      expect(panel.shownXCache, id).toBe('MISS')
      expect(panel.reads, id).toEqual(['MISS'])
      expect(panel.paintedPixels, `${id}: pixels chart.js painted`).toBeGreaterThan(2_000)
    }
    expect(await page.locator('#panel-pageviews-daily dd').allTextContents()).toEqual([
      'MISS',
      '0 s',
      expect.stringMatching(/^cache;dur=[\d.]+, engine;dur=\d+$/),
      expect.stringMatching(/ ms$|\d s$/),
      '30',
      expect.stringMatching(/^[\d,]+$/),
    ])
    expect((await panelState(page, 'pageviews-daily')).url).toBe(
      `/analytics?measure=pageviews&period=day&start=2024-03-02&end=${END}`,
    )

    // Without a key the button asks for one (a form on the page, never a dialog).
    await page.click('#panel-pageviews-daily button.invalidate')
    await expect.poll(() => page.locator('#key .notice').textContent()).toContain('needs the admin key')
    await page.fill('#key input[type="password"]', adminKey)
    await page.click('#key button[type="submit"]')
    await expect.poll(() => page.locator('#key').textContent()).toContain('Admin key set')
    expect(await page.evaluate((k) => sessionStorage.getItem(k), STORAGE_KEY)).toBe(adminKey)
    expect(await page.evaluate(() => localStorage.length)).toBe(0)

    await page.click('#panel-pageviews-daily button.invalidate')
    await page.waitForFunction(
      () =>
        ['done', 'failed'].includes(
          document.getElementById('panel-pageviews-daily')?.dataset.invalidation ?? '',
        ),
      null,
      { timeout: 20_000 },
    )
    const after = await panelState(page, 'pageviews-daily')
    expect(after.reads[0]).toBe('MISS')
    expect(after.reads[1]).toBe('invalidated')
    // Expired, not deleted: the next read is the old result, served while one refresh runs; then a HIT.
    expect(after.reads[2]).toBe('STALE')
    expect(after.reads.at(-1)).toBe('HIT')
    expect(after.reads.slice(2, -1).every((r) => r === 'STALE')).toBe(true)
    expect(after.shownXCache).toBe('HIT')
    const invalidations = await adminGet<{
      invalidations: Array<{ scope: string; mode: string; queries: string[] }>
    }>('/admin/invalidations')
    expect(invalidations.invalidations[0]).toMatchObject({
      scope: 'entry',
      mode: 'expire',
      queries: ['analytics'],
    })

    expect(seen.problems).toEqual([])
    expect(seen.refused).toEqual([])
    await page.close()
  })

  it('the operator page asks for the key, refuses a wrong one, then shows the figures', async () => {
    const page = await browser.newPage()
    const seen = watch(page)
    await page.goto(`${api.url}/admin`)
    expect(new URL(page.url()).pathname).toBe('/admin/')
    await expect.poll(() => page.locator('#login').isVisible()).toBe(true)
    expect(await page.locator('#dashboard').isVisible()).toBe(false)

    await page.fill('#login input[type="password"]', 'not-the-admin-key')
    await page.click('#login button[type="submit"]')
    await expect.poll(() => page.locator('#login .notice').textContent()).toMatch(/refused \(403\)/)
    expect(await page.locator('#dashboard').isVisible()).toBe(false)
    expect(await page.evaluate((k) => sessionStorage.getItem(k), STORAGE_KEY)).toBeNull()
    // The only failures so far: the admin calls made with the wrong key.
    expect(seen.refused.length).toBeGreaterThan(0)
    expect(seen.refused.every((r) => /^403 \/admin\//.test(r))).toBe(true)
    seen.refused.length = 0
    seen.problems.splice(
      0,
      seen.problems.length,
      ...seen.problems.filter((p) => !p.includes('status of 403')),
    )

    await page.fill('#login input[type="password"]', adminKey)
    await page.click('#login button[type="submit"]')
    const sections = ['totals', 'series', 'top-queries', 'entries', 'schedules', 'invalidations']
    await page.waitForFunction(
      (ids) => ids.every((id) => document.getElementById(id)?.dataset.state === 'ready'),
      sections,
      { timeout: 20_000 },
    )

    // Totals: the numbers of /admin/stats (the demo's reads are in them).
    const stats = await adminGet<{ reads: number; athenaExecutions: number }>('/admin/stats')
    expect(stats.reads).toBeGreaterThanOrEqual(6)
    const tile = (stat: string) => page.locator(`[data-stat="${stat}"] .value`).textContent()
    await expect.poll(() => tile('reads'), { timeout: 15_000 }).toBe(stats.reads.toLocaleString('en-US'))
    expect(await tile('athena-executions')).toBe(stats.athenaExecutions.toLocaleString('en-US'))
    expect(await tile('hit-ratio')).toMatch(/^\d+(\.\d)? %$/)
    expect(await tile('scanned')).toMatch(/^[\d.]+ (B|KiB|MiB|GiB)$/)

    // The series: an hour of minutes, the demo's reads in at least one, drawn.
    const series = await adminGet<{ points: Array<{ reads: number; hitRatio: number | null }> }>(
      '/admin/stats/series?minutes=60',
    )
    expect(series.points).toHaveLength(60)
    const dataset = await page.evaluate(() => ({ ...document.getElementById('series')?.dataset }))
    expect(dataset.points).toBe('60')
    expect(Number(dataset.pointsWithReads)).toBeGreaterThanOrEqual(1)
    expect(await page.locator('#series-note').textContent()).toMatch(/^\d+ reads in \d+ of 60 minutes\.$/)
    const painted = await page.evaluate(() => {
      const canvas = document.getElementById('hit-ratio-chart') as HTMLCanvasElement
      const pixels = canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data ?? []
      let n = 0
      for (let i = 3; i < pixels.length; i += 4) if ((pixels[i] ?? 0) > 0) n++
      return n
    })
    expect(painted).toBeGreaterThan(2_000)

    // The prewarm set: one row per entry of /admin/entries, the five configured sets of prewarm.yaml among them,
    // and the demo's reads as popular entries, fresh.
    const entries = await adminGet<{
      entries: Array<{ source: string; state: string; parameters: { end?: string } }>
    }>('/admin/entries')
    expect(entries.entries.filter((e) => e.source === 'configured')).toHaveLength(5)
    const rows = page.locator('#entries-body tbody tr')
    expect(await rows.count()).toBe(entries.entries.length)
    const texts = await rows.allTextContents()
    expect(texts.filter((t) => t.includes('configured'))).toHaveLength(5)
    const demoRows = texts.filter((t) => t.includes(`end=${END}`))
    expect(demoRows.length).toBeGreaterThanOrEqual(PANELS.length)
    expect(demoRows.every((t) => t.includes('popular') && t.includes('fresh'))).toBe(true)

    // Schedules of schedules.yaml with their next run.
    const scheduleRows = await page.locator('#schedules-body tbody tr').allTextContents()
    expect(scheduleRows).toHaveLength(2)
    expect(scheduleRows[0]).toMatch(/^every-15-minutes.*\(in /)

    // The invalidation form: a whole query, deleted; the answer shown, and the log has it first.
    await page.selectOption('#invalidate-form select[name="query"]', 'top_pages')
    await page.selectOption('#invalidate-form select[name="mode"]', 'delete')
    await page.click('#invalidate-form button[type="submit"]')
    const result = page.locator('[data-role="invalidation-result"]')
    await expect.poll(() => result.getAttribute('data-scope'), { timeout: 10_000 }).toBe('query')
    expect(await result.textContent()).toMatch(/Invalidated \(delete\).*queriestop_pages/)
    const log = await adminGet<{ invalidations: Array<{ scope: string; mode: string; queries: string[] }> }>(
      '/admin/invalidations',
    )
    expect(log.invalidations[0]).toMatchObject({ scope: 'query', mode: 'delete', queries: ['top_pages'] })
    await expect
      .poll(() => page.locator('#invalidations-body tbody tr').first().textContent(), { timeout: 10_000 })
      .toMatch(/querydeletetop_pages/)
    expect(await page.locator('#invalidations-body tbody tr').count()).toBe(log.invalidations.length)

    // A malformed parameters field is caught on the page, with no request.
    await page.fill('#invalidate-form input[name="parameters"]', '{not json')
    await page.click('#invalidate-form button[type="submit"]')
    await expect.poll(() => page.locator('#invalidate-form .result').textContent()).toContain('JSON object')

    // Forget the key: back to the prompt, nothing kept.
    await page.click('#forget')
    await expect.poll(() => page.locator('#login').isVisible()).toBe(true)
    expect(await page.locator('#login .notice').textContent()).toContain('Key forgotten')
    expect(await page.evaluate((k) => sessionStorage.getItem(k), STORAGE_KEY)).toBeNull()

    expect(seen.problems).toEqual([])
    expect(seen.refused).toEqual([])
    await page.close()
  })

  it('the link acp serve prints opens the operator page with the key, which leaves the address bar', async () => {
    const page = await browser.newPage()
    const seen = watch(page)
    await page.goto(`${api.url}/admin/#key=${adminKey}`)
    await page.waitForFunction(() => document.getElementById('totals')?.dataset.state === 'ready', null, {
      timeout: 20_000,
    })
    expect(await page.locator('#login').isVisible()).toBe(false)
    expect(page.url()).toBe(`${api.url}/admin/`)
    expect(await page.evaluate(() => history.length)).toBe(2)
    expect(await page.evaluate((k) => sessionStorage.getItem(k), STORAGE_KEY)).toBe(adminKey)
    // The demo in the same tab has the key too.
    await page.click('nav a[href="/"]')
    await page.waitForFunction(() => document.getElementById('key')?.textContent?.includes('Admin key set'))
    expect(seen.problems).toEqual([])
    expect(seen.refused).toEqual([])
    await page.close()
  })
})

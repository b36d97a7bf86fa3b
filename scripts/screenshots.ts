// `npx tsx scripts/screenshots.ts [--data-dir ./data] [--end YYYY-MM-DD] [--traffic-minutes 6]`: the README's
// pictures of the pages, by hand (not in CI). Starts `acp serve` (local engine, in-memory cache, schedules off, its
// own development admin key), reads through the demo, invalidates one panel, then reads the demo's queries for
// `--traffic-minutes` with an invalidation each minute (expire, then delete, in turn) so that the operator page's
// series has minutes to show, runs one prewarm, and writes docs/images/demo-dashboard.png and
// docs/images/operator-page.png with Debian's Chromium. `--end` is the demo's ?end= (the first day after the data
// shown) for data that does not run up to today.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import type { Page } from 'playwright-core'
import { chromiumMissing, launchChromium } from '../test/helpers/chromium.ts'
import { buildUiIfStale } from './build-ui.ts'

const OUT = 'docs/images'
const LINK = /operator page \(.*\): (http:\/\/[^/\s]+)\/admin\/#key=([A-Za-z0-9_-]+)/
const START_TIMEOUT_MS = 180_000 // the first start writes the sample data

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string', default: './data' },
    end: { type: 'string' },
    'traffic-minutes': { type: 'string', default: '0' },
  },
})

/** Starts `acp serve` and resolves with its URL and development admin key once it prints its operator link. */
async function startServer(): Promise<{ child: ChildProcess; url: string; key: string }> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: values['data-dir'],
    PREWARM_SCHEDULES: 'off',
    LOG_REQUESTS: 'false',
    // The in-memory cache and a key of its own: nothing shared is touched.
    REDIS_URL: undefined,
    ADMIN_API_KEYS: undefined,
    QUERY_ENGINE: 'local',
  }
  const child = spawn(process.execPath, ['bin/acp.js', 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`acp serve did not start:\n${output}`)), START_TIMEOUT_MS)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const link = LINK.exec(output)
      if (link?.[1] && link[2]) {
        clearTimeout(timer)
        resolve({ child, url: link[1], key: link[2] })
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`acp serve exited (${code}):\n${output}`))
    })
  })
}

/** Waits until every element of `ids` has data-`attribute` = `value` (a function, not a string: the pages' CSP). */
async function waitFor(page: Page, ids: string[], attribute: string, value: string): Promise<void> {
  await page.waitForFunction(
    ([list, name, expected]) => list.every((id) => document.getElementById(id)?.dataset[name] === expected),
    [ids, attribute, value] as const,
    { timeout: 60_000 },
  )
}

/**
 * Reads `paths` every two seconds for `durationMs`, invalidating the demo's tag once a minute (expire, then delete,
 * in turn): minutes of hits, stale answers and misses for the operator page's series.
 */
async function traffic(
  server: { url: string; key: string },
  paths: string[],
  durationMs: number,
): Promise<void> {
  const end = Date.now() + durationMs
  let nextInvalidation = Date.now() + 60_000
  let mode: 'expire' | 'delete' = 'expire'
  while (Date.now() < end) {
    await Promise.all(paths.map(async (path) => (await fetch(`${server.url}${path}`)).arrayBuffer()))
    if (Date.now() >= nextInvalidation) {
      await fetch(`${server.url}/cache/invalidate`, {
        method: 'POST',
        headers: { 'x-api-key': server.key, 'content-type': 'application/json' },
        body: JSON.stringify({ tags: ['analytics'], mode }),
      })
      mode = mode === 'expire' ? 'delete' : 'expire'
      nextInvalidation += 60_000
    }
    await new Promise((resolve) => setTimeout(resolve, 2_000))
  }
}

const missing = chromiumMissing()
if (missing) throw new Error(missing)
await buildUiIfStale()
await mkdir(OUT, { recursive: true })
const server = await startServer()
const chrome = await launchChromium({ viewport: { width: 1360, height: 900 } })
const browser = chrome.context
try {
  const page = await browser.newPage()
  // The link acp serve prints: the key goes to this tab's sessionStorage, shared by both pages.
  await page.goto(`${server.url}/admin/#key=${server.key}`)
  await page.goto(`${server.url}/${values.end ? `?end=${values.end}` : ''}`)
  const panels = ['panel-pageviews-daily', 'panel-top-pages', 'panel-by-country', 'panel-sessions-weekly']
  await waitFor(page, panels, 'state', 'ready')
  // Each panel read again (a HIT), then one invalidated: its log shows MISS, HIT, STALE…, HIT.
  for (const id of panels) await page.click(`#${id} button.reload`)
  await waitFor(page, panels, 'xCache', 'HIT')
  await page.click('#panel-top-pages button.invalidate')
  await waitFor(page, ['panel-top-pages'], 'invalidation', 'done')
  await page.screenshot({ path: `${OUT}/demo-dashboard.png`, fullPage: true })
  await traffic(
    server,
    await page.evaluate((ids) => ids.map((id) => document.getElementById(id)?.dataset.url ?? ''), panels),
    Number(values['traffic-minutes']) * 60_000,
  )

  const prewarm = await fetch(`${server.url}/admin/prewarm`, {
    method: 'POST',
    headers: { 'x-api-key': server.key, 'content-type': 'application/json' },
    body: '{}',
  })
  if (!prewarm.ok) throw new Error(`POST /admin/prewarm: ${prewarm.status} ${await prewarm.text()}`)
  await page.goto(`${server.url}/admin/`)
  await page.selectOption('#series-minutes', '15')
  await waitFor(page, ['totals', 'series', 'entries', 'schedules', 'invalidations'], 'state', 'ready')
  await page.waitForTimeout(500)
  await page.screenshot({ path: `${OUT}/operator-page.png`, fullPage: true })
  process.stdout.write(`${OUT}/demo-dashboard.png, ${OUT}/operator-page.png\n`)
} finally {
  await chrome.close()
  server.child.kill('SIGTERM')
}

// The pages of the Node server (src/http/ui-routes.ts) through app.request: headers, validators, gzip, the 503
// without a build, and that the pages are public while the admin routes they call stay behind the admin key.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/app.ts'
import { PACKAGE_UI_DIR } from '../../src/entry/server.ts'
import { acceptsGzip, PAGE_CSP } from '../../src/http/ui-routes.ts'
import { type Stack, startStack } from '../helpers/stack.ts'

const ADMIN_KEY = 'admin-key-of-the-pages-test'
const DEMO_HTML = `<!doctype html><title>demo</title>${'<p>the demo page</p>'.repeat(50)}`
const ADMIN_HTML = `<!doctype html><title>admin</title>${'<p>the operator page</p>'.repeat(50)}`
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(2000))})`

describe('the pages (app.request)', () => {
  let s: Stack
  let dir: string
  let app: ReturnType<typeof createApp>

  beforeAll(async () => {
    s = await startStack({ env: { ADMIN_API_KEYS: ADMIN_KEY } })
    dir = await mkdtemp(join(tmpdir(), 'acp-ui-'))
    await mkdir(join(dir, 'assets'))
    await writeFile(join(dir, 'demo.html'), DEMO_HTML)
    await writeFile(join(dir, 'admin.html'), ADMIN_HTML)
    await writeFile(join(dir, 'assets', 'demo-ABC123.js'), SCRIPT)
    await writeFile(join(dir, 'assets', 'demo-ABC123.css'), 'body{color:red}')
    app = createApp({ ...s.deps, uiDir: dir })
  })
  afterAll(async () => {
    await s?.close()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('serves the demo at / as HTML that is revalidated, with a CSP and nosniff', async () => {
    const res = await app.request('/')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(res.headers.get('cache-control')).toBe('no-cache')
    expect(res.headers.get('content-security-policy')).toBe(PAGE_CSP)
    expect(PAGE_CSP).toMatch(/^default-src 'self'; /)
    expect(PAGE_CSP).not.toMatch(/unsafe-inline|unsafe-eval/)
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('vary')).toBe('Accept-Encoding')
    expect(res.headers.get('content-encoding')).toBeNull()
    expect(res.headers.get('etag')).toMatch(/^"[\w-]{27}"$/)
    expect(await res.text()).toBe(DEMO_HTML)
  })

  it('sends the gzip form when it is accepted, with its own ETag, and 304 for either validator', async () => {
    const plain = await app.request('/')
    const gz = await app.request('/', { headers: { 'accept-encoding': 'br, gzip' } })
    expect(gz.headers.get('content-encoding')).toBe('gzip')
    const compressed = Buffer.from(await gz.arrayBuffer())
    expect(compressed.length).toBeLessThan(DEMO_HTML.length)
    expect(gunzipSync(compressed).toString()).toBe(DEMO_HTML)
    const plainTag = plain.headers.get('etag') ?? ''
    expect(gz.headers.get('etag')).toBe(`${plainTag.slice(0, -1)}-gz"`)
    for (const tag of [plainTag, gz.headers.get('etag') ?? '', `W/${plainTag}`, `"other", ${plainTag}`]) {
      const again = await app.request('/', { headers: { 'if-none-match': tag, 'accept-encoding': 'gzip' } })
      expect(again.status, tag).toBe(304)
      expect(await again.text()).toBe('')
      expect(again.headers.get('cache-control')).toBe('no-cache')
    }
    expect((await app.request('/', { headers: { 'if-none-match': '"other"' } })).status).toBe(200)
  })

  it('answers HEAD without a body', async () => {
    const res = await app.request('/', { method: 'HEAD' })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(await res.text()).toBe('')
  })

  it('serves the operator page at /admin/ without a key, and /admin redirects there keeping the query', async () => {
    const page = await app.request('/admin/')
    expect(page.status).toBe(200)
    expect(await page.text()).toBe(ADMIN_HTML)
    const bare = await app.request('/admin')
    expect(bare.status).toBe(308)
    expect(bare.headers.get('location')).toBe('/admin/')
    expect((await app.request('/admin?x=1')).headers.get('location')).toBe('/admin/?x=1')
  })

  it('keeps the admin routes behind the admin key', async () => {
    for (const path of ['/admin/stats', '/admin/anything']) {
      expect((await app.request(path)).status, path).toBe(401)
      expect((await app.request(path, { headers: { 'x-api-key': 'not-the-admin-key' } })).status, path).toBe(
        403,
      )
    }
    const stats = await app.request('/admin/stats', { headers: { 'x-api-key': ADMIN_KEY } })
    expect(stats.status).toBe(200)
    expect(await stats.json()).toMatchObject({ reads: expect.any(Number) })
    const invalidate = await app.request('/cache/invalidate', { method: 'POST', body: '{"all":true}' })
    expect(invalidate.status).toBe(401)
  })

  it('serves hashed assets for good with their types, and 404 for any other name', async () => {
    const js = await app.request('/ui/demo-ABC123.js', { headers: { 'accept-encoding': 'gzip' } })
    expect(js.status).toBe(200)
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(js.headers.get('x-content-type-options')).toBe('nosniff')
    expect(js.headers.get('content-encoding')).toBe('gzip')
    expect(gunzipSync(Buffer.from(await js.arrayBuffer())).toString()).toBe(SCRIPT)
    // Too small to gain from gzip: sent as it is.
    const css = await app.request('/ui/demo-ABC123.css', { headers: { 'accept-encoding': 'gzip' } })
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8')
    expect(css.headers.get('content-encoding')).toBeNull()
    expect(await css.text()).toBe('body{color:red}')
    for (const path of ['/ui/demo-XYZ.js', '/ui/..%2Fdemo.html', '/ui/%2e%2e%2fdemo.html']) {
      const res = await app.request(path)
      expect(res.status, path).toBe(404)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
    }
  })

  it('answers 503 saying how to build the pages when the directory has none', async () => {
    const unbuilt = createApp({ ...s.deps, uiDir: join(dir, 'missing') })
    for (const path of ['/', '/admin/', '/ui/demo-ABC123.js']) {
      const res = await unbuilt.request(path)
      expect(res.status, path).toBe(503)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      const body = (await res.json()) as { status: number; detail: string }
      expect(body.status).toBe(503)
      expect(body.detail).toContain('npm run build:ui')
    }
    expect((await unbuilt.request('/admin/stats')).status).toBe(401)
  })

  it('has no page routes without a directory (the Lambda app)', async () => {
    const lambdaLike = createApp(s.deps)
    expect((await lambdaLike.request('/')).status).toBe(404)
    expect((await lambdaLike.request('/admin/')).status).toBe(401)
  })

  it('serves the real build: every asset a page names, and no inline script', async () => {
    const real = createApp({ ...s.deps, uiDir: PACKAGE_UI_DIR })
    for (const [path, entry] of [
      ['/', 'demo'],
      ['/admin/', 'admin'],
    ] as const) {
      const html = await (await real.request(path)).text()
      expect(html).toBe(await readFile(join(PACKAGE_UI_DIR, `${entry}.html`), 'utf8'))
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
      expect(html).not.toMatch(/\sstyle=|\son[a-z]+=/)
      const urls = [...html.matchAll(/(?:src|href)="(\/ui\/[^"]+)"/g)].map((m) => m[1] ?? '')
      expect(urls).toContain(urls.find((u) => new RegExp(`^/ui/${entry}-[A-Z0-9]+\\.js$`).test(u)))
      expect(urls.some((u) => u.endsWith('.css'))).toBe(true)
      for (const url of urls) {
        const res = await real.request(url)
        expect(res.status, url).toBe(200)
        const type = url.endsWith('.js') ? 'text/javascript' : url.endsWith('.css') ? 'text/css' : 'image/svg'
        expect(res.headers.get('content-type'), url).toMatch(new RegExp(`^${type}`))
      }
    }
  })
})

describe('acceptsGzip', () => {
  it.each([
    [undefined, false],
    ['', false],
    ['gzip', true],
    ['gzip, deflate, br', true],
    ['GZIP;q=0.5', true],
    ['gzip;q=0', false],
    ['br', false],
    ['*', true],
    ['*;q=0', false],
    ['gzip;q=0, *', false],
    ['identity, *;q=0.1', true],
    ['x-gzip', true],
  ] as const)('%j → %s', (header, expected) => {
    expect(acceptsGzip(header)).toBe(expected)
  })
})

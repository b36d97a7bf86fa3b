// The pages of the Node server: the demo dashboard at `/`, the operator page at `/admin/`, and their bundled
// assets at `/ui/<name>`, as `npm run build:ui` wrote them into dist/ui (scripts/build-ui.ts). Every file is read
// once, when the app is created, and kept in memory with its gzip form and its ETag: a page costs a map lookup.
// The pages hold no data and need no key: they ask for the admin key and send it with each admin call.
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { extname, join } from 'node:path'
import { gzipSync } from 'node:zlib'
import type { Context, Hono } from 'hono'
import type { AppEnv } from './app-env.ts'
import { problem, problemResponse } from './problem.ts'

/** One file of the bundle, ready to send. */
interface Asset {
  body: Uint8Array<ArrayBuffer>
  /** The gzip form, when it is smaller. */
  gzip: Uint8Array<ArrayBuffer> | undefined
  contentType: string
  /** Strong validator of the plain body; the gzip form's is the same with `-gz`. */
  etag: string
  headers: Record<string, string>
}

/** The pages and assets of dist/ui, or why there are none. */
export type UiBundle =
  | { kind: 'ready'; pages: ReadonlyMap<string, Asset>; assets: ReadonlyMap<string, Asset> }
  | { kind: 'missing'; reason: string }

/** Route → file of dist/ui. */
const PAGES = { '/': 'demo.html', '/admin/': 'admin.html' } as const

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
}
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json', '.txt'])

/**
 * What the pages may load: their own scripts, styles, images and API calls, nothing inline, nothing from
 * elsewhere, and no framing.
 */
export const PAGE_CSP =
  "default-src 'self'; base-uri 'none'; object-src 'none'; form-action 'self'; frame-ancestors 'none'"

const COMMON_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  Vary: 'Accept-Encoding',
}
const PAGE_HEADERS = { ...COMMON_HEADERS, 'Cache-Control': 'no-cache', 'Content-Security-Policy': PAGE_CSP }
// Asset names carry a hash of their content: a name never changes meaning, so browsers keep them for good.
const ASSET_HEADERS = {
  ...COMMON_HEADERS,
  'Cache-Control': 'public, max-age=31536000, immutable',
  'Cross-Origin-Resource-Policy': 'same-origin',
}

function asset(file: string, headers: Record<string, string>): Asset {
  // Copies that own their memory (a Buffer may be a view of a shared pool), as a Response body wants them.
  const body = Uint8Array.from(readFileSync(file))
  const ext = extname(file)
  const gzipped = COMPRESSIBLE.has(ext) ? Uint8Array.from(gzipSync(body, { level: 9 })) : undefined
  return {
    body,
    gzip: gzipped && gzipped.length < body.length ? gzipped : undefined,
    contentType: CONTENT_TYPES[ext] ?? 'application/octet-stream',
    etag: createHash('sha256').update(body).digest('base64url').slice(0, 27),
    headers,
  }
}

/** Reads the pages and assets of `dir` (dist/ui) once; a missing page makes the bundle `missing`. */
export function loadUiBundle(dir: string): UiBundle {
  const assetsDir = join(dir, 'assets')
  const missing = [...Object.values(PAGES).map((f) => join(dir, f)), assetsDir].filter((f) => !existsSync(f))
  if (missing.length > 0) return { kind: 'missing', reason: `${missing.join(', ')} not found` }
  const pages = new Map<string, Asset>()
  for (const [route, file] of Object.entries(PAGES)) pages.set(route, asset(join(dir, file), PAGE_HEADERS))
  const assets = new Map<string, Asset>()
  for (const entry of readdirSync(assetsDir, { withFileTypes: true }))
    if (entry.isFile()) assets.set(entry.name, asset(join(assetsDir, entry.name), ASSET_HEADERS))
  return { kind: 'ready', pages, assets }
}

/** Whether an Accept-Encoding header allows gzip (a listed `gzip` with q>0, else `*` with q>0). */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false
  let star = false
  for (const part of header.split(',')) {
    const [name = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase())
    const q = params.find((p) => p.startsWith('q='))
    const allowed = q === undefined || Number(q.slice(2)) > 0
    if (name === 'gzip' || name === 'x-gzip') return allowed
    if (name === '*') star = allowed
  }
  return star
}

/** Whether If-None-Match names one of `tags` (weak comparison, as RFC 9110 asks for GET). */
function matches(ifNoneMatch: string | undefined, tags: string[]): boolean {
  if (!ifNoneMatch) return false
  if (ifNoneMatch.trim() === '*') return true
  return ifNoneMatch.split(',').some((t) => tags.includes(t.trim().replace(/^W\//, '')))
}

function send(c: Context<AppEnv>, file: Asset): Response {
  const gzip = file.gzip !== undefined && acceptsGzip(c.req.header('accept-encoding'))
  const etag = gzip ? `"${file.etag}-gz"` : `"${file.etag}"`
  const headers: Record<string, string> = { ...file.headers, ETag: etag }
  if (matches(c.req.header('if-none-match'), [`"${file.etag}"`, `"${file.etag}-gz"`]))
    return new Response(null, { status: 304, headers })
  const body = gzip && file.gzip ? file.gzip : file.body
  headers['Content-Type'] = file.contentType
  headers['Content-Length'] = String(body.length)
  if (gzip) headers['Content-Encoding'] = 'gzip'
  return new Response(body, { status: 200, headers })
}

/**
 * Registers `GET /`, `GET /admin/` (`/admin` → 308), `GET /ui/<name>`. Register them before the admin key check of
 * `/admin/*`: a page is public, the admin routes it calls are not. Without a bundle they answer 503 saying how to
 * build one.
 */
export function registerUiRoutes(app: Hono<AppEnv>, bundle: UiBundle): void {
  const notBuilt = (c: Context<AppEnv>) =>
    problemResponse(c, {
      ...problem(
        503,
        'pages-not-built',
        'Pages not built',
        'The pages of this server are not built: run `npm run build:ui` (npm install runs it too), then restart the server.',
      ),
      instance: c.req.path,
    })
  for (const route of Object.keys(PAGES))
    app.get(route, (c) => {
      const page = bundle.kind === 'ready' ? bundle.pages.get(route) : undefined
      return page ? send(c, page) : notBuilt(c)
    })
  app.get('/admin', (c) => {
    const url = new URL(c.req.url)
    return c.redirect(`/admin/${url.search}`, 308)
  })
  app.get('/ui/:name', (c) => {
    if (bundle.kind !== 'ready') return notBuilt(c)
    const file = bundle.assets.get(c.req.param('name'))
    if (file) return send(c, file)
    return problemResponse(c, {
      ...problem(404, 'not-found', 'Not found', `No asset named ${c.req.param('name')} in this build`),
      instance: c.req.path,
    })
  })
}

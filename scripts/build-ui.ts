// `npm run build:ui` (and `npm install`, through `prepare`): the pages the Node server serves — the demo dashboard
// at `/` and the operator page at `/admin/` — bundled from ui/ by esbuild into dist/ui/:
//   dist/ui/demo.html, dist/ui/admin.html   the pages, naming their assets
//   dist/ui/assets/<name>-<hash>.{js,css,svg}  the assets, served as /ui/<name>-<hash>.… and cached for good
// Asset names carry a hash of their content, so a new build never meets an old asset in a browser's cache; the
// pages themselves are revalidated on every load. The build goes to a temporary directory that replaces dist/ui at
// the end, so a half-written bundle is never served. The Lambda artifact has no pages (scripts/build.ts).
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SOURCES = join(ROOT, 'ui')
/** Where the pages are written, and where `acp serve` reads them from (src/entry/server.ts). */
export const UI_DIR = join(ROOT, 'dist', 'ui')
/** The pages: each is ui/<name>/index.html with ui/<name>/main.ts, written as dist/ui/<name>.html. */
const PAGES = ['demo', 'admin'] as const
const FAVICON = join(SOURCES, 'shared', 'favicon.svg')
/** Where the pages' HTML names its assets. */
const ASSETS_MARK = '<!-- assets -->'
/** The URL path the server serves dist/ui/assets under (src/http/ui-routes.ts). */
const ASSETS_URL = '/ui/'

export interface UiBuildReport {
  dir: string
  files: Array<{ name: string; bytes: number }>
}

async function newestMtimeMs(path: string): Promise<number> {
  const info = await stat(path)
  if (!info.isDirectory()) return info.mtimeMs
  let newest = info.mtimeMs
  for (const entry of await readdir(path)) newest = Math.max(newest, await newestMtimeMs(join(path, entry)))
  return newest
}

/** True when dist/ui is missing or older than a file of ui/ or this script. */
export async function uiBuildIsStale(): Promise<boolean> {
  const built = join(UI_DIR, `${PAGES[0]}.html`)
  if (!existsSync(built)) return true
  const sources = Math.max(await newestMtimeMs(SOURCES), await newestMtimeMs(fileURLToPath(import.meta.url)))
  return sources > (await stat(built)).mtimeMs
}

const contentHash = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex').slice(0, 10)

/** Bundles ui/ into dist/ui (see the top of this file). */
export async function buildUi(): Promise<UiBuildReport> {
  const { build } = await import('esbuild')
  const out = `${UI_DIR}.tmp-${process.pid}`
  await rm(out, { recursive: true, force: true })
  await mkdir(join(out, 'assets'), { recursive: true })
  try {
    const result = await build({
      absWorkingDir: ROOT,
      entryPoints: Object.fromEntries(PAGES.map((page) => [page, join(SOURCES, page, 'main.ts')])),
      outdir: join(out, 'assets'),
      tsconfig: join(SOURCES, 'tsconfig.json'),
      bundle: true,
      // The two pages share chart.js and ui/shared: one chunk, cached once.
      splitting: true,
      format: 'esm',
      platform: 'browser',
      target: ['es2022'],
      minify: true,
      entryNames: '[name]-[hash]',
      chunkNames: 'chunk-[hash]',
      assetNames: '[name]-[hash]',
      metafile: true,
      logLevel: 'warning',
    })
    const favicon = await readFile(FAVICON)
    const faviconName = `favicon-${contentHash(favicon)}.svg`
    await writeFile(join(out, 'assets', faviconName), favicon)
    const outputs = Object.entries(result.metafile.outputs)
    const url = (file: string) => `${ASSETS_URL}${relative(join(out, 'assets'), join(ROOT, file))}`
    for (const page of PAGES) {
      const entry = outputs.find(([, o]) => o.entryPoint === relative(ROOT, join(SOURCES, page, 'main.ts')))
      if (!entry) throw new Error(`esbuild wrote no bundle for ui/${page}/main.ts`)
      const [script, output] = entry
      const chunks = output.imports.filter((i) => i.kind === 'import-statement' && !i.external)
      const head = [
        `<link rel="icon" type="image/svg+xml" href="${ASSETS_URL}${faviconName}">`,
        ...(output.cssBundle ? [`<link rel="stylesheet" href="${url(output.cssBundle)}">`] : []),
        ...chunks.map((c) => `<link rel="modulepreload" href="${url(c.path)}">`),
        `<script type="module" src="${url(script)}"></script>`,
      ].join('\n')
      const template = await readFile(join(SOURCES, page, 'index.html'), 'utf8')
      if (!template.includes(ASSETS_MARK)) throw new Error(`ui/${page}/index.html has no ${ASSETS_MARK}`)
      await writeFile(join(out, `${page}.html`), template.replace(ASSETS_MARK, head))
    }
    await rm(UI_DIR, { recursive: true, force: true })
    await rename(out, UI_DIR)
  } catch (err) {
    await rm(out, { recursive: true, force: true })
    throw err
  }
  const files: UiBuildReport['files'] = []
  for (const dir of ['', 'assets'])
    for (const entry of await readdir(join(UI_DIR, dir), { withFileTypes: true }))
      if (entry.isFile())
        files.push({ name: join(dir, entry.name), bytes: (await stat(join(UI_DIR, dir, entry.name))).size })
  return { dir: UI_DIR, files }
}

/** Builds when dist/ui is missing or stale; true when it built. */
export async function buildUiIfStale(): Promise<boolean> {
  if (!(await uiBuildIsStale())) return false
  await buildUi()
  return true
}

const invoked = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)
if (invoked) {
  // `prepare` also runs for installs without dev dependencies (npm ci --omit=dev): those get no pages, and say so.
  const missing = ['esbuild', 'chart.js'].filter((p) => !existsSync(join(ROOT, 'node_modules', p)))
  if (process.argv.includes('--if-possible') && missing.length > 0) {
    process.stderr.write(
      `pages not built: ${missing.join(', ')} not installed (dev dependencies); run npm run build:ui after a full install\n`,
    )
  } else {
    const report = await buildUi()
    const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`
    process.stdout.write(
      `${relative(process.cwd(), report.dir) || '.'}: ${report.files.map((f) => `${f.name} ${kib(f.bytes)}`).join(', ')}\n`,
    )
  }
}

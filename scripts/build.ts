// `npm run build`: the Lambda artifact. esbuild bundles src/entry/lambda.ts (which never imports local/, so
// DuckDB and the local endpoints stay out) into dist/lambda/index.mjs, exporting two handlers of one function:
// `handler` (index.handler: buffered responses, up to Lambda's 6 MB payload, larger ones answered 413) and
// `streamingHandler` (index.streamingHandler: responses streamed, for API Gateway's STREAM transfer mode);
// dist/lambda.zip holds it with the service's configuration files (CONFIG_DIR /var/task/wrangler-free-config). The
// zip is deterministic (fixed timestamps, sorted entries), so an unchanged build gives Terraform an unchanged
// source_code_hash.
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { build } from 'esbuild'
import { zipSync } from 'fflate'

const outdir = 'dist/lambda'
const zipPath = 'dist/lambda.zip'
const CONFIG_DIR = 'wrangler-free-config'
const FIXED_MTIME = new Date('2026-01-01T00:00:00Z')
const HANDLERS = ['handler', 'streamingHandler']

await rm(outdir, { recursive: true, force: true })
await rm(zipPath, { force: true })
await mkdir(outdir, { recursive: true })
const result = await build({
  entryPoints: { index: 'src/entry/lambda.ts' },
  outdir,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  outExtension: { '.js': '.mjs' },
  minify: true,
  sourcemap: 'external',
  metafile: true,
  legalComments: 'none',
  // The Lambda runtime ships no AWS SDK v3 guarantee of our version, so the SDK is bundled; ESM needs `require`.
  banner: {
    js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  },
  logLevel: 'warning',
})
const forbidden = Object.keys(result.metafile.inputs).filter(
  (f) =>
    f.startsWith('local/') || f.includes('@duckdb') || f.includes('vitest') || f.includes('testcontainers'),
)
if (forbidden.length > 0)
  throw new Error(`the Lambda bundle must not contain dev-only code: ${forbidden.join(', ')}`)

// The handler names Terraform points at: a minifier or a refactor that dropped one would only show at deploy time.
const exported = Object.values(result.metafile.outputs).flatMap((o) => o.exports)
const missing = HANDLERS.filter((name) => !exported.includes(name))
if (missing.length > 0) throw new Error(`the Lambda bundle must export ${missing.join(', ')}`)

const files: Record<string, [Uint8Array, { mtime: Date }]> = {
  'index.mjs': [await readFile(`${outdir}/index.mjs`), { mtime: FIXED_MTIME }],
}
// Examples (tenants.example.yaml, with demo key digests) are documentation, not the deployment's configuration.
for (const name of (await readdir(CONFIG_DIR))
  .filter((f) => f.endsWith('.yaml') && !f.endsWith('.example.yaml'))
  .sort())
  files[`${CONFIG_DIR}/${name}`] = [await readFile(`${CONFIG_DIR}/${name}`), { mtime: FIXED_MTIME }]
await writeFile(zipPath, zipSync(files, { level: 9 }))

const kib = async (file: string) => `${((await stat(file)).size / 1024).toFixed(0)} KiB`
process.stdout.write(
  `${outdir}/index.mjs ${await kib(`${outdir}/index.mjs`)} (handlers ${HANDLERS.map((h) => `index.${h}`).join(', ')}); ${zipPath} ${await kib(zipPath)} (${Object.keys(files).join(', ')})\n`,
)

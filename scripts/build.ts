// `npm run build`: the Lambda bundle. esbuild bundles src/entry/lambda.ts (which never imports src/local, so DuckDB
// and the local endpoints stay out) into dist/lambda/index.mjs, exporting `handler` (Lambda handler: index.handler).
import { mkdir, rm, stat } from 'node:fs/promises'
import { build } from 'esbuild'

const outdir = 'dist/lambda'
await rm(outdir, { recursive: true, force: true })
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
  (f) => f.includes('src/local/') || f.includes('@duckdb'),
)
if (forbidden.length > 0)
  throw new Error(`the Lambda bundle must not contain dev-only code: ${forbidden.join(', ')}`)
const { size } = await stat(`${outdir}/index.mjs`)
process.stdout.write(`${outdir}/index.mjs ${(size / 1024).toFixed(0)} KiB\n`)

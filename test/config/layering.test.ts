// Rules of the source tree that the compiler cannot check, checked on the text: the environment reaches the service
// only through the configuration loader, src/ never loads the development emulators of local/ statically (they
// must stay out of the Lambda bundle), and src/config is the bottom floor.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((f) => {
    const path = join(dir, f)
    if (statSync(join(ROOT, path)).isDirectory()) return sources(path)
    return /\.(ts|js|mjs)$/.test(f) ? [path] : []
  })
}

const SRC = sources('src').map((file) => ({ file, text: readFileSync(join(ROOT, file), 'utf8') }))

/** Each line of `text` matching `pattern`, as `file:line: text`. */
function hits(file: string, text: string, pattern: RegExp): string[] {
  return text
    .split('\n')
    .flatMap((line, i) => (pattern.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : []))
}

/** The module specifiers of `text`'s static imports and re-exports (type-only ones included), and its dynamic ones. */
function imports(text: string): { static: string[]; dynamic: string[] } {
  return {
    static: [
      ...[...text.matchAll(/^\s*(?:import|export)\b[^;'"]*?\bfrom\s+['"]([^'"]+)['"]/gms)].map(
        (m) => m[1] ?? '',
      ),
      ...[...text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)].map((m) => m[1] ?? ''),
    ],
    dynamic: [...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? ''),
  }
}

describe('src/: the environment reaches the service only through the configuration loader', () => {
  it('reads process.env nowhere but where an entry point hands it to the loader', () => {
    const handOffs = new Set([
      'src/entry/cli.ts: await buildCli(process.env).parseAsync(process.argv)',
      'src/entry/lambda.ts: const settings = await loadSettings(process.env, {',
    ])
    const reads = SRC.flatMap(({ file, text }) =>
      hits(file, text, /process\s*\.\s*env\b|process\s*\[\s*['"`]env|\benv\s*\}\s*=\s*process\b/),
    ).map((hit) => hit.replace(/:\d+: /, ': '))
    expect(reads.filter((r) => !handOffs.has(r))).toEqual([])
    expect(reads.sort()).toEqual([...handOffs].sort())
  })
})

describe('src/: layering', () => {
  it('no file statically imports local/ (the development emulators); entry points may load them on demand', () => {
    const intoLocal = (file: string, spec: string) =>
      spec.startsWith('.') && relative(ROOT, resolve(ROOT, dirname(file), spec)).startsWith('local/')
    const staticHits = SRC.flatMap(({ file, text }) =>
      imports(text)
        .static.filter((spec) => intoLocal(file, spec))
        .map((spec) => `${file}: ${spec}`),
    )
    expect(staticHits).toEqual([])
    const dynamicOutsideEntry = SRC.filter(({ file }) => !file.startsWith('src/entry/')).flatMap(
      ({ file, text }) =>
        imports(text)
          .dynamic.filter((spec) => intoLocal(file, spec))
          .map((spec) => `${file}: ${spec}`),
    )
    expect(dynamicOutsideEntry).toEqual([])
  })

  it('the check sees the imports it looks for (the serve command loads the embedded stack on demand)', () => {
    const cli = SRC.find((s) => s.file === 'src/entry/cli.ts')
    expect(imports(cli?.text ?? '').dynamic).toContain('../../local/embedded-stack.ts')
    expect(imports("import type { A } from '../../local/a.ts'\nexport { b } from './b.ts'\n").static).toEqual(
      ['../../local/a.ts', './b.ts'],
    )
  })

  it('src/config imports nothing of the floors above it', () => {
    const upward = SRC.filter(({ file }) => file.startsWith('src/config/')).flatMap(({ file, text }) =>
      [...imports(text).static, ...imports(text).dynamic]
        .filter((spec) => spec.startsWith('.'))
        .map((spec) => relative(ROOT, resolve(ROOT, dirname(file), spec)))
        .filter((target) => !target.startsWith('src/config/') && target !== 'src/errors.ts')
        .map((target) => `${file} → ${target}`),
    )
    expect(upward).toEqual([])
  })

  it('src/metrics sits beside src/cache: it imports only the cache, the configuration and the errors', () => {
    const upward = SRC.filter(({ file }) => file.startsWith('src/metrics/')).flatMap(({ file, text }) =>
      [...imports(text).static, ...imports(text).dynamic]
        .filter((spec) => spec.startsWith('.'))
        .map((spec) => relative(ROOT, resolve(ROOT, dirname(file), spec)))
        .filter((target) => !/^src\/(metrics|cache|config)\//.test(target) && target !== 'src/errors.ts')
        .map((target) => `${file} → ${target}`),
    )
    expect(upward).toEqual([])
  })

  it('src/cache, src/athena, src/metrics and src/service never import hono (only the HTTP floor knows the framework)', () => {
    const lower = SRC.filter(({ file }) => /^src\/(cache|athena|metrics|service)\//.test(file)).flatMap(
      ({ file, text }) =>
        [...imports(text).static, ...imports(text).dynamic]
          .filter((spec) => spec === 'hono' || spec.startsWith('hono/') || spec.startsWith('@hono/'))
          .map((spec) => `${file} → ${spec}`),
    )
    expect(lower).toEqual([])
  })

  it('every file of the service does one job in about 400 lines at most', () => {
    const long = SRC.map(({ file, text }) => ({ file, lines: text.split('\n').length }))
      .filter(({ lines }) => lines > 420)
      .map(({ file, lines }) => `${file}: ${lines} lines`)
    expect(long).toEqual([])
  })
})

// `acp tenants add-key` and `acp tenants list`, run as the real CLI (bin/acp.js) on a temporary configuration
// directory: the printed key authenticates as its tenant, the rest of tenants.yaml survives, mistakes change nothing.
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadSettings } from '../../src/config/settings.ts'
import { withTenantKey } from '../../src/config/tenant-keys.ts'
import { KeyRing } from '../../src/http/api-key-auth.ts'
import { runAcp } from '../helpers/processes.ts'
import { TENANT_KEYS, tenantConfigDir } from '../helpers/tenant-config.ts'

const KEY = /^acp_[A-Za-z0-9_-]{43}$/
/** The CLI must not depend on the environment of whoever runs the tests. */
const ENV = { CONFIG_DIR: undefined, LOG_LEVEL: 'silent' }

const dirs: string[] = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

async function configDir(): Promise<string> {
  const dir = await tenantConfigDir()
  dirs.push(dir)
  const file = join(dir, 'tenants.yaml')
  // Comments in every place an operator puts them: above, beside and inside the tenants.
  const text = (await readFile(file, 'utf8'))
    .replace('tenants:\n', '# Who may read what. Keys are sha256 digests only.\ntenants:\n')
    .replace('  globex:\n', '  # Globex: rotated 2024-05\n  globex:\n')
    .replace(/(\n {4}parameters: \{ country: US \})/, ' # ops laptop$1')
  await writeFile(file, text)
  return dir
}

const acp = (args: string[]) => runAcp(['tenants', ...args], ENV, { timeoutMs: 60_000 })

async function identify(dir: string, key: string): Promise<string | undefined> {
  const { tenants } = await loadSettings({ CONFIG_DIR: dir, LOG_LEVEL: 'silent' })
  const match = new KeyRing([], tenants).identify(key)
  return match.verdict === 'ok' ? match.tenant?.id : undefined
}

describe('acp tenants', () => {
  it('add-key prints a new key once; it authenticates as that tenant, the old keys still do, comments survive', async () => {
    const dir = await configDir()
    const before = await readFile(join(dir, 'tenants.yaml'), 'utf8')
    const run = await acp(['add-key', 'acme', '--config-dir', dir])
    expect(run.code, run.stderr).toBe(0)
    const key = run.stdout.trim()
    expect(key).toMatch(KEY)
    expect(run.stderr).toContain("tenant 'acme'")
    expect(run.stderr).toContain('2 keys')
    const after = await readFile(join(dir, 'tenants.yaml'), 'utf8')
    expect(after).not.toContain(key)
    for (const comment of [
      '# Who may read what. Keys are sha256 digests only.',
      '# Globex: rotated 2024-05',
      '# ops laptop',
    ])
      expect(after).toContain(comment)
    // Only acme's keys line changed.
    const changed = after.split('\n').filter((line, i) => line !== before.split('\n')[i])
    expect(changed).toHaveLength(1)
    expect(changed[0]).toMatch(/^ {4}keys: \[.*sha256:[0-9a-f]{64}.*\] # ops laptop$/)

    expect(await identify(dir, key)).toBe('acme')
    expect(await identify(dir, TENANT_KEYS.acme)).toBe('acme')
    expect(await identify(dir, TENANT_KEYS.globex)).toBe('globex')
    const { tenants } = await loadSettings({ CONFIG_DIR: dir, LOG_LEVEL: 'silent' })
    expect(tenants.byId.get('acme')?.parameters).toEqual({ country: 'US' })

    // Every run is a new key.
    const again = await acp(['add-key', 'acme', '--config-dir', dir])
    expect(again.code, again.stderr).toBe(0)
    expect(again.stdout.trim()).not.toBe(key)
    expect(await identify(dir, again.stdout.trim())).toBe('acme')
    expect(await identify(dir, key)).toBe('acme')
  })

  it('CONFIG_DIR is the default configuration directory', async () => {
    const dir = await configDir()
    const run = await runAcp(
      ['tenants', 'add-key', 'initech'],
      { ...ENV, CONFIG_DIR: dir },
      { timeoutMs: 60_000 },
    )
    expect(run.code, run.stderr).toBe(0)
    expect(await identify(dir, run.stdout.trim())).toBe('initech')
  })

  it('an unknown tenant fails, naming the known ones, and leaves the file as it was', async () => {
    const dir = await configDir()
    const before = await readFile(join(dir, 'tenants.yaml'), 'utf8')
    const run = await acp(['add-key', 'umbrella', '--config-dir', dir])
    expect(run.code).not.toBe(0)
    expect(run.stdout).toBe('')
    expect(run.stderr).toMatch(
      /^acp: No tenant 'umbrella' in .*tenants\.yaml \(known: acme, globex, initech\)/,
    )
    expect(run.stderr).toContain('--create')
    expect(await readFile(join(dir, 'tenants.yaml'), 'utf8')).toBe(before)
  })

  it('--create adds the tenant with the one key; an id the file would reject is refused before writing', async () => {
    const dir = await configDir()
    const run = await acp(['add-key', 'umbrella', '--create', '--config-dir', dir])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stderr).toContain("created tenant 'umbrella'")
    expect(await identify(dir, run.stdout.trim())).toBe('umbrella')
    const text = await readFile(join(dir, 'tenants.yaml'), 'utf8')
    expect(text).toContain('# Globex: rotated 2024-05')

    const bad = await acp(['add-key', 'Not_Valid', '--create', '--config-dir', dir])
    expect(bad.code).not.toBe(0)
    expect(bad.stdout).toBe('')
    expect(bad.stderr).toContain('tenants.Not_Valid')
    expect(await readFile(join(dir, 'tenants.yaml'), 'utf8')).toBe(text)
  })

  it('--create without a tenants.yaml writes one that loads', async () => {
    const dir = await configDir()
    await rm(join(dir, 'tenants.yaml'))
    const run = await acp(['add-key', 'solo', '--create', '--config-dir', dir])
    expect(run.code, run.stderr).toBe(0)
    expect(await identify(dir, run.stdout.trim())).toBe('solo')
  })

  it('list prints each tenant with its number of keys and bound values, never a digest', async () => {
    const dir = await configDir()
    expect((await acp(['add-key', 'globex', '--config-dir', dir])).code).toBe(0)
    const run = await acp(['list', '--config-dir', dir])
    expect(run.code, run.stderr).toBe(0)
    const lines = run.stdout.trim().split('\n')
    expect(lines).toEqual([
      'acme  1 key  parameters: country=US  queries: all',
      'globex  2 keys  parameters: country=DE  queries: all',
      'initech  1 key  parameters: -  queries: all',
    ])
    expect(run.stdout).not.toMatch(/sha256|[0-9a-f]{16}/)
  })
})

describe('withTenantKey edits only what it must', () => {
  const d = (c: string) => `sha256:${c.repeat(64)}`
  it.each([
    [
      'a block list, with a comment beside its last item',
      `tenants:\n  a:\n    keys:\n      - ${d('1')} # laptop\n    parameters: { country: US }\n`,
      `tenants:\n  a:\n    keys:\n      - ${d('1')} # laptop\n      - ${d('2')}\n    parameters: { country: US }\n`,
    ],
    [
      'a padded flow list of single-quoted digests',
      `tenants:\n  a: { keys: [ '${d('1')}' ] }\n`,
      `tenants:\n  a: { keys: [ '${d('1')}', '${d('2')}' ] }\n`,
    ],
  ])('%s', (_name, before, after) => {
    expect(withTenantKey(before, 'tenants.yaml', 'a', d('2'), { create: false })).toEqual({
      text: after,
      created: false,
    })
  })

  it('a new tenant goes after the last one, indented like them', () => {
    const before = `tenants:\n    a:\n        keys: ["${d('1')}"]\n# end\n`
    expect(withTenantKey(before, 'tenants.yaml', 'b', d('2'), { create: true }).text).toBe(
      `tenants:\n    a:\n        keys: ["${d('1')}"]\n    b:\n      keys: ["${d('2')}"]\n# end\n`,
    )
  })
})

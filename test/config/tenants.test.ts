import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadSettings } from '../../src/config/settings.ts'
import { KeyRing } from '../../src/http/api-key-auth.ts'
import { sha256Digest, TENANT_KEYS, tenantConfigDir } from '../helpers/tenant-config.ts'

const dirs: string[] = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

async function load(extra: Record<string, string> = {}) {
  const dir = await tenantConfigDir(extra)
  dirs.push(dir)
  return { dir, settings: () => loadSettings({ CONFIG_DIR: dir, LOG_LEVEL: 'silent' }) }
}

describe('tenants.yaml', () => {
  it('loads tenants with key digests and canonical bound values; no file, no tenants', async () => {
    const { settings } = await load()
    const { tenants } = await settings()
    expect([...tenants.byId.keys()]).toEqual(['acme', 'globex', 'initech'])
    expect(tenants.byId.get('acme')?.parameters).toEqual({ country: 'US' })
    expect(tenants.byId.get('acme')?.keyDigests[0]?.toString('hex')).toBe(
      sha256Digest(TENANT_KEYS.acme).slice(7),
    )
    const shipped = await loadSettings({ LOG_LEVEL: 'silent' })
    expect(shipped.tenants.byId.size).toBe(0)
  })

  it.each([
    [
      'a parameter no query takes from the tenant',
      'tenants:\n  a:\n    keys: ["KEY"]\n    parameters: { measure: pageviews }\n',
      "tenant 'a', parameters.measure: no catalog query takes 'measure' from the tenant",
    ],
    [
      'a value the parameter does not accept',
      'tenants:\n  a:\n    keys: ["KEY"]\n    parameters: { country: XX }\n',
      "tenant 'a', parameters.country: 'XX' must be one of",
    ],
    ['a key in plain text', 'tenants:\n  a:\n    keys: ["plain-key"]\n', 'must be "sha256:"'],
    [
      'one key for two tenants',
      'tenants:\n  a:\n    keys: ["KEY"]\n  b:\n    keys: ["KEY"]\n',
      "tenant 'b', keys: a key digest is also one of tenant 'a'",
    ],
    [
      'an unknown query in the allowlist',
      'tenants:\n  a:\n    keys: ["KEY"]\n    queries: [nope]\n',
      "tenant 'a', queries: 'nope' is not a catalog query",
    ],
  ])('rejects %s, naming the file and the tenant', async (_name, text, fragment) => {
    const { dir, settings } = await load({
      'tenants.yaml': text.replaceAll('KEY', sha256Digest('k-0123456789')),
    })
    const message = await settings().then(
      () => '',
      (err: Error) => err.message,
    )
    expect(message).toContain(join(dir, 'tenants.yaml'))
    expect(message).toContain(fragment)
  })

  it('a tenant-bound catalog parameter takes no default and is not required', async () => {
    const { dir, settings } = await load()
    const catalog = `queries:\n  q:\n    ttlSeconds: 60\n    parameters:\n      c: { type: string, from: tenant, default: x }\n    sql: SELECT :c\n`
    await writeFile(join(dir, 'queries.yaml'), catalog)
    await writeFile(join(dir, 'tenants.yaml'), 'tenants: {}\n')
    await writeFile(join(dir, 'prewarm.yaml'), 'queries: {}\n')
    await writeFile(join(dir, 'schedules.yaml'), 'schedules: []\n')
    await expect(settings()).rejects.toThrow(/parameters\.c: a parameter bound to the tenant takes neither/)
  })
})

describe('KeyRing with tenants', () => {
  it('names the tenant of a key, none for a plain key, and refuses others', async () => {
    const { settings } = await load()
    const { tenants } = await settings()
    const ring = new KeyRing(['plain-key-0123456789'], tenants)
    expect(ring.identify(TENANT_KEYS.globex)).toMatchObject({ verdict: 'ok', tenant: { id: 'globex' } })
    expect(ring.identify('plain-key-0123456789')).toEqual({ verdict: 'ok' })
    expect(ring.identify('nope-0123456789')).toEqual({ verdict: 'wrong' })
    expect(ring.identify(undefined)).toEqual({ verdict: 'missing' })
  })
})

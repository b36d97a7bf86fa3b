import { createHash } from 'node:crypto'
import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** The test tenants' keys, in plain text (tenants.yaml holds only their digests). */
export const TENANT_KEYS = {
  acme: 'acme-test-key-0123456789',
  globex: 'globex-test-key-0123456789',
  initech: 'initech-test-key-0123456789',
} as const

/** The countries the tenants are bound to (initech has none). */
export const TENANT_COUNTRY = { acme: 'US', globex: 'DE' } as const

export const sha256Digest = (key: string) => `sha256:${createHash('sha256').update(key).digest('hex')}`

/** A query bound to the caller's tenant: its rows name the country they were read for. */
export const COUNTRY_QUERY = `
  country_daily:
    description: Daily events of the caller's tenant's country.
    ttlSeconds: 3600
    staleSeconds: 3600
    parameters:
      country: { type: enum, values: [US, GB, DE, IN, FR], from: tenant }
      start: { type: date, required: true }
      end: { type: date, default: { from: start, days: 7 } }
    sql: |
      SELECT dt, country, count(*) AS events
      FROM analytics
      WHERE country = :country AND dt >= :start AND dt < :end
      GROUP BY dt, country
      ORDER BY dt
`

/**
 * A configuration directory: the shipped files, the catalog plus `country_daily`, and tenants.yaml with acme (US),
 * globex (DE) and initech (no country). `extra` files are written as given.
 */
export async function tenantConfigDir(extra: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'acp-tenants-'))
  const shipped = 'wrangler-free-config'
  // The shipped catalog has country_daily (for tenants); one without it gets the test's copy.
  const catalog = await readFile(join(shipped, 'queries.yaml'), 'utf8')
  await writeFile(
    join(dir, 'queries.yaml'),
    catalog.includes('\n  country_daily:') ? catalog : catalog + COUNTRY_QUERY,
  )
  for (const f of ['prewarm.yaml', 'schedules.yaml']) await copyFile(join(shipped, f), join(dir, f))
  await writeFile(
    join(dir, 'tenants.yaml'),
    `tenants:
  acme:
    keys: ["${sha256Digest(TENANT_KEYS.acme)}"]
    parameters: { country: ${TENANT_COUNTRY.acme} }
  globex:
    keys: ["${sha256Digest(TENANT_KEYS.globex)}"]
    parameters: { country: ${TENANT_COUNTRY.globex} }
  initech:
    keys: ["${sha256Digest(TENANT_KEYS.initech)}"]
`,
  )
  for (const [name, text] of Object.entries(extra)) await writeFile(join(dir, name), text)
  return dir
}

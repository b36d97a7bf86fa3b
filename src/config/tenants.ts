import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { ConfigError } from '../errors.ts'
import type { Catalog, ParameterDef } from './catalog.ts'
import { coerceParameterValue } from './parameter-values.ts'

export const TENANTS_FILE = 'tenants.yaml'

/** One tenant: who it is, the digests of its keys, and the values its reads are bound to. */
export interface TenantDef {
  readonly id: string
  /** SHA-256 digests of its keys (32 bytes each); the keys themselves are never stored. */
  readonly keyDigests: readonly Buffer[]
  /** Values of the catalog's `from: tenant` parameters, canonical as a request's would be. */
  readonly parameters: Readonly<Record<string, string | number>>
  /** The queries it may read; undefined = every query. */
  readonly queries: ReadonlySet<string> | undefined
  /** Bytes Athena may scan for it per UTC day (DataScannedInBytes); undefined = no limit. */
  readonly scannedBytesPerDay?: number
}

/** The tenants of a deployment (tenants.yaml); empty when the file is absent. */
export interface Tenants {
  readonly byId: ReadonlyMap<string, TenantDef>
}

const identifier = z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'must be lower case: a-z, 0-9, _ and - (1–64)')
const keyDigest = z
  .string()
  .regex(/^sha256:[0-9a-f]{64}$/, 'must be "sha256:" and the 64 lower-case hex digits of the key’s SHA-256')

const tenantSchema = z.strictObject({
  keys: z.array(keyDigest).min(1),
  parameters: z.record(z.string(), z.union([z.string(), z.number()])).default({}),
  queries: z.array(z.string()).optional(),
  budget: z.strictObject({ scannedBytesPerDay: z.number().int().positive() }).optional(),
})
const fileSchema = z.strictObject({ tenants: z.record(identifier, tenantSchema) })

/** Every `from: tenant` parameter of the catalog, by name (the first declaration: they must agree). */
function tenantParameters(catalog: Catalog, fail: (field: string, message: string) => never) {
  const byName = new Map<string, ParameterDef>()
  for (const q of catalog.queries.values())
    for (const p of q.parameters) {
      if (p.from !== 'tenant') continue
      const seen = byName.get(p.name)
      if (seen && seen.type !== p.type)
        fail(`queries.${q.name}.parameters.${p.name}`, `is ${p.type} here and ${seen.type} elsewhere`)
      if (!seen) byName.set(p.name, p)
    }
  return byName
}

/** Validates the tenants file against the catalog; a ConfigError names the file, the tenant and the field. */
export function parseTenants(raw: unknown, file: string, catalog: Catalog): Tenants {
  const parsed = fileSchema.safeParse(raw)
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    throw new ConfigError(`${file}: invalid tenants file:\n  ${lines.join('\n  ')}`)
  }
  const bound = tenantParameters(catalog, (field, message) => {
    throw new ConfigError(`${file}: the catalog's ${field} ${message}`)
  })
  const owners = new Map<string, string>()
  const byId = new Map<string, TenantDef>()
  for (const [id, t] of Object.entries(parsed.data.tenants)) {
    const fail = (field: string, message: string): never => {
      throw new ConfigError(`${file}: tenant '${id}', ${field}: ${message}`)
    }
    for (const key of t.keys) {
      const other = owners.get(key)
      if (other !== undefined) fail('keys', `a key digest is also one of tenant '${other}'`)
      owners.set(key, id)
    }
    const parameters: Record<string, string | number> = {}
    for (const [name, value] of Object.entries(t.parameters)) {
      const def = bound.get(name)
      if (!def)
        fail(
          `parameters.${name}`,
          `no catalog query takes '${name}' from the tenant (from: tenant)${bound.size > 0 ? `; those that do: ${[...bound.keys()].join(', ')}` : ''}`,
        )
      const result = coerceParameterValue(def as ParameterDef, String(value))
      if ('error' in result) fail(`parameters.${name}`, `'${value}' ${result.error}`)
      else parameters[name] = result.value
    }
    for (const q of t.queries ?? [])
      if (!catalog.queries.has(q)) fail('queries', `'${q}' is not a catalog query`)
    byId.set(id, {
      id,
      keyDigests: t.keys.map((k) => Buffer.from(k.slice('sha256:'.length), 'hex')),
      parameters,
      queries: t.queries ? new Set(t.queries) : undefined,
      ...(t.budget ? { scannedBytesPerDay: t.budget.scannedBytesPerDay } : {}),
    })
  }
  return { byId }
}

/** Reads `tenants.yaml` from the configuration directory; no file, no tenants. */
export async function loadTenants(configDir: string, catalog: Catalog): Promise<Tenants> {
  const file = join(configDir, TENANTS_FILE)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { byId: new Map() }
    throw new ConfigError(`${file}: cannot be read (${(err as Error).message})`)
  }
  return parseTenantsText(text, file, catalog)
}

/**
 * Parses the text of a tenants file (from CONFIG_DIR, SSM or Secrets Manager) and validates it against the catalog;
 * `label` (the file or the TENANTS_SOURCE) begins every error message.
 */
export function parseTenantsText(text: string, label: string, catalog: Catalog): Tenants {
  let raw: unknown
  try {
    raw = parseYaml(text)
  } catch (err) {
    throw new ConfigError(`${label}: not valid YAML (${(err as Error).message})`)
  }
  return parseTenants(raw, label, catalog)
}

import { join } from 'node:path'
import { z } from 'zod'
import { ConfigError } from '../errors.ts'
import type { Catalog } from './catalog.ts'
import { readYamlFile } from './yaml-file.ts'

export const LANDING_FILE = 'landing.yaml'

/** A Glue table name as the catalog's `tables` spell it. */
const tableName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be lower_snake_case (a-z, 0-9, _)')
/** A hive partition key (`dt` in `dt=2024-01-15/`). */
const partitionKey = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'must be a partition column name')
// Empty (the bucket root) or ending in '/': a prefix `analytics` would also take `analytics_backup/`.
const prefix = z
  .string()
  .max(1024)
  .regex(/^(?:[^/].*\/)?$/, "must be empty or end with '/' (and not start with '/')")

const tableSchema = z.strictObject({
  /** The bucket the table's objects land in; absent: any bucket. */
  bucket: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name')
    .optional(),
  /** Where its objects land (`analytics/` holds `analytics/dt=2024-01-15/part-0.parquet`); several allowed. */
  prefix: z.union([prefix, z.array(prefix).min(1).max(16)]),
  /** The Glue database of its partition events; absent: ATHENA_DATABASE. */
  database: z.string().min(1).max(255).optional(),
  partition: z
    .strictObject({
      key: partitionKey.default('dt'),
      granularity: z.enum(['day', 'hour']).default('day'),
      hourKey: partitionKey.default('hr'),
      /** The table's partition columns in order, as Glue lists a partition's values; default [key] or [key, hourKey]. */
      columns: z.array(partitionKey).min(1).max(16).optional(),
    })
    .prefault({}),
})

const fileSchema = z.strictObject({
  /** How long the first event of a burst waits for the rest before invalidating (0: every event at once). */
  debounceSeconds: z.number().int().min(0).max(600).default(30),
  /** Whether the invalidated entries of the prewarm set are refreshed right after. */
  rewarm: z.boolean().default(true),
  tables: z
    .record(z.string(), tableSchema)
    .refine((t) => Object.keys(t).length > 0, 'name at least one table'),
})

/** Where one table's data lands and how its partitions are named. */
export interface LandingTable {
  name: string
  bucket: string | undefined
  /** Longest first, so that a nested prefix wins over the one containing it. */
  prefixes: string[]
  database: string | undefined
  /** The date partition key (`dt`), its values `YYYY-MM-DD`. */
  key: string
  granularity: 'day' | 'hour'
  /** The hour partition key (`hr`, values 0–23), read with granularity `hour`. */
  hourKey: string
  /** Partition columns in Glue's order. */
  columns: string[]
}

/** `landing.yaml`: the tables whose landed data invalidates the queries reading them. */
export interface LandingSettings {
  file: string
  debounceMs: number
  rewarm: boolean
  tables: ReadonlyMap<string, LandingTable>
}

/**
 * The catalog queries reached by data landing in `table`: those whose `tables` name it, and those that declare no
 * tables at all (they could read anything).
 */
export function queriesReadingTable(catalog: Catalog, table: string): string[] {
  return [...catalog.queries.values()]
    .filter((q) => q.tables === undefined || q.tables.includes(table))
    .map((q) => q.name)
}

/** Validates a parsed landing document; errors name the file and the field. */
export function parseLandingSettings(doc: unknown, file: string): LandingSettings {
  const parsed = fileSchema.safeParse(doc ?? {})
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`)
    throw new ConfigError(`${file}: invalid landing configuration:\n  ${lines.join('\n  ')}`)
  }
  const tables = new Map<string, LandingTable>()
  for (const [name, raw] of Object.entries(parsed.data.tables)) {
    const named = tableName.safeParse(name)
    if (!named.success)
      throw new ConfigError(
        `${file}: tables.${name}: ${named.error.issues[0]?.message ?? 'not a table name'}`,
      )
    const { key, granularity, hourKey } = raw.partition
    const columns = raw.partition.columns ?? (granularity === 'hour' ? [key, hourKey] : [key])
    const needed = granularity === 'hour' ? [key, hourKey] : [key]
    for (const column of needed)
      if (!columns.includes(column))
        throw new ConfigError(`${file}: tables.${name}.partition.columns: must include '${column}'`)
    if (granularity === 'hour' && key === hourKey)
      throw new ConfigError(`${file}: tables.${name}.partition: key and hourKey must differ`)
    const prefixes = [...new Set(typeof raw.prefix === 'string' ? [raw.prefix] : raw.prefix)]
    tables.set(name, {
      name,
      bucket: raw.bucket,
      prefixes: prefixes.sort((a, b) => b.length - a.length),
      database: raw.database,
      key,
      granularity,
      hourKey,
      columns,
    })
  }
  return {
    file,
    debounceMs: parsed.data.debounceSeconds * 1000,
    rewarm: parsed.data.rewarm,
    tables,
  }
}

/**
 * Reads `<configDir>/landing.yaml`; absent: undefined (landing events are then refused). A query's `tables` may
 * name tables this file does not have: data landing there is simply not watched.
 */
export async function loadLandingSettings(configDir: string): Promise<LandingSettings | undefined> {
  const file = join(configDir, LANDING_FILE)
  const doc = await readYamlFile(file, { optional: true })
  if (doc === undefined) return undefined
  return parseLandingSettings(doc, file)
}

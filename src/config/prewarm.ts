import { join } from 'node:path'
import { z } from 'zod'
import { ConfigError } from '../errors.ts'
import type { Catalog, QueryDef } from './catalog.ts'
import { coerceParameterValue } from './parameter-values.ts'
import { readYamlFile } from './yaml-file.ts'

export const PREWARM_FILE = 'prewarm.yaml'

const DAY_MS = 86_400_000

/** `today`, `yesterday`, `tomorrow`, or `±N` days / weeks / months from the run's date: `-30d`, `-2w`, `-1m`. */
const RELATIVE_DATE = /^(?:today|yesterday|tomorrow|[+-]\d{1,4}[dwm])$/

const scalar = z.union([z.string(), z.number()])

const fileSchema = z.strictObject({
  concurrency: z.number().int().min(1).max(64).default(4),
  popular: z
    .strictObject({
      topN: z.number().int().min(0).max(10_000).default(20),
      windowHours: z
        .number()
        .min(1)
        .max(24 * 31)
        .default(24),
    })
    .prefault({}),
  marginSeconds: z.number().int().min(0).max(86_400).default(120),
  horizonSeconds: z
    .number()
    .int()
    .min(0)
    .max(7 * 86_400)
    .default(900),
  budgets: z
    .strictObject({
      maxQueries: z.number().int().min(0).default(200),
      maxDataScannedBytes: z
        .number()
        .int()
        .min(0)
        .default(100 * 1024 ** 3),
      maxDurationSeconds: z.number().int().min(1).max(86_400).default(600),
    })
    .prefault({}),
  queries: z
    .record(z.string(), z.array(z.record(z.string(), scalar)))
    .nullable()
    .default({}),
})

/** One configured parameter set: values may be relative dates, resolved on each run. */
export interface PrewarmSet {
  query: string
  parameters: Readonly<Record<string, string | number>>
}

/** Prewarm settings from `prewarm.yaml`, validated, with units in names. */
export interface PrewarmSettings {
  concurrency: number
  topN: number
  windowMs: number
  /** Added to the next run's time (plus the query's expected run time) when deciding what expires too soon. */
  marginMs: number
  /** For runs without a schedule (manual, rewarm): refresh what expires within this. */
  horizonMs: number
  budgets: { maxQueries: number; maxDataScannedBytes: number; maxDurationMs: number }
  sets: PrewarmSet[]
}

export const DEFAULT_PREWARM: PrewarmSettings = {
  concurrency: 4,
  topN: 20,
  windowMs: 24 * 3_600_000,
  marginMs: 120_000,
  horizonMs: 900_000,
  budgets: { maxQueries: 200, maxDataScannedBytes: 100 * 1024 ** 3, maxDurationMs: 600_000 },
  sets: [],
}

/** Whether a configured value is a relative date (`-30d`, `today`…). */
export function isRelativeDate(value: unknown): value is string {
  return typeof value === 'string' && RELATIVE_DATE.test(value)
}

/** A relative date as `YYYY-MM-DD` (UTC) for a run at `at`; months are calendar months. */
export function resolveRelativeDate(value: string, at: Date): string {
  const today = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate())
  if (value === 'today') return new Date(today).toISOString().slice(0, 10)
  if (value === 'yesterday') return new Date(today - DAY_MS).toISOString().slice(0, 10)
  if (value === 'tomorrow') return new Date(today + DAY_MS).toISOString().slice(0, 10)
  const n = Number(value.slice(0, -1))
  const unit = value.slice(-1)
  if (unit === 'm') {
    const d = new Date(today)
    d.setUTCMonth(d.getUTCMonth() + n)
    return d.toISOString().slice(0, 10)
  }
  return new Date(today + n * (unit === 'w' ? 7 : 1) * DAY_MS).toISOString().slice(0, 10)
}

/** A configured set's parameters for a run at `at`: relative dates resolved, everything else as written. */
export function resolveSet(set: PrewarmSet, at: Date): Record<string, string | number> {
  return Object.fromEntries(
    Object.entries(set.parameters).map(([k, v]) => [k, isRelativeDate(v) ? resolveRelativeDate(v, at) : v]),
  )
}

/**
 * Checks a configured set against its query as far as load time can: every parameter is one the query has, the
 * required ones are given, and each value (relative dates resolved as of now) is one a request could send. Values
 * are checked again on every run, since relative dates move (and ranges between them with the calendar).
 */
function checkSet(def: QueryDef, set: PrewarmSet, where: string): void {
  const byName = new Map(def.parameters.map((p) => [p.name, p]))
  const resolved = resolveSet(set, new Date())
  for (const [name, value] of Object.entries(set.parameters)) {
    const p = byName.get(name)
    if (!p)
      throw new ConfigError(
        `${where}: '${name}' is not a parameter of ${def.name} (parameters: ${[...byName.keys()].join(', ') || 'none'})`,
      )
    // An empty value means "not given" to a request, as here.
    const text = String(resolved[name] ?? '')
    if (text === '') continue
    const result = coerceParameterValue(p, text)
    if ('error' in result) throw new ConfigError(`${where}.${name}: '${value}' ${result.error}`)
  }
  for (const p of def.parameters)
    if (p.required && String(set.parameters[p.name] ?? '') === '')
      throw new ConfigError(`${where}: ${p.name} is required by ${def.name}`)
}

/**
 * Reads `<configDir>/prewarm.yaml` (missing file: defaults, no configured sets). Query names and parameters are
 * checked against the catalog here (see checkSet).
 */
export async function loadPrewarmSettings(configDir: string, catalog: Catalog): Promise<PrewarmSettings> {
  const file = join(configDir, PREWARM_FILE)
  const doc = await readYamlFile(file, { optional: true })
  if (doc === undefined) return DEFAULT_PREWARM
  const parsed = fileSchema.safeParse(doc ?? {})
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const where = issue?.path.join('.') || '(top level)'
    throw new ConfigError(`${file}: ${where}: ${issue?.message ?? 'invalid'}`)
  }
  const raw = parsed.data
  const sets: PrewarmSet[] = []
  for (const [query, list] of Object.entries(raw.queries ?? {})) {
    const def = catalog.queries.get(query)
    if (!def)
      throw new ConfigError(
        `${file}: queries.${query}: not in the query catalog (known: ${[...catalog.queries.keys()].join(', ')})`,
      )
    for (const [i, parameters] of list.entries()) {
      const set = { query, parameters }
      checkSet(def, set, `${file}: queries.${query}[${i}]`)
      sets.push(set)
    }
  }
  return {
    concurrency: raw.concurrency,
    topN: raw.popular.topN,
    windowMs: raw.popular.windowHours * 3_600_000,
    marginMs: raw.marginSeconds * 1000,
    horizonMs: raw.horizonSeconds * 1000,
    budgets: {
      maxQueries: raw.budgets.maxQueries,
      maxDataScannedBytes: raw.budgets.maxDataScannedBytes,
      maxDurationMs: raw.budgets.maxDurationSeconds * 1000,
    },
    sets,
  }
}

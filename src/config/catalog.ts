import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { z } from 'zod'
import { ConfigError } from '../errors.ts'
import { compileIncremental, type IncrementalDef, incrementalSchema } from './incremental.ts'
import { coerceParameterValue } from './parameter-values.ts'
import { readYamlFile } from './yaml-file.ts'

const DEFAULT_RESULT_REUSE_MINUTES = 60

/** Request parameters the service reads itself; no catalog parameter may take their names. */
export const RESERVED_PARAMETERS: readonly string[] = ['format']

const identifier = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be lower_snake_case (a-z, 0-9, _)')
// Enum values are substituted into SQL text, so they must not be able to leave a literal or an identifier.
const enumValue = z.string().regex(/^[A-Za-z0-9_]{1,64}$/, 'enum values may hold only letters, digits and _')
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD')

const relativeDefault = z.strictObject({ from: identifier, days: z.number().int().min(-3660).max(3660) })

const common = {
  required: z.boolean().default(false),
  description: z.string().optional(),
  /**
   * `tenant`: the value always comes from the caller's tenant (tenants.yaml), never from the request: a request that
   * sets it is a 400, and a caller whose tenant has no value for it cannot run the query (403).
   */
  from: z.literal('tenant').optional(),
}

const parameterSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('string'),
    ...common,
    pattern: z.string().optional(),
    maxLength: z.number().int().min(1).max(4096).default(256),
    default: z.string().optional(),
  }),
  z.strictObject({
    type: z.literal('integer'),
    ...common,
    min: z.number().int().default(Number.MIN_SAFE_INTEGER),
    max: z.number().int().default(Number.MAX_SAFE_INTEGER),
    default: z.number().int().optional(),
  }),
  z.strictObject({
    type: z.literal('date'),
    ...common,
    default: z.union([isoDate, relativeDefault]).optional(),
  }),
  z.strictObject({ type: z.literal('timestamp'), ...common, default: z.string().optional() }),
  z.strictObject({
    type: z.literal('enum'),
    ...common,
    values: z.array(enumValue).min(1),
    default: enumValue.optional(),
  }),
])

const querySchema = z.strictObject({
  description: z.string().default(''),
  sql: z.string().min(1),
  ttlSeconds: z
    .number()
    .int()
    .min(1)
    .max(30 * 86_400),
  staleSeconds: z
    .number()
    .int()
    .min(0)
    .max(30 * 86_400)
    .default(0),
  /** How long past staleness an entry may still be served when a refresh fails (stale-if-error). */
  staleIfErrorSeconds: z
    .number()
    .int()
    .min(0)
    .max(30 * 86_400)
    .default(86_400),
  /** Athena result reuse (ResultReuseByAgeConfiguration) in minutes; default: the TTL in whole minutes; 0 = off. */
  resultReuseMinutes: z.number().int().min(0).max(10_080).optional(),
  tags: z.array(identifier).default([]),
  database: z.string().min(1).optional(),
  workgroup: z.string().min(1).optional(),
  parameters: z.record(identifier, parameterSchema).default({}),
  ranges: z
    .array(z.strictObject({ from: identifier, to: identifier, maxDays: z.number().int().min(1).optional() }))
    .default([]),
  /**
   * Closed windows: a result whose range ends before the newest landed data of its tables, less the late-data grace,
   * is not going to change until a range invalidation touches it; it is kept fresh `ttlSeconds` instead of the
   * query's TTL. Needs `ranges` (the entry's span) and the tables' landing events (landing.yaml).
   */
  closedWindow: z
    .strictObject({
      ttlSeconds: z
        .number()
        .int()
        .min(1)
        .max(30 * 86_400),
      lateDataGraceHours: z
        .number()
        .min(0)
        .max(24 * 90)
        .default(48),
    })
    .optional(),
  /** Additive per time bucket: a refresh after a range invalidation recomputes only those buckets (incremental.ts). */
  incremental: incrementalSchema.optional(),
  /** The tables the SQL reads (landing.yaml: data landing in one invalidates the query); absent: any table. */
  tables: z.array(identifier).min(1).max(32).optional(),
})

const catalogSchema = z.strictObject({ queries: z.record(identifier, querySchema) })

/** A parameter definition; string patterns are compiled once at load (`regex`), not per request. */
export type ParameterDef = z.infer<typeof parameterSchema> & { name: string; regex?: RegExp }
export type ParameterType = ParameterDef['type']

/** A catalog query after validation, with its SQL template split into literal text, bound and substituted slots. */
export interface QueryDef {
  name: string
  description: string
  ttlSeconds: number
  staleSeconds: number
  staleIfErrorSeconds: number
  /** 0 = off. Never longer than the TTL, so reuse cannot serve a result older than a fresh entry may be. */
  resultReuseMinutes: number
  tags: string[]
  /** Overrides of the service-wide database / workgroup. */
  database: string | undefined
  workgroup: string | undefined
  parameters: ParameterDef[]
  ranges: Array<{ from: string; to: string; maxDays: number | undefined }>
  /** A longer TTL for results of closed windows (see the schema); undefined = every result gets `ttlSeconds`. */
  closedWindow: { ttlSeconds: number; lateDataGraceHours: number } | undefined
  /** Declared additive per time bucket: refreshed incrementally (service/incremental-refresh.ts). */
  incremental?: IncrementalDef
  /** The tables the SQL reads; undefined: not declared, so data landing in any table reaches the query. */
  tables: string[] | undefined
  sql: string
  /** SHA-256 of the SQL template: part of the cache key, so editing a query never serves results of the old SQL. */
  sqlHash: string
  template: SqlTemplatePart[]
}

export type SqlTemplatePart =
  | { kind: 'text'; text: string }
  | { kind: 'bind'; param: string }
  | { kind: 'substitute'; param: string }

export interface Catalog {
  file: string
  queries: ReadonlyMap<string, QueryDef>
}

/**
 * Splits a SQL template into text, `:name` binds and `{{name}}` substitutions.
 * Hand-written because no SQL parser on npm understands Athena's Trino dialect; it only has to know where string
 * literals, quoted identifiers and comments start and end, so that a `:name` inside them stays text.
 */
export function parseSqlTemplate(sql: string): SqlTemplatePart[] {
  const parts: SqlTemplatePart[] = []
  let text = ''
  const flush = () => {
    if (text) parts.push({ kind: 'text', text })
    text = ''
  }
  let i = 0
  while (i < sql.length) {
    const ch = sql[i] as string
    const rest = sql.slice(i)
    const subst = /^\{\{\s*([a-z][a-z0-9_]*)\s*\}\}/.exec(rest)
    if (subst) {
      flush()
      parts.push({ kind: 'substitute', param: subst[1] as string })
      i += subst[0].length
      continue
    }
    if (ch === "'" || ch === '"') {
      // Copy the literal or quoted identifier verbatim (doubled quotes escape), but still honour {{…}} inside it
      // (e.g. date_trunc('{{period}}', …)).
      text += ch
      i++
      while (i < sql.length) {
        const inner = /^\{\{\s*([a-z][a-z0-9_]*)\s*\}\}/.exec(sql.slice(i))
        if (inner) {
          flush()
          parts.push({ kind: 'substitute', param: inner[1] as string })
          i += inner[0].length
          continue
        }
        const c = sql[i] as string
        text += c
        i++
        if (c === ch) {
          if (sql[i] === ch) {
            text += ch
            i++
          } else break
        }
      }
      continue
    }
    if (rest.startsWith('--')) {
      const end = sql.indexOf('\n', i)
      const stop = end === -1 ? sql.length : end
      text += sql.slice(i, stop)
      i = stop
      continue
    }
    if (rest.startsWith('/*')) {
      const end = sql.indexOf('*/', i + 2)
      const stop = end === -1 ? sql.length : end + 2
      text += sql.slice(i, stop)
      i = stop
      continue
    }
    const bind = /^:([a-z][a-z0-9_]*)/.exec(rest)
    if (bind && sql[i - 1] !== ':') {
      flush()
      parts.push({ kind: 'bind', param: bind[1] as string })
      i += bind[0].length
      continue
    }
    if (ch === '?') throw new Error("a bare '?' placeholder; name it (:param) so its value is bound by name")
    text += ch
    i++
  }
  flush()
  return parts
}

function compileQuery(name: string, raw: z.infer<typeof querySchema>, where: string): QueryDef {
  const fail = (field: string, message: string): never => {
    throw new ConfigError(`${where}: query '${name}', ${field}: ${message}`)
  }
  const parameters: ParameterDef[] = Object.entries(raw.parameters).map(([pname, def]) => ({
    ...def,
    name: pname,
  }))
  const byName = new Map(parameters.map((p) => [p.name, p]))
  for (const p of parameters) {
    if (RESERVED_PARAMETERS.includes(p.name))
      fail(`parameters.${p.name}`, 'is reserved for the service (the body format of a read: ?format=csv)')
    if (p.type === 'string' && p.pattern !== undefined) {
      try {
        p.regex = new RegExp(p.pattern, 'u')
      } catch (err) {
        fail(`parameters.${p.name}.pattern`, `not a valid regular expression (${(err as Error).message})`)
      }
    }
    if (p.type === 'integer' && p.min > p.max) fail(`parameters.${p.name}`, 'min is greater than max')
    // A default stands in for a request value, so it passes the same coercion: a default no request could send
    // would otherwise fail (or 500) on every request that leaves the parameter out.
    if (p.default !== undefined && typeof p.default !== 'object') {
      const result = coerceParameterValue(p, String(p.default))
      if ('error' in result)
        fail(
          `parameters.${p.name}.default`,
          `'${p.default}' is not a value a request could send: ${result.error}`,
        )
      // Stored canonical, as a request's value is, so a defaulted and an explicit request share a cache key.
      else if (p.type === 'timestamp') p.default = String(result.value)
    }
    if (p.type === 'date' && typeof p.default === 'object') {
      const base = byName.get(p.default.from)
      if (base?.type !== 'date' || base.name === p.name)
        fail(`parameters.${p.name}.default.from`, `'${p.default.from}' must name another date parameter`)
      if (base && typeof (base as { default?: unknown }).default === 'object')
        fail(`parameters.${p.name}.default.from`, 'relative defaults cannot be chained')
    }
    if (p.required && p.default !== undefined)
      fail(`parameters.${p.name}`, 'a required parameter cannot have a default')
    if (p.from === 'tenant' && (p.default !== undefined || p.required))
      fail(`parameters.${p.name}`, 'a parameter bound to the tenant takes neither a default nor required')
  }
  if (raw.closedWindow && raw.ranges.length === 0)
    fail('closedWindow', 'needs a `ranges` item: the span that tells a closed window from an open one')
  if (raw.closedWindow && raw.closedWindow.ttlSeconds <= raw.ttlSeconds)
    fail('closedWindow.ttlSeconds', `must be longer than ttlSeconds (${raw.ttlSeconds})`)
  for (const r of raw.ranges) {
    for (const end of [r.from, r.to])
      if (byName.get(end)?.type !== 'date') fail('ranges', `'${end}' must name a date parameter`)
  }
  let template: SqlTemplatePart[] = []
  try {
    template = parseSqlTemplate(raw.sql)
  } catch (err) {
    fail('sql', (err as Error).message)
  }
  const used = new Set<string>()
  for (const part of template) {
    if (part.kind === 'text') continue
    const p = byName.get(part.param)
    if (!p) fail('sql', `references undeclared parameter '${part.param}'`)
    if (part.kind === 'substitute' && p?.type !== 'enum')
      fail(
        'sql',
        `{{${part.param}}} substitutes text, which only enum parameters may do; bind it with :${part.param}`,
      )
    used.add(part.param)
  }
  for (const p of parameters)
    if (!used.has(p.name)) fail(`parameters.${p.name}`, 'is declared but never used in sql')
  const incremental =
    raw.incremental && compileIncremental(raw.incremental, { parameters, range: raw.ranges[0], sql: raw.sql })
  if (incremental && 'message' in incremental) fail(incremental.field, incremental.message)
  return {
    name,
    description: raw.description,
    ttlSeconds: raw.ttlSeconds,
    staleSeconds: raw.staleSeconds,
    staleIfErrorSeconds: raw.staleIfErrorSeconds,
    // Reused results are as old as the execution they reuse: an hour at most by default, never longer than the TTL.
    resultReuseMinutes: Math.min(
      raw.resultReuseMinutes ?? DEFAULT_RESULT_REUSE_MINUTES,
      Math.floor(raw.ttlSeconds / 60),
    ),
    tags: raw.tags,
    database: raw.database,
    workgroup: raw.workgroup,
    parameters,
    ranges: raw.ranges.map((r) => ({ from: r.from, to: r.to, maxDays: r.maxDays })),
    closedWindow: raw.closedWindow,
    ...(incremental && 'bucket' in incremental ? { incremental } : {}),
    tables: raw.tables ? [...new Set(raw.tables)] : undefined,
    sql: raw.sql,
    sqlHash: createHash('sha256').update(raw.sql).digest('hex'),
    template,
  }
}

/** Validates a parsed catalog document; errors name the file, the query and the field. */
export function parseCatalog(doc: unknown, file: string): Catalog {
  const parsed = catalogSchema.safeParse(doc)
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const [, qname, ...field] = i.path.map(String)
      return qname
        ? `query '${qname}', ${field.join('.') || '(query)'}: ${i.message}`
        : `${i.path.join('.')}: ${i.message}`
    })
    throw new ConfigError(`${file}: invalid query catalog:\n  ${lines.join('\n  ')}`)
  }
  const queries = new Map<string, QueryDef>()
  for (const [name, raw] of Object.entries(parsed.data.queries))
    queries.set(name, compileQuery(name, raw, file))
  return { file, queries }
}

/** Reads and validates `queries.yaml` from the configuration directory. */
export async function loadCatalog(configDir: string): Promise<Catalog> {
  const file = join(configDir, 'queries.yaml')
  const doc = await readYamlFile(file, { optional: false })
  return parseCatalog(doc, file)
}

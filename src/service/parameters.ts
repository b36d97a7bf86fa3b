import type { ParameterDef, QueryDef } from '../config/catalog.ts'
import { coerceParameterValue, formatDate, parseIsoDate } from '../config/parameter-values.ts'
import { type FieldIssue, ForbiddenError, ValidationError } from '../errors.ts'

/** Canonical bound parameters: defaults applied, values normalised, keys sorted. Equal requests → equal objects. */
export type CanonicalParams = Readonly<Record<string, string | number>>

/** Raw request input: URL query values (possibly repeated) or JSON values. */
export type RawParams = Record<string, string | number | ReadonlyArray<string> | undefined>

/** Longest raw value we even look at: bounds the work done on hostile input before any pattern runs. */
const MAX_RAW_LENGTH = 4096
const DAY_MS = 86_400_000

/**
 * Validates raw input against a query's parameter definitions and returns the canonical parameters.
 * Unknown, repeated, missing and malformed parameters are all reported at once, each by name.
 */
export function parseParameters(
  def: QueryDef,
  raw: RawParams,
  tenant?: { id: string; parameters: Readonly<Record<string, string | number>> },
): CanonicalParams {
  const issues: FieldIssue[] = []
  const known = new Set(def.parameters.map((p) => p.name))
  for (const name of Object.keys(raw)) {
    if (!known.has(name) && raw[name] !== undefined)
      issues.push({
        name: name.slice(0, 64),
        message: `unknown parameter (allowed: ${[...known].join(', ') || 'none'})`,
      })
  }
  const values: Record<string, string | number> = {}
  const relative: ParameterDef[] = []
  const unbound: string[] = []
  for (const p of def.parameters) {
    if (p.from === 'tenant') {
      if (raw[p.name] !== undefined)
        issues.push({ name: p.name, message: "is bound to the caller's tenant and cannot be set" })
      const value = tenant?.parameters[p.name]
      if (value === undefined) unbound.push(p.name)
      else values[p.name] = value
      continue
    }
    let input = raw[p.name]
    if (Array.isArray(input)) {
      if (input.length > 1) {
        issues.push({ name: p.name, message: 'given more than once' })
        continue
      }
      input = input[0]
    }
    if (input === undefined || input === '') {
      if (p.default === undefined) {
        if (p.required) issues.push({ name: p.name, message: 'is required' })
      } else if (typeof p.default === 'object') relative.push(p)
      else values[p.name] = p.default
      continue
    }
    const text = String(input)
    if (text.length > MAX_RAW_LENGTH) {
      issues.push({ name: p.name, message: `must be at most ${MAX_RAW_LENGTH} characters` })
      continue
    }
    const result = coerceParameterValue(p, text)
    if ('error' in result) issues.push({ name: p.name, message: result.error })
    else values[p.name] = result.value
  }
  for (const p of relative) {
    if (p.type !== 'date' || typeof p.default !== 'object') continue
    const base = values[p.default.from]
    if (typeof base !== 'string') continue
    const derived = formatDate((parseIsoDate(base) as number) + p.default.days * DAY_MS)
    if (derived === undefined)
      issues.push({
        name: p.name,
        message: `default (${p.default.from} + ${p.default.days} days) is not a date`,
      })
    else values[p.name] = derived
  }
  for (const r of def.ranges) {
    const from = values[r.from]
    const to = values[r.to]
    if (typeof from !== 'string' || typeof to !== 'string') continue
    const days = ((parseIsoDate(to) as number) - (parseIsoDate(from) as number)) / DAY_MS
    if (days <= 0) issues.push({ name: r.to, message: `must be after ${r.from}` })
    else if (r.maxDays !== undefined && days > r.maxDays)
      issues.push({ name: r.to, message: `may be at most ${r.maxDays} days after ${r.from}` })
  }
  if (issues.length > 0) {
    throw new ValidationError(
      `Invalid parameters for query '${def.name}': ${issues.map((i) => `${i.name} ${i.message}`).join('; ')}`,
      issues,
    )
  }
  // Checked after the request's own mistakes, so a bad request is told what is wrong with it first.
  if (unbound.length > 0)
    throw new ForbiddenError(
      tenant
        ? `Tenant '${tenant.id}' has no value for ${unbound.join(', ')}, which query '${def.name}' takes from the tenant`
        : `Query '${def.name}' takes ${unbound.join(', ')} from the caller's tenant: use a tenant's key`,
    )

  const canonical: Record<string, string | number> = {}
  for (const name of Object.keys(values).sort()) canonical[name] = values[name] as string | number
  return canonical
}

/** An Athena execution parameter is a SQL literal: strings single-quoted with quotes doubled, numbers bare. */
export function toAthenaLiteral(def: ParameterDef, value: string | number): string {
  if (def.type === 'integer') return String(value)
  const text = def.type === 'timestamp' ? String(value).replace('T', ' ').replace('Z', '') : String(value)
  return `'${text.replaceAll("'", "''")}'`
}

/** The SQL text and ExecutionParameters for a query: user values only ever travel as parameters. */
export function bindQuery(
  def: QueryDef,
  params: CanonicalParams,
): { sql: string; executionParameters: string[] } {
  const byName = new Map(def.parameters.map((p) => [p.name, p]))
  let sql = ''
  const executionParameters: string[] = []
  for (const part of def.template) {
    if (part.kind === 'text') {
      sql += part.text
      continue
    }
    const p = byName.get(part.param) as ParameterDef
    const value = params[part.param]
    if (value === undefined) {
      // An optional parameter with no default binds NULL.
      if (part.kind === 'bind') {
        sql += '?'
        executionParameters.push('NULL')
      }
      continue
    }
    if (part.kind === 'substitute') {
      // Allowlisted by parseParameters and by the catalog's enum-value pattern; checked again as defence in depth.
      if (p.type !== 'enum' || !p.values.includes(String(value)))
        throw new ValidationError(`bad value for ${p.name}`)
      sql += String(value)
    } else {
      sql += '?'
      executionParameters.push(toAthenaLiteral(p, value))
    }
  }
  return { sql: sql.trim(), executionParameters }
}

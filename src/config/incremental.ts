import { z } from 'zod'

/** The time buckets a query may be additive over; a week starts on Monday (Trino's `date_trunc('week', …)`). */
export const BUCKET_UNITS = ['hour', 'day', 'week', 'month'] as const
export type BucketUnit = (typeof BUCKET_UNITS)[number]

const name = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be lower_snake_case (a-z, 0-9, _)')

/**
 * `incremental` in the catalog: the query is additive per time bucket, so a refresh after a range invalidation may
 * recompute only the buckets that changed. `bucket` names the output column holding each row's bucket (its start);
 * `granularity` is a fixed unit or the enum parameter that chooses it.
 */
export const incrementalSchema = z.strictObject({
  bucket: name,
  granularity: z.union([z.enum(BUCKET_UNITS), z.strictObject({ parameter: name })], {
    error: `must be ${BUCKET_UNITS.join(', ')} or { parameter: <an enum parameter of those values> }`,
  }),
})

/** A validated `incremental` declaration. */
export interface IncrementalDef {
  bucket: string
  granularity: { unit: BucketUnit } | { parameter: string }
}

/** What the declaration is checked against: the query's parameters, its first `ranges` item and its SQL. */
export interface IncrementalContext {
  parameters: ReadonlyArray<{ name: string; type: string; values?: readonly string[] }>
  range: { from: string; to: string } | undefined
  sql: string
}

/**
 * Checks a declaration against its query; returns the compiled declaration, or what is wrong (as the catalog's
 * `fail` wants it: the field and the message). The SQL checks are on the query's shape only (hand-written, like the
 * template: no parser on npm knows Trino's dialect): the first output column is the bucket, the first GROUP BY and
 * ORDER BY keys are that column (ascending), and nothing at the top makes a bucket depend on other buckets' rows
 * (LIMIT, OFFSET, FETCH, set operations, window functions). That a bucket's values depend only on its own rows, and
 * that the range parameters filter the time the bucket is computed from, is the author's promise (docs/operations.md).
 */
export function compileIncremental(
  raw: z.infer<typeof incrementalSchema>,
  context: IncrementalContext,
): IncrementalDef | { field: string; message: string } {
  if (!context.range)
    return {
      field: 'incremental',
      message: 'needs a `ranges` item: its date parameters bound the span a refresh narrows',
    }
  let granularity: IncrementalDef['granularity']
  if (typeof raw.granularity === 'string') granularity = { unit: raw.granularity }
  else {
    const parameter = raw.granularity.parameter
    const p = context.parameters.find((q) => q.name === parameter)
    if (p?.type !== 'enum')
      return {
        field: 'incremental.granularity.parameter',
        message: `'${parameter}' must name an enum parameter`,
      }
    const others = (p.values ?? []).filter((v) => !(BUCKET_UNITS as readonly string[]).includes(v))
    if (others.length > 0)
      return {
        field: 'incremental.granularity.parameter',
        message: `'${parameter}' may only take ${BUCKET_UNITS.join(', ')} (not ${others.join(', ')})`,
      }
    granularity = { parameter }
  }
  const problem = shapeProblem(skeleton(context.sql), raw.bucket)
  return problem ? { field: 'incremental', message: problem } : { bucket: raw.bucket, granularity }
}

/**
 * The SQL in lower case with comments removed and the insides of string literals and quoted identifiers blanked,
 * so that no keyword or parenthesis inside them is seen.
 */
function skeleton(sql: string): string {
  let out = ''
  let i = 0
  while (i < sql.length) {
    const ch = sql[i] as string
    if (sql.startsWith('--', i)) {
      const end = sql.indexOf('\n', i)
      i = end === -1 ? sql.length : end
      continue
    }
    if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2)
      out += ' '
      i = end === -1 ? sql.length : end + 2
      continue
    }
    if (ch === "'" || ch === '"') {
      let j = i + 1
      for (; j < sql.length; j++) {
        if (sql[j] !== ch) continue
        if (sql[j + 1] === ch) j++
        else break
      }
      out += `${ch}${ch}`
      i = j + 1
      continue
    }
    out += ch.toLowerCase()
    i++
  }
  return out
}

/** `text` split at commas outside parentheses. */
function topLevelItems(text: string): string[] {
  const items: string[] = []
  let depth = 0
  let start = 0
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]
    if (ch === '(') depth++
    else if (ch === ')') depth--
    else if (ch === ',' && depth === 0) {
      items.push(text.slice(start, i))
      start = i + 1
    }
  }
  items.push(text.slice(start))
  return items.map((s) => s.trim().replace(/\s+/g, ' '))
}

/** Where each keyword occurs outside parentheses: its offset and the text that follows up to the next one. */
function topLevelClauses(sql: string): Array<{ keyword: string; body: string }> {
  const keywords =
    /\b(with|select|from|where|group\s+by|having|order\s+by|limit|offset|fetch|union|intersect|except|window)\b/g
  const found: Array<{ keyword: string; at: number; end: number }> = []
  let depth = 0
  let last = 0
  for (const m of sql.matchAll(keywords)) {
    for (let i = last; i < m.index; i++) {
      if (sql[i] === '(') depth++
      else if (sql[i] === ')') depth--
    }
    last = m.index
    if (depth === 0)
      found.push({ keyword: m[1]?.replace(/\s+/g, ' ') ?? '', at: m.index, end: m.index + m[0].length })
  }
  return found.map((f, i) => ({ keyword: f.keyword, body: sql.slice(f.end, found[i + 1]?.at ?? sql.length) }))
}

/** The output name of a select item: its alias, or the column it names; undefined for an unnamed expression. */
function outputName(item: string): string | undefined {
  const alias = /\sas\s+([a-z_][a-z0-9_]*)$/.exec(item)
  if (alias) return alias[1]
  const column = /^(?:[a-z_][a-z0-9_]*\.)*([a-z_][a-z0-9_]*)$/.exec(item)
  return column?.[1]
}

function shapeProblem(sql: string, bucket: string): string | undefined {
  if (/\bover\s*\(/.test(sql))
    return 'a window function (OVER) lets a bucket depend on the rows of other buckets'
  const clauses = topLevelClauses(sql)
  const find = (keyword: string) => clauses.filter((c) => c.keyword === keyword)
  for (const keyword of ['limit', 'offset', 'fetch', 'union', 'intersect', 'except'])
    if (find(keyword).length > 0)
      return `${keyword.toUpperCase()} at the top of the query lets a bucket depend on the rows of other buckets`
  const select = find('select')
  if (select.length !== 1) return 'the query must have one top-level SELECT'
  const first = topLevelItems((select[0]?.body ?? '').replace(/^\s*(distinct|all)\b/, ''))[0] ?? ''
  if (outputName(first) !== bucket)
    return `the first output column must be the bucket '${bucket}' (found '${first}')`
  const expression = first.replace(/\sas\s+[a-z_][a-z0-9_]*$/, '')
  const isBucket = (key: string) => key === '1' || key === bucket || key === expression
  const groupBy = find('group by')[0]
  if (!groupBy || !isBucket(topLevelItems(groupBy.body)[0] ?? ''))
    return `the first GROUP BY key must be the bucket '${bucket}' (or 1): one row per bucket`
  const orderBy = find('order by').at(-1)
  const key = (topLevelItems(orderBy?.body ?? '')[0] ?? '').replace(/\s+nulls\s+(first|last)$/, '')
  if (!orderBy || !isBucket(key.replace(/\s+asc$/, '')))
    return `the first ORDER BY key must be the bucket '${bucket}' (or 1), ascending: rows in bucket order`
  return undefined
}

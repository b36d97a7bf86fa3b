import { ATHENA_CATALOG } from './duckdb-engine.ts'
import type { DuckDBError } from './duckdb-errors.ts'
import type { ExecutionError } from './query-execution.ts'
import type { SqlToken } from './sql-lexer.ts'
import {
  identifierName,
  qualifiedNameAt,
  significantTokens,
  tokenAt,
  trinoLocation,
} from './sql-positions.ts'
import { userError } from './trino-errors.ts'
import { trinoTypeFromName } from './trino-type-names.ts'

/** What a bind error is reported against. */
export interface SemanticContext {
  /** The query as the client sent it (error offsets are in this text). */
  source: string
  /** QueryExecutionContext's database (unqualified table names resolve there). */
  database: string
  /** The databases that exist, lower case. */
  databases: ReadonlySet<string>
}

/** Athena adds this to Trino's COLUMN_NOT_FOUND message (a column may also be hidden by Lake Formation). */
const NOT_AUTHORIZED = 'or requester is not authorized to access requested resources'
// Errors DuckDB may raise while binding that Trino raises while running (no position in the message).
const RUNTIME_ERRORS: Readonly<Record<string, string>> = {
  conversion: 'INVALID_CAST_ARGUMENT',
  'out of range': 'NUMERIC_VALUE_OUT_OF_RANGE',
  'invalid input': 'INVALID_FUNCTION_ARGUMENT',
}
const OPERATORS = new Set(['+', '-', '*', '/', '%', '=', '<>', '!=', '<', '>', '<=', '>='])

/**
 * The failure Athena reports for a query that parses but does not analyse: DuckDB's binder and catalog errors
 * renamed to Trino's error names, with Trino's wording and position (`TABLE_NOT_FOUND: line 1:15: Table
 * 'awsdatacatalog.analytics.nope' does not exist`). Errors without a Trino counterpart are GENERIC_USER_ERROR
 * with DuckDB's message.
 */
export function semanticFailure(error: DuckDBError, context: SemanticContext): ExecutionError {
  const tokens = significantTokens(context.source)
  let offset = error.offset
  const location = () => (offset === undefined ? undefined : trinoLocation(context.source, offset))
  const fail = (name: string, detail: string) => userError(name, detail, location())
  const nameAt = (fallback: string | undefined) =>
    offset === undefined ? (fallback ?? '') : qualifiedNameAt(tokens, offset).join('.') || (fallback ?? '')
  const message = error.message

  if (error.kind === 'catalog' && (error.entryType === 'Table' || message.startsWith('Table with name'))) {
    const parts = offset === undefined ? [error.name ?? ''] : qualifiedNameAt(tokens, offset)
    const [table = '', schema = context.database.toLowerCase(), catalog = ATHENA_CATALOG] = [
      ...parts,
    ].reverse()
    if (catalog !== ATHENA_CATALOG) return fail('CATALOG_NOT_FOUND', `Catalog '${catalog}' does not exist`)
    if (!context.databases.has(schema)) return fail('SCHEMA_NOT_FOUND', `Schema '${schema}' does not exist`)
    return fail('TABLE_NOT_FOUND', `Table '${ATHENA_CATALOG}.${schema}.${table}' does not exist`)
  }
  const missingCatalog = /^Catalog "(.+?)" does not exist/.exec(message)
  if (missingCatalog) {
    const catalog = (missingCatalog[1] ?? '').toLowerCase()
    offset ??= firstQualifiedBy(tokens, catalog)
    return fail('CATALOG_NOT_FOUND', `Catalog '${catalog}' does not exist`)
  }
  if (error.kind === 'catalog' && /Function/.test(error.entryType ?? message)) {
    const name = error.name ?? /with name (\S+) does not exist/.exec(message)?.[1] ?? nameAt(undefined)
    return fail('FUNCTION_NOT_FOUND', `Function '${name.toLowerCase()}' not registered`)
  }
  if (
    error.subtype === 'COLUMN_NOT_FOUND' ||
    /^Referenced (column|table) ".*" not found/.test(message) ||
    /does not have a column named/.test(message)
  ) {
    return fail('COLUMN_NOT_FOUND', `Column '${nameAt(error.name)}' cannot be resolved ${NOT_AUTHORIZED}`)
  }
  const ambiguous = /^Ambiguous reference to column name "(.+?)"/.exec(message)
  if (ambiguous) return fail('AMBIGUOUS_NAME', `Column '${nameAt(ambiguous[1])}' is ambiguous`)
  const notAggregate = /^column "(.+?)" must appear in the GROUP BY clause/.exec(message)
  if (notAggregate) {
    const expression = nameAt(notAggregate[1])
    return fail(
      'EXPRESSION_NOT_AGGREGATE',
      `'${expression}' must be an aggregate expression or appear in GROUP BY clause`,
    )
  }
  const incomparable = /^Cannot compare values of type (.+?) and type (.+?) - /.exec(message)
  if (incomparable) {
    const left = trinoTypeFromName(incomparable[1] ?? '')
    const right = trinoTypeFromName(incomparable[2] ?? '')
    return fail('TYPE_MISMATCH', comparisonMessage(operatorAt(tokens, offset), left, right))
  }
  const betweenMix = /^Cannot mix values of type (.+?) and (.+?) in BETWEEN clause/.exec(message)
  if (betweenMix) {
    offset ??= betweenKeyword(tokens)
    const value = trinoTypeFromName(betweenMix[1] ?? '')
    const bound = trinoTypeFromName(betweenMix[2] ?? '')
    return fail('TYPE_MISMATCH', `Cannot check if ${value} is BETWEEN ${bound} and ${bound}`)
  }
  const noMatch = /^No function matches the given name and argument types '(.+?)\((.*)\)'/.exec(message)
  if (noMatch) {
    const name = noMatch[1] ?? ''
    const args = splitTypes(noMatch[2] ?? '').map(trinoTypeFromName)
    if (OPERATORS.has(name) && args.length === 2)
      return fail('TYPE_MISMATCH', comparisonMessage(name, args[0], args[1]))
    return fail(
      'FUNCTION_NOT_FOUND',
      `Unexpected parameters (${args.join(', ')}) for function ${unqualified(name)}`,
    )
  }
  const macro = /^Macro (?:function )?'?(?:[\w.]*\.)?(\w+)\(/.exec(message)
  if (macro) return fail('FUNCTION_NOT_FOUND', `Unexpected parameters for function ${macro[1]}`)
  const runtime = RUNTIME_ERRORS[error.kind]
  if (runtime !== undefined) return userError(runtime, firstLine(message))
  if (error.kind === 'not implemented') return fail('NOT_SUPPORTED', firstLine(message))
  if (error.kind === 'parser') return fail('SYNTAX_ERROR', firstLine(message))
  return fail('GENERIC_USER_ERROR', firstLine(message))
}

/** Trino's message for an operator its operands have no implementation of (`>` is analysed as `<`). */
function comparisonMessage(operator: string, left = 'unknown', right = 'unknown'): string {
  if (operator === 'IS') return `Cannot check if ${left} is distinct from ${right}`
  if (operator === 'IN')
    return `IN value and list items must be the same type or coercible to a common type. Cannot find common type between ${left} and ${right}, all types (without duplicates): [${left}, ${right}]`
  if (operator === 'BETWEEN') return `Cannot check if ${left} is BETWEEN ${right} and ${right}`
  const trino =
    operator === '<>' || operator === '!='
      ? '='
      : operator === '>'
        ? '<'
        : operator === '>='
          ? '<='
          : operator
  return `Cannot apply operator: ${left} ${trino} ${right}`
}

/** The operator written at `offset` (`<` and `=` are separate tokens of `<=`). */
function operatorAt(tokens: readonly SqlToken[], offset: number | undefined): string {
  if (offset === undefined) return '='
  const token = tokenAt(tokens, offset)
  if (token === undefined) return '='
  if (token.kind === 'word') return token.text.toUpperCase()
  const next = tokens[tokens.indexOf(token) + 1]
  const joined = next && next.start === token.start + token.text.length ? token.text + next.text : token.text
  return OPERATORS.has(joined) ? joined : token.text
}

/** Where the first `[NOT] BETWEEN` starts (DuckDB does not locate its BETWEEN errors). */
function betweenKeyword(tokens: readonly SqlToken[]): number | undefined {
  const at = tokens.findIndex((t) => t.text.toUpperCase() === 'BETWEEN')
  if (at < 0) return undefined
  return (tokens[at - 1]?.text.toUpperCase() === 'NOT' ? tokens[at - 1] : tokens[at])?.start
}

function firstQualifiedBy(tokens: readonly SqlToken[], catalog: string): number | undefined {
  return tokens.find((t, i) => identifierName(t) === catalog && tokens[i + 1]?.text === '.')?.start
}

/** Splits `INTEGER, DECIMAL(2,1), STRUCT(a INTEGER, b VARCHAR)` at its top-level commas. */
function splitTypes(list: string): string[] {
  const out: string[] = []
  let depth = 0
  let current = ''
  for (const ch of list) {
    if (ch === '(') depth++
    if (ch === ')') depth--
    if (ch === ',' && depth === 0) {
      out.push(current.trim())
      current = ''
    } else current += ch
  }
  if (current.trim() !== '') out.push(current.trim())
  return out
}

function unqualified(name: string): string {
  return name.slice(name.lastIndexOf('.') + 1)
}

function firstLine(message: string): string {
  return message.split('\n')[0]?.trim() ?? message
}

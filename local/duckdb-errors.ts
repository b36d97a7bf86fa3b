import type { ExecutionError } from './query-execution.ts'
import { charOffsetOfByte } from './sql-positions.ts'
import { userError } from './trino-errors.ts'

/** An error's message without the `LINE 1: …` caret diagram DuckDB appends (Athena reports one line). */
export function messageOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  return message.split(/\n\s*LINE \d+:/)[0]?.trim() ?? message
}

// DuckDB error classes and the Trino error names Athena prefixes its failure reasons with.
const TRINO_ERROR_NAMES: ReadonlyArray<readonly [string, string]> = [
  ['Conversion Error: ', 'INVALID_CAST_ARGUMENT'],
  ['Out of Range Error: ', 'NUMERIC_VALUE_OUT_OF_RANGE'],
  ['Invalid Input Error: ', 'INVALID_FUNCTION_ARGUMENT'],
  ['Not implemented Error: ', 'NOT_SUPPORTED'],
]

/** The failure of a statement that failed while running, in Athena's `ERROR_NAME: detail` form. */
export function runtimeFailure(err: unknown): ExecutionError {
  const message = messageOf(err)
  for (const [prefix, name] of TRINO_ERROR_NAMES) {
    if (message.startsWith(prefix)) return userError(name, message.slice(prefix.length))
  }
  return userError('GENERIC_USER_ERROR', message)
}

/** A DuckDB parse or bind error, from its JSON form (`json_serialize_*`) or its message. */
export interface DuckDBError {
  /** DuckDB's error class in lower case: `parser`, `binder`, `catalog`, `not implemented` … */
  kind: string
  /** The message without the class prefix and the caret diagram. */
  message: string
  /** DuckDB's finer classification (`COLUMN_NOT_FOUND`, `MISSING_ENTRY` …), when it gives one. */
  subtype: string | undefined
  /** The catalog entry's kind for missing entries (`Table`, `Scalar Function` …). */
  entryType: string | undefined
  /** The name DuckDB could not resolve, when it says. */
  name: string | undefined
  /** Character offset of the error in the SQL DuckDB was given, when it says. */
  offset: number | undefined
}

/** Reads the error object `json_serialize_sql` / `json_serialize_plan` answer with (`{"error": true, …}`). */
export function errorFromJson(json: Readonly<Record<string, unknown>>, sql: string): DuckDBError {
  const text = (key: string) => (typeof json[key] === 'string' ? (json[key] as string) : undefined)
  const position = Number(text('position'))
  return {
    kind: (text('error_type') ?? '').toLowerCase(),
    message: text('error_message') ?? '',
    subtype: text('error_subtype'),
    entryType: text('type'),
    name: text('name'),
    offset: Number.isInteger(position) && position >= 0 ? charOffsetOfByte(sql, position) : undefined,
  }
}

/** Reads an error DuckDB threw (`Binder Error: …` and the caret diagram that locates it in `sql`). */
export function errorFromException(err: unknown, sql: string): DuckDBError {
  const full = err instanceof Error ? err.message : String(err)
  const [head = '', lineNumber, diagram = ''] = full.split(/\n\s*LINE (\d+): /)
  const classed = /^([A-Za-z ]+?) Error: ([\s\S]*)$/.exec(head)
  return {
    kind: (classed?.[1] ?? '').toLowerCase(),
    message: (classed?.[2] ?? head).trim(),
    subtype: undefined,
    entryType: undefined,
    name: undefined,
    offset: lineNumber === undefined ? undefined : caretOffset(sql, Number(lineNumber), diagram),
  }
}

/**
 * The offset the caret diagram points at. DuckDB shows the error's line (`LINE n: <text>`, cut to about 40
 * characters either side with `...`) and a `^` under the error.
 */
function caretOffset(sql: string, lineNumber: number, diagram: string): number | undefined {
  const [shown = '', caretLine = ''] = diagram.split('\n')
  const prefix = `LINE ${lineNumber}: `.length
  const caret = caretLine.indexOf('^') - prefix
  const lines = sql.split('\n')
  const line = lines[lineNumber - 1]
  if (line === undefined || caret < 0) return undefined
  const lineStart = lines.slice(0, lineNumber - 1).reduce((sum, l) => sum + l.length + 1, 0)
  if (!shown.startsWith('...')) return lineStart + caret
  const fragment = shown.slice(3).replace(/\.\.\.$/, '')
  const at = fragment === '' ? -1 : line.indexOf(fragment)
  return at < 0 ? undefined : lineStart + at + caret - 3
}

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
]

/** Failure reason for a statement that failed while running, in Athena's `ERROR_NAME: detail` form. */
export function failureReason(err: unknown): string {
  const message = messageOf(err)
  for (const [prefix, name] of TRINO_ERROR_NAMES) {
    if (message.startsWith(prefix)) return `${name}: ${message.slice(prefix.length)}`
  }
  return `GENERIC_USER_ERROR: ${message}`
}

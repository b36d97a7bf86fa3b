import type { ExecutionError } from './query-execution.ts'

/**
 * Athena's `AthenaError.ErrorType` for the Trino error names a failed execution reports, as observed on Athena
 * (engine version 3). Names without an observed number get 1000 ("User error" in Athena's error catalog).
 */
const ERROR_TYPES: Readonly<Record<string, number>> = {
  DIVISION_BY_ZERO: 1001,
  TYPE_MISMATCH: 1002,
  SYNTAX_ERROR: 1006,
  COLUMN_NOT_FOUND: 1006,
  CATALOG_NOT_FOUND: 1006,
  INVALID_CAST_ARGUMENT: 1100,
  NUMERIC_VALUE_OUT_OF_RANGE: 1100,
  INVALID_PARAMETER_USAGE: 1100,
  INVALID_FUNCTION_ARGUMENT: 1106,
  NOT_SUPPORTED: 1200,
  TABLE_NOT_FOUND: 1301,
  SCHEMA_NOT_FOUND: 1301,
  FUNCTION_NOT_FOUND: 1303,
}

/** ErrorType of a user error unknown to the table above. */
export const GENERIC_USER_ERROR_TYPE = 1000

/** Athena's ErrorType for a Trino error name. */
export function errorTypeOf(name: string): number {
  return ERROR_TYPES[name] ?? GENERIC_USER_ERROR_TYPE
}

/**
 * A user error (category 2) as Athena reports it: `NAME: line L:C: detail` when the error has a position in
 * the query, `NAME: detail` otherwise.
 */
export function userError(name: string, detail: string, location?: string): ExecutionError {
  const message = location === undefined ? `${name}: ${detail}` : `${name}: ${location}: ${detail}`
  return { category: 2, type: errorTypeOf(name), message }
}

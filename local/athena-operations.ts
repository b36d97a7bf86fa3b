/** Athena API operations the local endpoint implements, by their `X-Amz-Target` suffix. */
export const ATHENA_OPERATIONS = [
  'StartQueryExecution',
  'GetQueryExecution',
  'BatchGetQueryExecution',
  'ListQueryExecutions',
  'GetQueryResults',
  'StopQueryExecution',
] as const

export type AthenaOperation = (typeof ATHENA_OPERATIONS)[number]

/** Narrows a target suffix to a supported operation. */
export function isAthenaOperation(name: string): name is AthenaOperation {
  return (ATHENA_OPERATIONS as readonly string[]).includes(name)
}

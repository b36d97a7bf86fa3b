/** The query lifecycle operations, by their `X-Amz-Target` suffix. */
export const QUERY_OPERATIONS = [
  'StartQueryExecution',
  'GetQueryExecution',
  'BatchGetQueryExecution',
  'ListQueryExecutions',
  'GetQueryResults',
  'StopQueryExecution',
] as const

/** Schema discovery and work-group operations: what tools (CLI, drivers, BI) call before they query. */
export const METADATA_OPERATIONS = [
  'ListDataCatalogs',
  'GetDataCatalog',
  'ListDatabases',
  'GetDatabase',
  'ListTableMetadata',
  'GetTableMetadata',
  'ListWorkGroups',
  'GetWorkGroup',
  'ListEngineVersions',
] as const

/** Athena API operations the local endpoint implements. */
export const ATHENA_OPERATIONS = [...QUERY_OPERATIONS, ...METADATA_OPERATIONS] as const

export type QueryOperation = (typeof QUERY_OPERATIONS)[number]
export type MetadataOperation = (typeof METADATA_OPERATIONS)[number]
export type AthenaOperation = QueryOperation | MetadataOperation

/** Narrows a target suffix to a supported operation. */
export function isAthenaOperation(name: string): name is AthenaOperation {
  return (ATHENA_OPERATIONS as readonly string[]).includes(name)
}

/** True for the operations answered from the catalog and the work groups (no execution involved). */
export function isMetadataOperation(name: AthenaOperation): name is MetadataOperation {
  return (METADATA_OPERATIONS as readonly string[]).includes(name)
}

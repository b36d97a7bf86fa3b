import { type AthenaApiError, entityNotFound, invalidRequest } from './athena-api-error.ts'
import type { MetadataOperation } from './athena-operations.ts'
import {
  getDatabaseInput,
  getDataCatalogInput,
  getTableMetadataInput,
  getWorkGroupInput,
  type ListTableMetadataInput,
  listDatabasesInput,
  listDataCatalogsInput,
  listEngineVersionsInput,
  listTableMetadataInput,
  listWorkGroupsInput,
  parseRequest,
} from './athena-requests.ts'
import { decodePageToken, encodePageToken } from './page-token.ts'
import type { CatalogSnapshot, ColumnMetadata, DatabaseMetadata, TableMetadata } from './table-metadata.ts'
import { compileTableNamePattern } from './table-name-pattern.ts'
import {
  EFFECTIVE_ENGINE_VERSION,
  ENGINE_VERSIONS,
  toWireWorkGroup,
  toWireWorkGroupSummary,
  type WorkGroups,
} from './work-groups.ts'

/** The one data catalog of the endpoint, as ListDataCatalogs names it. */
export const DATA_CATALOG_NAME = 'AwsDataCatalog'

// Page sizes when a request gives no MaxResults (the model's maxima).
const DEFAULT_PAGE = 50
const DEFAULT_ENGINE_VERSIONS_PAGE = 10

/**
 * Schema discovery and work-group operations, answered as Athena answers them: the catalog is the data
 * directory's (as of the last scan), Glue-style: names lower-cased and matched ignoring case, column types in Hive's
 * spelling. Nothing here runs a query.
 */
export class AthenaCatalogApi {
  constructor(
    private readonly catalog: () => CatalogSnapshot,
    private readonly workGroups: WorkGroups,
  ) {}

  /** Runs one metadata operation on a JSON request body. */
  call(operation: MetadataOperation, body: unknown): Record<string, unknown> {
    switch (operation) {
      case 'ListDataCatalogs': {
        const input = parseRequest(listDataCatalogsInput, body)
        const summaries = [{ CatalogName: DATA_CATALOG_NAME, Type: 'GLUE' }]
        return paged('DataCatalogsSummary', summaries, 'catalogs', input, DEFAULT_PAGE)
      }
      case 'GetDataCatalog':
        // Athena describes only catalogs registered with CreateDataCatalog; the built-in AwsDataCatalog is not one.
        throw catalogNotFound(parseRequest(getDataCatalogInput, body).Name)
      case 'ListDatabases': {
        const input = parseRequest(listDatabasesInput, body)
        checkCatalog(input.CatalogName)
        const databases = [...this.catalog().databases].sort(byName).map(toWireDatabase)
        return paged('DatabaseList', databases, 'databases', input, DEFAULT_PAGE)
      }
      case 'GetDatabase': {
        const input = parseRequest(getDatabaseInput, body)
        checkCatalog(input.CatalogName)
        return { Database: toWireDatabase(this.database(input.DatabaseName)) }
      }
      case 'ListTableMetadata':
        return this.listTableMetadata(parseRequest(listTableMetadataInput, body))
      case 'GetTableMetadata': {
        const input = parseRequest(getTableMetadataInput, body)
        checkCatalog(input.CatalogName)
        const database = this.database(input.DatabaseName).name.toLowerCase()
        const name = input.TableName.toLowerCase()
        const table = this.catalog().tables.find(
          (t) => t.database.toLowerCase() === database && t.name.toLowerCase() === name,
        )
        if (table === undefined) throw entityNotFound()
        return { TableMetadata: toWireTable(table) }
      }
      case 'ListWorkGroups': {
        const input = parseRequest(listWorkGroupsInput, body)
        const groups = this.workGroups.list().map(toWireWorkGroupSummary)
        // Athena's wording for a token it did not issue (measured), which names the token back.
        const malformed = (token: string) => invalidRequest(`The nextPageToken is malformed: ${token}`)
        return paged('WorkGroups', groups, 'workgroups', input, DEFAULT_PAGE, malformed)
      }
      case 'GetWorkGroup':
        return {
          WorkGroup: toWireWorkGroup(this.workGroups.get(parseRequest(getWorkGroupInput, body).WorkGroup)),
        }
      case 'ListEngineVersions': {
        const input = parseRequest(listEngineVersionsInput, body)
        const versions = ENGINE_VERSIONS.map((selected) => ({
          SelectedEngineVersion: selected,
          EffectiveEngineVersion: EFFECTIVE_ENGINE_VERSION,
        }))
        return paged('EngineVersions', versions, 'engines', input, DEFAULT_ENGINE_VERSIONS_PAGE)
      }
    }
  }

  private listTableMetadata(input: ListTableMetadataInput): Record<string, unknown> {
    checkCatalog(input.CatalogName)
    const database = this.database(input.DatabaseName).name.toLowerCase()
    const matches = compileTableNamePattern(input.Expression ?? '')
    const tables = this.catalog()
      .tables.filter((t) => t.database.toLowerCase() === database && matches(t.name))
      .sort(byName)
      .map(toWireTable)
    // The scope ties a token to the listing it continues: another database or filter rejects it.
    const scope = `tables:${database}:${input.Expression ?? ''}`
    return paged('TableMetadataList', tables, scope, input, DEFAULT_PAGE)
  }

  private database(name: string): DatabaseMetadata {
    const lower = name.toLowerCase()
    const database = this.catalog().databases.find((d) => d.name.toLowerCase() === lower)
    // Glue's own sentence, relayed by Athena (e.g. "Database default not found.").
    if (database === undefined) throw entityNotFound(`Database ${name} not found.`)
    return database
  }
}

/** A catalog name must be AwsDataCatalog (in any case, as StartQueryExecution accepts it). */
function checkCatalog(name: string): void {
  if (name.toLowerCase() !== DATA_CATALOG_NAME.toLowerCase()) throw catalogNotFound(name)
}

function catalogNotFound(name: string): AthenaApiError {
  return invalidRequest(`DataCatalog ${name} was not found.`)
}

/** One page of `items` under `member`, with a NextToken when more remain. */
function paged(
  member: string,
  items: readonly unknown[],
  scope: string,
  input: { NextToken?: string | undefined; MaxResults?: number | undefined },
  defaultPage: number,
  malformed?: (token: string) => AthenaApiError,
): Record<string, unknown> {
  let start = 0
  if (input.NextToken !== undefined) {
    try {
      start = decodePageToken(input.NextToken, scope, items.length)
    } catch (err) {
      throw malformed ? malformed(input.NextToken) : err
    }
  }
  const end = Math.min(items.length, start + (input.MaxResults ?? defaultPage))
  const out: Record<string, unknown> = { [member]: items.slice(start, end) }
  if (end < items.length) out.NextToken = encodePageToken(scope, end)
  return out
}

function byName(a: { name: string }, b: { name: string }): number {
  const x = a.name.toLowerCase()
  const y = b.name.toLowerCase()
  return x < y ? -1 : x > y ? 1 : 0
}

function toWireDatabase(database: DatabaseMetadata): Record<string, unknown> {
  return {
    Name: database.name.toLowerCase(),
    ...(database.description === undefined ? {} : { Description: database.description }),
  }
}

function toWireTable(table: TableMetadata): Record<string, unknown> {
  return {
    Name: table.name.toLowerCase(),
    CreateTime: table.createTime / 1000,
    TableType: 'EXTERNAL_TABLE',
    Columns: table.columns.map(toWireColumn),
    PartitionKeys: table.partitionKeys.map(toWireColumn),
    Parameters: table.parameters,
  }
}

function toWireColumn(column: ColumnMetadata): Record<string, string> {
  return {
    Name: column.name.toLowerCase(),
    Type: column.hiveType,
    ...(column.comment === undefined ? {} : { Comment: column.comment }),
  }
}

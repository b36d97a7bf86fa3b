import { invalidRequest } from './athena-api-error.ts'
import { type AthenaColumnInfo, columnInfoOf } from './athena-column-types.ts'
import { type PlannedStatement, USER_ERROR_TYPE } from './execution-runner.ts'
import {
  describeLines,
  hiveNamePattern,
  partitionLines,
  showColumnsLines,
  showCreateTableLines,
  tablePropertyLines,
} from './hive-ddl-text.ts'
import { type MetadataStatement, parseMetadataStatement, type TableReference } from './metadata-statement.ts'
import type { StoredResult } from './query-execution.ts'
import type { CatalogSnapshot, TableMetadata } from './table-metadata.ts'

/** A lookup that failed the way Athena fails the execution (FAILED, not refused at submission). */
class CatalogLookupError extends Error {}

/**
 * Plans SHOW and DESCRIBE statements from the catalog, as Athena answers them from Glue through its Hive DDL
 * engine: an `answer` (rows known at once), a `failure` (unknown database or table, …), or undefined for any other
 * statement (the SQL engine's). A SHOW or DESCRIBE form the endpoint does not know, or one given
 * ExecutionParameters (it has no placeholders), is refused at submission.
 */
export function planMetadataStatement(
  sql: string,
  database: string,
  catalog: CatalogSnapshot,
  parameterCount: number,
): PlannedStatement | undefined {
  const parsed = parseMetadataStatement(sql)
  if (parsed.kind === 'other') return undefined
  if (parsed.kind === 'unsupported') {
    throw invalidRequest(
      `${parsed.statement || 'This statement'} is not supported by the local Athena endpoint`,
      'MALFORMED_QUERY',
    )
  }
  if (parameterCount > 0) {
    throw invalidRequest(
      `The query has 0 parameter placeholder(s) but ${parameterCount} ExecutionParameters were given`,
    )
  }
  try {
    return { kind: 'answer', result: answer(parsed.statement, new CatalogView(catalog, database)) }
  } catch (err) {
    if (!(err instanceof CatalogLookupError)) throw err
    return { kind: 'failure', error: { category: 2, type: USER_ERROR_TYPE, message: err.message } }
  }
}

function answer(statement: MetadataStatement, catalog: CatalogView): StoredResult {
  switch (statement.kind) {
    case 'show-databases':
      return lines(
        ['database_name'],
        filtered(
          catalog.snapshot.databases.map((d) => d.name),
          statement.pattern,
        ),
      )
    case 'show-tables':
      return lines(['tab_name'], filtered(catalog.tableNames(statement.database), statement.pattern))
    case 'show-views':
      // The catalog holds no views; the database must exist all the same.
      return lines(['views'], filtered(catalog.viewNames(statement.database), statement.pattern))
    case 'show-columns':
      return lines(['field'], showColumnsLines(catalog.table(statement.table)))
    case 'show-partitions': {
      const table = catalog.table(statement.table)
      if (table.partitionKeys.length === 0) {
        throw new CatalogLookupError(
          `FAILED: Execution Error, return code 1 from org.apache.hadoop.hive.ql.exec.DDLTask. Table ${table.database}.${table.name} is not a partitioned table`,
        )
      }
      return lines(['partition'], partitionLines(table))
    }
    case 'show-create-table':
      return lines(['createtab_stmt'], showCreateTableLines(catalog.table(statement.table)))
    case 'show-tblproperties':
      return lines(['prpt_name', 'prpt_value'], tablePropertyLines(catalog.table(statement.table)))
    case 'describe': {
      const table = catalog.table(statement.table)
      if (statement.column === undefined)
        return lines(['col_name', 'data_type', 'comment'], describeLines(table))
      const wanted = statement.column.toLowerCase()
      const column = [...table.columns, ...table.partitionKeys].find((c) => c.name.toLowerCase() === wanted)
      if (column === undefined) {
        throw new CatalogLookupError(
          `FAILED: SemanticException [Error 10002]: Invalid column reference ${statement.column}`,
        )
      }
      return lines(
        ['col_name', 'data_type', 'comment'],
        describeLines({ ...table, columns: [column], partitionKeys: [] }),
      )
    }
  }
}

/** Name lookups as Hive makes them against Glue: case-insensitive, Hive's error messages. */
class CatalogView {
  constructor(
    readonly snapshot: CatalogSnapshot,
    private readonly contextDatabase: string,
  ) {}

  tableNames(database: string | undefined): string[] {
    const name = this.database(database)
    return this.snapshot.tables.filter((t) => same(t.database, name)).map((t) => t.name)
  }

  viewNames(database: string | undefined): string[] {
    this.database(database)
    return []
  }

  table(ref: TableReference): TableMetadata {
    const database = ref.database ?? this.contextDatabase
    const table = this.snapshot.tables.find((t) => same(t.database, database) && same(t.name, ref.name))
    if (table === undefined)
      throw new CatalogLookupError(`FAILED: SemanticException [Error 10001]: Table not found ${ref.written}`)
    return table
  }

  private database(name: string | undefined): string {
    const wanted = name ?? this.contextDatabase
    const found = this.snapshot.databases.find((d) => same(d.name, wanted))
    if (found === undefined)
      throw new CatalogLookupError(
        `FAILED: SemanticException [Error 10072]: Database does not exist: ${wanted}`,
      )
    return found.name
  }
}

/** Names matching a Hive pattern (all without one), sorted as Hive sorts them. */
function filtered(names: readonly string[], pattern: string | undefined): string[] {
  let matches: (name: string) => boolean = () => true
  if (pattern !== undefined) {
    try {
      matches = hiveNamePattern(pattern)
    } catch (err) {
      throw new CatalogLookupError(`FAILED: Invalid pattern '${pattern}': ${(err as Error).message}`)
    }
  }
  return names.filter(matches).sort()
}

/**
 * A result of text lines, one row each. As on Athena, every row is a single datum holding the whole line (tabs
 * included) even when the statement declares several columns, and every column is typed `string`.
 */
function lines(columns: readonly string[], text: readonly string[]): StoredResult {
  const rows = text.map((line) => [line])
  return {
    columns: columns.map(stringColumn),
    rowCount: rows.length,
    headerRow: false,
    rows: (from, to) => rows.slice(from, to),
  }
}

function stringColumn(name: string): AthenaColumnInfo {
  return columnInfoOf(name, { type: 'string', precision: 0, scale: 0, caseSensitive: false })
}

function same(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase()
}

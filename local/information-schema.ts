import type { DuckDBConnection } from '@duckdb/node-api'
import { isTrivia, type SqlToken, tokenizeSql } from './sql-lexer.ts'
import { quoteIdentifier, sqlString } from './table-catalog.ts'
import type { CatalogSnapshot } from './table-metadata.ts'

/**
 * The schema holding Athena's `information_schema` tables, materialised from the catalog. DuckDB reserves the name
 * `information_schema` (its own views list internal schemas and upper-case types), so queries are rewritten to this
 * one. Its name has the length of `information_schema`, so positions in the rewritten text are the user's.
 */
export const LOCAL_INFORMATION_SCHEMA = '_local_info_schema'

/** What Athena shows as the catalog of every table (Trino's lower-case name of AwsDataCatalog). */
const CATALOG_NAME = 'awsdatacatalog'
const INFORMATION_SCHEMA = 'information_schema'

type SqlValue = string | number | null

interface InformationTable {
  name: string
  /** Column names and DuckDB types, in Trino's order. */
  columns: ReadonlyArray<readonly [string, 'VARCHAR' | 'BIGINT']>
  rows(snapshot: CatalogSnapshot): SqlValue[][]
}

const TABLES: readonly InformationTable[] = [
  {
    name: 'schemata',
    columns: [
      ['catalog_name', 'VARCHAR'],
      ['schema_name', 'VARCHAR'],
    ],
    rows: (snapshot) =>
      [INFORMATION_SCHEMA, ...snapshot.databases.map((d) => d.name)]
        .sort()
        .map((schema) => [CATALOG_NAME, schema]),
  },
  {
    name: 'tables',
    columns: [
      ['table_catalog', 'VARCHAR'],
      ['table_schema', 'VARCHAR'],
      ['table_name', 'VARCHAR'],
      ['table_type', 'VARCHAR'],
    ],
    rows: (snapshot) =>
      relations(snapshot).map(({ schema, table }) => [CATALOG_NAME, schema, table, 'BASE TABLE']),
  },
  {
    name: 'columns',
    columns: [
      ['table_catalog', 'VARCHAR'],
      ['table_schema', 'VARCHAR'],
      ['table_name', 'VARCHAR'],
      ['column_name', 'VARCHAR'],
      ['ordinal_position', 'BIGINT'],
      ['column_default', 'VARCHAR'],
      ['is_nullable', 'VARCHAR'],
      ['data_type', 'VARCHAR'],
      ['comment', 'VARCHAR'],
      ['extra_info', 'VARCHAR'],
    ],
    rows: (snapshot) =>
      relations(snapshot).flatMap(({ schema, table, columns }) =>
        columns.map((c, i) => [
          CATALOG_NAME,
          schema,
          table,
          c.name,
          i + 1,
          null,
          'YES',
          c.type,
          c.comment ?? null,
          c.partitionKey ? 'partition key' : null,
        ]),
      ),
  },
  {
    name: 'views',
    columns: [
      ['table_catalog', 'VARCHAR'],
      ['table_schema', 'VARCHAR'],
      ['table_name', 'VARCHAR'],
      ['view_definition', 'VARCHAR'],
    ],
    // The catalog holds no views.
    rows: () => [],
  },
]

interface Relation {
  schema: string
  table: string
  columns: { name: string; type: string; comment?: string | undefined; partitionKey: boolean }[]
}

/** Every table of the catalog plus information_schema's own, by schema and name. */
function relations(snapshot: CatalogSnapshot): Relation[] {
  const own: Relation[] = TABLES.map((t) => ({
    schema: INFORMATION_SCHEMA,
    table: t.name,
    columns: t.columns.map(([name, type]) => ({ name, type: type.toLowerCase(), partitionKey: false })),
  }))
  const data: Relation[] = snapshot.tables.map((t) => ({
    schema: t.database,
    table: t.name,
    // Trino's Hive connector lists the data columns, then the partition keys.
    columns: [
      ...t.columns.map((c) => ({ name: c.name, type: c.trinoType, comment: c.comment, partitionKey: false })),
      ...t.partitionKeys.map((c) => ({
        name: c.name,
        type: c.trinoType,
        comment: c.comment,
        partitionKey: true,
      })),
    ],
  }))
  return [...own, ...data].sort((a, b) => compare(a.schema, b.schema) || compare(a.table, b.table))
}

/**
 * Replaces the tables of the private information schema with the rows of `snapshot`, in one transaction (a query
 * running meanwhile sees the old rows or the new, never a mix).
 */
export async function rebuildInformationSchema(
  conn: DuckDBConnection,
  catalog: string,
  snapshot: CatalogSnapshot,
): Promise<void> {
  const schema = `${catalog}.${quoteIdentifier(LOCAL_INFORMATION_SCHEMA)}`
  await conn.run(`CREATE SCHEMA IF NOT EXISTS ${schema}`)
  await conn.run('BEGIN TRANSACTION')
  try {
    for (const table of TABLES) {
      const name = `${schema}.${quoteIdentifier(table.name)}`
      const columns = table.columns.map(([column, type]) => `${quoteIdentifier(column)} ${type}`).join(', ')
      await conn.run(`CREATE OR REPLACE TABLE ${name} (${columns})`)
      const rows = table.rows(snapshot)
      for (let i = 0; i < rows.length; i += 500) {
        const values = rows.slice(i, i + 500).map((row) => `(${row.map(sqlValue).join(', ')})`)
        await conn.run(`INSERT INTO ${name} VALUES ${values.join(', ')}`)
      }
    }
    await conn.run('COMMIT')
  } catch (err) {
    await conn.run('ROLLBACK').catch(() => undefined)
    throw err
  }
}

/**
 * Points `information_schema.<table>` (also `awsdatacatalog.information_schema.<table>`, quoted or not) at the
 * private schema. Token-aware: string literals, comments and other identifiers are left as they are.
 */
export function rewriteInformationSchema(sql: string): string {
  if (!sql.toLowerCase().includes(INFORMATION_SCHEMA)) return sql
  const tokens = tokenizeSql(sql)
  const significant = tokens.map((t, i) => [t, i] as const).filter(([t]) => !isTrivia(t))
  const replaced = new Set<number>()
  for (const [k, [token, index]] of significant.entries()) {
    if (nameOf(token) !== INFORMATION_SCHEMA || significant[k + 1]?.[0].text !== '.') continue
    const before = significant[k - 1]?.[0]
    const catalog = significant[k - 2]?.[0]
    if (before?.text === '.' && (catalog === undefined || nameOf(catalog) !== CATALOG_NAME)) continue
    replaced.add(index)
  }
  return tokens
    .map((t, i) =>
      !replaced.has(i)
        ? t.text
        : t.kind === 'quoted-identifier'
          ? quoteIdentifier(LOCAL_INFORMATION_SCHEMA)
          : LOCAL_INFORMATION_SCHEMA,
    )
    .join('')
}

/** An identifier token's name, lower-cased as Athena resolves names; undefined for other tokens. */
function nameOf(token: SqlToken): string | undefined {
  if (token.kind === 'word') return token.text.toLowerCase()
  if (token.kind === 'quoted-identifier') return token.text.slice(1, -1).replaceAll('""', '"').toLowerCase()
  return undefined
}

function sqlValue(value: SqlValue): string {
  if (value === null) return 'NULL'
  return typeof value === 'number' ? String(value) : sqlString(value)
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

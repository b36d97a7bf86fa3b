/**
 * The text Athena's Hive DDL engine prints for metadata statements, line by line. Athena answers SHOW and DESCRIBE
 * with Hive's output (MetaDataFormatUtils, DDLTask.showCreateTable): columns padded to 20 characters and separated
 * by tabs, `# Partition Information` sections, Hive type names (`string`, `int`). Each line is one result row.
 */
import type { ColumnMetadata, TableMetadata } from './table-metadata.ts'

/** Hive pads every field of its descriptive output to this width. */
const ALIGNMENT = 20
const SERDE = 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
const INPUT_FORMAT = 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat'
const OUTPUT_FORMAT = 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat'
/** Keys Athena's GetTableMetadata folds into a table's parameters from its storage descriptor: not Glue parameters. */
const STORAGE_KEYS = new Set(['inputformat', 'outputformat', 'location', 'serde.serialization.lib'])
/** Parameters SHOW CREATE TABLE prints as clauses of their own rather than in TBLPROPERTIES. */
const CLAUSE_KEYS = new Set(['EXTERNAL', 'comment'])

/**
 * `DESCRIBE t`: every column (the partition keys included) as `name<TAB>type<TAB>comment`, each field padded to 20;
 * for a partitioned table then a blank line, `# Partition Information`, the header line and the keys again.
 */
export function describeLines(table: TableMetadata): string[] {
  const lines = [...table.columns, ...table.partitionKeys].flatMap(describeColumn)
  if (table.partitionKeys.length > 0) {
    lines.push(
      '',
      '# Partition Information',
      `# ${['col_name', 'data_type', 'comment'].map(padded).join('')}`,
      '',
    )
    lines.push(...table.partitionKeys.flatMap(describeColumn))
  }
  return lines
}

/** `SHOW COLUMNS`: one name per line, partition keys last, padded to 20 as Hive pads its column listing. */
export function showColumnsLines(table: TableMetadata): string[] {
  return [...table.columns, ...table.partitionKeys].map((c) => c.name.padEnd(ALIGNMENT))
}

/** `SHOW PARTITIONS`: `k1=v1/k2=v2`, in the catalog's (sorted) order. */
export function partitionLines(table: TableMetadata): string[] {
  return table.partitions.map((values) =>
    table.partitionKeys.map((key, i) => `${key.name}=${values[i] ?? ''}`).join('/'),
  )
}

/** `SHOW TBLPROPERTIES`: `key<TAB>value`, sorted by key. */
export function tablePropertyLines(table: TableMetadata): string[] {
  return tableProperties(table).map(([key, value]) => `${key}\t${value}`)
}

/** `SHOW CREATE TABLE`: the Hive DDL of an external Parquet table, as Athena prints it (Hive's layout, no blank lines). */
export function showCreateTableLines(table: TableMetadata): string[] {
  const lines = [`CREATE EXTERNAL TABLE \`${table.database}\`.\`${table.name}\`(`]
  lines.push(...joined(table.columns.map(columnDefinition), ')'))
  if (table.comment !== undefined) lines.push(`COMMENT '${escapeHiveCommand(table.comment)}'`)
  if (table.partitionKeys.length > 0) {
    lines.push('PARTITIONED BY ( ', ...joined(table.partitionKeys.map(columnDefinition), ')'))
  }
  lines.push(
    'ROW FORMAT SERDE ',
    `  '${SERDE}' `,
    'STORED AS INPUTFORMAT ',
    `  '${INPUT_FORMAT}' `,
    'OUTPUTFORMAT ',
    `  '${OUTPUT_FORMAT}'`,
    'LOCATION',
    `  '${escapeHiveCommand(table.location)}'`,
    'TBLPROPERTIES (',
    ...joined(
      tableProperties(table)
        .filter(([key]) => !CLAUSE_KEYS.has(key))
        .map(([key, value]) => `  '${key}'='${escapeHiveCommand(value)}'`),
      ')',
    ),
  )
  return lines
}

/**
 * Hive's name patterns (SHOW TABLES 'p', SHOW DATABASES LIKE 'p'): `*` matches any run of characters (`.*` is
 * taken as the same), `|` separates alternatives, anything else is a regular expression; the whole name must
 * match, ignoring case. An invalid expression throws.
 */
export function hiveNamePattern(pattern: string): (name: string) => boolean {
  const alternatives = pattern
    .trim()
    .split('|')
    .map((part) => new RegExp(`^(?:${part.replaceAll('.*', '*').replaceAll('*', '.*')})$`, 'i'))
  return (name) => alternatives.some((re) => re.test(name))
}

/** The parameters SHOW TBLPROPERTIES lists: Glue's table parameters, without the storage keys, sorted by key. */
function tableProperties(table: TableMetadata): [string, string][] {
  return Object.entries(table.parameters)
    .filter(([key]) => !STORAGE_KEYS.has(key))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

function describeColumn(column: ColumnMetadata): string[] {
  // Hive indents the further lines of a multi-line comment under the first.
  const [first = '', ...rest] = (column.comment ?? '').split(/\r\n|\n|\r/)
  const nameWidth = Math.max(ALIGNMENT, column.name.length)
  const typeWidth = Math.max(ALIGNMENT, column.hiveType.length)
  return [
    `${padded(column.name)}${padded(column.hiveType)}${first.padEnd(ALIGNMENT)}`,
    ...rest.map((line) => `${''.padStart(nameWidth)}\t${''.padStart(typeWidth)}\t${line}`),
  ]
}

/** One field of Hive's descriptive output: padded to 20, then a tab. */
function padded(field: string): string {
  return `${field.padEnd(ALIGNMENT)}\t`
}

function columnDefinition(column: ColumnMetadata): string {
  const comment = column.comment === undefined ? '' : ` COMMENT '${escapeHiveCommand(column.comment)}'`
  return `  \`${column.name}\` ${column.hiveType}${comment}`
}

/** Items joined as Hive joins them (`", \n"`), the last one closed by `close`. */
function joined(items: readonly string[], close: string): string[] {
  if (items.length === 0) return [close]
  return items.map((item, i) => (i < items.length - 1 ? `${item}, ` : `${item}${close}`))
}

/** Hive's escapeHiveCommand: a backslash before every `'` and `;`. */
function escapeHiveCommand(text: string): string {
  return text.replaceAll(/[';]/g, '\\$&')
}

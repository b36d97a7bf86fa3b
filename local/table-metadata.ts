import { readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { type DuckDBType, DuckDBTypeId } from '@duckdb/node-api'
import { z } from 'zod'
import type { DiscoveredTable } from './table-catalog.ts'

/** One column as the Glue Data Catalog and Athena describe it. */
export interface ColumnMetadata {
  name: string
  /** Trino's name, as `information_schema.columns` and `DESCRIBE` on engine v3 show it: `varchar`, `timestamp(3)`, `array(bigint)`. */
  trinoType: string
  /** Hive's name, as Glue stores it and `GetTableMetadata` / `SHOW CREATE TABLE` show it: `string`, `timestamp`, `array<bigint>`. */
  hiveType: string
  comment?: string | undefined
}

/** A table of the data directory, described as Athena's catalog describes an external Parquet table. */
export interface TableMetadata {
  database: string
  name: string
  /** The data columns, in file order, without the partition keys. */
  columns: ColumnMetadata[]
  partitionKeys: ColumnMetadata[]
  /** Every partition's values, in `partitionKeys` order, sorted. */
  partitions: string[][]
  /** `s3://<data bucket>/<database>/<table>/`: where the table would live on S3 (the files are local). */
  location: string
  comment?: string | undefined
  /** The table directory's modification time (epoch ms). */
  createTime: number
  /** Glue's table parameters for a Parquet table. */
  parameters: Record<string, string>
}

/** A database (a directory of the data directory). */
export interface DatabaseMetadata {
  name: string
  description?: string | undefined
}

/** What the catalog holds after a scan of the data directory. */
export interface CatalogSnapshot {
  databases: DatabaseMetadata[]
  tables: TableMetadata[]
}

/** Optional comments beside a table's files (hidden from discovery like every `_` file). */
export const TABLE_SIDECAR = '_table.json'
/** Optional description of a database, in its directory. */
export const DATABASE_SIDECAR = '_database.json'
/** The bucket the tables' locations name. */
export const DEFAULT_DATA_LOCATION = 's3://acp-local-data/'

const comment = z.string().max(255)
const tableSidecar = z.strictObject({
  comment: comment.optional(),
  columns: z.record(z.string(), comment).optional(),
})
const databaseSidecar = z.strictObject({ description: z.string().max(2048).optional() })

/** Comments of a table, read from its `_table.json`; an absent or invalid file gives none (reported to `onInvalid`). */
export async function readTableSidecar(
  dir: string,
  onInvalid: (file: string, reason: string) => void,
): Promise<z.infer<typeof tableSidecar>> {
  return (await readSidecar(path.join(dir, TABLE_SIDECAR), tableSidecar, onInvalid)) ?? {}
}

/** A database's description from its `_database.json`. */
export async function readDatabaseSidecar(
  dir: string,
  onInvalid: (file: string, reason: string) => void,
): Promise<string | undefined> {
  return (await readSidecar(path.join(dir, DATABASE_SIDECAR), databaseSidecar, onInvalid))?.description
}

/** Describes a discovered table from its view's column types (partition keys are typed `varchar`). */
export async function describeTable(
  table: DiscoveredTable,
  viewColumns: ReadonlyArray<{ name: string; type: DuckDBType }>,
  dataLocation: string,
  onInvalid: (file: string, reason: string) => void,
): Promise<TableMetadata> {
  const sidecar = await readTableSidecar(table.dir, onInvalid)
  const comments = sidecar.columns ?? {}
  const keys = new Set(table.partitionKeys)
  const column = (name: string, type: DuckDBType): ColumnMetadata => ({
    name,
    trinoType: trinoTypeName(type),
    hiveType: hiveTypeName(type),
    comment: comments[name],
  })
  const byName = new Map(viewColumns.map((c) => [c.name, c.type]))
  const location = `${dataLocation.replace(/\/*$/, '/')}${table.database}/${table.table}/`
  return {
    database: table.database,
    name: table.table,
    columns: viewColumns.filter((c) => !keys.has(c.name)).map((c) => column(c.name, c.type)),
    partitionKeys: table.partitionKeys.map((key) => {
      const type = byName.get(key)
      return type === undefined
        ? { name: key, trinoType: 'varchar', hiveType: 'string', comment: comments[key] }
        : column(key, type)
    }),
    partitions: table.partitions,
    location,
    comment: sidecar.comment,
    createTime: Math.floor((await stat(table.dir)).mtimeMs),
    parameters: {
      EXTERNAL: 'TRUE',
      classification: 'parquet',
      'parquet.compression': 'SNAPPY',
      inputformat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
      outputformat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
      location,
      'serde.serialization.lib': 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
      ...(sidecar.comment === undefined ? {} : { comment: sidecar.comment }),
    },
  }
}

/** Trino's type name of a column of a Hive (Parquet) table, as Athena engine v3 reports it. */
export function trinoTypeName(type: DuckDBType): string {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return 'boolean'
    case DuckDBTypeId.TINYINT:
      return 'tinyint'
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.UTINYINT:
      return 'smallint'
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.USMALLINT:
      return 'integer'
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UINTEGER:
      return 'bigint'
    case DuckDBTypeId.UBIGINT:
      return 'decimal(20,0)'
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
      return 'decimal(38,0)'
    case DuckDBTypeId.DECIMAL:
      return `decimal(${type.width},${type.scale})`
    case DuckDBTypeId.FLOAT:
      return 'real'
    case DuckDBTypeId.DOUBLE:
      return 'double'
    case DuckDBTypeId.DATE:
      return 'date'
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
      // Hive tables' timestamps are read at millisecond precision.
      return 'timestamp(3)'
    case DuckDBTypeId.TIMESTAMP_TZ:
      return 'timestamp(3) with time zone'
    case DuckDBTypeId.BLOB:
      return 'varbinary'
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
      return `array(${trinoTypeName(type.valueType)})`
    case DuckDBTypeId.MAP:
      return `map(${trinoTypeName(type.keyType)}, ${trinoTypeName(type.valueType)})`
    case DuckDBTypeId.STRUCT:
      return `row(${type.entryNames.map((n, i) => `${n} ${trinoTypeName(entry(type.entryTypes, i))}`).join(', ')})`
    default:
      return 'varchar'
  }
}

/** Hive's type name of a column, as Glue stores it. */
export function hiveTypeName(type: DuckDBType): string {
  switch (type.typeId) {
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.USMALLINT:
      return 'int'
    case DuckDBTypeId.FLOAT:
      return 'float'
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
    case DuckDBTypeId.TIMESTAMP_TZ:
      return 'timestamp'
    case DuckDBTypeId.BLOB:
      return 'binary'
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
      return `array<${hiveTypeName(type.valueType)}>`
    case DuckDBTypeId.MAP:
      return `map<${hiveTypeName(type.keyType)},${hiveTypeName(type.valueType)}>`
    case DuckDBTypeId.STRUCT:
      return `struct<${type.entryNames.map((n, i) => `${n}:${hiveTypeName(entry(type.entryTypes, i))}`).join(',')}>`
    default: {
      const trino = trinoTypeName(type)
      return trino === 'varchar' ? 'string' : trino
    }
  }
}

function entry(types: readonly DuckDBType[], i: number): DuckDBType {
  const type = types[i]
  if (type === undefined) throw new Error(`struct entry ${i} has no type`)
  return type
}

async function readSidecar<T>(
  file: string,
  schema: z.ZodType<T>,
  onInvalid: (file: string, reason: string) => void,
): Promise<T | undefined> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') onInvalid(file, String(err))
    return undefined
  }
  try {
    const parsed = schema.safeParse(JSON.parse(text))
    if (parsed.success) return parsed.data
    onInvalid(file, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '))
  } catch (err) {
    onInvalid(file, String(err))
  }
  return undefined
}

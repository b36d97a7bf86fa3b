import { type DuckDBType, DuckDBTypeId } from '@duckdb/node-api'

/** Athena's `ColumnInfo` shape as returned in `ResultSetMetadata`. */
export interface AthenaColumnInfo {
  CatalogName: string
  SchemaName: string
  TableName: string
  Name: string
  Label: string
  Type: string
  Precision: number
  Scale: number
  Nullable: 'NOT_NULL' | 'NULLABLE' | 'UNKNOWN'
  CaseSensitive: boolean
}

export interface AthenaType {
  type: string
  precision: number
  scale: number
  caseSensitive: boolean
}

const VARCHAR_PRECISION = 2147483647

/** Maps a DuckDB result type to the Athena (Trino) type name, precision and scale Athena reports. */
export function athenaTypeOf(type: DuckDBType): AthenaType {
  const simple = (name: string, precision = 0, scale = 0, caseSensitive = false): AthenaType => ({
    type: name,
    precision,
    scale,
    caseSensitive,
  })
  switch (type.typeId) {
    case DuckDBTypeId.VARCHAR:
      return type.alias?.toUpperCase() === 'JSON'
        ? simple('json', 0, 0, true)
        : simple('varchar', VARCHAR_PRECISION, 0, true)
    case DuckDBTypeId.ENUM:
      return simple('varchar', VARCHAR_PRECISION, 0, true)
    case DuckDBTypeId.BOOLEAN:
      return simple('boolean')
    case DuckDBTypeId.TINYINT:
      return simple('tinyint', 3)
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.UTINYINT:
      return simple('smallint', 5)
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.USMALLINT:
      return simple('integer', 10)
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UINTEGER:
    // DuckDB's sum of integers; Trino's is a bigint (a sum beyond its range fails the query: execution-runner.ts).
    case DuckDBTypeId.HUGEINT:
      return simple('bigint', 19)
    case DuckDBTypeId.UBIGINT:
      return simple('decimal', 20, 0)
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.BIGNUM:
      return simple('decimal', 38, 0)
    case DuckDBTypeId.DECIMAL:
      return simple('decimal', type.width, type.scale)
    case DuckDBTypeId.FLOAT:
      return simple('real', 7)
    case DuckDBTypeId.DOUBLE:
      return simple('double', 17)
    case DuckDBTypeId.DATE:
      return simple('date')
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
      return simple('timestamp', 3)
    case DuckDBTypeId.TIMESTAMP_TZ:
      return simple('timestamp with time zone', 3)
    case DuckDBTypeId.TIME:
    case DuckDBTypeId.TIME_NS:
      return simple('time', 3)
    case DuckDBTypeId.TIME_TZ:
      return simple('time with time zone', 3)
    case DuckDBTypeId.INTERVAL:
      return simple('interval day to second')
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
      return simple('array')
    case DuckDBTypeId.MAP:
      return simple('map')
    case DuckDBTypeId.STRUCT:
      return simple('row')
    case DuckDBTypeId.BLOB:
      return simple('varbinary', VARCHAR_PRECISION)
    case DuckDBTypeId.UUID:
      return simple('uuid')
    case DuckDBTypeId.SQLNULL:
      // Trino types a bare NULL as "unknown".
      return simple('unknown')
    default:
      return simple('varchar', VARCHAR_PRECISION, 0, true)
  }
}

/** Builds the `ColumnInfo` entry for one result column. */
export function columnInfo(name: string, type: DuckDBType): AthenaColumnInfo {
  return columnInfoOf(name, athenaTypeOf(type))
}

/** The `ColumnInfo` entry of a column of the given Athena type. */
export function columnInfoOf(name: string, athena: AthenaType): AthenaColumnInfo {
  return {
    CatalogName: 'hive',
    SchemaName: '',
    TableName: '',
    Name: name,
    Label: name,
    Type: athena.type,
    Precision: athena.precision,
    Scale: athena.scale,
    Nullable: 'UNKNOWN',
    CaseSensitive: athena.caseSensitive,
  }
}

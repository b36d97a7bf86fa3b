/**
 * Trino's spelling of DuckDB types, for error messages (`Cannot apply operator: timestamp(3) < varchar(10)`).
 * Timestamps are `timestamp(3)`, the precision of Athena's Hive tables; a sum of integers (DuckDB's HUGEINT)
 * is a `bigint`, as in Trino.
 */
const SIMPLE: Readonly<Record<string, string>> = {
  BOOLEAN: 'boolean',
  TINYINT: 'tinyint',
  SMALLINT: 'smallint',
  INTEGER: 'integer',
  INTEGER_LITERAL: 'integer',
  BIGINT: 'bigint',
  HUGEINT: 'bigint',
  UTINYINT: 'smallint',
  USMALLINT: 'integer',
  UINTEGER: 'bigint',
  UBIGINT: 'decimal(20,0)',
  UHUGEINT: 'decimal(38,0)',
  FLOAT: 'real',
  DOUBLE: 'double',
  DATE: 'date',
  TIME: 'time(3)',
  TIME_TZ: 'time(3) with time zone',
  'TIME WITH TIME ZONE': 'time(3) with time zone',
  TIMESTAMP: 'timestamp(3)',
  TIMESTAMP_S: 'timestamp(3)',
  TIMESTAMP_MS: 'timestamp(3)',
  TIMESTAMP_NS: 'timestamp(3)',
  TIMESTAMP_TZ: 'timestamp(3) with time zone',
  'TIMESTAMP WITH TIME ZONE': 'timestamp(3) with time zone',
  INTERVAL: 'interval day to second',
  VARCHAR: 'varchar',
  STRING_LITERAL: 'varchar',
  JSON: 'json',
  BLOB: 'varbinary',
  UUID: 'uuid',
  SQLNULL: 'unknown',
  NULL: 'unknown',
}

/** Trino's name for a DuckDB type as DuckDB prints it in messages (`TIMESTAMP`, `DECIMAL(2,1)`, `INTEGER[]`). */
export function trinoTypeFromName(name: string): string {
  const trimmed = name.trim()
  if (trimmed.endsWith('[]')) return `array(${trinoTypeFromName(trimmed.slice(0, -2))})`
  const decimal = /^DECIMAL\((\d+),\s*(\d+)\)$/i.exec(trimmed)
  if (decimal) return `decimal(${decimal[1]},${decimal[2]})`
  return SIMPLE[trimmed.toUpperCase()] ?? trimmed.toLowerCase()
}

type Json = Readonly<Record<string, unknown>>

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Trino's name for a type in DuckDB's serialized form (`{"id": "DECIMAL", "type_info": {…}}`). */
export function trinoTypeOfJson(type: unknown): string {
  if (!isRecord(type)) return 'unknown'
  const id = typeof type.id === 'string' ? type.id : ''
  const info = isRecord(type.type_info) ? type.type_info : undefined
  if (info?.alias === 'JSON') return 'json'
  switch (id) {
    case 'DECIMAL':
      return `decimal(${Number(info?.width)},${Number(info?.scale)})`
    case 'LIST':
    case 'ARRAY':
      return `array(${trinoTypeOfJson(info?.child_type)})`
    case 'MAP': {
      const entry = isRecord(info?.child_type) ? info.child_type : undefined
      const [key, value] = structFields(isRecord(entry?.type_info) ? entry.type_info : undefined)
      return `map(${trinoTypeOfJson(key?.[1])}, ${trinoTypeOfJson(value?.[1])})`
    }
    case 'STRUCT':
      return `row(${structFields(info)
        .map(([name, fieldType]) => `${name} ${trinoTypeOfJson(fieldType)}`)
        .join(', ')})`
    default:
      return SIMPLE[id] ?? id.toLowerCase()
  }
}

function structFields(info: Json | undefined): [string, unknown][] {
  const children = Array.isArray(info?.child_types) ? info.child_types : []
  return children.filter(isRecord).map((c) => [String(c.first ?? ''), c.second])
}

import type { ColumnInfo, Row } from '@aws-sdk/client-athena'

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }

export interface ResultColumn {
  name: string
  /** Athena's type name, e.g. `varchar`, `bigint`, `timestamp`, `decimal`. */
  type: string
  precision?: number
  scale?: number
}

type Converter = (text: string) => JsonValue

const TIMESTAMP =
  /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d{1,12}))?(?: ?(UTC|Z|[+-]\d{2}:\d{2}))?$/

/** Athena renders `2024-01-01 00:00:00.000`; JSON clients want ISO 8601 UTC with milliseconds. */
function timestampToIso(text: string): string {
  const m = TIMESTAMP.exec(text)
  if (!m) return text
  const fraction = (m[3] ?? '').padEnd(3, '0').slice(0, 3)
  const zone = m[4] === undefined || m[4] === 'UTC' ? 'Z' : m[4]
  const iso = `${m[1]}T${m[2]}.${fraction}${zone}`
  if (zone === 'Z') return iso
  const ms = Date.parse(iso)
  return Number.isNaN(ms) ? text : new Date(ms).toISOString()
}

function toNumber(text: string): JsonValue {
  const n = Number(text)
  // NaN and ±Infinity have no JSON form; keep Athena's text rather than invent a value.
  return Number.isFinite(n) ? n : text
}

function bigintValue(text: string): JsonValue {
  const n = Number(text)
  return /^-?\d+$/.test(text) && Number.isSafeInteger(n) ? n : text
}

function jsonValue(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue
  } catch {
    return text
  }
}

const asIs: Converter = (text) => text

/**
 * One converter per Athena type. Arrays, maps and rows are rendered by Athena in a non-JSON form (`[a, b]`,
 * `{k=v}`) that cannot be parsed without ambiguity (a varchar may contain `, ` or `=`), so they stay strings;
 * queries that need structure should return `json_format(CAST(x AS JSON))`, which is parsed.
 */
function converterFor(type: string): Converter {
  const base = type.toLowerCase().replace(/\(.*$/, '').trim()
  switch (base) {
    case 'boolean':
      return (t) => (t === 'true' ? true : t === 'false' ? false : t)
    case 'tinyint':
    case 'smallint':
    case 'integer':
    case 'int':
      return toNumber
    case 'bigint':
      return bigintValue
    case 'float':
    case 'real':
    case 'double':
      return toNumber
    case 'decimal':
      return asIs // exact: a JS number would round
    case 'date':
      return asIs
    case 'timestamp':
    case 'timestamp with time zone':
      return timestampToIso
    case 'json':
      return jsonValue
    default:
      return asIs
  }
}

export function toResultColumns(info: readonly ColumnInfo[]): ResultColumn[] {
  return info.map((c) => {
    const column: ResultColumn = { name: c.Label ?? c.Name ?? '', type: (c.Type ?? 'varchar').toLowerCase() }
    if (column.type === 'decimal') {
      column.precision = c.Precision ?? 0
      column.scale = c.Scale ?? 0
    }
    return column
  })
}

/** One converter per column: Athena's text of a value (undefined for NULL) to its typed JSON value. */
export function columnConverters(
  columns: readonly ResultColumn[],
): Array<(text: string | undefined) => JsonValue> {
  return columns.map((c) => {
    const convert = converterFor(c.type)
    return (text) => (text === undefined ? null : convert(text))
  })
}

/** Names that a JavaScript object would not keep in column order: array indexes sort first. */
function objectReorders(name: string): boolean {
  return /^(?:0|[1-9]\d{0,9})$/.test(name)
}

/**
 * A row's JSON text, byte for byte what `JSON.stringify` gives for the object `createRowConverter` builds, without
 * building it: the key prefixes are encoded once per result, and each value once. Column lists a JavaScript object
 * would not render in order (repeated names, index-like names) go through the object, so the text stays the same.
 */
export function createJsonRowWriter(
  columns: readonly ResultColumn[],
): (values: ReadonlyArray<string | undefined>) => string {
  const convert = columnConverters(columns)
  const names = columns.map((c) => c.name)
  if (new Set(names).size !== names.length || names.some(objectReorders)) {
    const toObject = createRowConverter(columns)
    return (values) =>
      JSON.stringify(toObject({ Data: values.map((v) => (v === undefined ? {} : { VarCharValue: v })) }))
  }
  const prefixes = names.map((name, i) => `${i === 0 ? '{' : ','}${JSON.stringify(name)}:`)
  const n = prefixes.length
  if (n === 0) return () => '{}'
  return (values) => {
    let out = ''
    for (let i = 0; i < n; i++)
      out +=
        (prefixes[i] as string) +
        JSON.stringify((convert[i] as (t: string | undefined) => JsonValue)(values[i]))
    return `${out}}`
  }
}

/** Converts Athena rows (every value a string or absent) to typed JSON objects keyed by column name. */
export function createRowConverter(
  columns: readonly ResultColumn[],
): (row: Row) => Record<string, JsonValue> {
  const converters = columns.map((c) => converterFor(c.type))
  const names = columns.map((c) => c.name)
  return (row) => {
    // No prototype: a column named `__proto__` is a key like any other, not the object's prototype.
    const out = Object.create(null) as Record<string, JsonValue>
    const data = row.Data ?? []
    for (let i = 0; i < names.length; i++) {
      const text = data[i]?.VarCharValue
      out[names[i] as string] = text === undefined ? null : (converters[i] as Converter)(text)
    }
    return out
  }
}

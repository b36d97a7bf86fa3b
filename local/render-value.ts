import {
  DuckDBArrayValue,
  DuckDBBlobValue,
  DuckDBIntervalValue,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBTimeNSValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTimeTZValue,
  DuckDBTimeValue,
  type DuckDBType,
  DuckDBTypeId,
  DuckDBUnionValue,
  type DuckDBValue,
} from '@duckdb/node-api'
import { formatJavaDouble, formatJavaFloat } from './java-number-format.ts'

/**
 * Renders a DuckDB value as Athena puts it in `VarCharValue` (Trino's client rendering): timestamps with
 * millisecond precision, doubles as Java prints them, arrays `[1, 2]`, maps `{k=v}`, rows `{x=1, y=abc}`.
 * SQL NULL is `null` here (the caller omits `VarCharValue`); a NULL nested in a container prints `null`.
 */
export function renderValue(value: DuckDBValue, type: DuckDBType): string | null {
  return value === null ? null : renderPresent(value, type)
}

function renderNested(value: DuckDBValue, type: DuckDBType): string {
  return value === null ? 'null' : renderPresent(value, type)
}

function renderPresent(value: Exclude<DuckDBValue, null>, type: DuckDBType): string {
  switch (type.typeId) {
    case DuckDBTypeId.DOUBLE:
      return typeof value === 'number' ? formatJavaDouble(value) : String(value)
    case DuckDBTypeId.FLOAT:
      return typeof value === 'number' ? formatJavaFloat(value) : String(value)
    case DuckDBTypeId.BOOLEAN:
      return value === true ? 'true' : value === false ? 'false' : String(value)
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS: {
      const micros = timestampMicros(value)
      return micros === undefined ? String(value) : formatTimestampMicros(micros)
    }
    case DuckDBTypeId.TIMESTAMP_TZ:
      // Sessions run in UTC, the zone Athena reports for timestamps with time zone by default.
      return value instanceof DuckDBTimestampTZValue && value.isFinite
        ? `${formatTimestampMicros(value.micros)} UTC`
        : String(value)
    case DuckDBTypeId.TIME:
      return value instanceof DuckDBTimeValue ? formatTimeOfDay(value.micros) : String(value)
    case DuckDBTypeId.TIME_NS:
      return value instanceof DuckDBTimeNSValue ? formatTimeOfDay(value.nanos / 1000n) : String(value)
    case DuckDBTypeId.TIME_TZ:
      return value instanceof DuckDBTimeTZValue
        ? `${formatTimeOfDay(value.micros)}${formatOffset(value.offset)}`
        : String(value)
    case DuckDBTypeId.INTERVAL:
      return value instanceof DuckDBIntervalValue ? formatDayToSecond(value) : String(value)
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
      return value instanceof DuckDBListValue || value instanceof DuckDBArrayValue
        ? `[${value.items.map((item) => renderNested(item, type.valueType)).join(', ')}]`
        : String(value)
    case DuckDBTypeId.MAP:
      return value instanceof DuckDBMapValue
        ? `{${value.entries
            .map((e) => `${renderNested(e.key, type.keyType)}=${renderNested(e.value, type.valueType)}`)
            .join(', ')}}`
        : String(value)
    case DuckDBTypeId.STRUCT:
      return value instanceof DuckDBStructValue
        ? `{${type.entryNames
            .map((name, i) => {
              const entryType = type.entryTypes[i]
              const entry = value.entries[name] ?? null
              return `${name}=${entryType ? renderNested(entry, entryType) : String(entry)}`
            })
            .join(', ')}}`
        : String(value)
    case DuckDBTypeId.BLOB:
      return value instanceof DuckDBBlobValue
        ? Array.from(value.bytes, (b) => b.toString(16).padStart(2, '0')).join(' ')
        : String(value)
    case DuckDBTypeId.UNION: {
      if (!(value instanceof DuckDBUnionValue)) return String(value)
      const memberType = type.memberTypes[type.memberIndexForTag(value.tag)]
      return memberType ? renderNested(value.value, memberType) : String(value.value)
    }
    default:
      // VARCHAR, JSON, ENUM, integers (bigint stays exact), DECIMAL (exact, keeps its scale), DATE, UUID.
      return String(value)
  }
}

function timestampMicros(value: Exclude<DuckDBValue, null>): bigint | undefined {
  if (value instanceof DuckDBTimestampValue) return value.isFinite ? value.micros : undefined
  if (value instanceof DuckDBTimestampSecondsValue) return value.seconds * 1_000_000n
  if (value instanceof DuckDBTimestampMillisecondsValue) return value.millis * 1000n
  if (value instanceof DuckDBTimestampNanosecondsValue) return floorDiv(value.nanos, 1000n)
  return undefined
}

/** `YYYY-MM-DD HH:MM:SS.mmm`, truncated to milliseconds like Athena's timestamp(3). */
export function formatTimestampMicros(micros: bigint): string {
  const millis = Number(floorDiv(micros, 1000n))
  const iso = new Date(millis).toISOString()
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`
}

function formatTimeOfDay(micros: bigint): string {
  const millis = Number(floorDiv(micros, 1000n))
  return new Date(millis).toISOString().slice(11, 23)
}

function formatOffset(offsetSeconds: number): string {
  const sign = offsetSeconds < 0 ? '-' : '+'
  const abs = Math.abs(offsetSeconds)
  const hours = Math.floor(abs / 3600)
  const minutes = Math.floor((abs % 3600) / 60)
  return `${sign}${pad(hours)}:${pad(minutes)}`
}

function formatDayToSecond(interval: DuckDBIntervalValue): string {
  // Trino has no month component in a day-to-second interval; count a month as 30 days as DuckDB does.
  const days = BigInt(interval.months) * 30n + BigInt(interval.days)
  let total = days * 86_400_000_000n + interval.micros
  const sign = total < 0n ? '-' : ''
  if (total < 0n) total = -total
  const totalMillis = total / 1000n
  const d = totalMillis / 86_400_000n
  const rest = Number(totalMillis % 86_400_000n)
  const hh = Math.floor(rest / 3_600_000)
  const mm = Math.floor((rest % 3_600_000) / 60_000)
  const ss = Math.floor((rest % 60_000) / 1000)
  const ms = rest % 1000
  return `${sign}${d} ${pad(hh)}:${pad(mm)}:${pad(ss)}.${String(ms).padStart(3, '0')}`
}

function pad(n: number): string {
  return String(n).padStart(2, '0')
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q
}

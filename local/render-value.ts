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

type Present = Exclude<DuckDBValue, null>

/** Renders one column's values (null = SQL NULL) with the formatting chosen once for the column's type. */
export type ValueRenderer = (value: DuckDBValue) => string | null

/**
 * Renders a DuckDB value as Athena puts it in `VarCharValue` (Trino's client rendering): timestamps with
 * millisecond precision, doubles as Java prints them, arrays `[1, 2]`, maps `{k=v}`, rows `{x=1, y=abc}`.
 * SQL NULL is `null` here (the caller omits `VarCharValue`); a NULL nested in a container prints `null`.
 */
export function renderValue(value: DuckDBValue, type: DuckDBType): string | null {
  return rendererFor(type)(value)
}

/**
 * `renderValue` for every value of one type. The type is examined once, not per value: a million-row result
 * file renders millions of values, and the per-value type switch was a large share of that work.
 */
export function rendererFor(type: DuckDBType): ValueRenderer {
  const present = presentRendererFor(type)
  return (value) => (value === null ? null : present(value))
}

function nestedRendererFor(type: DuckDBType): (value: DuckDBValue) => string {
  const present = presentRendererFor(type)
  return (value) => (value === null ? 'null' : present(value))
}

function presentRendererFor(type: DuckDBType): (value: Present) => string {
  switch (type.typeId) {
    case DuckDBTypeId.DOUBLE:
      return (value) => (typeof value === 'number' ? formatJavaDouble(value) : String(value))
    case DuckDBTypeId.FLOAT:
      return (value) => (typeof value === 'number' ? formatJavaFloat(value) : String(value))
    case DuckDBTypeId.BOOLEAN:
      return (value) => (value === true ? 'true' : value === false ? 'false' : String(value))
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
      return (value) => {
        const micros = timestampMicros(value)
        return micros === undefined ? String(value) : formatTimestampMicros(micros)
      }
    case DuckDBTypeId.TIMESTAMP_TZ:
      // Sessions run in UTC, the zone Athena reports for timestamps with time zone by default.
      return (value) =>
        value instanceof DuckDBTimestampTZValue && isFiniteMicros(value.micros)
          ? `${formatTimestampMicros(value.micros)} UTC`
          : String(value)
    case DuckDBTypeId.TIME:
      return (value) => (value instanceof DuckDBTimeValue ? formatTimeOfDay(value.micros) : String(value))
    case DuckDBTypeId.TIME_NS:
      return (value) =>
        value instanceof DuckDBTimeNSValue ? formatTimeOfDay(value.nanos / 1000n) : String(value)
    case DuckDBTypeId.TIME_TZ:
      return (value) =>
        value instanceof DuckDBTimeTZValue
          ? `${formatTimeOfDay(value.micros)}${formatOffset(value.offset)}`
          : String(value)
    case DuckDBTypeId.INTERVAL:
      return (value) => (value instanceof DuckDBIntervalValue ? formatDayToSecond(value) : String(value))
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY: {
      const item = nestedRendererFor(type.valueType)
      return (value) =>
        value instanceof DuckDBListValue || value instanceof DuckDBArrayValue
          ? `[${value.items.map(item).join(', ')}]`
          : String(value)
    }
    case DuckDBTypeId.MAP: {
      const key = nestedRendererFor(type.keyType)
      const entryValue = nestedRendererFor(type.valueType)
      return (value) =>
        value instanceof DuckDBMapValue
          ? `{${value.entries.map((e) => `${key(e.key)}=${entryValue(e.value)}`).join(', ')}}`
          : String(value)
    }
    case DuckDBTypeId.STRUCT: {
      const entries = type.entryNames.map((name, i) => {
        const entryType = type.entryTypes[i]
        return { name, render: entryType ? nestedRendererFor(entryType) : (v: DuckDBValue) => String(v) }
      })
      return (value) =>
        value instanceof DuckDBStructValue
          ? `{${entries.map((e) => `${e.name}=${e.render(value.entries[e.name] ?? null)}`).join(', ')}}`
          : String(value)
    }
    case DuckDBTypeId.BLOB:
      return (value) =>
        value instanceof DuckDBBlobValue
          ? Array.from(value.bytes, (b) => b.toString(16).padStart(2, '0')).join(' ')
          : String(value)
    case DuckDBTypeId.UNION: {
      const members = type.memberTypes.map(nestedRendererFor)
      return (value) => {
        if (!(value instanceof DuckDBUnionValue)) return String(value)
        const member = members[type.memberIndexForTag(value.tag)]
        return member ? member(value.value) : String(value.value)
      }
    }
    default:
      // VARCHAR, JSON, ENUM, integers (bigint stays exact), DECIMAL (exact, keeps its scale), DATE, UUID.
      return String
  }
}

function timestampMicros(value: Exclude<DuckDBValue, null>): bigint | undefined {
  if (value instanceof DuckDBTimestampValue) return isFiniteMicros(value.micros) ? value.micros : undefined
  if (value instanceof DuckDBTimestampSecondsValue) return value.seconds * 1_000_000n
  if (value instanceof DuckDBTimestampMillisecondsValue) return value.millis * 1000n
  if (value instanceof DuckDBTimestampNanosecondsValue) return floorDiv(value.nanos, 1000n)
  return undefined
}

// DuckDB's infinite timestamps are ±(2^63 - 1) µs. Compared here rather than through the value's `isFinite`,
// a native call per value that cost a third of a million-row result file's rendering.
const INFINITE_MICROS = 2n ** 63n - 1n

function isFiniteMicros(micros: bigint): boolean {
  return micros !== INFINITE_MICROS && micros !== -INFINITE_MICROS
}

const MS_PER_DAY = 86_400_000

/** `YYYY-MM-DD HH:MM:SS.mmm`, truncated to milliseconds like Athena's timestamp(3). */
export function formatTimestampMicros(micros: bigint): string {
  const n = Number(micros)
  if (!Number.isSafeInteger(n)) {
    const iso = new Date(Number(floorDiv(micros, 1000n))).toISOString()
    return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`
  }
  // Result files render every row: plain arithmetic on a Number (exact within ±2^53 µs, years 1685–2255)
  // instead of BigInt division and a Date per value.
  const subMillis = n % 1000
  const millis = (n - subMillis) / 1000 - (subMillis < 0 ? 1 : 0)
  const day = Math.floor(millis / MS_PER_DAY)
  return `${formatCivilDate(day)} ${formatMillisOfDay(millis - day * MS_PER_DAY)}`
}

/** `YYYY-MM-DD` of a day count since 1970-01-01 (proleptic Gregorian; H. Hinnant's civil_from_days). */
function formatCivilDate(days: number): string {
  const z = days + 719_468
  const era = Math.floor(z / 146_097)
  const doe = z - era * 146_097
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  )
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1
  const month = mp < 10 ? mp + 3 : mp - 9
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0)
  return `${year}-${pad(month)}-${pad(day)}`
}

/** `HH:MM:SS.mmm` of a millisecond count within one day. */
function formatMillisOfDay(ms: number): string {
  const hh = Math.floor(ms / 3_600_000)
  const mm = Math.floor((ms % 3_600_000) / 60_000)
  const ss = Math.floor((ms % 60_000) / 1000)
  return `${pad(hh)}:${pad(mm)}:${pad(ss)}.${String(ms % 1000).padStart(3, '0')}`
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

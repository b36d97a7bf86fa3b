import type { ParameterDef } from './catalog.ts'

// The coercion of one parameter value, shared by request validation (src/service/parameters.ts) and the catalog's
// check of its own defaults at load: a default is valid exactly when a request could send it.

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/** Epoch ms of the first and the last day a `YYYY-MM-DD` can write (proleptic Gregorian, as Athena's DATE). */
export const MIN_DATE_MS = Date.parse('0000-01-01T00:00:00Z')
export const MAX_DATE_MS = Date.parse('9999-12-31T00:00:00Z')

/**
 * Epoch ms of a valid `YYYY-MM-DD`, else undefined (2024-02-30 is invalid, not March 1st). Every four-digit year is
 * taken as written: `Date.UTC` reads years 0–99 as 1900–1999, which answered `0024-01-01` as 1924 and gave distinct
 * inputs one cache key. They are kept rather than refused because they are valid DATE literals for the engine, and
 * taken exactly the canonical form round-trips (format(parse(x)) === x), so no two inputs can share a key.
 */
export function parseIsoDate(value: string): number | undefined {
  if (value.length !== 10 || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return undefined
  const year = Number(value.slice(0, 4))
  const month = Number(value.slice(5, 7))
  const day = Number(value.slice(8, 10))
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
  const days = month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]
  if (days === undefined || day < 1 || day > days) return undefined
  const date = new Date(0)
  date.setUTCFullYear(year, month - 1, day)
  return date.getTime()
}

/** `YYYY-MM-DD` (UTC) of epoch ms; undefined outside years 0000–9999, which the form cannot write. */
export function formatDate(ms: number): string | undefined {
  if (!(ms >= MIN_DATE_MS && ms < MAX_DATE_MS + 86_400_000)) return undefined
  return new Date(ms).toISOString().slice(0, 10)
}

/** A valid ISO 8601 date or date-time as a canonical UTC ISO string, else undefined. */
export function parseTimestamp(value: string): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/.test(value))
    return undefined
  if (parseIsoDate(value.slice(0, 10)) === undefined) return undefined
  // A timestamp without an offset is UTC, as Athena's timestamps are.
  const withZone = value.length === 10 || /(Z|[+-]\d{2}:\d{2})$/.test(value) ? value : `${value}Z`
  const ms = Date.parse(withZone)
  // An offset can move 0000-01-01 or 9999-12-31 out of four-digit years, where toISOString writes ±YYYYYY.
  return ms >= MIN_DATE_MS && ms < MAX_DATE_MS + 86_400_000 ? new Date(ms).toISOString() : undefined
}

/** One raw value checked against its definition: the canonical value, or why it is not acceptable. */
export function coerceParameterValue(
  def: ParameterDef,
  raw: string,
): { value: string | number } | { error: string } {
  switch (def.type) {
    case 'string': {
      if ([...raw].length > def.maxLength) return { error: `must be at most ${def.maxLength} characters` }
      if (def.regex !== undefined && !def.regex.test(raw)) return { error: `must match ${def.pattern}` }
      return { value: raw }
    }
    case 'integer': {
      if (!/^-?\d{1,16}$/.test(raw)) return { error: 'must be an integer' }
      const n = Number(raw)
      if (!Number.isSafeInteger(n) || n < def.min || n > def.max)
        return { error: `must be an integer from ${def.min} to ${def.max}` }
      return { value: n }
    }
    case 'date': {
      // A valid date formats back to itself: the canonical value is the input.
      return parseIsoDate(raw) === undefined ? { error: 'must be a date YYYY-MM-DD' } : { value: raw }
    }
    case 'timestamp': {
      const ts = parseTimestamp(raw)
      return ts === undefined
        ? { error: 'must be an ISO 8601 timestamp, e.g. 2024-01-01T00:00:00Z' }
        : { value: ts }
    }
    case 'enum':
      return def.values.includes(raw) ? { value: raw } : { error: `must be one of ${def.values.join(', ')}` }
  }
}

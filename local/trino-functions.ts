/**
 * Trino/Athena functions that DuckDB lacks or defines differently, emulated as DuckDB macros in a
 * private schema. `translateTrinoSql` rewrites calls such as `date_add(...)` to `_trino.date_add(...)`,
 * so a DuckDB built-in with the same name (DuckDB's own 2-argument `date_add`, its boundary-counting
 * `date_diff`, its map-only `cardinality`) is never shadowed for SQL that does not go through the rewrite.
 */

/** Schema (inside the Athena catalog) holding the emulation macros. */
export const TRINO_SCHEMA = '_trino'

interface TrinoFunction {
  /** Trino name, lower case. */
  name: string
  /** DuckDB macro overloads: `(params) AS body`, joined with `, `. */
  overloads: string[]
}

/** MySQL-style specifiers (Trino's date_format/date_parse) that differ in DuckDB's strftime/strptime. */
export const MYSQL_TO_STRFTIME: ReadonlyArray<readonly [string, string]> = [
  ['%c', '%-m'],
  ['%e', '%-d'],
  ['%h', '%I'],
  ['%i', '%M'],
  ['%k', '%-H'],
  ['%l', '%-I'],
  ['%M', '%B'],
  ['%r', '%I:%M:%S %p'],
  ['%s', '%S'],
  ['%T', '%H:%M:%S'],
  ['%v', '%V'],
  ['%W', '%A'],
  ['%x', '%G'],
]

// Splitting into `%x` specifiers and literal runs lets one CASE map every specifier independently; chained
// replace() calls would re-translate output (MySQL `%i` becomes strftime `%M`, which is MySQL's month name).
const mysqlFormatBody = `array_to_string(list_transform(regexp_extract_all(f, '%.|[^%]+'), t -> CASE t ${MYSQL_TO_STRFTIME.map(
  ([from, to]) => `WHEN '${from}' THEN '${to}'`,
).join(' ')} ELSE t END), '')`

const unitIntervalBody = `CASE lower(unit)
  WHEN 'millisecond' THEN to_milliseconds(CAST(n AS BIGINT))
  WHEN 'second' THEN to_seconds(CAST(n AS BIGINT))
  WHEN 'minute' THEN to_minutes(CAST(n AS BIGINT))
  WHEN 'hour' THEN to_hours(CAST(n AS BIGINT))
  WHEN 'day' THEN to_days(CAST(n AS INTEGER))
  WHEN 'week' THEN to_weeks(CAST(n AS INTEGER))
  WHEN 'month' THEN to_months(CAST(n AS INTEGER))
  WHEN 'quarter' THEN to_months(CAST(n * 3 AS INTEGER))
  WHEN 'year' THEN to_years(CAST(n AS INTEGER))
  ELSE error('Invalid unit: ' || unit) END`

const S = TRINO_SCHEMA

// Helpers first: later macros reference them, and DuckDB resolves macro bodies at call time only.
const HELPERS: TrinoFunction[] = [
  { name: 'mysql_format', overloads: [`(f) AS ${mysqlFormatBody}`] },
  { name: 'unit_interval', overloads: [`(unit, n) AS ${unitIntervalBody}`] },
]

/** The emulated functions, in the order their macros are created. */
export const TRINO_FUNCTIONS: readonly TrinoFunction[] = [
  { name: 'from_iso8601_timestamp', overloads: ['(s) AS CAST(s AS TIMESTAMPTZ)'] },
  { name: 'from_iso8601_date', overloads: ['(s) AS CAST(s AS DATE)'] },
  {
    name: 'to_iso8601',
    overloads: [
      "(x DATE) AS strftime(x, '%Y-%m-%d')",
      "(x TIMESTAMP) AS strftime(x, '%Y-%m-%dT%H:%M:%S.%g')",
      // Sessions run in UTC, so the zone designator is always Z.
      "(x TIMESTAMPTZ) AS strftime(x, '%Y-%m-%dT%H:%M:%S.%gZ')",
    ],
  },
  {
    name: 'date_add',
    overloads: [
      // DuckDB's own two-argument form (date_add(ts, interval)) keeps working.
      '(a, b) AS a + b',
      `(unit, n, x DATE) AS CAST(x + ${S}.unit_interval(unit, n) AS DATE)`,
      `(unit, n, x TIMESTAMP) AS x + ${S}.unit_interval(unit, n)`,
      `(unit, n, x TIMESTAMPTZ) AS x + ${S}.unit_interval(unit, n)`,
    ],
  },
  {
    name: 'date_trunc',
    // DuckDB truncates a DATE to a TIMESTAMP; Trino keeps the input type.
    overloads: [
      '(unit, x DATE) AS CAST(date_trunc(unit, x) AS DATE)',
      '(unit, x TIMESTAMP) AS date_trunc(unit, x)',
      '(unit, x TIMESTAMPTZ) AS date_trunc(unit, x)',
    ],
  },
  // Trino counts whole units elapsed; DuckDB's date_diff counts boundaries crossed, its date_sub whole units.
  { name: 'date_diff', overloads: ['(unit, a, b) AS date_sub(lower(unit), a, b)'] },
  { name: 'date_format', overloads: [`(x, f) AS strftime(x, ${S}.mysql_format(f))`] },
  { name: 'approx_distinct', overloads: ['(x) AS approx_count_distinct(x)'] },
  { name: 'approx_percentile', overloads: ['(x, p) AS approx_quantile(x, p)'] },
  { name: 'arbitrary', overloads: ['(x) AS any_value(x)'] },
  // Trino's sequence(start, stop[, step]) is DuckDB's generate_series (both inclusive, both lists).
  {
    name: 'sequence',
    overloads: ['(a, b) AS generate_series(a, b)', '(a, b, step) AS generate_series(a, b, step)'],
  },
  // DuckDB's count_if is NULL over no true-or-false input and a 128-bit integer; Trino's is a bigint, 0 for none.
  { name: 'count_if', overloads: ['(x) AS count(1) FILTER (WHERE x)'] },
  {
    name: 'cardinality',
    // Both branches must bind for either input type, hence the casts; typeof() folds to a constant.
    overloads: [
      "(a) AS CAST(CASE WHEN starts_with(typeof(a), 'MAP(') THEN len(map_keys(CAST(a AS MAP(VARCHAR, VARCHAR)))) ELSE len(CAST(a AS VARCHAR[])) END AS BIGINT)",
    ],
  },
  { name: 'element_at', overloads: ['(a, i) AS a[i]'] },
  { name: 'regexp_like', overloads: ['(s, p) AS regexp_matches(s, p)'] },
  { name: 'from_unixtime', overloads: ['(n) AS to_timestamp(CAST(n AS DOUBLE))'] },
  { name: 'to_unixtime', overloads: ['(x) AS epoch(x)'] },
  { name: 'day_of_week', overloads: ['(x) AS isodow(x)'] },
  { name: 'dow', overloads: ['(x) AS isodow(x)'] },
  { name: 'day_of_year', overloads: ['(x) AS dayofyear(x)'] },
  { name: 'doy', overloads: ['(x) AS dayofyear(x)'] },
  { name: 'json_extract_scalar', overloads: ['(j, p) AS json_extract_string(j, p)'] },
  { name: 'json_parse', overloads: ['(s) AS CAST(s AS JSON)'] },
  { name: 'json_format', overloads: ['(j) AS CAST(j AS VARCHAR)'] },
  { name: 'array_join', overloads: ['(a, sep) AS array_to_string(a, sep)'] },
  { name: 'is_nan', overloads: ['(x) AS isnan(x)'] },
]

/**
 * Functions whose format argument must be a constant for DuckDB (strptime even refuses a macro over it):
 * `translateTrinoSql` rewrites calls with a string-literal format directly to the DuckDB function.
 */
export const FORMAT_FUNCTIONS: Readonly<Record<string, string>> = {
  date_format: 'strftime',
  date_parse: 'strptime',
}

/** Names that `translateTrinoSql` redirects to the emulation schema. */
export const TRINO_FUNCTION_NAMES: ReadonlySet<string> = new Set([
  ...TRINO_FUNCTIONS.map((f) => f.name),
  ...Object.keys(FORMAT_FUNCTIONS),
])

/** Translates a MySQL-style format (`%Y-%m-%d %H:%i`) to DuckDB strftime/strptime (`%Y-%m-%d %H:%M`). */
export function mysqlToStrftime(format: string): string {
  const table = new Map(MYSQL_TO_STRFTIME)
  return (format.match(/%.|[^%]+/gs) ?? []).map((part) => table.get(part) ?? part).join('')
}

/** DDL creating every emulation macro in `<catalog>._trino`. */
export function trinoMacroStatements(catalog: string): string[] {
  return [
    `CREATE SCHEMA IF NOT EXISTS ${catalog}.${S}`,
    ...[...HELPERS, ...TRINO_FUNCTIONS].map(
      (f) => `CREATE OR REPLACE MACRO ${catalog}.${S}.${f.name}${f.overloads.join(', ')}`,
    ),
  ]
}

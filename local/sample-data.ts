import { randomUUID } from 'node:crypto'
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { formatDate, parseIsoDate } from '../src/config/parameter-values.ts'
import { ValidationError } from '../src/errors.ts'
import { discoverTables, sqlString } from './table-catalog.ts'
import { TABLE_SIDECAR } from './table-metadata.ts'

/** The days, rows and options of one sample data set; written beside it as `_sample.json`. */
export interface SampleDataMarker {
  /** First and last day (UTC, inclusive), `YYYY-MM-DD`. */
  start: string
  end: string
  days: number
  rows: number
  /** No start was given: the range was the last `days` days up to the day it was written. */
  relative: boolean
  /**
   * Written by a server's `--sample-data` (or the embedded stack) rather than asked for by `acp sample-data` or a
   * direct call: a server asked for another range may replace it.
   */
  onDemand: boolean
}

/** What `generateSampleData` wrote. */
export interface SampleDataReport extends SampleDataMarker {
  files: number
  bytes: number
  dataDir: string
}

/** Database and table of the sample data set (`analytics.analytics`). */
export const SAMPLE_DATABASE = 'analytics'
export const SAMPLE_TABLE = 'analytics'
/** The marker file in the table directory (ignored by table discovery, as is every name starting with `_`). */
export const SAMPLE_MARKER_FILE = '_sample.json'

/** The sample table's comments, written beside it as `_table.json` (what Glue would hold; see table-metadata.ts). */
export const SAMPLE_TABLE_DESCRIPTION = {
  comment: 'Synthetic web analytics events, one row per event',
  columns: {
    event_time: 'When the event happened (UTC)',
    measure: 'pageviews, sessions, signups or revenue',
    value: '1 per event; the amount in USD for revenue',
    page: 'Path of the page',
    country: 'ISO 3166-1 alpha-2 code; NULL when unknown',
    device: 'desktop, mobile or tablet',
    dt: 'Day of event_time, YYYY-MM-DD (partition)',
  },
}
export const DEFAULT_DAYS = 91
export const MAX_DAYS = 3660
/** The fixed range of the test suite's data and of the published benchmark figures: 2024-01-01 … 2024-03-31. */
export const REFERENCE_START = '2024-01-01'
const ROWS_PER_DEFAULT_DAYS = 1_200_000
const DAY_MS = 86_400_000
const SLOTS = 4096 // resolution of the weighted lookups: a slot is 1/4096 of the probability mass

const MEASURES: ReadonlyArray<readonly [string, number]> = [
  ['pageviews', 55],
  ['sessions', 30],
  ['signups', 5],
  ['revenue', 10],
]
const REVENUE_INDEX = MEASURES.findIndex(([m]) => m === 'revenue')
const COUNTRIES: ReadonlyArray<readonly [string, number]> = [
  ['US', 30],
  ['GB', 9],
  ['DE', 8],
  ['IN', 7],
  ['FR', 6],
  ['CA', 5],
  ['BR', 5],
  ['JP', 4],
  ['AU', 3],
  ['NL', 3],
  ['ES', 3],
  ['IT', 3],
  ['SE', 2],
  ['MX', 2],
  ['PL', 2],
  ['KR', 2],
  ['SG', 1.5],
  ['CH', 1.5],
  ['IE', 1],
  ['NZ', 1],
]
const DEVICES: ReadonlyArray<readonly [string, number]> = [
  ['desktop', 50],
  ['mobile', 42],
  ['tablet', 8],
]
const TOP_PAGES = [
  '/',
  '/pricing',
  '/features',
  '/docs',
  '/blog',
  '/signup',
  '/login',
  '/about',
  '/contact',
  '/careers',
]
// Zipf-like: the page of rank k gets weight 1/k.
const PAGES: ReadonlyArray<readonly [string, number]> = [
  ...TOP_PAGES,
  ...Array.from({ length: 40 }, (_, i) => `/blog/post-${i + 1}`),
].map((page, i) => [page, 1 / (i + 1)] as const)
// Monday first. Weekends are quieter, Tuesday–Wednesday busiest.
const WEEKDAY_WEIGHTS = [1.0, 1.08, 1.08, 1.02, 0.92, 0.6, 0.55]
// Hours in UTC: a daytime hump with a quiet night.
const HOUR_WEIGHTS = [
  2, 1.5, 1, 1, 1, 1.5, 2.5, 4, 6, 7, 7.5, 7.5, 7, 7, 7.5, 7.5, 7, 6.5, 6, 5.5, 5, 4.5, 3.5, 2.5,
]

// Deterministic pseudo-randomness from the row index alone (no random()): a 32-bit integer hash
// (lowbias32 by Chris Wellons) in UBIGINT arithmetic, so every run and platform yields the same rows.
const HASH_MACROS = [
  'CREATE TEMP MACRO u32(x) AS CAST(x AS UBIGINT) % CAST(4294967296 AS UBIGINT)',
  'CREATE TEMP MACRO mix_a(x) AS u32(xor(x, x >> 16) * CAST(2145766669 AS UBIGINT))',
  'CREATE TEMP MACRO mix_b(x) AS u32(xor(x, x >> 15) * CAST(2221713035 AS UBIGINT))',
  'CREATE TEMP MACRO mix_c(x) AS xor(x, x >> 16)',
  'CREATE TEMP MACRO hash32(i, salt) AS mix_c(mix_b(mix_a(u32(CAST(i AS UBIGINT) * CAST(2654435761 AS UBIGINT) + CAST(salt AS UBIGINT)))))',
]

/** Rows of a data set of `days` days when none are given: 1.2 M per 91 days. */
export function defaultRows(days: number): number {
  return Math.round((ROWS_PER_DEFAULT_DAYS * days) / DEFAULT_DAYS)
}

/** The UTC day of epoch ms as `YYYY-MM-DD`. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10)
}

/**
 * The range and size of a sample data set, validated: `start` (default: `days - 1` days before the UTC day of
 * `now`), `days` (default 91, at most 3660), `rows` (default `defaultRows(days)`).
 */
export function resolveSampleRange(options: {
  start?: string | undefined
  days?: number | undefined
  rows?: number | undefined
  now?: number | undefined
}): Omit<SampleDataMarker, 'onDemand'> {
  const days = options.days ?? DEFAULT_DAYS
  if (!Number.isSafeInteger(days) || days < 1 || days > MAX_DAYS)
    throw new ValidationError(`days must be an integer from 1 to ${MAX_DAYS}, got ${days}`)
  const rows = options.rows ?? defaultRows(days)
  if (!Number.isSafeInteger(rows) || rows < 1)
    throw new ValidationError(`rows must be a positive integer, got ${rows}`)
  const startMs =
    options.start === undefined
      ? Date.parse(utcDay(options.now ?? Date.now())) - (days - 1) * DAY_MS
      : parseIsoDate(options.start)
  if (startMs === undefined)
    throw new ValidationError(`start must be a date YYYY-MM-DD, got ${JSON.stringify(options.start)}`)
  const start = formatDate(startMs)
  const end = formatDate(startMs + (days - 1) * DAY_MS)
  if (start === undefined || end === undefined)
    throw new ValidationError(
      `the sample data must lie within the years 0000–9999 (start ${options.start}, ${days} days)`,
    )
  return { start, end, days, rows, relative: options.start === undefined }
}

/**
 * Writes the deterministic sample table `analytics.analytics` under `<dataDir>/analytics/analytics/`,
 * hive-partitioned by day (`dt=YYYY-MM-DD/*.parquet`, `dt` not stored inside the files), and `_sample.json`
 * describing it. By default the range is the last 91 days up to today (UTC); the rows depend only on the range
 * and the row count, so `start: '2024-01-01'` always gives the same data set. The table is written to a hidden
 * sibling directory and renamed into place, so a half-written table never exists.
 */
export async function generateSampleData(options: {
  dataDir: string
  /** First day, `YYYY-MM-DD`; default: `days - 1` days before today (UTC). */
  start?: string | undefined
  days?: number | undefined
  rows?: number | undefined
  /** The clock of the default start (epoch ms). */
  now?: number | undefined
  /** Recorded in the marker: see `SampleDataMarker.onDemand`. */
  onDemand?: boolean | undefined
}): Promise<SampleDataReport> {
  const marker: SampleDataMarker = { ...resolveSampleRange(options), onDemand: options.onDemand ?? false }
  const dataDir = path.resolve(options.dataDir)
  const databaseDir = path.join(dataDir, SAMPLE_DATABASE)
  const target = path.join(databaseDir, SAMPLE_TABLE)
  const suffix = `${process.pid}-${randomUUID().slice(0, 8)}`
  const staging = path.join(databaseDir, `.${SAMPLE_TABLE}.tmp-${suffix}`)
  await mkdir(databaseDir, { recursive: true })

  // One thread: parallel writers interleave rows differently on every run; with one, the files are the same bytes.
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' })
  const conn = await instance.connect()
  try {
    for (const sql of HASH_MACROS) await conn.run(sql)
    await conn.run(
      `COPY (${sampleSelectSql(marker)}) TO ${sqlString(staging)} (FORMAT parquet, PARTITION_BY (dt))`,
    )
    // Inside the staging directory: the marker appears with the table it describes, never without it.
    await writeFile(path.join(staging, SAMPLE_MARKER_FILE), `${JSON.stringify(marker, null, 2)}\n`)
    await writeFile(
      path.join(staging, TABLE_SIDECAR),
      `${JSON.stringify(SAMPLE_TABLE_DESCRIPTION, null, 2)}\n`,
    )
  } catch (err) {
    await rm(staging, { recursive: true, force: true })
    throw err
  } finally {
    conn.closeSync()
    instance.closeSync()
  }

  const previous = path.join(databaseDir, `.${SAMPLE_TABLE}.old-${suffix}`)
  const hadPrevious = await exists(target)
  if (hadPrevious) await rename(target, previous)
  await rename(staging, target)
  if (hadPrevious) await rm(previous, { recursive: true, force: true })

  const { files, bytes } = await parquetFootprint(target)
  return { ...marker, files, bytes, dataDir }
}

/** Whether the data directory already holds at least one table (a directory with Parquet files). */
export async function hasData(dataDir: string): Promise<boolean> {
  return (await discoverTables(path.resolve(dataDir))).length > 0
}

/**
 * The SELECT producing the sample rows (plus the `dt` partition key) for row indexes 0 … rows-1. Row i depends on
 * i, the start and the number of days alone.
 */
export function sampleSelectSql(range: { start: string; days: number; rows: number }): string {
  const { start, days, rows } = range
  const startMs = parseIsoDate(start)
  if (startMs === undefined) throw new ValidationError(`start must be a date YYYY-MM-DD, got ${start}`)
  // As many slots per day as 4096 give 91 days (more days, more slots), so long ranges keep the weekly pattern.
  const daySlots = SLOTS * Math.ceil(days / DEFAULT_DAYS)
  const pick = (salt: number, table: number[], slots = SLOTS) =>
    `${sqlList(table)}[1 + CAST(hash32(i, ${salt}) % ${slots} AS INTEGER)]`
  const name = (values: ReadonlyArray<readonly [string, number]>, index: string) =>
    `${sqlList(values.map(([v]) => sqlString(v)))}[1 + ${index}]`
  const indexTable = (values: ReadonlyArray<readonly [string, number]>) =>
    weightedSlots(
      values.map(([, w]) => w),
      SLOTS,
    )
  return `
    WITH picked AS (
      SELECT
        i,
        ${pick(1, weightedSlots(dayWeights(startMs, days), daySlots), daySlots)} AS day_index,
        ${pick(2, weightedSlots(HOUR_WEIGHTS, SLOTS))} AS hour_of_day,
        CAST(hash32(i, 3) % 3600 AS INTEGER) AS second_of_hour,
        ${pick(4, indexTable(MEASURES))} AS measure_index,
        CAST(hash32(i, 5) % 2000 AS INTEGER) AS amount_a,
        CAST(hash32(i, 6) % 2000 AS INTEGER) AS amount_b,
        ${pick(7, indexTable(PAGES))} AS page_index,
        ${pick(8, indexTable(COUNTRIES))} AS country_index,
        hash32(i, 9) % 1000 < 5 AS country_missing,
        ${pick(10, indexTable(DEVICES))} AS device_index
      FROM range(0, ${rows}) AS t(i)
    ), shaped AS (
      SELECT
        i,
        TIMESTAMP '${start} 00:00:00'
          + to_seconds(CAST(day_index AS BIGINT) * 86400 + hour_of_day * 3600 + second_of_hour) AS event_time,
        ${name(MEASURES, 'measure_index')} AS measure,
        -- Revenue is a multiple of 0.25, exact in binary floating point, so sums do not depend on order.
        CASE WHEN measure_index = ${REVENUE_INDEX} THEN 0.25 * (1 + least(amount_a, amount_b)) ELSE 1 END AS amount,
        ${name(PAGES, 'page_index')} AS page,
        CASE WHEN country_missing THEN NULL ELSE ${name(COUNTRIES, 'country_index')} END AS country,
        ${name(DEVICES, 'device_index')} AS device
      FROM picked
    )
    SELECT
      event_time,
      measure,
      CAST(amount AS DOUBLE) AS value,
      page,
      country,
      device,
      strftime(event_time, '%Y-%m-%d') AS dt
    FROM shaped
    ORDER BY event_time, i`
}

/**
 * Relative traffic of each day from `startMs`: its weekday's weight (the real weekday of the date) and growth of
 * ~30 % over the range.
 */
function dayWeights(startMs: number, days: number): number[] {
  const mondayFirst = (new Date(startMs).getUTCDay() + 6) % 7
  return Array.from({ length: days }, (_, day) => {
    const weekday = WEEKDAY_WEIGHTS[(mondayFirst + day) % 7] ?? 1
    return weekday * (1 + (0.3 * day) / days)
  })
}

/**
 * Spreads `slots` lookup slots over the weights (largest remainder; every weight gets at least one),
 * returning for each slot the index of its weight.
 */
export function weightedSlots(weights: readonly number[], slots: number): number[] {
  const total = weights.reduce((a, b) => a + b, 0)
  const exact = weights.map((w) => (w / total) * slots)
  const counts = exact.map((x) => Math.max(1, Math.floor(x)))
  let missing = slots - counts.reduce((a, b) => a + b, 0)
  const byRemainder = exact
    .map((x, i) => ({ i, r: x - Math.floor(x) }))
    .sort((a, b) => b.r - a.r || a.i - b.i)
  for (let k = 0; missing > 0; k = (k + 1) % byRemainder.length, missing--) {
    const idx = byRemainder[k]?.i ?? 0
    counts[idx] = (counts[idx] ?? 0) + 1
  }
  for (let idx = counts.length - 1; missing < 0; idx = idx === 0 ? counts.length - 1 : idx - 1) {
    if ((counts[idx] ?? 0) > 1) {
      counts[idx] = (counts[idx] ?? 0) - 1
      missing++
    }
  }
  return counts.flatMap((count, i) => Array.from({ length: count }, () => i))
}

function sqlList(items: ReadonlyArray<string | number>): string {
  return `[${items.join(',')}]`
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p)
    return true
  } catch {
    return false
  }
}

async function parquetFootprint(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0
  let bytes = 0
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.parquet')) continue
    files++
    bytes += (await stat(path.join(entry.parentPath, entry.name))).size
  }
  return { files, bytes }
}

import { z } from 'zod'
import type { TimeSpan } from '../cache/generations.ts'
import type { LandingSettings, LandingTable } from '../config/landing.ts'
import { ValidationError } from '../errors.ts'

/** The EventBridge events read here: S3's `Object Created` and Glue's `Glue Data Catalog Table State Change`. */
export const S3_SOURCE = 'aws.s3'
export const GLUE_SOURCE = 'aws.glue'
export const S3_OBJECT_CREATED = 'Object Created'
export const GLUE_TABLE_CHANGE = 'Glue Data Catalog Table State Change'

/** An EventBridge event of S3 or Glue (its `detail` not yet checked). */
export interface LandingEvent {
  source: typeof S3_SOURCE | typeof GLUE_SOURCE
  'detail-type': string
  detail?: unknown
}

/** Whether an invocation's event is an EventBridge event of S3 or Glue, the services whose events say data landed. */
export function isLandingEvent(event: unknown): event is LandingEvent {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return false
  const { source, 'detail-type': detailType } = event as Record<string, unknown>
  return (source === S3_SOURCE || source === GLUE_SOURCE) && typeof detailType === 'string'
}

const s3Detail = z.object({
  bucket: z.object({ name: z.string().min(1).max(255) }),
  object: z.object({ key: z.string().min(1).max(4096) }),
})

// A partition change lists each partition's values in the table's column order: `["[2024-01-15]"]`, or
// `["[2024-01-15, 07]"]` for two columns (Glue's own rendering of a list). BatchCreatePartition takes 100 at most.
const glueDetail = z.object({
  databaseName: z.string().min(1).max(255),
  tableName: z.string().min(1).max(255),
  typeOfChange: z.string().min(1).max(64),
  changedPartitions: z.array(z.string().max(4096)).max(1000).optional(),
})

/** What an event says changed: spans of one table's data, and whether data arrived (rather than was removed). */
export interface LandedChange {
  table: string
  spans: TimeSpan[]
  landed: boolean
  /** What the event named: the object key, or the partitions. */
  what: string
}

export type ReadEvent = { kind: 'change'; change: LandedChange } | { kind: 'ignored'; reason: string }

const DAY_MS = 86_400_000
const HOUR_MS = 3_600_000

/**
 * An object key as S3 writes it in its events: URL-encoded like a form value (`dt%3D2024-01-15/a+b.parquet` for
 * `dt=2024-01-15/a b.parquet`). S3 documents this for its notifications, and emulators of its EventBridge events
 * (LocalStack) encode those keys too, so every key is decoded: one that was not encoded decodes to itself unless it
 * holds `+` or `%`, which a partition directory does not. A key that does not decode is taken as written.
 */
export function decodeObjectKey(key: string): string {
  try {
    return decodeURIComponent(key.replaceAll('+', ' '))
  } catch {
    return key
  }
}

/** A `YYYY-MM-DD` value (optionally followed by a time, as a timestamp-typed partition renders) as its UTC day. */
function dayOf(value: string): number | undefined {
  const m = /^(\d{4}-\d{2}-\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?$/.exec(value.trim())
  if (!m?.[1]) return undefined
  const ms = Date.parse(`${m[1]}T00:00:00Z`)
  return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === m[1] ? ms : undefined
}

/** The span of one partition from its values by column: a day, or an hour of it. A reason when it has none. */
function spanOfPartition(table: LandingTable, values: ReadonlyMap<string, string>): TimeSpan | string {
  const date = values.get(table.key)
  if (date === undefined) return `no ${table.key}= partition`
  const day = dayOf(date)
  if (day === undefined) return `${table.key}=${date.slice(0, 40)} is not a date (YYYY-MM-DD)`
  const hour = table.granularity === 'hour' ? values.get(table.hourKey) : undefined
  // A file directly in the day's directory of an hourly table changes the day as far as anyone can tell.
  if (hour === undefined) return { startMs: day, endMs: day + DAY_MS }
  if (!/^\d{1,2}$/.test(hour.trim()) || Number(hour) > 23)
    return `${table.hourKey}=${hour.slice(0, 40)} is not an hour (0-23)`
  const startMs = day + Number(hour) * HOUR_MS
  return { startMs, endMs: startMs + HOUR_MS }
}

/**
 * The partition of an object key under a table's prefix: the hive `key=value` directories that follow the prefix,
 * up to the first that is not one. Hidden files and directories (`_SUCCESS`, `_temporary/`, `.spark-staging/`: `_`
 * or `.` first) are not data and give a reason instead, as do keys with no date partition.
 */
export function spanOfKey(table: LandingTable, rest: string): TimeSpan | string {
  const segments = rest.split('/')
  const file = segments[segments.length - 1] ?? ''
  if (file === '') return 'a directory marker, not a file'
  const hidden = segments.find((s) => s.startsWith('_') || s.startsWith('.'))
  if (hidden !== undefined) return `${hidden} is a marker or temporary file, not data`
  const values = new Map<string, string>()
  for (const segment of segments.slice(0, -1)) {
    const eq = segment.indexOf('=')
    if (eq <= 0) break
    values.set(segment.slice(0, eq), segment.slice(eq + 1))
  }
  return spanOfPartition(table, values)
}

/** The table whose prefix (the longest that matches) holds an object of `bucket`, and the key past it. */
function tableOfObject(
  settings: LandingSettings,
  bucket: string,
  key: string,
): { table: LandingTable; rest: string } | undefined {
  let found: { table: LandingTable; rest: string; length: number } | undefined
  for (const table of settings.tables.values()) {
    if (table.bucket !== undefined && table.bucket !== bucket) continue
    const prefix = table.prefixes.find((p) => key.startsWith(p))
    if (prefix !== undefined && (!found || prefix.length > found.length))
      found = { table, rest: key.slice(prefix.length), length: prefix.length }
  }
  return found
}

function invalid(what: string, error: z.ZodError): ValidationError {
  return new ValidationError(
    `Invalid ${what} event`,
    error.issues.map((i) => ({ name: ['detail', ...i.path].join('.'), message: i.message })),
  )
}

function readS3(event: LandingEvent, settings: LandingSettings): ReadEvent {
  if (event['detail-type'] !== S3_OBJECT_CREATED)
    return { kind: 'ignored', reason: `S3 '${event['detail-type'].slice(0, 64)}' events change no data here` }
  const parsed = s3Detail.safeParse(event.detail)
  if (!parsed.success) throw invalid('S3 Object Created', parsed.error)
  const bucket = parsed.data.bucket.name
  const key = decodeObjectKey(parsed.data.object.key)
  const found = tableOfObject(settings, bucket, key)
  if (!found) return { kind: 'ignored', reason: `s3://${bucket}/${key} is under no table's prefix` }
  const span = spanOfKey(found.table, found.rest)
  if (typeof span === 'string') return { kind: 'ignored', reason: `${key}: ${span}` }
  return { kind: 'change', change: { table: found.table.name, spans: [span], landed: true, what: key } }
}

/** `[2024-01-15, 07]` (or without brackets) as values by column. */
function partitionValues(table: LandingTable, rendered: string): Map<string, string> {
  const inner = rendered.trim().replace(/^\[/, '').replace(/\]$/, '')
  const values = inner.split(',').map((v) => v.trim())
  return new Map(table.columns.flatMap((c, i) => (values[i] === undefined ? [] : [[c, values[i]]])))
}

function readGlue(event: LandingEvent, settings: LandingSettings, database: string): ReadEvent {
  if (event['detail-type'] !== GLUE_TABLE_CHANGE)
    return {
      kind: 'ignored',
      reason: `Glue '${event['detail-type'].slice(0, 64)}' events change no partition`,
    }
  const parsed = glueDetail.safeParse(event.detail)
  if (!parsed.success) throw invalid('Glue table state change', parsed.error)
  const { databaseName, tableName, typeOfChange, changedPartitions = [] } = parsed.data
  const table = settings.tables.get(tableName)
  if (!table || (table.database ?? database) !== databaseName)
    return { kind: 'ignored', reason: `${databaseName}.${tableName} is not a table of landing.yaml` }
  if (!/Partition$/.test(typeOfChange) || changedPartitions.length === 0)
    return { kind: 'ignored', reason: `${typeOfChange} changes no partition` }
  const spans: TimeSpan[] = []
  const reasons: string[] = []
  for (const rendered of changedPartitions) {
    const span = spanOfPartition(table, partitionValues(table, rendered))
    if (typeof span === 'string') reasons.push(`${rendered.slice(0, 64)}: ${span}`)
    else spans.push(span)
  }
  if (spans.length === 0) return { kind: 'ignored', reason: reasons.slice(0, 3).join('; ') }
  return {
    kind: 'change',
    change: {
      table: table.name,
      spans,
      // A removed partition changes the results over its days too, but no data arrived.
      landed: !/Delete/.test(typeOfChange),
      what: `${typeOfChange} ${changedPartitions.slice(0, 3).join(' ')}${changedPartitions.length > 3 ? ' …' : ''}`,
    },
  }
}

/**
 * What a landing event changed: the table (of landing.yaml) and the spans of its data; or why it changes nothing
 * here (another bucket or prefix, a marker file, a key without a date partition, another database). A malformed
 * event of a known kind is a ValidationError naming the fields.
 */
export function readLandingEvent(
  event: LandingEvent,
  settings: LandingSettings,
  database: string,
): ReadEvent {
  return event.source === S3_SOURCE ? readS3(event, settings) : readGlue(event, settings, database)
}

/** Spans sorted and merged where they overlap or touch ([1, 2) and [2, 3) are [1, 3)). */
export function mergeSpans(spans: readonly TimeSpan[]): TimeSpan[] {
  const sorted = [...spans].sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs)
  const out: TimeSpan[] = []
  for (const s of sorted) {
    const last = out[out.length - 1]
    if (last && s.startMs <= last.endMs) last.endMs = Math.max(last.endMs, s.endMs)
    else out.push({ startMs: s.startMs, endMs: s.endMs })
  }
  return out
}

/** A span as a member of the pending set (`start,end` in epoch ms), and back; a damaged member reads as undefined. */
export const spanMember = (span: TimeSpan): string => `${span.startMs},${span.endMs}`
export function parseSpanMember(member: string): TimeSpan | undefined {
  const m = /^(\d{1,16}),(\d{1,16})$/.exec(member)
  if (!m) return undefined
  const startMs = Number(m[1])
  const endMs = Number(m[2])
  return endMs > startMs ? { startMs, endMs } : undefined
}

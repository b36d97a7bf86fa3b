import { randomUUID } from 'node:crypto'
import { createJsonRowWriter, type JsonValue, type ResultColumn } from '../athena/result-converter.ts'
import type { RowSink } from '../athena/result-reader.ts'
import { type DecodedEntry, plainBody } from '../cache/entry-codec.ts'
import type { TimeSpan } from '../cache/generations.ts'
import type { ResultBody } from './result-body.ts'

/**
 * The rows of results as objects, for an incremental refresh: read from a stored JSON body, spliced with the rows of
 * partial executions, and written again (result-body.ts `typedRow`) — byte for byte the rows a full computation
 * would have written, since a JSON body is `JSON.stringify` of these objects.
 */

export type Row = Record<string, JsonValue>

/** A result as its JSON body holds it. */
export interface ResultRows {
  columns: ResultColumn[]
  rows: Row[]
  meta: Record<string, JsonValue>
}

/** A row with the start of its bucket (epoch ms). */
export interface BucketedRow {
  bucketMs: number
  row: Row
}

/**
 * A spliced result has no single execution: its entry carries an id of its own, which tells it apart (Athena's ids
 * are UUIDs, which never start so), and from which its CSV and NDJSON are rendered from its rows.
 */
const SPLICED_ID_PREFIX = 'spliced-'

export function splicedExecutionId(): string {
  return `${SPLICED_ID_PREFIX}${randomUUID()}`
}

/** Whether an entry's execution id is a spliced result's (no execution holds its rows). */
export function isSplicedId(queryExecutionId: string): boolean {
  return queryExecutionId.startsWith(SPLICED_ID_PREFIX)
}

export class SpliceError extends Error {
  override readonly name = 'SpliceError'
}

const isObject = (v: unknown): v is Record<string, JsonValue> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/** The columns, rows and meta of a stored JSON result entry; SpliceError for anything else. */
export function readResultRows(entry: DecodedEntry): ResultRows {
  let doc: unknown
  try {
    doc = JSON.parse(plainBody(entry).toString('utf8'))
  } catch (err) {
    throw new SpliceError(`the stored body is not JSON: ${(err as Error).message}`)
  }
  if (!isObject(doc) || !Array.isArray(doc.columns) || !Array.isArray(doc.rows) || !isObject(doc.meta))
    throw new SpliceError('the stored body is not a result ({columns, rows, meta})')
  const columns = doc.columns.map((c) => {
    if (!isObject(c) || typeof c.name !== 'string' || typeof c.type !== 'string')
      throw new SpliceError('a stored column is not {name, type}')
    return c as unknown as ResultColumn
  })
  // Rows as objects keep one value per name: a result with a repeated column name cannot be spliced as objects.
  if (new Set(columns.map((c) => c.name)).size !== columns.length)
    throw new SpliceError('the result repeats a column name')
  const rows = doc.rows.map((r) => {
    if (!isObject(r)) throw new SpliceError('a stored row is not an object')
    return r
  })
  return { columns, rows, meta: doc.meta }
}

/**
 * The start of a row's bucket: a date (`YYYY-MM-DD`, as a date or a string partition column) or a UTC timestamp (as
 * result-converter.ts renders them); SpliceError for anything else (NULL included: such a row has no bucket).
 */
export function bucketMsOf(value: JsonValue | undefined): number {
  if (typeof value === 'string') {
    const ms = /^\d{4}-\d{2}-\d{2}$/.test(value)
      ? Date.parse(`${value}T00:00:00Z`)
      : /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(value)
        ? Date.parse(value)
        : Number.NaN
    if (Number.isFinite(ms)) return ms
  }
  throw new SpliceError(`bucket value ${JSON.stringify(value)} is not a date or a UTC timestamp`)
}

/** Rows with their buckets, checked to be in strictly increasing bucket order (one row per bucket). */
export function bucketed(rows: readonly Row[], bucket: string): BucketedRow[] {
  let previous = Number.NEGATIVE_INFINITY
  return rows.map((row) => {
    const bucketMs = bucketMsOf(row[bucket])
    if (bucketMs <= previous) throw new SpliceError('rows are not one per bucket in ascending order')
    previous = bucketMs
    return { bucketMs, row }
  })
}

const inside = (ms: number, spans: readonly TimeSpan[]) => spans.some((s) => s.startMs <= ms && ms < s.endMs)

/**
 * The cached rows with the buckets of `recomputed` (the spans of bucket starts, see time-buckets.ts `bucketsOf`)
 * replaced by `fresh`, in bucket order. A fresh row outside those buckets means the query is not what it declares:
 * SpliceError, and the refresh is a full one.
 */
export function spliceRows(
  cached: readonly BucketedRow[],
  fresh: readonly BucketedRow[],
  recomputed: readonly TimeSpan[],
): Row[] {
  for (const f of fresh)
    if (!inside(f.bucketMs, recomputed))
      throw new SpliceError(
        `a recomputed row's bucket ${new Date(f.bucketMs).toISOString()} is outside its span`,
      )
  const kept = cached.filter((c) => !inside(c.bucketMs, recomputed))
  const out: Row[] = []
  let i = 0
  let j = 0
  while (i < kept.length || j < fresh.length) {
    const a = kept[i]
    const b = fresh[j]
    if (a && (!b || a.bucketMs < b.bucketMs)) {
      out.push(a.row)
      i++
    } else if (b) {
      out.push(b.row)
      j++
    }
  }
  return out
}

/**
 * Collects a partial execution's rows as objects (the JSON body's own rendering of each row, parsed back), with the
 * row limit of the body they join.
 */
export class RowCollector implements RowSink {
  columns: ResultColumn[] = []
  rows: Row[] = []
  private render: (values: ReadonlyArray<string | undefined>) => string = () => '{}'

  constructor(private readonly maxRows: number) {}

  begin(columns: ResultColumn[]): void {
    this.columns = columns
    this.render = createJsonRowWriter(columns)
  }

  row(values: ReadonlyArray<string | undefined>): void {
    if (this.rows.length >= this.maxRows) throw new SpliceError('a partial result is over MAX_RESULT_ROWS')
    this.rows.push(JSON.parse(this.render(values)) as Row)
  }

  settle(): Promise<void> {
    return Promise.resolve()
  }

  restart(): void {
    this.rows = []
  }
}

/** A result spliced by an incremental refresh, as the writer stores it (result-writer.ts `storeSpliced`). */
export interface SplicedResult {
  columns: ResultColumn[]
  rows: Row[]
  /** The spliced result's own id (splicedExecutionId). */
  queryExecutionId: string
  /** What the refresh's partial executions scanned, and their engine time. */
  dataScannedBytes: number
  engineMs: number
  /** `meta.refresh` of its body. */
  refresh: JsonValue
}

/** Writes rows as objects into a body of any format (a spliced result, and its CSV or NDJSON). */
export async function writeRows(
  body: ResultBody,
  result: { columns: ResultColumn[]; rows: readonly Row[] },
): Promise<void> {
  body.begin(result.columns)
  for (const [i, row] of result.rows.entries()) {
    body.typedRow(row)
    if (i % 1000 === 999) await body.settle()
  }
}

/** Renders a spliced result's stored JSON rows into a body of another format; the body is discarded on failure. */
export async function renderFromRows(body: ResultBody, json: DecodedEntry): Promise<'entry'> {
  try {
    await writeRows(body, readResultRows(json))
    return 'entry'
  } catch (err) {
    body.discard()
    throw err
  }
}

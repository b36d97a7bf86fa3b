import type { StoredResult } from './query-execution.ts'

/** `csv` for DML (SELECT-like) statements, `txt` for the others, as Athena names its result files. */
export type ResultFileFormat = 'csv' | 'txt'

/** Rows rendered per `StoredResult.rows` call. */
const ROWS_PER_BATCH = 1024
/** Bytes gathered before a chunk is handed to the file. */
const CHUNK_BYTES = 1 << 20

const QUOTE = 0x22
const COMMA = 0x2c
const TAB = 0x09
const NEWLINE = 0x0a

/**
 * The result file's bytes, chunk by chunk (about 1 MiB each), never as one string. CSV as Athena writes it: a
 * header row of the column labels, every value double-quoted with `"` doubled, SQL NULL an empty unquoted
 * field, `\n` line ends. Text (SHOW, DESCRIBE, EXPLAIN): one row per line, tab-separated, no quoting, no header.
 * Values come from `result.rows`, the rendering GetQueryResults serves, so the file and the API agree byte for
 * byte.
 */
export function* resultFileChunks(result: StoredResult, format: ResultFileFormat): Generator<Buffer> {
  const sink = new ByteSink(CHUNK_BYTES)
  const writeRow = format === 'csv' ? writeCsvRow : writeTextRow
  if (format === 'csv')
    writeCsvRow(
      sink,
      result.columns.map((c) => c.Label),
    )
  for (let from = 0; from < result.rowCount; from += ROWS_PER_BATCH) {
    for (const row of result.rows(from, from + ROWS_PER_BATCH)) writeRow(sink, row)
    if (sink.size >= CHUNK_BYTES) yield sink.take()
  }
  if (sink.size > 0) yield sink.take()
}

/** The whole file as one string: for tests and small results only. */
export function renderResultFile(result: StoredResult, format: ResultFileFormat): string {
  return Buffer.concat([...resultFileChunks(result, format)]).toString('utf8')
}

function writeCsvRow(sink: ByteSink, values: readonly (string | null)[]): void {
  for (let i = 0; i < values.length; i++) {
    if (i > 0) sink.byte(COMMA)
    const value = values[i]
    if (value === null || value === undefined) continue
    sink.byte(QUOTE)
    sink.text(value.includes('"') ? value.replaceAll('"', '""') : value)
    sink.byte(QUOTE)
  }
  sink.byte(NEWLINE)
}

function writeTextRow(sink: ByteSink, values: readonly (string | null)[]): void {
  for (let i = 0; i < values.length; i++) {
    if (i > 0) sink.byte(TAB)
    const value = values[i]
    if (value !== null && value !== undefined) sink.text(value)
  }
  sink.byte(NEWLINE)
}

/**
 * UTF-8 bytes written straight into a Buffer. Building the file as strings instead (one per line, joined per
 * chunk) kept large rope strings alive across collections and spent more time in the garbage collector than in
 * rendering.
 */
class ByteSink {
  private buffer: Buffer
  private position = 0

  constructor(private readonly chunkBytes: number) {
    this.buffer = Buffer.allocUnsafe(chunkBytes)
  }

  get size(): number {
    return this.position
  }

  byte(value: number): void {
    if (this.position === this.buffer.length) this.reserve(1)
    this.buffer[this.position++] = value
  }

  text(value: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 code unit.
    this.reserve(value.length * 3)
    this.position += this.buffer.write(value, this.position)
  }

  /** Hands over the bytes written so far and starts a fresh buffer. */
  take(): Buffer {
    const out = this.buffer.subarray(0, this.position)
    this.buffer = Buffer.allocUnsafe(this.chunkBytes)
    this.position = 0
    return out
  }

  private reserve(bytes: number): void {
    if (this.position + bytes <= this.buffer.length) return
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.position + bytes))
    this.buffer.copy(grown, 0, 0, this.position)
    this.buffer = grown
  }
}

import type { CsvRecord } from '../athena/athena-csv.ts'
import { tooLarge } from '../athena/athena-runner.ts'
import {
  columnConverters,
  createJsonRowWriter,
  type JsonValue,
  type ResultColumn,
} from '../athena/result-converter.ts'
import type { RowSink } from '../athena/result-reader.ts'
import { BodyEncoder, type EncodedBody } from '../cache/body-encoder.ts'
import { ResultTooLargeError } from '../errors.ts'

/** The body formats a result is served in; each is stored as its own entry (its own bytes and ETag). */
export const RESULT_FORMATS = ['json', 'csv', 'ndjson'] as const
export type ResultFormat = (typeof RESULT_FORMATS)[number]

/** The `meta` object of a JSON body, written after the rows (it holds their count). */
export interface ResultMeta {
  query: string
  parameters: JsonValue
  rowCount: number
  queryExecutionId: string
  dataScannedBytes: number
  computedAt: string
  expiresAt: string
  /** Only in a result spliced by an incremental refresh (incremental-refresh.ts): what it recomputed. */
  refresh?: JsonValue
}

export interface BodyLimits {
  maxRows: number
  /** The plain (uncompressed) body as sent. */
  maxResultBytes: number
}

/** RFC 4180: a value is quoted when it holds a quote, a comma or a line break. */
const NEEDS_QUOTES = /[",\r\n]/

function csvField(value: JsonValue): string {
  if (value === null) return ''
  const text =
    typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value)
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/**
 * A result body built row by row as the rows are read (a RowSink), compressed as it grows (BodyEncoder): neither the
 * rows nor the plain body are ever held whole. The formats write the same typed values (result-converter.ts):
 *   json    `{"columns":[…],"rows":[{…},…],"meta":{…}}` — byte for byte `JSON.stringify` of that object
 *   ndjson  one row object per line, `\n` after each
 *   csv     RFC 4180: a header row of column names, CRLF line ends, NULL as an empty field and "" as an empty string
 */
export class ResultBody implements RowSink {
  private encoder: BodyEncoder
  private rowCount = 0
  private writeRow: (values: CsvRecord) => void = () => {}
  private writeTyped: (row: Readonly<Record<string, JsonValue>>) => void = () => {}

  constructor(
    readonly format: ResultFormat,
    private readonly limits: BodyLimits,
    private readonly queryExecutionId: string,
  ) {
    this.encoder = this.newEncoder()
  }

  private newEncoder(): BodyEncoder {
    return new BodyEncoder(this.limits.maxResultBytes, () =>
      tooLarge(this.limits.maxResultBytes, this.queryExecutionId),
    )
  }

  /** Rows written so far. */
  get rows(): number {
    return this.rowCount
  }

  begin(columns: ResultColumn[]): void {
    const encoder = this.encoder
    switch (this.format) {
      case 'json': {
        const rowJson = createJsonRowWriter(columns)
        encoder.write(`{"columns":${JSON.stringify(columns)},"rows":[`)
        this.writeRow = (values) =>
          encoder.write(this.rowCount === 0 ? rowJson(values) : `,${rowJson(values)}`)
        this.writeTyped = (row) =>
          encoder.write(this.rowCount === 0 ? JSON.stringify(row) : `,${JSON.stringify(row)}`)
        return
      }
      case 'ndjson': {
        const rowJson = createJsonRowWriter(columns)
        this.writeRow = (values) => encoder.write(`${rowJson(values)}\n`)
        this.writeTyped = (row) => encoder.write(`${JSON.stringify(row)}\n`)
        return
      }
      case 'csv': {
        const convert = columnConverters(columns)
        encoder.write(`${columns.map((c) => csvField(c.name)).join(',')}\r\n`)
        this.writeRow = (values) => {
          let line = ''
          for (let i = 0; i < convert.length; i++)
            line +=
              (i === 0 ? '' : ',') + csvField((convert[i] as (t: string | undefined) => JsonValue)(values[i]))
          encoder.write(`${line}\r\n`)
        }
        this.writeTyped = (row) =>
          encoder.write(`${columns.map((c) => csvField(row[c.name] ?? null)).join(',')}\r\n`)
        return
      }
    }
  }

  row(values: CsvRecord): void {
    this.checkRows()
    this.writeRow(values)
    this.rowCount++
  }

  /**
   * A row already typed, as a JSON body's `rows` hold it (a spliced result, or a format rendered from one): the same
   * text in every format as the row's Athena values give, since the JSON body is `JSON.stringify` of these objects.
   */
  typedRow(row: Readonly<Record<string, JsonValue>>): void {
    this.checkRows()
    this.writeTyped(row)
    this.rowCount++
  }

  private checkRows(): void {
    if (this.rowCount >= this.limits.maxRows)
      throw new ResultTooLargeError(
        `The result has more than ${this.limits.maxRows} rows (MAX_RESULT_ROWS): narrow the parameters (a shorter date range), or raise MAX_RESULT_ROWS`,
        { rows: this.limits.maxRows },
        this.queryExecutionId,
      )
  }

  settle(): Promise<void> {
    return this.encoder.settle()
  }

  restart(): void {
    this.encoder.discard()
    this.encoder = this.newEncoder()
    this.rowCount = 0
  }

  /** Ends the body; `meta` (JSON only) is written after the rows, with the row count filled in. */
  finish(meta: Omit<ResultMeta, 'rowCount'>): Promise<EncodedBody> {
    if (this.format === 'json') {
      const { query, parameters, queryExecutionId, dataScannedBytes, computedAt, expiresAt, refresh } = meta
      const full: ResultMeta = {
        query,
        parameters,
        rowCount: this.rowCount,
        queryExecutionId,
        dataScannedBytes,
        computedAt,
        expiresAt,
        ...(refresh !== undefined ? { refresh } : {}),
      }
      this.encoder.write(`],"meta":${JSON.stringify(full)}}`)
    }
    return this.encoder.finish()
  }

  /** Abandons the body (the read failed). */
  discard(): void {
    this.encoder.discard()
  }
}

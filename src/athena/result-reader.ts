import {
  type AthenaClient,
  GetQueryResultsCommand,
  type GetQueryResultsCommandOutput,
  type QueryExecution,
} from '@aws-sdk/client-athena'
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import type { Logger } from 'pino'
import { AcpError, errorMessage } from '../errors.ts'
import { AthenaCsvReader, type CsvRecord } from './athena-csv.ts'
import { hasHeaderRow, toEngineError } from './athena-runner.ts'
import { type ResultColumn, toResultColumns } from './result-converter.ts'

/** Where a result's rows go: told the columns first (again after `restart`), then each row's values in order. */
export interface RowSink {
  begin(columns: ResultColumn[]): void
  /** One row: each value's text as Athena renders it, undefined for NULL. Throws to stop the read (limits). */
  row(values: CsvRecord): void
  /** Waits while the sink is behind (backpressure); called between pages and between chunks of the file. */
  settle(): Promise<void>
  /** Drops every row received so far: the read starts over from the first row (a result file that failed). */
  restart(): void
}

/**
 * `auto`: GetQueryResults when the result fits its first page, else the result file from S3 (GetQueryResults paging
 * when the file cannot be read); `api`: GetQueryResults paging only.
 */
export type ResultReadMode = 'auto' | 'api'

export interface ResultReaderOptions {
  athena: AthenaClient
  /** Undefined: results are only read through GetQueryResults. */
  s3: S3Client | undefined
  mode: ResultReadMode
  logger?: Logger | undefined
}

/** How a result was read, for logs and tests. */
export type ResultSource = 'page' | 's3' | 'pages' | 'pages-after-s3-failure'

const PAGE_SIZE = 1000

/** `s3://bucket/key` → its parts; undefined for anything else. */
export function parseS3Uri(uri: string): { bucket: string; key: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri)
  return m ? { bucket: m[1] as string, key: m[2] as string } : undefined
}

/** The result file could not be used (missing, unreadable, damaged, not matching the metadata). */
class ResultFileError extends Error {
  override readonly name = 'ResultFileError'
}

/**
 * Reads a SUCCEEDED execution's rows into a sink. The first GetQueryResults page gives the column types
 * (ResultSetMetadata) and, for a result that fits it, the rows; a longer result is read from the CSV file Athena
 * wrote at the execution's OutputLocation in one streamed GetObject instead of a round trip per 1,000 rows. Should
 * the file fail (missing, denied, truncated, malformed), the read starts over with GetQueryResults paging, so a
 * result is never lost to S3 trouble; errors of the sink itself (limits) and aborts end the read.
 */
export class ResultReader {
  constructor(private readonly o: ResultReaderOptions) {}

  async read(execution: QueryExecution, sink: RowSink, signal?: AbortSignal): Promise<ResultSource> {
    const id = execution.QueryExecutionId ?? ''
    const header = hasHeaderRow(execution)
    const first = await this.page(id, undefined, signal)
    const columns = toResultColumns(first.ResultSet?.ResultSetMetadata?.ColumnInfo ?? [])
    sink.begin(columns)
    const location = execution.ResultConfiguration?.OutputLocation
    const object = location ? parseS3Uri(location) : undefined
    // DDL and utility statements write `.txt` files of another layout; their results are small.
    if (first.NextToken && this.o.s3 && this.o.mode === 'auto' && header && object?.key.endsWith('.csv')) {
      try {
        await this.readFile(this.o.s3, object, columns, sink, signal)
        return 's3'
      } catch (err) {
        if (!(err instanceof ResultFileError) || signal?.aborted) throw err
        this.o.logger?.warn(
          { err: err.message, queryExecutionId: id, location },
          'result file unusable; reading the result through GetQueryResults',
        )
        sink.restart()
        sink.begin(columns)
        await this.pages(id, first, header, sink, signal)
        return 'pages-after-s3-failure'
      }
    }
    await this.pages(id, first, header, sink, signal)
    return first.NextToken ? 'pages' : 'page'
  }

  private async page(
    id: string,
    nextToken: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<GetQueryResultsCommandOutput> {
    try {
      return await this.o.athena.send(
        new GetQueryResultsCommand({ QueryExecutionId: id, MaxResults: PAGE_SIZE, NextToken: nextToken }),
        { abortSignal: signal },
      )
    } catch (err) {
      throw toEngineError(err, 'GetQueryResults', { queryExecutionId: id, signal })
    }
  }

  private async pages(
    id: string,
    first: GetQueryResultsCommandOutput,
    header: boolean,
    sink: RowSink,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    let page: GetQueryResultsCommandOutput = first
    let skip = header ? 1 : 0
    for (;;) {
      for (const row of page.ResultSet?.Rows ?? []) {
        if (skip > 0) {
          skip--
          continue
        }
        sink.row((row.Data ?? []).map((d) => d.VarCharValue))
      }
      await sink.settle()
      if (!page.NextToken) return
      page = await this.page(id, page.NextToken, signal)
    }
  }

  private async readFile(
    s3: S3Client,
    object: { bucket: string; key: string },
    columns: readonly ResultColumn[],
    sink: RowSink,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    let body: AsyncIterable<Uint8Array>
    let expectedBytes: number | undefined
    try {
      const out = await s3.send(new GetObjectCommand({ Bucket: object.bucket, Key: object.key }), {
        abortSignal: signal,
      })
      if (!out.Body || !(Symbol.asyncIterator in out.Body))
        throw new ResultFileError('GetObject returned no readable body')
      body = out.Body as AsyncIterable<Uint8Array>
      expectedBytes = out.ContentLength
    } catch (err) {
      if (err instanceof ResultFileError) throw err
      throw new ResultFileError(`GetObject s3://${object.bucket}/${object.key}: ${errorMessage(err)}`)
    }
    const width = columns.length
    let sawHeader = false
    const reader = new AthenaCsvReader((record) => {
      if (record.length !== width)
        throw new ResultFileError(
          `record ${reader.records} has ${record.length} values, the result has ${width} columns`,
        )
      if (!sawHeader) {
        // The labels of the metadata, in order: a file of another result (or shape) is not read as this one.
        if (record.some((label, i) => label !== columns[i]?.name))
          throw new ResultFileError('the header row does not match the result metadata')
        sawHeader = true
        return
      }
      sink.row(record)
    })
    let bytes = 0
    try {
      for await (const chunk of body) {
        bytes += chunk.length
        reader.pushBytes(chunk)
        await sink.settle()
      }
      reader.end()
    } catch (err) {
      // The sink's own errors (a limit) and the computation's deadline end the read; anything else is the file's.
      if (err instanceof AcpError || err instanceof ResultFileError || signal?.aborted) throw err
      throw new ResultFileError(`reading s3://${object.bucket}/${object.key}: ${errorMessage(err)}`)
    }
    if (expectedBytes !== undefined && bytes !== expectedBytes)
      throw new ResultFileError(`the result file ended after ${bytes} of ${expectedBytes} bytes`)
    if (!sawHeader) throw new ResultFileError('the result file has no header row')
  }
}

import {
  type AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  type GetQueryResultsCommandOutput,
  type QueryExecution,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena'
import {
  AcpError,
  EngineThrottledError,
  EngineTimeoutError,
  EngineUnavailableError,
  ExecutionGoneError,
  QueryCancelledError,
  QueryFailedError,
  QueryTimeoutError,
  ResultTooLargeError,
} from '../errors.ts'
import { DEFAULT_POLL_PLAN, nextPollDelay, type PollPlan } from './poll-schedule.ts'
import { type PollOutcome, type PollStatus, pollUntilDone } from './poll-until-done.ts'
import { createRowConverter, type JsonValue, type ResultColumn, toResultColumns } from './result-converter.ts'

/** What to run. SQL text is a catalog template; user values only ever arrive in `executionParameters`. */
export interface QueryRequest {
  sql: string
  executionParameters: string[]
  database: string
  workgroup: string
  /** Idempotency token (32–128 chars): a retried start returns the same execution instead of a second query. */
  clientRequestToken: string
  /** Let Athena reuse a previous identical result up to this age (minutes); undefined = off. */
  resultReuseMaxAgeMinutes?: number
}

export interface ExecutionStats {
  queryExecutionId: string
  dataScannedBytes: number
  engineMs: number
  totalMs: number
  queueMs: number
  reusedPreviousResult: boolean
  statusCalls: number
}

export interface QueryResult {
  columns: ResultColumn[]
  rows: Array<Record<string, JsonValue>>
  stats: ExecutionStats
}

export interface WaitOptions {
  /** Absolute deadline (ms since epoch). */
  deadline: number
  signal?: AbortSignal
  /** Expected total run time from history, to poll near the completion. */
  expectedMs?: number
  /** When the execution was started (defaults to now): attaching to a running query keeps its schedule. */
  startedAt?: number
}

export interface AthenaRunnerOptions {
  client: AthenaClient
  catalog: string
  outputLocation: string | undefined
  poll?: Partial<Omit<PollPlan, 'expectedMs'>>
  maxRows: number
  maxResultBytes: number
  now?: () => number
  random?: () => number
}

const THROTTLING = new Set(['TooManyRequestsException', 'ThrottlingException', 'RequestLimitExceeded'])
const PAGE_SIZE = 1000
/** How long giving up on a query waits for its StopQueryExecution: a hung engine must not hold the caller. */
const STOP_WAIT_MS = 1_000

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : ''
}

/**
 * Athena's answer for an execution id it does not know: an InvalidRequestException like any bad request, told apart
 * only by its message ("QueryExecution <id> was not found").
 */
function isExecutionNotFound(err: unknown): boolean {
  return (
    errorName(err) === 'InvalidRequestException' && err instanceof Error && /was not found/i.test(err.message)
  )
}

/**
 * Maps SDK errors to domain errors; domain errors pass through, and so does the reason of an aborted `signal` when it
 * is one (the computation's QueryTimeoutError at QUERY_TIMEOUT_MS). `queryExecutionId` is the execution the call was
 * about, when it was about one: the engine not knowing it is then an ExecutionGoneError, not a rejected query.
 */
export function toEngineError(
  err: unknown,
  context: string,
  about: { queryExecutionId?: string | undefined; signal?: AbortSignal | undefined } = {},
): AcpError {
  if (err instanceof AcpError) return err
  if (about.signal?.aborted && about.signal.reason instanceof AcpError) return about.signal.reason
  if (about.queryExecutionId !== undefined && isExecutionNotFound(err))
    return new ExecutionGoneError(about.queryExecutionId, { cause: err })
  const name = errorName(err)
  const message = err instanceof Error ? err.message : String(err)
  // The request handler's connection and request timeouts (after the SDK's own retries).
  if (name === 'TimeoutError')
    return new EngineTimeoutError(`Athena ${context} did not answer in time: ${message}`, undefined, {
      cause: err,
    })
  if (THROTTLING.has(name))
    return new EngineThrottledError(`Athena throttled ${context}: ${message}`, 2, { cause: err })
  if (name === 'InvalidRequestException')
    return new QueryFailedError(
      `Athena rejected ${context}: ${message}`,
      { errorCategory: 2 },
      { cause: err },
    )
  return new EngineUnavailableError(`Athena ${context} failed: ${message}`, { cause: err })
}

/**
 * Runs catalog queries on Athena through the AWS SDK: start (idempotent), wait (rationed polling with a deadline),
 * fetch every page and convert rows to typed JSON. Stateless apart from its client; safe to share.
 */
export class AthenaRunner {
  /** MAX_RESULT_ROWS and MAX_RESULT_BYTES (the body as sent: the result writer checks the body it builds). */
  readonly limits: { readonly maxRows: number; readonly maxResultBytes: number }
  private readonly plan: Omit<PollPlan, 'expectedMs'>
  private readonly now: () => number
  private readonly random: () => number

  constructor(private readonly options: AthenaRunnerOptions) {
    this.limits = { maxRows: options.maxRows, maxResultBytes: options.maxResultBytes }
    this.plan = { ...DEFAULT_POLL_PLAN, ...options.poll }
    this.now = options.now ?? Date.now
    this.random = options.random ?? Math.random
  }

  /** Starts the query and returns its execution id. */
  async start(request: QueryRequest, signal?: AbortSignal): Promise<string> {
    const reuse =
      request.resultReuseMaxAgeMinutes !== undefined && request.resultReuseMaxAgeMinutes > 0
        ? {
            ResultReuseByAgeConfiguration: {
              Enabled: true,
              MaxAgeInMinutes: Math.max(1, Math.floor(request.resultReuseMaxAgeMinutes)),
            },
          }
        : undefined
    try {
      const out = await this.options.client.send(
        new StartQueryExecutionCommand({
          QueryString: request.sql,
          ClientRequestToken: request.clientRequestToken,
          QueryExecutionContext: { Database: request.database, Catalog: this.options.catalog },
          WorkGroup: request.workgroup,
          ...(request.executionParameters.length > 0
            ? { ExecutionParameters: request.executionParameters }
            : {}),
          ...(this.options.outputLocation
            ? { ResultConfiguration: { OutputLocation: this.options.outputLocation } }
            : {}),
          ...(reuse ? { ResultReuseConfiguration: reuse } : {}),
        }),
        { abortSignal: signal },
      )
      if (!out.QueryExecutionId) throw new EngineUnavailableError('Athena returned no QueryExecutionId')
      return out.QueryExecutionId
    } catch (err) {
      throw toEngineError(err, 'StartQueryExecution', { signal })
    }
  }

  /** One status call. */
  async describe(queryExecutionId: string, signal?: AbortSignal): Promise<QueryExecution> {
    try {
      const out = await this.options.client.send(
        new GetQueryExecutionCommand({ QueryExecutionId: queryExecutionId }),
        { abortSignal: signal },
      )
      if (!out.QueryExecution)
        throw new EngineUnavailableError(`Athena returned no execution for ${queryExecutionId}`)
      return out.QueryExecution
    } catch (err) {
      throw toEngineError(err, 'GetQueryExecution', { queryExecutionId, signal })
    }
  }

  /**
   * Polls until the execution succeeds; throws QueryFailedError (with Athena's category), QueryCancelledError, or
   * QueryTimeoutError at the deadline or when `signal` aborts with one (after asking Athena to stop the query, so it
   * stops costing money).
   */
  async waitForCompletion(
    queryExecutionId: string,
    options: WaitOptions,
  ): Promise<{ execution: QueryExecution; statusCalls: number }> {
    const startedAt = options.startedAt ?? this.now()
    const plan: PollPlan = { ...this.plan, ...(options.expectedMs ? { expectedMs: options.expectedMs } : {}) }
    const timedOut = async (): Promise<never> => {
      await this.stop(queryExecutionId)
      throw new QueryTimeoutError(queryExecutionId, this.now() - startedAt)
    }
    let outcome: PollOutcome<QueryExecution>
    try {
      outcome = await this.poll(queryExecutionId, startedAt, plan, options)
    } catch (err) {
      // A status call cut short by the computation's deadline.
      if (err instanceof QueryTimeoutError) return timedOut()
      throw err
    }
    if (outcome.kind === 'timeout') return timedOut()
    if (outcome.kind === 'aborted') {
      // Aborted by the computation's deadline: that is a timeout too; any other abort leaves the query alone.
      if (options.signal?.reason instanceof QueryTimeoutError) return timedOut()
      throw new QueryTimeoutError(queryExecutionId, this.now() - startedAt)
    }
    const execution = outcome.value
    const status = execution.Status
    if (status?.State === 'FAILED') {
      const athenaError = status.AthenaError
      throw new QueryFailedError(
        athenaError?.ErrorMessage ?? status.StateChangeReason ?? 'Athena query failed',
        {
          queryExecutionId,
          ...(athenaError?.ErrorCategory !== undefined ? { errorCategory: athenaError.ErrorCategory } : {}),
          ...(athenaError?.ErrorType !== undefined ? { errorType: athenaError.ErrorType } : {}),
          ...(status.StateChangeReason ? { stateChangeReason: status.StateChangeReason } : {}),
        },
      )
    }
    if (status?.State === 'CANCELLED')
      throw new QueryCancelledError(queryExecutionId, status.StateChangeReason)
    return { execution, statusCalls: outcome.attempts }
  }

  private poll(queryExecutionId: string, startedAt: number, plan: PollPlan, options: WaitOptions) {
    return pollUntilDone<QueryExecution>({
      startedAt,
      deadline: options.deadline,
      ...(options.signal ? { signal: options.signal } : {}),
      now: this.now,
      nextDelayMs: (attempt, elapsed) => nextPollDelay(attempt, elapsed, plan, this.random),
      check: async (): Promise<PollStatus<QueryExecution>> => {
        const execution = await this.describe(queryExecutionId, options.signal)
        const state = execution.Status?.State
        return state === 'QUEUED' || state === 'RUNNING' || state === undefined
          ? { kind: 'keep-waiting' }
          : { kind: 'done', value: execution }
      },
    })
  }

  /**
   * Best-effort StopQueryExecution: a query we gave up on should stop scanning (and billing). Waits at most
   * STOP_WAIT_MS: giving up must stay quick when the engine itself is what hangs.
   */
  async stop(queryExecutionId: string): Promise<boolean> {
    const abort = new AbortController()
    const timer = setTimeout(() => abort.abort(), STOP_WAIT_MS)
    try {
      await this.options.client.send(new StopQueryExecutionCommand({ QueryExecutionId: queryExecutionId }), {
        abortSignal: abort.signal,
      })
      return true
    } catch {
      return false
    } finally {
      clearTimeout(timer)
    }
  }

  /**
   * Reads every page of a succeeded execution, enforcing the row and byte limits. For SELECT statements (DML)
   * Athena puts the column labels in the first row of the first page; `hasHeaderRow` drops it.
   *
   * MAX_RESULT_BYTES limits the JSON body sent, not Athena's raw values (which undercount it: keys repeat on every
   * row, strings are quoted and escaped). The rows' own JSON is part of that body, so it is a lower bound that stops
   * the read as soon as the body is sure to be too large; the writer checks the whole body it builds.
   */
  async fetchResults(
    queryExecutionId: string,
    options: { signal?: AbortSignal; hasHeaderRow?: boolean } = {},
  ): Promise<{ columns: ResultColumn[]; rows: Array<Record<string, JsonValue>> }> {
    const { maxRows, maxResultBytes } = this.options
    let columns: ResultColumn[] | undefined
    let convert: ReturnType<typeof createRowConverter> | undefined
    const rows: Array<Record<string, JsonValue>> = []
    let bytes = 0
    let nextToken: string | undefined
    let firstPage = true
    do {
      let page: GetQueryResultsCommandOutput
      try {
        page = await this.options.client.send(
          new GetQueryResultsCommand({
            QueryExecutionId: queryExecutionId,
            MaxResults: PAGE_SIZE,
            NextToken: nextToken,
          }),
          { abortSignal: options.signal },
        )
      } catch (err) {
        throw toEngineError(err, 'GetQueryResults', { queryExecutionId, signal: options.signal })
      }
      const resultSet = page.ResultSet
      if (!columns) {
        columns = toResultColumns(resultSet?.ResultSetMetadata?.ColumnInfo ?? [])
        convert = createRowConverter(columns)
      }
      let pageRows = resultSet?.Rows ?? []
      // The first row of the first page holds the column labels for SELECT statements.
      if (firstPage && (options.hasHeaderRow ?? true)) pageRows = pageRows.slice(1)
      firstPage = false
      for (const row of pageRows) {
        if (rows.length >= maxRows)
          throw new ResultTooLargeError(
            `The result has more than ${maxRows} rows (MAX_RESULT_ROWS): narrow the parameters (a shorter date range), or raise MAX_RESULT_ROWS`,
            { rows: maxRows },
            queryExecutionId,
          )
        const converted = (convert as ReturnType<typeof createRowConverter>)(row)
        // The row as it appears in the body's `rows` array, with the comma before it.
        bytes += Buffer.byteLength(JSON.stringify(converted)) + (rows.length > 0 ? 1 : 0)
        if (bytes > maxResultBytes) throw tooLarge(maxResultBytes, queryExecutionId)
        rows.push(converted)
      }
      nextToken = page.NextToken
    } while (nextToken)
    return { columns: columns ?? [], rows }
  }

  /** Start → wait → fetch, for callers that need no lease or attach logic (CLI, tests). */
  async run(request: QueryRequest, options: Omit<WaitOptions, 'startedAt'>): Promise<QueryResult> {
    const startedAt = this.now()
    const id = await this.start(request, options.signal)
    const { execution, statusCalls } = await this.waitForCompletion(id, { ...options, startedAt })
    const { columns, rows } = await this.fetchResults(id, {
      ...(options.signal ? { signal: options.signal } : {}),
      hasHeaderRow: hasHeaderRow(execution),
    })
    return { columns, rows, stats: executionStats(execution, statusCalls) }
  }
}

/** The error of a result whose body exceeds MAX_RESULT_BYTES. */
export function tooLarge(maxResultBytes: number, queryExecutionId: string): ResultTooLargeError {
  return new ResultTooLargeError(
    `The result is larger than ${maxResultBytes} bytes (MAX_RESULT_BYTES): narrow the parameters (a shorter date range), or raise MAX_RESULT_BYTES`,
    { bytes: maxResultBytes },
    queryExecutionId,
  )
}

/** SELECT-like statements (DML) carry a header row; DDL and utility statements do not. */
export function hasHeaderRow(execution: QueryExecution): boolean {
  return (execution.StatementType ?? 'DML') === 'DML'
}

/** Statistics of a finished execution in our units. */
export function executionStats(execution: QueryExecution, statusCalls: number): ExecutionStats {
  const s = execution.Statistics
  return {
    queryExecutionId: execution.QueryExecutionId ?? '',
    dataScannedBytes: s?.DataScannedInBytes ?? 0,
    engineMs: s?.EngineExecutionTimeInMillis ?? 0,
    totalMs: s?.TotalExecutionTimeInMillis ?? 0,
    queueMs: s?.QueryQueueTimeInMillis ?? 0,
    reusedPreviousResult: s?.ResultReuseInformation?.ReusedPreviousResult ?? false,
    statusCalls,
  }
}

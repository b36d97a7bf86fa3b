import type { AthenaColumnInfo } from './athena-column-types.ts'

export type QueryState = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED'

/** A finished statement's rows. */
export interface StoredResult {
  columns: AthenaColumnInfo[]
  /** Data rows (the header row not included). */
  rowCount: number
  /** Whether GetQueryResults prepends a header row (Athena does for SELECT-like statements only). */
  headerRow: boolean
  /** Data rows `from` … `to - 1` as Athena `VarCharValue` strings (null = SQL NULL). */
  rows(from: number, to: number): (string | null)[][]
}

/** Echo of the request's ResultReuseConfiguration. */
export interface ResultReuseConfiguration {
  ResultReuseByAgeConfiguration: { Enabled: boolean; MaxAgeInMinutes?: number | undefined }
}

/** Athena's AthenaError: category 1 = system, 2 = user, 3 = other. */
export interface ExecutionError {
  category: 1 | 2 | 3
  type: number
  message: string
}

/** One query execution held in memory by the local endpoint. */
export interface QueryExecution {
  id: string
  /** Monotonic submission order (list pagination and eviction use it). */
  seq: number
  query: string
  database: string
  /** QueryExecutionContext exactly as submitted (echoed back). */
  context: { Database?: string | undefined; Catalog?: string | undefined } | undefined
  workGroup: string
  outputLocation: string
  executionParameters: string[] | undefined
  resultReuse: ResultReuseConfiguration | undefined
  clientRequestToken: string | undefined
  /** Query, database, catalog and parameters: what result reuse compares. */
  fingerprint: string
  /** `fingerprint` plus work group and output location: what a reused ClientRequestToken must match. */
  requestFingerprint: string
  statementType: 'DML' | 'DDL' | 'UTILITY'
  substatementType: string
  state: QueryState
  stateChangeReason: string | undefined
  submittedAt: number
  runningAt: number | undefined
  completedAt: number | undefined
  error: ExecutionError | undefined
  dataScannedBytes: number
  reusedPreviousResult: boolean
  /** Absent until SUCCEEDED, and again once dropped to bound memory. */
  result: StoredResult | undefined
  /** Fires when the execution is stopped (or the endpoint closes). */
  abort: AbortController
}

const TERMINAL: ReadonlySet<QueryState> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED'])

/** Whether the execution reached a final state. */
export function isTerminal(state: QueryState): boolean {
  return TERMINAL.has(state)
}

/** The execution as Athena's `QueryExecution` structure (timestamps in epoch seconds). */
export function toWireExecution(e: QueryExecution, now = Date.now()): Record<string, unknown> {
  const end = e.completedAt ?? now
  const queueEnd = e.runningAt ?? end
  const engineMs = e.runningAt === undefined ? 0 : end - e.runningAt
  const status: Record<string, unknown> = {
    State: e.state,
    SubmissionDateTime: e.submittedAt / 1000,
  }
  if (e.completedAt !== undefined) status.CompletionDateTime = e.completedAt / 1000
  if (e.stateChangeReason !== undefined) status.StateChangeReason = e.stateChangeReason
  if (e.error) {
    status.AthenaError = {
      ErrorCategory: e.error.category,
      ErrorType: e.error.type,
      Retryable: false,
      ErrorMessage: e.error.message,
    }
  }
  const wire: Record<string, unknown> = {
    QueryExecutionId: e.id,
    Query: e.query,
    StatementType: e.statementType,
    SubstatementType: e.substatementType,
    ResultConfiguration: { OutputLocation: e.outputLocation },
    QueryExecutionContext: e.context ?? {},
    Status: status,
    Statistics: {
      EngineExecutionTimeInMillis: engineMs,
      DataScannedInBytes: e.dataScannedBytes,
      TotalExecutionTimeInMillis: end - e.submittedAt,
      QueryQueueTimeInMillis: queueEnd - e.submittedAt,
      ServicePreProcessingTimeInMillis: 0,
      QueryPlanningTimeInMillis: 0,
      ServiceProcessingTimeInMillis: 0,
      ResultReuseInformation: { ReusedPreviousResult: e.reusedPreviousResult },
    },
    WorkGroup: e.workGroup,
    EngineVersion: { SelectedEngineVersion: 'AUTO', EffectiveEngineVersion: 'Athena engine version 3' },
  }
  if (e.executionParameters !== undefined) wire.ExecutionParameters = e.executionParameters
  if (e.resultReuse !== undefined) wire.ResultReuseConfiguration = e.resultReuse
  return wire
}

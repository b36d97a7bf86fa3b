/**
 * Domain errors. Every layer throws these (never bare `Error` for expected failures); the HTTP layer maps
 * `code` to a status and an RFC 9457 problem document in exactly one place (`src/http/problem.ts`).
 */

export type ErrorCode =
  | 'VALIDATION'
  | 'UNKNOWN_QUERY'
  | 'NOT_FOUND'
  | 'NOT_ACCEPTABLE'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'CONFLICT'
  | 'QUERY_FAILED'
  | 'QUERY_CANCELLED'
  | 'QUERY_TIMEOUT'
  | 'ENGINE_THROTTLED'
  | 'ENGINE_UNAVAILABLE'
  | 'ENGINE_TIMEOUT'
  | 'RESULT_TOO_LARGE'
  | 'BUDGET_EXCEEDED'
  | 'CACHE_UNAVAILABLE'
  | 'CONFIG'

/** One bad input field, named so a client can point at it. */
export interface FieldIssue {
  name: string
  message: string
}

export abstract class AcpError extends Error {
  abstract readonly code: ErrorCode
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
  }
}

/** Bad or missing request parameters. */
export class ValidationError extends AcpError {
  readonly code = 'VALIDATION'
  constructor(
    message: string,
    readonly issues: FieldIssue[] = [],
  ) {
    super(message)
  }
}

export class UnknownQueryError extends AcpError {
  readonly code = 'UNKNOWN_QUERY'
  constructor(readonly queryName: string) {
    super(`No query named '${queryName}' in the catalog`)
  }
}

export class NotFoundError extends AcpError {
  readonly code = 'NOT_FOUND'
}

/** The operation conflicts with one in progress (e.g. a prewarm run already holds the lock). */
/** The request accepts none of the media types a result can be sent as (406). */
export class NotAcceptableError extends AcpError {
  readonly code = 'NOT_ACCEPTABLE'
}

export class ConflictError extends AcpError {
  readonly code = 'CONFLICT'
}

export class UnauthorizedError extends AcpError {
  readonly code = 'UNAUTHORIZED'
}

export class ForbiddenError extends AcpError {
  readonly code = 'FORBIDDEN'
}

/** Athena error category: 1 = system, 2 = user (bad SQL, missing table…), 3 = other. */
export type AthenaErrorCategory = 1 | 2 | 3

/** The engine ran the query and reported FAILED. `isUserError` (category 2) is the caller's fault and is not retried. */
export class QueryFailedError extends AcpError {
  readonly code = 'QUERY_FAILED'
  constructor(
    message: string,
    readonly details: {
      queryExecutionId?: string
      errorCategory?: number
      errorType?: number
      stateChangeReason?: string
    } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
  get isUserError(): boolean {
    return this.details.errorCategory === 2
  }
}

export class QueryCancelledError extends AcpError {
  readonly code = 'QUERY_CANCELLED'
  constructor(
    readonly queryExecutionId: string,
    reason?: string,
  ) {
    super(`Query ${queryExecutionId} was cancelled${reason ? `: ${reason}` : ''}`)
  }
}

export class QueryTimeoutError extends AcpError {
  readonly code = 'QUERY_TIMEOUT'
  constructor(
    readonly queryExecutionId: string | undefined,
    readonly waitedMs: number,
  ) {
    super(`Query ${queryExecutionId ?? '(not started)'} did not finish within ${waitedMs} ms`)
  }
}

/** Athena answered TooManyRequestsException / ThrottlingException after our bounded retries. */
export class EngineThrottledError extends AcpError {
  readonly code = 'ENGINE_THROTTLED'
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** The engine could not be reached or answered with an unexpected error. */
export class EngineUnavailableError extends AcpError {
  readonly code = 'ENGINE_UNAVAILABLE'
}

/**
 * The engine no longer knows an execution (it was restarted, or forgot it): the execution is gone, which says
 * nothing about the query. An engine problem (502, and a stale entry may answer instead), never a user error.
 */
export class ExecutionGoneError extends EngineUnavailableError {
  constructor(
    readonly queryExecutionId: string,
    options?: { cause?: unknown },
  ) {
    super(`Athena no longer knows execution ${queryExecutionId} (was the engine restarted?)`, options)
  }
}

/**
 * The engine did not answer in time: an SDK call past its request timeout, or a request past SYNC_DEADLINE_MS with no
 * execution to report (the start itself hung). Worth retrying: the computation, if any, goes on.
 */
export class EngineTimeoutError extends AcpError {
  readonly code = 'ENGINE_TIMEOUT'
  constructor(
    message: string,
    /** A few seconds: long enough for a stall to pass or the computation to record its execution. */
    readonly retryAfterSeconds = 5,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** A result over MAX_RESULT_ROWS or MAX_RESULT_BYTES; `queryExecutionId` is the execution that produced it. */
export class ResultTooLargeError extends AcpError {
  readonly code = 'RESULT_TOO_LARGE'
  constructor(
    message: string,
    readonly limit: { rows?: number; bytes?: number },
    readonly queryExecutionId?: string,
  ) {
    super(message)
  }
}

/** A tenant spent its daily scan budget and there is no stale result to answer with (429 + Retry-After). */
export class BudgetExceededError extends AcpError {
  readonly code = 'BUDGET_EXCEEDED'
  constructor(
    message: string,
    /** Seconds until the budget's day ends (UTC midnight). */
    readonly retryAfterSeconds: number,
  ) {
    super(message)
  }
}

/** Invalid configuration: the message names the variable, file or field. */
export class ConfigError extends AcpError {
  readonly code = 'CONFIG'
}

/** The message of anything thrown (an Error's message, else its string form). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Engine trouble that a stale entry may paper over (stale-if-error); user errors are never hidden behind old data. */
export function isDegradableError(err: unknown): boolean {
  return (
    err instanceof EngineThrottledError ||
    err instanceof EngineUnavailableError ||
    err instanceof EngineTimeoutError ||
    err instanceof QueryTimeoutError ||
    err instanceof QueryCancelledError ||
    (err instanceof QueryFailedError && !err.isUserError)
  )
}

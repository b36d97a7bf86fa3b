import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import {
  AcpError,
  BudgetExceededError,
  EngineThrottledError,
  EngineTimeoutError,
  type ErrorCode,
  type FieldIssue,
  QueryFailedError,
  ValidationError,
} from '../errors.ts'
import type { AppEnv } from './app-env.ts'
import type { RequestGuard } from './request-guard.ts'

/** An RFC 9457 problem document. */
export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  instance?: string
  errors?: FieldIssue[]
  [extension: string]: unknown
}

const PROBLEM_TYPE = 'urn:athena-cache-proxy:problem:'

const BY_CODE: Record<ErrorCode, { status: number; slug: string; title: string }> = {
  VALIDATION: { status: 400, slug: 'invalid-parameters', title: 'Invalid request parameters' },
  UNKNOWN_QUERY: { status: 404, slug: 'unknown-query', title: 'Unknown query' },
  NOT_FOUND: { status: 404, slug: 'not-found', title: 'Not found' },
  NOT_ACCEPTABLE: { status: 406, slug: 'not-acceptable', title: 'Not acceptable' },
  UNAUTHORIZED: { status: 401, slug: 'missing-api-key', title: 'API key required' },
  FORBIDDEN: { status: 403, slug: 'forbidden', title: 'Forbidden' },
  CONFLICT: { status: 409, slug: 'conflict', title: 'Conflict' },
  QUERY_FAILED: { status: 502, slug: 'query-failed', title: 'The query engine failed' },
  QUERY_CANCELLED: { status: 502, slug: 'query-cancelled', title: 'The query was cancelled' },
  QUERY_TIMEOUT: { status: 504, slug: 'query-timeout', title: 'The query did not finish in time' },
  ENGINE_THROTTLED: {
    status: 503,
    slug: 'engine-throttled',
    title: 'The query engine is throttling requests',
  },
  ENGINE_UNAVAILABLE: { status: 502, slug: 'engine-unavailable', title: 'The query engine is unavailable' },
  ENGINE_TIMEOUT: { status: 504, slug: 'engine-timeout', title: 'The query engine did not answer in time' },
  RESULT_TOO_LARGE: { status: 413, slug: 'result-too-large', title: 'The result is too large' },
  BUDGET_EXCEEDED: { status: 429, slug: 'budget-exceeded', title: "The tenant's daily scan budget is spent" },
  CACHE_UNAVAILABLE: { status: 503, slug: 'cache-unavailable', title: 'The cache is unavailable' },
  CONFIG: { status: 500, slug: 'configuration', title: 'Service misconfigured' },
}

/** Builds a problem document with our type URI. */
export function problem(
  status: number,
  slug: string,
  title: string,
  detail: string,
  extra: Partial<Problem> = {},
): Problem {
  return { type: `${PROBLEM_TYPE}${slug}`, title, status, detail, ...extra }
}

/** Maps any thrown value to a problem document and extra headers. Unknown errors become an opaque 500. */
export function toProblem(err: unknown): { problem: Problem; headers: Record<string, string> } {
  if (err instanceof AcpError) {
    const meta = BY_CODE[err.code]
    let { status, slug, title } = meta
    const headers: Record<string, string> = {}
    const extra: Partial<Problem> = {}
    if (err instanceof ValidationError) extra.errors = err.issues
    if (err instanceof QueryFailedError) {
      if (err.isUserError) {
        status = 422
        slug = 'query-rejected'
        title = 'The query engine rejected the query'
      }
      if (err.details.queryExecutionId) extra.queryExecutionId = err.details.queryExecutionId
      if (err.details.errorCategory !== undefined) extra.errorCategory = err.details.errorCategory
    }
    if (err instanceof EngineThrottledError || err instanceof EngineTimeoutError)
      headers['Retry-After'] = String(err.retryAfterSeconds)
    if (err.code === 'CACHE_UNAVAILABLE') headers['Retry-After'] = '1'
    if (err instanceof BudgetExceededError) headers['Retry-After'] = String(err.retryAfterSeconds)
    return { problem: problem(status, slug, title, err.message, extra), headers }
  }
  if (err instanceof HTTPException) {
    return {
      problem: problem(err.status, 'http', err.message || 'Request error', err.message || 'Request error'),
      headers: {},
    }
  }
  return {
    problem: problem(500, 'internal', 'Internal error', 'An unexpected error occurred; it has been logged.'),
    headers: {},
  }
}

/** Writes a problem document as `application/problem+json`. */
export function problemResponse(c: Context, p: Problem, headers: Record<string, string> = {}): Response {
  return c.body(JSON.stringify(p), p.status as ContentfulStatusCode, {
    'Content-Type': 'application/problem+json',
    'Cache-Control': 'no-store',
    ...headers,
  })
}

/**
 * The app's single error handler (`app.onError`): the request guard's answer, the same as the Node fast path's
 * (request-guard.ts), with the result being served when the failure came from serving it.
 */
export function errorHandler(guard: Pick<RequestGuard, 'answer'>) {
  return (err: Error, c: Context<AppEnv>): Response => {
    const answer = guard.answer(err, c.req.path, c.get('read'))
    return c.body(answer.body, answer.status as ContentfulStatusCode, answer.headers)
  }
}

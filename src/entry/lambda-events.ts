import type { LambdaEvent } from 'hono/aws-lambda'
import { type Problem, problem } from '../http/problem.ts'
import { type ProblemAnswer, problemAnswer } from '../http/request-guard.ts'
import { isOperationEvent } from '../prewarm/operations.ts'

/** What an invocation carries: a request (API Gateway REST or HTTP API, ALB, function URL), an operation, or neither. */
export type ClassifiedEvent =
  | { kind: 'http'; event: LambdaEvent; method: string }
  | { kind: 'operation'; event: { action: string } }
  | { kind: 'invalid'; message: string }

type Fields = Record<string, unknown>

const isObject = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v)

/** The HTTP method of a request event (REST v1 and ALB, HTTP API v2 and function URLs, VPC Lattice v2), if it is one. */
function methodOf(event: Fields): string | undefined {
  if (typeof event.httpMethod === 'string') return event.httpMethod
  const context = isObject(event.requestContext) ? event.requestContext : undefined
  if (context && isObject(context.http) && typeof context.http.method === 'string') return context.http.method
  if (context && 'serviceArn' in context && typeof event.method === 'string') return event.method
  return undefined
}

/**
 * Sorts an invocation's event. Anything that is neither a request nor an `{"action": …}` object (a string, null, an
 * array, some other service's event) is `invalid`: answered `{ok: false}`, never thrown, since a throw only makes an
 * asynchronous invoker retry an event that can never succeed.
 */
export function classifyEvent(event: unknown): ClassifiedEvent {
  if (!isObject(event))
    return {
      kind: 'invalid',
      message: `The event is ${event === null ? 'null' : Array.isArray(event) ? 'an array' : `a ${typeof event}`}: expected an API Gateway request or {"action": "prewarm" | "invalidate", …}`,
    }
  if (isOperationEvent(event)) return { kind: 'operation', event }
  const method = methodOf(event)
  if (method !== undefined) return { kind: 'http', event: event as unknown as LambdaEvent, method }
  return {
    kind: 'invalid',
    message: 'The event is neither an API Gateway request nor {"action": "prewarm" | "invalidate", …}',
  }
}

const malformed = (detail: string): Problem => problem(400, 'malformed-request', 'Malformed request', detail)

/**
 * A request event the HTTP adapter would refuse with a bare text answer (or not at all), as a problem: a body marked
 * base64 that is not, a body on a GET or HEAD (a fetch Request cannot carry one), a body that is not a string.
 */
export function requestEventProblem(event: LambdaEvent, method: string): Problem | undefined {
  const { body, isBase64Encoded } = event as unknown as { body?: unknown; isBase64Encoded?: unknown }
  if (body === undefined || body === null || body === '') return undefined
  if (typeof body !== 'string') return malformed('The request body must be a string')
  const upper = method.toUpperCase()
  if (upper === 'GET' || upper === 'HEAD') return malformed(`A ${upper} request carries no body`)
  if (isBase64Encoded === true) {
    try {
      atob(body)
    } catch {
      return malformed('The request body is marked base64-encoded but is not valid base64')
    }
  }
  return undefined
}

/** An API Gateway / ALB / function URL result carrying a problem document. */
export function problemResult(answer: ProblemAnswer): {
  statusCode: number
  headers: Record<string, string>
  body: string
  isBase64Encoded: false
} {
  return { statusCode: answer.status, headers: answer.headers, body: answer.body, isBase64Encoded: false }
}

/** A request event's problem as a result. */
export function problemEventResult(p: Problem, path: unknown): ReturnType<typeof problemResult> {
  return problemResult(problemAnswer(typeof path === 'string' ? { ...p, instance: path } : p))
}

/**
 * The app answers JSON or problem+json only: a `text/plain` result can only be the adapter's own refusal of an event
 * it could not turn into a Request (a header value with a control character, …). Rewritten as a problem.
 */
export function adapterRefusal(result: unknown): Problem | undefined {
  if (!isObject(result) || typeof result.statusCode !== 'number') return undefined
  const headers: Fields = isObject(result.headers) ? result.headers : {}
  const multi: Fields = isObject(result.multiValueHeaders) ? result.multiValueHeaders : {}
  const type = Object.entries({ ...multi, ...headers }).find(([k]) => k.toLowerCase() === 'content-type')?.[1]
  const value = Array.isArray(type) ? type[0] : type
  if (typeof value !== 'string' || !value.startsWith('text/plain')) return undefined
  return result.statusCode < 500
    ? malformed('The request event could not be read as an HTTP request')
    : problem(500, 'internal', 'Internal error', 'An unexpected error occurred; it has been logged.')
}

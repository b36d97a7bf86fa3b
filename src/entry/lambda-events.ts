import type { LambdaEvent } from 'hono/aws-lambda'
import { type Problem, problem } from '../http/problem.ts'
import { type ProblemAnswer, problemAnswer } from '../http/request-guard.ts'
import { isLandingEvent, type LandingEvent } from '../prewarm/landing-events.ts'
import { isOperationEvent } from '../prewarm/operations.ts'

/** What an invocation carries: a request (API Gateway REST or HTTP API, ALB, function URL), an operation, or neither. */
export type ClassifiedEvent =
  | { kind: 'http'; event: LambdaEvent; method: string }
  | { kind: 'operation'; event: { action: string } }
  | { kind: 'landing'; event: LandingEvent }
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
 * Sorts an invocation's event. Anything that is neither a request, an `{"action": …}` object nor an EventBridge event
 * of S3 or Glue (a string, null, an array, some other service's event) is `invalid`: answered `{ok: false}`, never thrown, since a throw only makes an
 * asynchronous invoker retry an event that can never succeed.
 */
export function classifyEvent(event: unknown): ClassifiedEvent {
  if (!isObject(event))
    return {
      kind: 'invalid',
      message: `The event is ${event === null ? 'null' : Array.isArray(event) ? 'an array' : `a ${typeof event}`}: expected an API Gateway request, {"action": "prewarm" | "invalidate", …} or an S3 or Glue EventBridge event`,
    }
  if (isOperationEvent(event)) return { kind: 'operation', event }
  if (isLandingEvent(event)) return { kind: 'landing', event }
  const method = methodOf(event)
  if (method !== undefined) return { kind: 'http', event: event as unknown as LambdaEvent, method }
  return {
    kind: 'invalid',
    message:
      'The event is neither an API Gateway request, {"action": "prewarm" | "invalidate", …} nor an S3 or Glue EventBridge event',
  }
}

const malformed = (detail: string): Problem => problem(400, 'malformed-request', 'Malformed request', detail)

/** The opaque 500 of a failure that is not the request's fault (the same document as the app's). */
export const internalProblem = (): Problem =>
  problem(500, 'internal', 'Internal error', 'An unexpected error occurred; it has been logged.')

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

/** A request event's problem as an answer, its `instance` the request's path. */
export function problemEventAnswer(p: Problem, path: unknown): ProblemAnswer {
  return problemAnswer(typeof path === 'string' ? { ...p, instance: path } : p)
}

/** A request event's problem as a result. */
export function problemEventResult(p: Problem, path: unknown): ReturnType<typeof problemResult> {
  return problemResult(problemEventAnswer(p, path))
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
    : internalProblem()
}

/** The path a request event names (REST and ALB `path`, HTTP API and function URL `rawPath`), for `instance`. */
export function requestPath(event: LambdaEvent): string | undefined {
  const { path, rawPath } = event as unknown as { path?: unknown; rawPath?: unknown }
  const found = rawPath ?? path
  return typeof found === 'string' ? found : undefined
}

/**
 * Lambda's limit on a synchronous (buffered) invocation's response payload, in bytes: the handler's result as the
 * runtime serializes it (`JSON.stringify`, so the API Gateway envelope and a compressed body's base64 count). A
 * larger result fails the invocation and API Gateway answers 502. (A streamed response may be up to 200 MB.)
 */
export const BUFFERED_RESPONSE_LIMIT_BYTES = 6 * 1024 * 1024

/** JSON escapes make one UTF-16 unit at most 6 bytes (`\u001f`); under this bound nothing needs measuring. */
const MAX_BYTES_PER_CHAR = 6

/** The size of a result as the runtime sends it, when it exceeds the limit (undefined: it fits). */
function payloadBytesOver(result: Fields, limit: number): number | undefined {
  const body = typeof result.body === 'string' ? result.body : ''
  // Most answers are far under the limit: bound them by the body's length rather than serialize the body twice.
  const envelope = Buffer.byteLength(JSON.stringify({ ...result, body: '' }))
  if (envelope + body.length * MAX_BYTES_PER_CHAR <= limit) return undefined
  const bytes = Buffer.byteLength(JSON.stringify(result))
  return bytes > limit ? bytes : undefined
}

const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1)

const headerOf = (result: Fields, name: string): string | undefined => {
  for (const key of ['headers', 'multiValueHeaders']) {
    const headers = result[key]
    if (!isObject(headers)) continue
    const value = Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1]
    const first = Array.isArray(value) ? value[0] : value
    if (typeof first === 'string') return first
  }
  return undefined
}

/** The CORS headers of a result (`headers` or, for REST events with multi-value headers, `multiValueHeaders`). */
function corsHeadersOf(result: Fields): Record<string, string> {
  const cors: Record<string, string> = {}
  for (const key of ['multiValueHeaders', 'headers']) {
    const headers = result[key]
    if (!isObject(headers)) continue
    for (const [name, value] of Object.entries(headers)) {
      if (!name.toLowerCase().startsWith('access-control-')) continue
      const joined = Array.isArray(value) ? value.join(', ') : value
      if (typeof joined === 'string') cors[name] = joined
    }
  }
  return cors
}

/**
 * A result the buffered handler cannot return — over BUFFERED_RESPONSE_LIMIT_BYTES — as a 413 problem saying how
 * big it was and what to do instead (with the size, for the log); undefined when the result fits. The original CORS headers are kept, so that a
 * browser can read the 413.
 */
export function oversizeResult(
  result: unknown,
  path: string | undefined,
  limit = BUFFERED_RESPONSE_LIMIT_BYTES,
): { result: ReturnType<typeof problemResult>; bytes: number } | undefined {
  if (!isObject(result)) return undefined
  const bytes = payloadBytesOver(result, limit)
  if (bytes === undefined) return undefined
  const gzipped = headerOf(result, 'content-encoding')?.toLowerCase() === 'gzip'
  const remedies = [
    ...(gzipped ? [] : ['ask with Accept-Encoding: gzip']),
    'narrow the parameters (a shorter date range, a coarser period)',
    "or use the API's streaming integration, which is not bound by it",
  ]
  const p = problem(
    413,
    'response-too-large',
    'The response is too large for a buffered Lambda response',
    `The response would be ${bytes} bytes (${mib(bytes)} MiB) as a Lambda payload` +
      `${gzipped ? ' (gzip, base64-encoded)' : ''}, over the ${limit} bytes (${mib(limit)} MiB) Lambda allows a ` +
      `buffered response: ${remedies.join(', ')}.`,
    { responseBytes: bytes, limitBytes: limit, ...(path === undefined ? {} : { instance: path }) },
  )
  // API Gateway refuses a proxy result with members of its own: the size goes back beside the result, for the log.
  return { result: problemResult(problemAnswer(p, corsHeadersOf(result))), bytes }
}

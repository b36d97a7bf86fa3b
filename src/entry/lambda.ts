import { Hono } from 'hono'
import { handle, type LambdaContext, type LambdaEvent } from 'hono/aws-lambda'
import { createApp, requestGuardOf } from '../app.ts'
import { buildDeps, type Deps } from '../build-deps.ts'
import { LAMBDA_MAX_RESULT_BYTES, LAMBDA_REQUIRED_ENV } from '../config/load-config.ts'
import { loadSettings } from '../config/settings.ts'
import { AcpError } from '../errors.ts'
import type { AppEnv } from '../http/app-env.ts'
import type { RequestGuard } from '../http/request-guard.ts'
import { createLogger } from '../logger.ts'
import type { ResponseStream, StreamingHandler } from './awslambda.d.ts'
import { tenantFromAuthorizer } from './lambda-authorizer.ts'
import {
  adapterRefusal,
  type ClassifiedEvent,
  classifyEvent,
  internalProblem,
  oversizeResult,
  problemEventAnswer,
  problemEventResult,
  problemResult,
  requestEventProblem,
  requestPath,
} from './lambda-events.ts'
import { streamResponse, writeAnswer } from './lambda-stream.ts'

/** What Hono's Lambda adapter hands the app beside the Request (`c.env`). */
interface AdapterEnv {
  event: LambdaEvent
  requestContext: unknown
  lambdaContext: LambdaContext | undefined
}

interface Handlers {
  deps: Deps
  guard: RequestGuard
  /** The buffered handler's adapter: event in, API Gateway result out. */
  http: ReturnType<typeof handle>
  /** The app itself, for the streaming handler (which writes the Response as it comes). */
  app: Hono<AppEnv>
  /** An event as the buffered adapter reads it: the Request and env it would give the app, or its refusal. */
  readRequest: (event: LambdaEvent, context: LambdaContext) => Promise<ReadRequest>
}

type ReadRequest = { request: Request; env: AdapterEnv } | { refused: unknown }

// Built once per container on the first invocation and reused while the container is warm.
let handlers: Promise<Handlers> | undefined

async function init(): Promise<Handlers> {
  // Fail the first invocation loudly rather than serve from a per-container memory cache or the wrong workgroup.
  const settings = await loadSettings(process.env, {
    defaultEngine: 'athena',
    defaultMaxResultBytes: LAMBDA_MAX_RESULT_BYTES,
    requiredEnv: LAMBDA_REQUIRED_ENV,
  })
  const logger = createLogger({ level: settings.logLevel, sync: true })
  // Nothing runs between invocations: usage counters are flushed at the end of each one instead of on a timer.
  const deps = await buildDeps(settings, {
    logger,
    logSync: true,
    background: 'detach',
    usageFlushMs: 0,
    // CloudWatch takes the metrics from the function's log lines (EMF), published at the end of each invocation.
    metrics: 'emf',
  })
  // The authorizer's context is trusted here only: on Lambda, API Gateway writes it after authenticating the caller.
  const field = settings.tenantAuthorizerField
  const app = createApp(field ? { ...deps, tenantFromRequest: tenantFromAuthorizer(field) } : deps)
  return {
    deps,
    guard: requestGuardOf(deps),
    http: handle(app as unknown as Hono),
    app,
    readRequest: requestReader(),
  }
}

const container = (): Promise<Handlers> => {
  handlers ??= init().catch((err: unknown) => {
    handlers = undefined
    throw err
  })
  return handlers
}

/**
 * Hono's buffered adapter used for its event → Request conversion alone (an app that keeps the Request and answers
 * nothing), so that both handlers read every kind of request event — REST, HTTP API, ALB, function URL, VPC Lattice
 * — identically, and refuse the same ones: an event it cannot convert never reaches the app, and its result is the
 * refusal `adapterRefusal` recognises.
 */
function requestReader(): Handlers['readRequest'] {
  const read = new WeakMap<object, { request: Request; env: AdapterEnv }>()
  const capture = new Hono<{ Bindings: AdapterEnv }>().all('*', (c) => {
    read.set(c.env.event, { request: c.req.raw, env: c.env })
    return c.body(null, 204)
  })
  const convert = handle(capture)
  return async (event, context) => {
    const refusal = await convert(event, context)
    const found = read.get(event)
    read.delete(event)
    return found ?? { refused: refusal }
  }
}

/** What an operation event (prewarm, invalidate) answers: the report, or the error as a problem-like object. */
export type OperationResult =
  | { ok: true; result: unknown }
  | { ok: false; error: { code: string; message: string; details?: unknown } }

/**
 * Lambda entry point for buffered invocations (`index.handler`): API Gateway REST/HTTP API events go to the Hono
 * app; `{"action": …}` events (EventBridge Scheduler prewarm, data-pipeline invalidations) and EventBridge's S3 and
 * Glue events (data landed: prewarm/landing.ts) to the operations. A
 * malformed event is answered — a problem+json for a request, `{ok: false}` for anything else — and never thrown:
 * only a configuration that cannot start, and unexpected failures of an operation (worth the Scheduler's retry),
 * are. A response over Lambda's 6 MB payload limit is answered 413 (lambda-events.ts `oversizeResult`), not
 * returned for Lambda to fail and API Gateway to turn into a 502.
 */
export async function handler(event: unknown, context: LambdaContext): Promise<unknown> {
  const { deps, guard, http } = await container()
  const sorted = classifyEvent(event)
  try {
    if (sorted.kind === 'operation' || sorted.kind === 'landing')
      return await operation(deps, sorted, context)
    if (sorted.kind === 'invalid') return invalidEvent(deps, sorted.message)
    const path = requestPath(sorted.event)
    const refused = requestEventProblem(sorted.event, sorted.method)
    if (refused) return problemEventResult(refused, path)
    let result: unknown
    try {
      result = await http(sorted.event, context)
    } catch (err) {
      // Past the app's own error handler (the adapter failed): the same guard's answer.
      return problemResult(guard.answer(err, path))
    }
    const adapterProblem = adapterRefusal(result)
    if (adapterProblem) return problemEventResult(adapterProblem, path)
    const oversize = oversizeResult(result, path)
    if (!oversize) return result
    deps.logger.warn({ path, bytes: oversize.bytes }, 'response over the buffered Lambda payload limit: 413')
    return oversize.result
  } finally {
    await Promise.all([deps.usage.flush(), deps.telemetry.flush()])
  }
}

/**
 * Lambda entry point for streamed invocations (`index.streamingHandler`; API Gateway REST integration with
 * `responseTransferMode: STREAM`, function URLs in RESPONSE_STREAM mode): the same answers as `handler`, written to
 * the response stream — an HTTP prelude (status, headers, cookies) then the body as it is produced, so the 6 MB limit
 * does not apply (a streamed response may be up to 200 MB, past 6 MB at a capped rate). Operation and invalid events
 * (the Scheduler invokes the same function asynchronously, and Lambda buffers a streaming function's answer then)
 * get the OperationResult JSON with no prelude.
 *
 * The stream is ended on every answered path. What `handler` throws, this rejects with, the stream left open: the
 * runtime then ends it with its error trailers and counts the invocation as failed (so the Scheduler retries), which
 * it would not if the stream had been ended first.
 */
async function streamInvocation(event: unknown, out: ResponseStream, context: LambdaContext): Promise<void> {
  const { deps, guard, app, readRequest } = await container()
  const sorted = classifyEvent(event)
  try {
    if (sorted.kind !== 'http') {
      const result =
        sorted.kind === 'invalid'
          ? invalidEvent(deps, sorted.message)
          : await operation(deps, sorted, context)
      out.setContentType('application/json')
      // write, then end: the runtime's end() takes no chunk.
      out.write(JSON.stringify(result))
      out.end()
      return
    }
    const path = requestPath(sorted.event)
    const refused = requestEventProblem(sorted.event, sorted.method)
    if (refused) return writeAnswer(out, problemEventAnswer(refused, path))
    const read = await readRequest(sorted.event, context)
    if ('refused' in read) {
      // Always a refusal it recognises (the adapter's refusals are text/plain); the 500 is only for the types.
      return writeAnswer(out, problemEventAnswer(adapterRefusal(read.refused) ?? internalProblem(), path))
    }
    let response: Response
    try {
      response = await app.fetch(read.request, read.env)
    } catch (err) {
      return writeAnswer(out, guard.answer(err, path))
    }
    try {
      await streamResponse(response, out, (err) => guard.answer(err, path))
    } catch (err) {
      deps.logger.error({ err, path }, 'response stream failed after the first byte')
      throw err
    }
  } finally {
    await Promise.all([deps.usage.flush(), deps.telemetry.flush()])
  }
}

/**
 * `index.streamingHandler`. Tagged with `awslambda.streamifyResponse` when the module is loaded, which is when the
 * runtime looks for the tag (it defines `awslambda` before loading the module); anywhere else — tests, a bundle
 * check, the CLI — there is no streamifyResponse (at most the SDK's empty `awslambda`: awslambda.d.ts) and the
 * untagged function is exported, so importing this module never fails.
 */
const runtime = globalThis.awslambda
export const streamingHandler: StreamingHandler =
  typeof runtime?.streamifyResponse === 'function'
    ? runtime.streamifyResponse(streamInvocation)
    : streamInvocation

function invalidEvent(deps: Deps, message: string): OperationResult {
  deps.logger.warn({ err: message }, 'event rejected')
  return { ok: false, error: { code: 'VALIDATION', message } }
}

async function operation(
  deps: Deps,
  sorted: Extract<ClassifiedEvent, { kind: 'operation' | 'landing' }>,
  context: LambdaContext,
): Promise<OperationResult> {
  const remaining =
    typeof context?.getRemainingTimeInMillis === 'function'
      ? () => context.getRemainingTimeInMillis()
      : undefined
  try {
    const result =
      sorted.kind === 'landing'
        ? await deps.operations.handleLanding(sorted.event, remaining)
        : await deps.operations.handleEvent(sorted.event, remaining)
    return { ok: true, result }
  } catch (err) {
    // A landing that could not be recorded is thrown, so that EventBridge invokes again: answered, it would be lost.
    if (err instanceof AcpError && !(sorted.kind === 'landing' && err.code === 'CACHE_UNAVAILABLE')) {
      // A bad event is the caller's mistake: answered, not thrown, so the Scheduler does not retry it forever.
      const what =
        sorted.kind === 'landing'
          ? { source: sorted.event.source, detailType: sorted.event['detail-type'] }
          : { action: sorted.event.action }
      deps.logger.warn({ code: err.code, err: err.message, ...what }, 'operation event rejected')
      return {
        ok: false,
        error: {
          code: err.code,
          message: err.message,
          ...('issues' in err ? { details: (err as { issues: unknown }).issues } : {}),
        },
      }
    }
    throw err
  }
}

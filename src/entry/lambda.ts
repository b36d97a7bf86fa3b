import type { Hono } from 'hono'
import { handle, type LambdaContext } from 'hono/aws-lambda'
import { createApp, requestGuardOf } from '../app.ts'
import { buildDeps, type Deps } from '../build-deps.ts'
import { LAMBDA_MAX_RESULT_BYTES, LAMBDA_REQUIRED_ENV } from '../config/load-config.ts'
import { loadSettings } from '../config/settings.ts'
import { AcpError } from '../errors.ts'
import { createLogger } from '../logger.ts'
import {
  adapterRefusal,
  classifyEvent,
  problemEventResult,
  problemResult,
  requestEventProblem,
} from './lambda-events.ts'

interface Handlers {
  deps: Deps
  http: ReturnType<typeof handle>
}

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
  const deps = await buildDeps(settings, { logger, logSync: true, background: 'detach', usageFlushMs: 0 })
  return { deps, http: handle(createApp(deps) as unknown as Hono) }
}

/** What an operation event (prewarm, invalidate) answers: the report, or the error as a problem-like object. */
export type OperationResult =
  | { ok: true; result: unknown }
  | { ok: false; error: { code: string; message: string; details?: unknown } }

/**
 * Lambda entry point (`index.handler`): API Gateway REST/HTTP API events go to the Hono app; `{"action": …}` events
 * (EventBridge Scheduler prewarm, data-pipeline invalidations) to the operations. A malformed event is answered — a
 * problem+json for a request, `{ok: false}` for anything else — and never thrown: only a configuration that cannot
 * start, and unexpected failures of an operation (worth the Scheduler's retry), are.
 */
export async function handler(event: unknown, context: LambdaContext): Promise<unknown> {
  handlers ??= init().catch((err: unknown) => {
    handlers = undefined
    throw err
  })
  const { deps, http } = await handlers
  const sorted = classifyEvent(event)
  try {
    if (sorted.kind === 'operation') return await operation(deps, sorted.event, context)
    if (sorted.kind === 'invalid') {
      deps.logger.warn({ err: sorted.message }, 'event rejected')
      return { ok: false, error: { code: 'VALIDATION', message: sorted.message } } satisfies OperationResult
    }
    const { path, rawPath } = sorted.event as { path?: unknown; rawPath?: unknown }
    const refused = requestEventProblem(sorted.event, sorted.method)
    if (refused) return problemEventResult(refused, rawPath ?? path)
    let result: unknown
    try {
      result = await http(sorted.event, context)
    } catch (err) {
      // Past the app's own error handler (the adapter failed): the same guard's answer.
      return problemResult(requestGuardOf(deps).answer(err, typeof path === 'string' ? path : undefined))
    }
    const adapterProblem = adapterRefusal(result)
    return adapterProblem ? problemEventResult(adapterProblem, rawPath ?? path) : result
  } finally {
    await deps.usage.flush()
  }
}

async function operation(
  deps: Deps,
  event: { action: string },
  context: LambdaContext,
): Promise<OperationResult> {
  try {
    const remaining =
      typeof context?.getRemainingTimeInMillis === 'function'
        ? () => context.getRemainingTimeInMillis()
        : undefined
    return { ok: true, result: await deps.operations.handleEvent(event, remaining) }
  } catch (err) {
    // A bad event is the caller's mistake: answered, not thrown, so the Scheduler does not retry it forever.
    if (err instanceof AcpError) {
      deps.logger.warn({ code: err.code, err: err.message, action: event.action }, 'operation event rejected')
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

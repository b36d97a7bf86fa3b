import { setTimeout as sleep } from 'node:timers/promises'
import type { MiddlewareHandler } from 'hono'

/**
 * Delays every answer but those of the `/_local/*` control routes by `latencyMs()` (read per request, so it can
 * change at run time). Athena calls and S3 requests pay the same delay: a benchmark comparing S3 reads of the
 * result file against GetQueryResults paging then compares like with like, as over a network.
 */
export function requestLatency(latencyMs: () => number): MiddlewareHandler {
  return async (c, next) => {
    const ms = c.req.path.startsWith('/_local/') ? 0 : latencyMs()
    if (ms > 0) await sleep(ms)
    await next()
  }
}

import type { MiddlewareHandler } from 'hono'
import type { TelemetrySink } from '../metrics/telemetry.ts'
import type { ReadResult } from '../service/read-result.ts'
import type { AppEnv } from './app-env.ts'

/** Counts a response, and the read it answered if any (the Node fast path calls `recordRead` itself). */
export function recordResponse(
  telemetry: TelemetrySink,
  status: number,
  durationMs: number,
  read: ReadResult | undefined,
): void {
  telemetry.response(status)
  if (!read) return
  telemetry.read({
    query: read.query,
    outcome: read.outcome,
    latencyMs: durationMs,
    savedBytes: read.outcome === 'HIT' || read.outcome === 'STALE' ? read.entry.dataScannedBytes : 0,
  })
}

/** The Hono middleware that times every request for the metrics; the read is what the route set in `read`. */
export function readMetricsMiddleware(telemetry: TelemetrySink): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const t0 = performance.now()
    await next()
    recordResponse(telemetry, c.res.status, performance.now() - t0, c.get('read'))
  }
}

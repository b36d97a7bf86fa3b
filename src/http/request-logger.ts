import type { MiddlewareHandler } from 'hono'
import type { Logger } from 'pino'
import type { AppEnv } from './app-env.ts'

/** One structured log line per request: route, status, cache outcome, key, duration. */
export function requestLogger(options: { logger: Logger; enabled?: boolean }): MiddlewareHandler<AppEnv> {
  const { logger } = options
  if (options.enabled === false) return (_c, next) => next()
  return async (c, next) => {
    const t0 = performance.now()
    await next()
    const read = c.get('read')
    logger.info(
      {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        durationMs: Math.round((performance.now() - t0) * 100) / 100,
        ...(read
          ? {
              cache: read.outcome,
              query: read.query,
              key: read.key,
              cacheMs: Math.round(read.timings.cacheMs * 100) / 100,
              ...(read.timings.engineMs !== undefined ? { engineMs: Math.round(read.timings.engineMs) } : {}),
            }
          : {}),
      },
      'request',
    )
  }
}

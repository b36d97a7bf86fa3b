import type { Context, Hono } from 'hono'
import { z } from 'zod'
import { type FieldIssue, ValidationError } from '../errors.ts'
import { type ReadSeries, SERIES_RETAIN_MINUTES } from '../metrics/read-series.ts'
import { INVALIDATION_LOG_SIZE } from '../prewarm/invalidation-log.ts'
import type { Operations } from '../prewarm/operations.ts'
import type { AppEnv } from './app-env.ts'

/** Invalidations answered when the request names no `limit`. */
const DEFAULT_INVALIDATIONS = 20
/** Minutes of the series answered when the request names no `minutes`. */
const DEFAULT_SERIES_MINUTES = 60

/** A query parameter that must be a whole number from 1 to `max` (`fallback` when absent). */
function wholeNumber(name: string, raw: string | undefined, max: number, fallback: number): number {
  if (raw === undefined) return fallback
  const parsed = z
    .string()
    .regex(/^[0-9]{1,6}$/)
    .transform(Number)
    .pipe(z.number().int().min(1).max(max))
    .safeParse(raw)
  if (parsed.success) return parsed.data
  throw new ValidationError(`${name} '${raw.slice(0, 32)}' is not a whole number from 1 to ${max}`, [
    { name, message: `must be a whole number from 1 to ${max}` },
  ])
}

/**
 * The request's query parameters, each given at most once and each one of `allowed`; anything else is a
 * ValidationError naming every offending parameter.
 */
function queryParameters<K extends string>(
  c: Context<AppEnv>,
  allowed: readonly K[],
): Partial<Record<K, string>> {
  const issues: FieldIssue[] = []
  const out: Partial<Record<K, string>> = {}
  for (const [name, values] of Object.entries(c.req.queries())) {
    if (!(allowed as readonly string[]).includes(name))
      issues.push({
        name,
        message:
          allowed.length > 0 ? `unknown parameter (known: ${allowed.join(', ')})` : 'unknown parameter',
      })
    else if (values.length !== 1) issues.push({ name, message: 'must be given once' })
    else out[name as K] = values[0]
  }
  if (issues.length > 0)
    throw new ValidationError(`Invalid query parameters: ${issues.map((i) => i.name).join(', ')}`, issues)
  return out
}

/** Reports that change with every call and are for operators only: never kept by a browser or a shared cache. */
const NO_STORE = { 'Cache-Control': 'no-store' }

/**
 * The operator page's read routes: the prewarm set with its freshness, the schedules, and the recent invalidations.
 * The caller guards `/admin/*` with the admin key before registering them.
 */
export function registerAdminRoutes(
  app: Hono<AppEnv>,
  deps: { operations: Operations; series?: ReadSeries | undefined },
): void {
  const series = deps.series
  if (series)
    app.get('/admin/stats/series', async (c) => {
      const { minutes } = queryParameters(c, ['minutes'])
      return c.json(
        await series.series(wholeNumber('minutes', minutes, SERIES_RETAIN_MINUTES, DEFAULT_SERIES_MINUTES)),
        200,
        NO_STORE,
      )
    })
  app.get('/admin/entries', async (c) => {
    queryParameters(c, [])
    return c.json(await deps.operations.entries(), 200, NO_STORE)
  })
  app.get('/admin/schedules', async (c) => {
    queryParameters(c, [])
    return c.json(await deps.operations.scheduleReport(), 200, NO_STORE)
  })
  app.get('/admin/invalidations', async (c) => {
    const { limit } = queryParameters(c, ['limit'])
    const count = wholeNumber('limit', limit, INVALIDATION_LOG_SIZE, DEFAULT_INVALIDATIONS)
    return c.json(await deps.operations.invalidations(count), 200, NO_STORE)
  })
}

import { Hono } from 'hono'
import type { Logger } from 'pino'
import { CacheHealth } from './cache/cache-health.ts'
import type { CacheStore } from './cache/cache-store.ts'
import type { GuardedCacheStore } from './cache/guarded-cache-store.ts'
import type { PlainBodies } from './cache/plain-bodies.ts'
import type { QueryEngineMode } from './config/load-config.ts'
import type { Tenants } from './config/tenants.ts'
import { ValidationError } from './errors.ts'
import type { AccessLog } from './http/access-log.ts'
import { registerAdminRoutes } from './http/admin-routes.ts'
import {
  API_KEY_HEADER,
  adminKeyAuth,
  KeyRing,
  readKeyAuth,
  type TenantFromRequest,
} from './http/api-key-auth.ts'
import type { AppEnv } from './http/app-env.ts'
import { corsMiddleware } from './http/cors.ts'
import { FORMAT_PARAMETER, negotiateFormat } from './http/formats.ts'
import { buildOpenApi } from './http/openapi.ts'
import { errorHandler, problem, problemResponse } from './http/problem.ts'
import { readMetricsMiddleware } from './http/read-metrics.ts'
import { RequestGuard } from './http/request-guard.ts'
import { pendingResponse, resultHeaderPolicy, resultResponse } from './http/result-response.ts'
import { honoPath, QUERY_ROUTES, READ_KEY_PATHS } from './http/routes.ts'
import { loadUiBundle, registerUiRoutes } from './http/ui-routes.ts'
import type { PrometheusMetrics } from './metrics/prometheus.ts'
import type { ReadSeries } from './metrics/read-series.ts'
import type { TelemetrySink } from './metrics/telemetry.ts'
import { isLandingEvent } from './prewarm/landing-events.ts'
import type { Operations } from './prewarm/operations.ts'
import { parseInvalidateRequest } from './service/invalidation.ts'
import type { QueryService } from './service/query-service.ts'

/** Everything the HTTP app needs, built once by `buildDeps`. */
export interface AppDeps {
  service: QueryService
  store: CacheStore | GuardedCacheStore
  logger: Logger
  engine: QueryEngineMode
  apiKeys: readonly string[]
  adminApiKeys: readonly string[]
  /** tenants.yaml: their keys read too, each bound to its tenant's values and entries. */
  tenants?: Tenants | undefined
  /**
   * Names a request's tenant before its key is looked at (the Lambda entry point: an API Gateway authorizer's
   * context); a tenant so named needs no key. Only an entry point that knows where the name comes from supplies it.
   */
  tenantFromRequest?: TenantFromRequest | undefined
  /** One line per request; undefined = request logging off. */
  accessLog: AccessLog | undefined
  /** Invalidation, prewarm and statistics (the admin routes). */
  operations: Operations
  /** Inflated bodies for clients without gzip, shared by the app and the Node fast path. */
  plainBodies?: PlainBodies | undefined
  /** Allowed browser origins (comma-separated, or `*`); undefined = no CORS. */
  corsOrigin?: string | undefined
  now?: () => number
  /** The cache's health check for `/health` (default: a ping bounded by one second, no probe write). */
  health?: CacheHealth | undefined
  /** The built pages (dist/ui, Node server only): `/`, `/admin/`, `/ui/*`; undefined = no page routes. */
  uiDir?: string | undefined
  /** Where each response and read is counted (metrics, the operator page's series). */
  telemetry?: TelemetrySink | undefined
  /** The per-minute read figures of `GET /admin/stats/series`. */
  series?: ReadSeries | undefined
  /** `GET /metrics` (behind the admin key) when set: the Prometheus text format. */
  prometheus?: PrometheusMetrics | undefined
}

const DEFAULT_HEALTH_TIMEOUT_MS = 1_000

/** A JSON request body; an empty body is `{}`, anything unparsable a 400. */
async function jsonBody(c: import('hono').Context<AppEnv>): Promise<unknown> {
  const text = await c.req.text()
  if (text.trim() === '') return {}
  try {
    return JSON.parse(text) as unknown
  } catch (err) {
    throw new ValidationError(`The request body is not valid JSON: ${(err as Error).message}`, [
      { name: 'body', message: 'must be a JSON object' },
    ])
  }
}

/** The request guard of a deployment (request-guard.ts): the Hono app and the Node fast path each hold one. */
export function requestGuardOf(deps: Pick<AppDeps, 'logger' | 'service'>): RequestGuard {
  return new RequestGuard({
    logger: deps.logger,
    discardDamaged: (key, reason) => deps.service.discardDamaged(key, reason),
  })
}

/**
 * Builds the Hono app. The only I/O here is reading the built pages of `uiDir` once; tests call `app.request()` on
 * it directly.
 */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const now = deps.now ?? Date.now
  const app = new Hono<AppEnv>()
  // Who may cache a result is a property of the deployment, not of a hit: decided here, once. Every tenant has a key
  // (tenants.yaml requires one), so with tenants results are private however a request names its tenant.
  const readKeys = new KeyRing(deps.apiKeys, deps.tenants)
  const resultHeaders = resultHeaderPolicy({ keyed: !readKeys.empty, plainBodies: deps.plainBodies })
  const openApi = JSON.stringify(buildOpenApi(deps.service.catalog, { apiKeysRequired: !readKeys.empty }))
  const queryList = JSON.stringify({
    queries: [...deps.service.catalog.queries.values()].map((q) => ({
      name: q.name,
      description: q.description,
      parameters: q.parameters.map((p) => ({
        name: p.name,
        type: p.type,
        required: p.required,
        ...(p.default !== undefined
          ? {
              default:
                typeof p.default === 'object' ? `${p.default.from} + ${p.default.days} days` : p.default,
            }
          : {}),
        ...(p.type === 'enum' ? { values: p.values } : {}),
      })),
      ttlSeconds: q.ttlSeconds,
    })),
  })

  app.onError(errorHandler(requestGuardOf(deps)))
  app.notFound((c) =>
    problemResponse(c, {
      ...problem(404, 'not-found', 'Not found', `No route for ${c.req.method} ${c.req.path}`),
      instance: c.req.path,
    }),
  )
  // Middleware that would do nothing is not registered at all: every layer costs a cache hit a little.
  if (deps.telemetry) app.use(readMetricsMiddleware(deps.telemetry))
  if (deps.accessLog) app.use(deps.accessLog.middleware())
  // Before the key checks: a browser's preflight carries no API key. Same headers as API Gateway's OPTIONS mock.
  if (deps.corsOrigin) app.use(...corsMiddleware(deps.corsOrigin))

  const health = deps.health ?? new CacheHealth({ store: deps.store, timeoutMs: DEFAULT_HEALTH_TIMEOUT_MS })
  app.get('/health', async (c) => {
    const { status, reason } = await health.check()
    return c.json({ status, cache: deps.store.kind, engine: deps.engine, ...(reason ? { reason } : {}) })
  })
  app.get('/openapi.json', (c) => c.body(openApi, 200, { 'Content-Type': 'application/json' }))
  // Before every key check: the pages are public (the admin calls they make carry the key).
  if (deps.uiDir !== undefined) registerUiRoutes(app, loadUiBundle(deps.uiDir))

  // A tenant named by the request (an authorizer) is checked even when no key is configured: an unknown name is a 403.
  const readAuthOptions = { tenantFromRequest: deps.tenantFromRequest, tenants: deps.tenants }
  const readsChecked = !readKeys.empty || deps.tenantFromRequest !== undefined
  if (readsChecked) {
    const auth = readKeyAuth(readKeys, readAuthOptions)
    for (const path of READ_KEY_PATHS) app.use(path, auth)
  }

  // The catalog changes only with a deployment: revalidated on each use, and private when reading needs a key.
  const queryListHeaders = {
    'Content-Type': 'application/json',
    'Cache-Control': readKeys.empty ? 'public, no-cache' : 'private, no-cache',
    Vary: readKeys.empty ? 'Accept-Encoding' : `Accept-Encoding, ${API_KEY_HEADER}`,
  }
  app.get('/queries', (c) => c.body(queryList, 200, queryListHeaders))

  const readQuery = (name: string) => async (c: import('hono').Context<AppEnv>) => {
    const url = c.req.url
    const q = url.indexOf('?')
    const json = deps.service.resolveRequest(
      name,
      q < 0 ? '' : url.slice(q + 1),
      () => c.req.queries(),
      c.get('tenant'),
    )
    const format = negotiateFormat(c.req.query(FORMAT_PARAMETER), c.req.header('accept'))
    const resolved = deps.service.inFormat(json, format)
    const prefer = c.req.header('prefer')
    const read = await deps.service.readResolved(resolved, {
      preferAsync: prefer !== undefined && /\brespond-async\b/i.test(prefer),
    })
    if (read.kind === 'pending') return pendingResponse(c, read)
    c.set('read', read)
    return resultResponse(c, read, now(), resultHeaders)
  }
  for (const route of QUERY_ROUTES) {
    if (route.kind === 'fixed') app.get(honoPath(route), readQuery(route.query))
    else app.get(honoPath(route), (c) => readQuery(c.req.param('name') ?? '')(c))
  }
  // Read keys (a tenant's sees its own executions only) and admin keys (every execution).
  const adminKeys = new KeyRing(deps.adminApiKeys)
  const executionKeys = new KeyRing([...deps.apiKeys, ...deps.adminApiKeys], deps.tenants)
  // Open when reads are open (as the reads that answered 202 were): then only a named tenant is checked.
  if (readsChecked)
    app.use('/executions/*', readKeyAuth(readKeys.empty ? readKeys : executionKeys, readAuthOptions))
  app.get('/executions/:id', async (c) => {
    const presented = c.req.header(API_KEY_HEADER)
    const admin = !adminKeys.empty && adminKeys.check(presented) === 'ok'
    const tenant = c.get('tenant')
    const read = await deps.service.execution(c.req.param('id'), {
      admin,
      ...(tenant ? { tenant: tenant.id } : {}),
    })
    if (read.kind === 'pending') return pendingResponse(c, read)
    c.set('read', read)
    return resultResponse(c, read, now(), resultHeaders)
  })
  app.delete('/executions/:id', adminKeyAuth({ keys: deps.adminApiKeys }), async (c) =>
    c.json(await deps.service.stopExecution(c.req.param('id'))),
  )

  const admin = adminKeyAuth({ keys: deps.adminApiKeys })
  app.use('/cache/*', admin)
  app.use('/admin/*', admin)
  app.post('/cache/invalidate', async (c) =>
    c.json(await deps.operations.invalidate(parseInvalidateRequest(await jsonBody(c)))),
  )
  app.post('/admin/prewarm', async (c) => {
    const body = await jsonBody(c)
    const schedule =
      typeof body === 'object' && body !== null && 'schedule' in body
        ? (body as { schedule: unknown }).schedule
        : undefined
    if (schedule !== undefined && typeof schedule !== 'string')
      throw new ValidationError('"schedule" must be a schedule name', [
        { name: 'schedule', message: 'must be a string' },
      ])
    return c.json(await deps.operations.prewarm({ trigger: 'admin', ...(schedule ? { schedule } : {}) }))
  })
  // The EventBridge events the Lambda receives when data lands (S3 Object Created, Glue partition changes), for a
  // local pipeline: 202 while the burst's window is open, 200 once handled (ignored, or invalidated).
  app.post('/admin/events', async (c) => {
    const event = await jsonBody(c)
    if (!isLandingEvent(event))
      throw new ValidationError(
        'The body is not an EventBridge event of S3 ("source": "aws.s3") or Glue ("source": "aws.glue") with a "detail-type"',
        [{ name: 'source', message: 'must be aws.s3 or aws.glue, with a detail-type' }],
      )
    const result = await deps.operations.handleLanding(event)
    return c.json(result, result.status === 'pending' || result.status === 'scheduled' ? 202 : 200)
  })
  app.get('/admin/stats', async (c) => c.json(await deps.operations.stats()))
  const prometheus = deps.prometheus
  if (prometheus) {
    app.use('/metrics', admin)
    app.get('/metrics', async (c) => {
      const { body, contentType } = await prometheus.scrape()
      return c.body(body, 200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' })
    })
  }
  registerAdminRoutes(app, deps)

  for (const path of ['/queries', ...QUERY_ROUTES.map(honoPath)])
    app.all(path, (c) =>
      problemResponse(
        c,
        {
          ...problem(405, 'method-not-allowed', 'Method not allowed', 'Queries are read with GET'),
          instance: c.req.path,
        },
        { Allow: 'GET, HEAD' },
      ),
    )
  return app
}

import { randomUUID } from 'node:crypto'
import { type Context, Hono } from 'hono'
import { z } from 'zod'
import { ValidationError } from '../src/errors.ts'
import { AthenaApiError } from './athena-api-error.ts'
import { isAthenaOperation } from './athena-operations.ts'
import type { EngineLogger } from './duckdb-engine.ts'
import { type FaultInjector, faultSchema } from './fault-injector.ts'
import type { LocalAthenaService } from './local-athena-service.ts'
import type { LocalAthenaStats } from './local-stats.ts'
import { requestLatency } from './request-latency.ts'
import { createS3App } from './s3-app.ts'

const AWS_JSON = 'application/x-amz-json-1.1'
const TARGET_PREFIX = 'AmazonAthena.'

/** What the HTTP layer drives. */
export interface LocalAthenaControl {
  service: LocalAthenaService
  faults: FaultInjector
  stats(): LocalAthenaStats
  resetStats(): void
  minQueryMs(): number
  setMinQueryMs(ms: number): void
  refresh(): Promise<string[]>
  requestLatencyMs(): number
  setRequestLatencyMs(ms: number): void
  /** The results directory the S3 routes serve (absolute, symlink-free). */
  resultsRoot: string
  logger?: EngineLogger | undefined
}

const faultsBody = z.union([
  z.object({ add: faultSchema }),
  z.object({ clear: z.literal(true) }),
  z.object({ remove: z.string().min(1) }),
])
const configBody = z.object({
  minQueryMs: z.number().int().nonnegative().optional(),
  requestLatencyMs: z.number().int().nonnegative().optional(),
})

/**
 * The awsJson1_1 endpoint (`POST /` with `X-Amz-Target: AmazonAthena.<Operation>`), answering exactly as
 * Athena does so an unmodified AthenaClient works, the `/_local/*` control routes for tests, and, on every
 * other path, the read-only S3 API over the result files (so one endpoint serves AthenaClient and S3Client).
 */
export function createLocalAthenaApp(control: LocalAthenaControl): Hono {
  const app = new Hono()
  app.use(requestLatency(() => control.requestLatencyMs()))

  app.post('/', async (c) => {
    const requestId = randomUUID()
    const target = c.req.header('x-amz-target') ?? ''
    try {
      const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : ''
      if (!isAthenaOperation(operation)) {
        throw new AthenaApiError(
          'UnknownOperationException',
          `Unknown operation: ${target || '(no X-Amz-Target)'}`,
        )
      }
      const text = await c.req.text()
      let body: unknown = {}
      if (text.trim() !== '') {
        try {
          body = JSON.parse(text)
        } catch {
          throw new AthenaApiError('SerializationException', 'Request body is not valid JSON')
        }
      }
      const output = await control.service.call(operation, body)
      return awsJsonResponse(200, output, requestId)
    } catch (err) {
      if (err instanceof AthenaApiError) {
        return awsJsonResponse(
          err.status,
          { __type: err.type, Message: err.message, ...err.members },
          requestId,
          {
            'x-amzn-ErrorType': err.type,
          },
        )
      }
      control.logger?.warn({ err, target }, 'local athena: internal error')
      return awsJsonResponse(500, { __type: 'InternalServerException', Message: String(err) }, requestId, {
        'x-amzn-ErrorType': 'InternalServerException',
      })
    }
  })

  app.get('/_local/health', (c) => c.json({ ok: true }))
  app.get('/_local/stats', (c) => c.json(control.stats()))
  app.post('/_local/stats/reset', (c) => {
    control.resetStats()
    return c.json(control.stats())
  })
  app.get('/_local/faults', (c) => c.json({ faults: control.faults.list() }))
  app.post('/_local/faults', async (c) => {
    const body = faultsBody.safeParse(await readJson(c))
    if (!body.success) return badRequest(c, body.error.issues.map((i) => i.message).join('; '))
    const request = body.data
    try {
      if ('add' in request) return c.json({ id: control.faults.add(request.add) })
      if ('remove' in request) return c.json({ removed: control.faults.remove(request.remove) })
      control.faults.clear()
      return c.json({ cleared: true })
    } catch (err) {
      if (err instanceof ValidationError) return badRequest(c, err.message)
      throw err
    }
  })
  const config = () => ({ minQueryMs: control.minQueryMs(), requestLatencyMs: control.requestLatencyMs() })
  app.get('/_local/config', (c) => c.json(config()))
  app.post('/_local/config', async (c) => {
    const body = configBody.safeParse(await readJson(c))
    if (!body.success) return badRequest(c, body.error.issues.map((i) => i.message).join('; '))
    if (body.data.minQueryMs !== undefined) control.setMinQueryMs(body.data.minQueryMs)
    if (body.data.requestLatencyMs !== undefined) control.setRequestLatencyMs(body.data.requestLatencyMs)
    return c.json(config())
  })
  app.post('/_local/refresh', async (c) => c.json({ tables: await control.refresh() }))
  // Registered before the S3 routes: `_local` is no valid bucket name, but a typo here deserves a plain 404.
  app.all('/_local/*', (c) => c.json({ error: `no control route ${c.req.method} ${c.req.path}` }, 404))

  // Last: every path the routes above did not answer is an S3 request.
  app.route('/', createS3App({ root: control.resultsRoot, logger: control.logger }))

  return app
}

function awsJsonResponse(
  status: number,
  body: unknown,
  requestId: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': AWS_JSON, 'x-amzn-RequestId': requestId, ...headers },
  })
}

async function readJson(c: Context): Promise<unknown> {
  try {
    return await c.req.json()
  } catch {
    return undefined
  }
}

function badRequest(c: Context, message: string): Response {
  return c.json({ error: message }, 400)
}

import { randomUUID } from 'node:crypto'
import { type Context, Hono } from 'hono'
import type { Logger } from 'pino'
import { z } from 'zod'
import type { LocalSchedulerService, Output } from './local-scheduler-service.ts'
import { SchedulerApiError, throttled, validationError } from './scheduler-api-error.ts'

/** What the HTTP layer drives. */
export interface LocalSchedulerControl {
  service: LocalSchedulerService
  /** Answers ThrottlingException to the next `n` API calls. */
  throttleNext(n: number): void
  /** Consumes one pending throttle; true when this call must be throttled. */
  takeThrottle(): boolean
  /** Fires what is due now; the records of the invocations. */
  fireDue(): Promise<unknown[]>
  invocations(): readonly unknown[]
  logger?: Logger | undefined
}

const throttleBody = z.object({ count: z.number().int().nonnegative() })

/**
 * The restJson1 endpoint of EventBridge Scheduler (paths, methods and query members exactly as the SDK's
 * serializers send them), answering as the service does so an unmodified SchedulerClient works, plus
 * `/_local/*` control routes for tests and for an endpoint in another process.
 */
export function createLocalSchedulerApp(control: LocalSchedulerControl): Hono {
  const app = new Hono()
  const { service } = control

  const api = (operation: (c: Context) => Output | Promise<Output>) => async (c: Context) => {
    const requestId = randomUUID()
    try {
      if (control.takeThrottle()) throw throttled()
      return json(200, await operation(c), requestId)
    } catch (err) {
      if (err instanceof SchedulerApiError)
        return json(err.status, { Message: err.message }, requestId, { 'x-amzn-ErrorType': err.type })
      control.logger?.warn({ err, path: c.req.path }, 'local scheduler: internal error')
      return json(500, { Message: String(err) }, requestId, { 'x-amzn-ErrorType': 'InternalServerException' })
    }
  }

  app.post(
    '/schedules/:name',
    api(async (c) => service.createSchedule(pathName(c), await body(c))),
  )
  app.put(
    '/schedules/:name',
    api(async (c) => service.updateSchedule(pathName(c), await body(c))),
  )
  app.get(
    '/schedules/:name',
    api((c) => service.getSchedule(pathName(c), c.req.query('groupName'))),
  )
  app.delete(
    '/schedules/:name',
    api((c) => service.deleteSchedule(pathName(c), c.req.query('groupName'))),
  )
  app.get(
    '/schedules',
    api((c) => service.listSchedules(c.req.query())),
  )
  app.post(
    '/schedule-groups/:name',
    api(async (c) => service.createGroup(pathName(c), await body(c))),
  )
  app.get(
    '/schedule-groups/:name',
    api((c) => service.getGroup(pathName(c))),
  )
  app.delete(
    '/schedule-groups/:name',
    api((c) => service.deleteGroup(pathName(c), c.req.query('clientToken'))),
  )
  app.get(
    '/schedule-groups',
    api((c) => service.listGroups(c.req.query())),
  )
  // The SDK percent-encodes the ARN into one label (its `/` included); `{.+}` also takes an unencoded one.
  app.post(
    '/tags/:arn{.+}',
    api(async (c) => service.tagResource(pathArn(c), await body(c))),
  )
  app.delete(
    '/tags/:arn{.+}',
    api((c) => service.untagResource(pathArn(c), c.req.queries('TagKeys'))),
  )
  app.get(
    '/tags/:arn{.+}',
    api((c) => service.listTags(pathArn(c))),
  )

  app.get('/_local/health', (c) => c.json({ ok: true }))
  app.get('/_local/invocations', (c) => c.json({ invocations: control.invocations() }))
  app.post('/_local/fire', async (c) => c.json({ fired: await control.fireDue() }))
  app.post('/_local/throttle', async (c) => {
    const parsed = throttleBody.safeParse(await c.req.json().catch(() => undefined))
    if (!parsed.success) return c.json({ error: 'expected { "count": <non-negative integer> }' }, 400)
    control.throttleNext(parsed.data.count)
    return c.json({ throttling: parsed.data.count })
  })

  app.notFound((c) =>
    json(404, { Message: `Unknown operation: ${c.req.method} ${c.req.path}` }, randomUUID(), {
      'x-amzn-ErrorType': 'UnknownOperationException',
    }),
  )

  return app
}

/** The `{Name}` label (routes without it never call this). */
function pathName(c: Context): string {
  return c.req.param('name') ?? ''
}

/** The `{ResourceArn}` label, decoded. */
function pathArn(c: Context): string {
  return c.req.param('arn') ?? ''
}

async function body(c: Context): Promise<unknown> {
  const text = await c.req.text()
  if (text.trim() === '') return {}
  try {
    return JSON.parse(text)
  } catch {
    throw validationError('Request body is not valid JSON.')
  }
}

function json(
  status: number,
  payload: unknown,
  requestId: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(payload), {
    status,
    headers: { 'content-type': 'application/json', 'x-amzn-RequestId': requestId, ...headers },
  })
}

import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import type { Logger } from 'pino'
import { LocalSchedulerService, type ScheduleRecord } from './local-scheduler-service.ts'
import { dueTimes, formatScheduledTime, isComplete, renderInput } from './schedule-firing.ts'
import { createLocalSchedulerApp } from './scheduler-http-app.ts'

/** What the target learns about an invocation besides its payload. */
export interface InvokeInfo {
  scheduleName: string
  groupName: string
  /** ISO 8601 UTC without milliseconds, like `<aws.scheduler.scheduled-time>`. */
  scheduledTime: string
  targetArn: string
}

/** One invocation of a target, as recorded by the local endpoint. */
export interface FiredInvocation extends InvokeInfo {
  scheduleArn: string
  executionId: string
  attemptNumber: number
  /** The Input after context substitution, parsed when it is JSON. */
  payload: unknown
  /** Clock time of the check that fired it (ms since the epoch). */
  firedAtMs: number
  outcome: 'succeeded' | 'failed'
  result?: unknown
  error?: string
}

export interface LocalSchedulerOptions {
  /** 0 (default) picks a free port. */
  port?: number
  /** Defaults to 127.0.0.1. */
  host?: string
  /** Calls the target (the project's Lambda handler, or a test double). A rejection is logged and recorded. */
  invoke: (payload: unknown, info: InvokeInfo) => Promise<unknown>
  /** The clock (ms since the epoch); injectable so tests decide when schedules are due. Default Date.now. */
  now?: () => number
  /** How often due schedules are fired (default 1000 ms); 0 = never on a timer, only through `fireDue`. */
  tickMs?: number
  /** Region in the ARNs (default us-east-1). */
  region?: string
  /**
   * How long a deleted schedule group stays DELETING before it and its schedules are gone, as the service deletes
   * them asynchronously (default 1000 ms); 0 = gone by the time DeleteScheduleGroup answers.
   */
  groupDeletionMs?: number
  logger?: Logger
}

export interface LocalScheduler {
  /** e.g. `http://127.0.0.1:43123`, for `new SchedulerClient({ endpoint })`. */
  endpoint: string
  port: number
  /** Fires every ENABLED schedule due at `now` (default: the clock); resolves once their targets answered. */
  fireDue(now?: number): Promise<FiredInvocation[]>
  /** Every invocation so far, oldest first. */
  invocations: FiredInvocation[]
  /** The next `n` API calls answer ThrottlingException (429); 0 clears. */
  throttleNext(n: number): void
  /** Stops the timers (firing, pending group deletions), waits for running invocations and stops the server. */
  close(): Promise<void>
}

/**
 * Starts an EventBridge Scheduler-compatible endpoint (restJson1) that also fires its schedules: due ENABLED
 * schedules invoke `invoke` with their Input, context attributes substituted, each scheduled time at most once.
 */
export async function startLocalScheduler(options: LocalSchedulerOptions): Promise<LocalScheduler> {
  const now = options.now ?? Date.now
  const groupDeletionMs = options.groupDeletionMs ?? 1000
  if (!Number.isFinite(groupDeletionMs) || groupDeletionMs < 0)
    throw new RangeError(`groupDeletionMs must be a non-negative number of ms, got ${groupDeletionMs}`)
  const service = new LocalSchedulerService({ region: options.region ?? 'us-east-1', now, groupDeletionMs })
  const invocations: FiredInvocation[] = []
  const running = new Set<Promise<unknown>>()
  let pendingThrottles = 0

  const fire = async (record: ScheduleRecord, scheduledTimeMs: number, firedAtMs: number) => {
    const executionId = randomUUID()
    const info: InvokeInfo = {
      scheduleName: record.name,
      groupName: record.spec.groupName,
      scheduledTime: formatScheduledTime(scheduledTimeMs),
      targetArn: record.spec.target.Arn,
    }
    const payload = renderInput(record.spec.target.Input, {
      scheduledTimeMs,
      scheduleArn: record.arn,
      executionId,
      attemptNumber: 1,
    })
    const base = { ...info, scheduleArn: record.arn, executionId, attemptNumber: 1, payload, firedAtMs }
    try {
      const result = await options.invoke(payload, info)
      return { ...base, outcome: 'succeeded', result } satisfies FiredInvocation
    } catch (err) {
      // A failing target must not take the endpoint down: the service would retry or dead-letter it.
      options.logger?.warn({ err, ...info }, 'local scheduler: target invocation failed')
      return {
        ...base,
        outcome: 'failed',
        error: (err as Error)?.message ?? String(err),
      } satisfies FiredInvocation
    }
  }

  const fireDue = async (at?: number): Promise<FiredInvocation[]> => {
    const nowMs = at ?? now()
    const planned: Array<{ record: ScheduleRecord; time: number }> = []
    const completed: ScheduleRecord[] = []
    for (const record of service.schedulesToFire()) {
      if (record.spec.state !== 'ENABLED') continue
      const { times, cursorMs } = dueTimes(record, nowMs)
      // The cursor moves before any target is called, so a concurrent check cannot fire the same time again.
      service.advance(record, cursorMs)
      for (const time of times) planned.push({ record, time })
      if (
        times.length > 0 &&
        record.spec.actionAfterCompletion === 'DELETE' &&
        isComplete({ ...record, cursorMs })
      )
        completed.push(record)
    }
    planned.sort((a, b) => a.time - b.time)
    const work = Promise.all(planned.map((p) => fire(p.record, p.time, nowMs)))
    running.add(work)
    try {
      const fired = await work
      invocations.push(...fired)
      for (const record of completed) {
        if (service.deleteIfUnchanged(record))
          options.logger?.info(
            { schedule: record.name, group: record.spec.groupName },
            'local scheduler: deleted after completion',
          )
      }
      return fired
    } finally {
      running.delete(work)
    }
  }

  const throttleNext = (n: number) => {
    pendingThrottles = Math.max(0, Math.floor(n))
  }

  const app = createLocalSchedulerApp({
    service,
    throttleNext,
    takeThrottle: () => {
      if (pendingThrottles === 0) return false
      pendingThrottles--
      return true
    },
    fireDue: () => fireDue(),
    invocations: () => invocations,
    logger: options.logger,
  })

  const host = options.host ?? '127.0.0.1'
  const server = createAdaptorServer({ fetch: app.fetch })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  options.logger?.info({ endpoint }, 'local scheduler: listening')

  const tickMs = options.tickMs ?? 1000
  let ticking = false
  const timer =
    tickMs > 0
      ? setInterval(() => {
          // A slow target must not make checks pile up; the next tick catches up.
          if (ticking) return
          ticking = true
          fireDue()
            .catch((err: unknown) => options.logger?.error({ err }, 'local scheduler: firing failed'))
            .finally(() => {
              ticking = false
            })
        }, tickMs)
      : undefined
  timer?.unref()

  let closing: Promise<void> | undefined
  return {
    endpoint,
    port,
    fireDue,
    invocations,
    throttleNext,
    close: () => {
      closing ??= (async () => {
        if (timer) clearInterval(timer)
        service.dispose()
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
        // SDK clients keep connections alive; without this close() would wait for them to time out.
        if ('closeAllConnections' in server) server.closeAllConnections()
        await Promise.allSettled([...running])
        await stopped
      })()
      return closing
    },
  }
}

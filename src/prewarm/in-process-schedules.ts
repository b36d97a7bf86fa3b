import type { Logger } from 'pino'
import { nextFireTime } from '../config/schedule-expression.ts'
import type { ScheduleDef } from '../config/schedules.ts'

/** Longest delay setTimeout accepts (about 24.8 days); longer waits are taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * Fires the schedules of schedules.yaml inside a long-running Node server that has no EventBridge Scheduler in front
 * of it. Each schedule waits for its next fire time and calls `fire` with the time it was due, like the Scheduler's
 * `<aws.scheduler.scheduled-time>`. Runs overlapping in several processes are harmless: the prewarm lock admits one.
 */
export function startInProcessSchedules(
  schedules: readonly ScheduleDef[],
  fire: (schedule: ScheduleDef, scheduledTime: Date) => Promise<unknown>,
  logger: Logger,
): { stop(): void } {
  const timers = new Map<string, NodeJS.Timeout>()
  let stopped = false
  const arm = (schedule: ScheduleDef, after: Date) => {
    if (stopped) return
    const next = nextFireTime(schedule.expression, schedule.timezone, after)
    if (!next) return
    const wait = () => {
      const delay = next.getTime() - Date.now()
      const timer = setTimeout(
        () => {
          if (Date.now() < next.getTime()) return wait()
          fire(schedule, next)
            .catch((err: unknown) =>
              logger.warn(
                { schedule: schedule.name, err: (err as Error).message },
                'scheduled prewarm failed',
              ),
            )
            .finally(() => arm(schedule, next))
        },
        Math.max(0, Math.min(delay, MAX_TIMER_MS)),
      )
      timer.unref()
      timers.set(schedule.name, timer)
    }
    wait()
  }
  for (const schedule of schedules) if (schedule.enabled) arm(schedule, new Date())
  return {
    stop() {
      stopped = true
      for (const timer of timers.values()) clearTimeout(timer)
    },
  }
}

import { nextFireTime } from '../../src/config/schedule-expression.ts'
import type { ScheduleSpec } from './scheduler-requests.ts'

/** The firing state of one schedule: every scheduled time up to and including `cursorMs` has been dealt with. */
export interface FiringState {
  spec: ScheduleSpec
  creationMs: number
  cursorMs: number
}

/** The most scheduled times one schedule fires in one check; older missed times beyond it are skipped. */
export const MAX_CATCH_UP = 10

/**
 * The start a `rate` schedule counts from: its StartDate, otherwise its creation minute ("if you do not provide
 * a StartDate, the schedule starts invoking the target immediately"). `cron` uses StartDate as a lower bound.
 */
export function anchorOf(state: Pick<FiringState, 'spec' | 'creationMs'>): number | undefined {
  const { spec } = state
  if (spec.startDateMs !== undefined) return spec.startDateMs
  return spec.expression.kind === 'rate' ? Math.floor(state.creationMs / 60_000) * 60_000 : undefined
}

/** Where the firing cursor of a schedule created at `creationMs` starts: nothing before its creation fires. */
export function initialCursor(spec: ScheduleSpec, creationMs: number): number {
  const anchor = anchorOf({ spec, creationMs })
  // A rate schedule without StartDate fires at once: its creation minute is its first scheduled time.
  if (spec.expression.kind === 'rate' && spec.startDateMs === undefined && anchor !== undefined)
    return anchor - 1
  return creationMs
}

/** The next scheduled time after `afterMs`, or null when the schedule has no more (expression or EndDate). */
export function nextScheduledTime(
  state: Pick<FiringState, 'spec' | 'creationMs'>,
  afterMs: number,
): number | null {
  const { spec } = state
  const anchor = anchorOf(state)
  const t = nextFireTime(
    spec.expression,
    spec.timezone ?? 'UTC',
    new Date(afterMs),
    anchor === undefined ? undefined : new Date(anchor),
  )
  if (t === null) return null
  // EndDate: "the date before which the schedule can invoke its target"; one-time schedules ignore it.
  if (spec.expression.kind !== 'at' && spec.endDateMs !== undefined && t.getTime() >= spec.endDateMs)
    return null
  return t.getTime()
}

/** The scheduled times due at `nowMs` (oldest first, at most MAX_CATCH_UP) and the cursor after them. */
export function dueTimes(state: FiringState, nowMs: number): { times: number[]; cursorMs: number } {
  const times: number[] = []
  let cursor = state.cursorMs
  for (;;) {
    const t = nextScheduledTime(state, cursor)
    if (t === null || t > nowMs) return { times, cursorMs: cursor }
    if (times.length === MAX_CATCH_UP) {
      // A clock that jumped far (or a long-stopped process) must not replay thousands of invocations.
      return { times, cursorMs: nowMs }
    }
    times.push(t)
    cursor = t
  }
}

/** Whether nothing is left to fire after `cursorMs` (a one-time schedule that fired, or one past its EndDate). */
export function isComplete(state: FiringState): boolean {
  return nextScheduledTime(state, state.cursorMs) === null
}

/** What the service substitutes into Input at fire time. */
export interface FiringContext {
  scheduledTimeMs: number
  scheduleArn: string
  executionId: string
  attemptNumber: number
}

/** ISO 8601 in UTC without milliseconds, the form of `<aws.scheduler.scheduled-time>`. */
export function formatScheduledTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/**
 * Replaces the context attributes in the Input text and parses it: JSON becomes a value, anything else stays the
 * string it is. A target without Input receives `{}`.
 */
export function renderInput(input: string | undefined, context: FiringContext): unknown {
  if (input === undefined) return {}
  const text = input
    .replaceAll('<aws.scheduler.scheduled-time>', formatScheduledTime(context.scheduledTimeMs))
    .replaceAll('<aws.scheduler.schedule-arn>', context.scheduleArn)
    .replaceAll('<aws.scheduler.execution-id>', context.executionId)
    .replaceAll('<aws.scheduler.attempt-number>', String(context.attemptNumber))
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

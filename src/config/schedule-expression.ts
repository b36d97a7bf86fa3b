import { ValidationError } from '../errors.ts'
import { isValidTimeZone, type LocalDateTime, localParts, localToInstants } from './time-zone.ts'

export { isValidTimeZone, type LocalDateTime } from './time-zone.ts'

/*
 * EventBridge Scheduler expressions: `rate(n unit)`, `cron(min hour dom month dow year)` and
 * `at(yyyy-mm-ddThh:mm:ss)`, parsed and evaluated the way the service documents them.
 *
 * The cron evaluation is hand-written rather than delegated to croner or cron-parser because both follow Vixie
 * cron across daylight-saving changes (a time in the spring-forward gap runs right after the gap; interval jobs
 * run twice in the repeated autumn hour), while EventBridge Scheduler skips a time that does not exist and runs a
 * repeated time only once. The service's Quartz-style field rules (`?` in exactly one day field, 1 = Sunday,
 * which special characters each field allows, the year range) have to be validated here anyway, and with the
 * fields parsed, finding the next matching minute is a short nested loop.
 */

/** An expression that EventBridge Scheduler would reject; the message says what is wrong. */
export class ScheduleExpressionError extends ValidationError {}

/** Fires every `value` units, counted from the schedule's start. */
export interface RateExpression {
  kind: 'rate'
  source: string
  value: number
  unit: 'minutes' | 'hours' | 'days'
  /** Days are 24-hour durations, as in the service (a DST day does not shift the rate). */
  intervalMs: number
}

/** Day-of-month field: `?`/`*`, a set of days, `L` (last day), `LW` (last weekday) or `nW` (weekday nearest to n). */
export type DayOfMonthRule =
  | { kind: 'any' }
  | { kind: 'days'; days: ReadonlySet<number> }
  | { kind: 'last' }
  | { kind: 'lastWeekday' }
  | { kind: 'nearestWeekday'; day: number }

/** Day-of-week field (1 = Sunday … 7 = Saturday): `?`/`*`, a set, `nL` (last n of the month) or `n#k` (k-th n). */
export type DayOfWeekRule =
  | { kind: 'any' }
  | { kind: 'days'; days: ReadonlySet<number> }
  | { kind: 'last'; day: number }
  | { kind: 'nth'; day: number; nth: number }

/** Fires at every wall-clock minute matching all six fields in the schedule's time zone. */
export interface CronExpression {
  kind: 'cron'
  source: string
  /** Sorted ascending. */
  minutes: readonly number[]
  hours: readonly number[]
  daysOfMonth: DayOfMonthRule
  months: readonly number[]
  daysOfWeek: DayOfWeekRule
  years: readonly number[]
}

/** Fires once, at a wall-clock time in the schedule's time zone. */
export interface AtExpression {
  kind: 'at'
  source: string
  local: LocalDateTime
}

export type ScheduleExpression = RateExpression | CronExpression | AtExpression

const MINUTE_MS = 60_000
const UNIT_MS = { minutes: MINUTE_MS, hours: 60 * MINUTE_MS, days: 24 * 60 * MINUTE_MS } as const
const SINGULAR = { minute: 'minutes', hour: 'hours', day: 'days' } as const
const PLURAL = new Set(['minutes', 'hours', 'days'])
/** The service caps ScheduleExpression at 256 characters. */
const MAX_EXPRESSION_LENGTH = 256

/** Parses an EventBridge Scheduler expression; throws ScheduleExpressionError saying what is wrong. */
export function parseScheduleExpression(expr: string): ScheduleExpression {
  const fail = (reason: string): never => {
    throw new ScheduleExpressionError(`Invalid schedule expression '${expr}': ${reason}`)
  }
  if (expr.length === 0) fail('empty')
  if (expr.length > MAX_EXPRESSION_LENGTH) fail(`longer than ${MAX_EXPRESSION_LENGTH} characters`)
  const outer = /^(rate|cron|at)\((.*)\)$/s.exec(expr)
  if (!outer) return fail('must be rate(value unit), cron(fields) or at(yyyy-mm-ddThh:mm:ss)')
  const [, kind, body] = outer as unknown as [string, 'rate' | 'cron' | 'at', string]
  try {
    if (kind === 'rate') return parseRate(expr, body)
    if (kind === 'cron') return parseCron(expr, body)
    return parseAt(expr, body)
  } catch (err) {
    if (err instanceof FieldError) return fail(err.message)
    throw err
  }
}

/** A reason without the expression; `parseScheduleExpression` wraps it. */
class FieldError extends Error {}

function parseRate(source: string, body: string): RateExpression {
  const m = /^(\d+) ([a-z]+)$/.exec(body)
  if (!m) throw new FieldError('rate takes a positive whole number and a unit, e.g. rate(5 minutes)')
  const [, digits, word] = m as unknown as [string, string, string]
  const value = Number(digits)
  if (!Number.isSafeInteger(value) || value < 1)
    throw new FieldError('the rate value must be a positive integer')
  // The service insists on grammar: rate(1 minute) and rate(5 minutes), never rate(1 minutes) or rate(5 minute).
  let unit: RateExpression['unit']
  if (word in SINGULAR) {
    if (value !== 1) throw new FieldError(`use the plural '${word}s' for a value other than 1`)
    unit = SINGULAR[word as keyof typeof SINGULAR]
  } else if (PLURAL.has(word)) {
    if (value === 1) throw new FieldError(`use the singular '${word.slice(0, -1)}' for the value 1`)
    unit = word as RateExpression['unit']
  } else {
    throw new FieldError(`unknown unit '${word}' (minute(s), hour(s) or day(s))`)
  }
  return { kind: 'rate', source, value, unit, intervalMs: value * UNIT_MS[unit] }
}

function parseAt(source: string, body: string): AtExpression {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(body)
  if (!m) throw new FieldError('at takes yyyy-mm-ddThh:mm:ss, e.g. at(2026-12-01T06:00:00)')
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ]
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month))
    throw new FieldError(`${body.slice(0, 10)} is not a calendar date`)
  if (hour > 23 || minute > 59 || second > 59) throw new FieldError(`${body.slice(11)} is not a time of day`)
  return { kind: 'at', source, local: { year, month, day, hour, minute, second } }
}

interface FieldSpec {
  name: string
  min: number
  max: number
  names?: readonly string[]
  /** Whether the service allows `/` (increments) in the field. */
  step: boolean
}

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC']
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT']

const FIELDS = {
  minutes: { name: 'minutes', min: 0, max: 59, step: true },
  hours: { name: 'hours', min: 0, max: 23, step: true },
  dayOfMonth: { name: 'day-of-month', min: 1, max: 31, step: true },
  month: { name: 'month', min: 1, max: 12, names: MONTH_NAMES, step: true },
  // The service's table lists no `/` for day-of-week.
  dayOfWeek: { name: 'day-of-week', min: 1, max: 7, names: DAY_NAMES, step: false },
  year: { name: 'year', min: 1970, max: 2199, step: true },
} satisfies Record<string, FieldSpec>

function parseCron(source: string, body: string): CronExpression {
  const parts = body.trim().split(/\s+/)
  if (parts.length !== 6)
    throw new FieldError(
      `cron takes 6 fields (minutes hours day-of-month month day-of-week year), got ${parts.length}`,
    )
  const [min, hour, dom, month, dow, year] = parts as [string, string, string, string, string, string]
  // "You can't specify the Day-of-month and Day-of-week fields in the same cron expression": one must be `?`.
  if ((dom === '?') === (dow === '?'))
    throw new FieldError("exactly one of day-of-month and day-of-week must be '?'")
  return {
    kind: 'cron',
    source,
    minutes: parseList(min, FIELDS.minutes),
    hours: parseList(hour, FIELDS.hours),
    daysOfMonth: dom === '?' ? { kind: 'any' } : parseDayOfMonth(dom),
    months: parseList(month, FIELDS.month),
    daysOfWeek: dow === '?' ? { kind: 'any' } : parseDayOfWeek(dow),
    years: parseList(year, FIELDS.year),
  }
}

function parseDayOfMonth(field: string): DayOfMonthRule {
  const f = field.toUpperCase()
  if (f === '*') return { kind: 'any' }
  if (f === 'L') return { kind: 'last' }
  if (f === 'LW') return { kind: 'lastWeekday' }
  const w = /^(\d+)W$/.exec(f)
  if (w) return { kind: 'nearestWeekday', day: parseValue(w[1] as string, FIELDS.dayOfMonth) }
  if (/[LW]/.test(f))
    throw new FieldError(`day-of-month '${field}': L, LW and nW stand alone (not in a list or range)`)
  return { kind: 'days', days: new Set(parseList(field, FIELDS.dayOfMonth)) }
}

function parseDayOfWeek(field: string): DayOfWeekRule {
  const f = field.toUpperCase()
  if (f === '*') return { kind: 'any' }
  // Quartz semantics, which the service follows: `L` alone is the last day of the week, Saturday.
  if (f === 'L') return { kind: 'days', days: new Set([7]) }
  const last = /^([A-Z0-9]+)L$/.exec(f)
  if (last) return { kind: 'last', day: parseValue(last[1] as string, FIELDS.dayOfWeek) }
  const nth = /^([A-Z0-9]+)#(\d+)$/.exec(f)
  if (nth) {
    const k = Number(nth[2])
    if (!Number.isInteger(k) || k < 1 || k > 5)
      throw new FieldError(`day-of-week '${field}': the occurrence after # must be 1–5`)
    return { kind: 'nth', day: parseValue(nth[1] as string, FIELDS.dayOfWeek), nth: k }
  }
  if (/[L#]/.test(f))
    throw new FieldError(`day-of-week '${field}': nL and n#k stand alone (not in a list or range)`)
  return { kind: 'days', days: new Set(parseList(field, FIELDS.dayOfWeek)) }
}

/** Comma-separated `*`, `a`, `a-b`, each optionally with an increment `/s`; ranges may wrap (`FRI-MON`, `22-2`). */
function parseList(field: string, spec: FieldSpec): number[] {
  const values = new Set<number>()
  for (const item of field.split(',')) {
    if (item === '') throw new FieldError(`${spec.name} '${field}': empty list element`)
    const [range, stepText, extra] = item.split('/')
    if (extra !== undefined) throw new FieldError(`${spec.name} '${item}': more than one '/'`)
    let step = 1
    if (stepText !== undefined) {
      if (!spec.step) throw new FieldError(`${spec.name} '${item}': '/' is not allowed in ${spec.name}`)
      step = /^\d+$/.test(stepText) ? Number(stepText) : Number.NaN
      if (!(step >= 1 && step <= spec.max - spec.min + 1))
        throw new FieldError(`${spec.name} '${item}': the increment must be 1–${spec.max - spec.min + 1}`)
    }
    let from: number
    let to: number
    if (range === '*') {
      from = spec.min
      to = spec.max
    } else {
      const bounds = (range ?? '').split('-')
      if (bounds.length > 2) throw new FieldError(`${spec.name} '${item}': malformed range`)
      from = parseValue(bounds[0] ?? '', spec)
      // `a/s` runs from a to the end of the field, as in Quartz.
      to = bounds[1] !== undefined ? parseValue(bounds[1], spec) : stepText !== undefined ? spec.max : from
    }
    const size = spec.max - spec.min + 1
    const length = ((to - from + size) % size) + 1
    for (let k = 0; k < length; k += step) values.add(spec.min + ((from - spec.min + k) % size))
  }
  return [...values].sort((a, b) => a - b)
}

function parseValue(text: string, spec: FieldSpec): number {
  const upper = text.toUpperCase()
  const named = spec.names?.indexOf(upper) ?? -1
  if (named >= 0) return named + 1
  if (!/^\d+$/.test(text)) throw new FieldError(`${spec.name}: '${text}' is not a valid value`)
  const n = Number(text)
  if (n < spec.min || n > spec.max)
    throw new FieldError(`${spec.name}: ${n} is out of range ${spec.min}–${spec.max}`)
  return n
}

/**
 * The first time strictly after `after` at which the expression fires, evaluated in the IANA `timezone`, or null
 * when it never fires again. `rate` fires at `startDate + k·interval` (default start: the epoch); `cron` fires no
 * earlier than `startDate`; `at` fires once and ignores `startDate`, as the service does for one-time schedules.
 * Like the service, a wall-clock time skipped by a DST change does not fire and a repeated one fires once.
 */
export function nextFireTime(
  expr: ScheduleExpression | string,
  timezone: string,
  after: Date,
  startDate?: Date,
): Date | null {
  const e = typeof expr === 'string' ? parseScheduleExpression(expr) : expr
  if (!isValidTimeZone(timezone)) throw new ScheduleExpressionError(`Unknown time zone '${timezone}'`)
  const afterMs = after.getTime()
  if (Number.isNaN(afterMs)) throw new ScheduleExpressionError('nextFireTime: `after` is not a valid date')
  if (e.kind === 'rate') {
    const anchor = startDate?.getTime() ?? 0
    if (afterMs < anchor) return new Date(anchor)
    return new Date(anchor + (Math.floor((afterMs - anchor) / e.intervalMs) + 1) * e.intervalMs)
  }
  if (e.kind === 'at') {
    const at = localToInstants(e.local, timezone)[0]
    return at !== undefined && at > afterMs ? new Date(at) : null
  }
  const from = startDate === undefined ? afterMs : Math.max(afterMs, startDate.getTime() - 1)
  const t = nextCronTime(e, timezone, from)
  return t === null ? null : new Date(t)
}

function nextCronTime(e: CronExpression, timezone: string, afterMs: number): number | null {
  // Walk wall-clock minutes in order from the one holding `after`; a minute whose first instant is not after
  // `after` (the repeated hour after a fall-back, or the current minute) is passed over.
  const start = localParts(afterMs, timezone)
  for (const y of e.years) {
    if (y < start.year) continue
    const yStart = y === start.year
    for (const mo of e.months) {
      if (yStart && mo < start.month) continue
      const moStart = yStart && mo === start.month
      const lastDay = daysInMonth(y, mo)
      for (let d = moStart ? start.day : 1; d <= lastDay; d++) {
        if (!dayMatches(e, y, mo, d, lastDay)) continue
        const dStart = moStart && d === start.day
        for (const h of e.hours) {
          if (dStart && h < start.hour) continue
          const hStart = dStart && h === start.hour
          for (const mi of e.minutes) {
            if (hStart && mi < start.minute) continue
            const t = localToInstants(
              { year: y, month: mo, day: d, hour: h, minute: mi, second: 0 },
              timezone,
            )[0]
            if (t !== undefined && t > afterMs) return t
          }
        }
      }
    }
  }
  return null
}

function dayMatches(e: CronExpression, year: number, month: number, day: number, lastDay: number): boolean {
  const dom = e.daysOfMonth
  switch (dom.kind) {
    case 'days':
      if (!dom.days.has(day)) return false
      break
    case 'last':
      if (day !== lastDay) return false
      break
    case 'lastWeekday':
      if (day !== nearestWeekday(year, month, lastDay, lastDay)) return false
      break
    case 'nearestWeekday':
      if (dom.day > lastDay || day !== nearestWeekday(year, month, dom.day, lastDay)) return false
      break
    case 'any':
      break
  }
  const dow = e.daysOfWeek
  if (dow.kind === 'any') return true
  const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 1
  switch (dow.kind) {
    case 'days':
      return dow.days.has(weekday)
    case 'last':
      return weekday === dow.day && day + 7 > lastDay
    case 'nth':
      return weekday === dow.day && Math.ceil(day / 7) === dow.nth
  }
}

/** Quartz `nW`: the weekday nearest to day n without leaving the month. */
function nearestWeekday(year: number, month: number, n: number, lastDay: number): number {
  const weekday = new Date(Date.UTC(year, month - 1, n)).getUTCDay()
  if (weekday === 6) return n === 1 ? 3 : n - 1
  if (weekday === 0) return n === lastDay ? n - 2 : n + 1
  return n
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate()
}

import { describe, expect, it } from 'vitest'
import {
  nextFireTime,
  parseScheduleExpression,
  ScheduleExpressionError,
} from '../../src/config/schedule-expression.ts'
import { localToInstants } from '../../src/config/time-zone.ts'
import { ValidationError } from '../../src/errors.ts'

const d = (iso: string) => new Date(iso)

describe('parseScheduleExpression', () => {
  it.each([
    ['rate(1 minute)', 1, 'minutes', 60_000],
    ['rate(15 minutes)', 15, 'minutes', 900_000],
    ['rate(1 hour)', 1, 'hours', 3_600_000],
    ['rate(2 hours)', 2, 'hours', 7_200_000],
    ['rate(1 day)', 1, 'days', 86_400_000],
    ['rate(7 days)', 7, 'days', 604_800_000],
  ])('%s is a rate of %i %s', (expr, value, unit, intervalMs) => {
    expect(parseScheduleExpression(expr)).toEqual({ kind: 'rate', source: expr, value, unit, intervalMs })
  })

  it('parses cron fields: lists, ranges, increments, names, wrap-around and the year', () => {
    const e = parseScheduleExpression('cron(0/20 22-2 ? JAN,MAR-APR MON-FRI 2026-2027)')
    expect(e).toMatchObject({
      kind: 'cron',
      minutes: [0, 20, 40],
      hours: [0, 1, 2, 22, 23],
      daysOfMonth: { kind: 'any' },
      months: [1, 3, 4],
      years: [2026, 2027],
    })
    expect(e.kind === 'cron' && e.daysOfWeek.kind === 'days' && [...e.daysOfWeek.days].sort()).toEqual([
      2, 3, 4, 5, 6,
    ])
  })

  it.each([
    ['cron(0 10 L * ? *)', { daysOfMonth: { kind: 'last' } }],
    ['cron(0 10 LW * ? *)', { daysOfMonth: { kind: 'lastWeekday' } }],
    ['cron(0 10 15W * ? *)', { daysOfMonth: { kind: 'nearestWeekday', day: 15 } }],
    ['cron(0 10 ? * 6L *)', { daysOfWeek: { kind: 'last', day: 6 } }],
    ['cron(0 10 ? * FRIL *)', { daysOfWeek: { kind: 'last', day: 6 } }],
    ['cron(0 10 ? * 3#2 *)', { daysOfWeek: { kind: 'nth', day: 3, nth: 2 } }],
    ['cron(0 10 ? * TUE#2 *)', { daysOfWeek: { kind: 'nth', day: 3, nth: 2 } }],
  ])('parses the special form %s', (expr, expected) => {
    expect(parseScheduleExpression(expr)).toMatchObject(expected)
  })

  it('parses at() as a wall-clock time', () => {
    expect(parseScheduleExpression('at(2026-12-01T06:00:00)')).toEqual({
      kind: 'at',
      source: 'at(2026-12-01T06:00:00)',
      local: { year: 2026, month: 12, day: 1, hour: 6, minute: 0, second: 0 },
    })
  })

  it.each([
    ['', /empty/],
    ['every(5 minutes)', /must be rate\(value unit\), cron\(fields\) or at/],
    ['rate(5 minutes) ', /must be rate/],
    ['rate(1 minutes)', /use the singular 'minute' for the value 1/],
    ['rate(5 minute)', /use the plural 'minutes' for a value other than 1/],
    ['rate(1 hours)', /singular 'hour'/],
    ['rate(0 minutes)', /positive integer/],
    ['rate(5 weeks)', /unknown unit 'weeks'/],
    ['rate(5minutes)', /positive whole number and a unit/],
    ['rate(-5 minutes)', /positive whole number and a unit/],
    ['cron(0 12 * * * *)', /exactly one of day-of-month and day-of-week must be '\?'/],
    ['cron(0 12 ? * ? *)', /exactly one of day-of-month and day-of-week must be '\?'/],
    ['cron(0 12 * * ?)', /6 fields .* got 5/],
    ['cron(0 0 12 * * ? *)', /6 fields .* got 7/],
    ['cron(60 12 * * ? *)', /minutes: 60 is out of range 0–59/],
    ['cron(0 24 * * ? *)', /hours: 24 is out of range 0–23/],
    ['cron(0 12 32 * ? *)', /day-of-month: 32 is out of range 1–31/],
    ['cron(0 12 0 * ? *)', /day-of-month: 0 is out of range 1–31/],
    ['cron(0 12 ? 13 * *)', /month: 13 is out of range 1–12/],
    ['cron(0 12 ? * 0 *)', /day-of-week: 0 is out of range 1–7/],
    ['cron(0 12 ? * 8 *)', /day-of-week: 8 is out of range 1–7/],
    ['cron(0 12 ? * MON/2 *)', /'\/' is not allowed in day-of-week/],
    ['cron(0 12 ? * 2#6 *)', /the occurrence after # must be 1–5/],
    ['cron(0 12 ? * 2L,3 *)', /stand alone/],
    ['cron(0 12 1,L * ? *)', /stand alone/],
    ['cron(0 12 * * ? 1969)', /year: 1969 is out of range 1970–2199/],
    ['cron(0/0 * * * ? *)', /the increment must be 1–60/],
    ['cron(a 12 * * ? *)', /minutes: 'a' is not a valid value/],
    ['cron(0 12 ? * FOO *)', /day-of-week: 'FOO' is not a valid value/],
    ['cron(0 12 * * ? ?)', /year: '\?' is not a valid value/],
    ['cron(1-2-3 12 * * ? *)', /malformed range/],
    ['cron(0,,1 12 * * ? *)', /empty list element/],
    ['at(2026-02-30T06:00:00)', /2026-02-30 is not a calendar date/],
    ['at(2026-12-01T24:00:00)', /24:00:00 is not a time of day/],
    ['at(2026-12-01 06:00:00)', /at takes yyyy-mm-ddThh:mm:ss/],
    [`rate(${'1'.repeat(260)} minutes)`, /longer than 256 characters/],
  ])('rejects %j', (expr, message) => {
    let error: unknown
    try {
      parseScheduleExpression(expr)
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(ScheduleExpressionError)
    expect(error).toBeInstanceOf(ValidationError)
    expect((error as Error).message).toMatch(message)
    expect((error as Error).message).toContain(`'${expr}'`)
  })
})

describe('nextFireTime', () => {
  it.each([
    // rate: every n units from the start (default the epoch), strictly after `after`
    ['rate(15 minutes)', 'UTC', '2026-01-05T10:07:30Z', undefined, '2026-01-05T10:15:00.000Z'],
    ['rate(15 minutes)', 'UTC', '2026-01-05T10:15:00Z', undefined, '2026-01-05T10:30:00.000Z'],
    ['rate(1 hour)', 'UTC', '2026-01-05T10:00:00Z', '2026-01-05T10:20:00Z', '2026-01-05T10:20:00.000Z'],
    ['rate(1 hour)', 'UTC', '2026-01-05T10:20:00Z', '2026-01-05T10:20:00Z', '2026-01-05T11:20:00.000Z'],
    // days are 24 h even across a DST change, and the time zone does not matter for rates
    [
      'rate(1 day)',
      'Europe/Berlin',
      '2026-03-28T23:00:00Z',
      '2026-03-20T23:00:00Z',
      '2026-03-29T23:00:00.000Z',
    ],
    // cron, UTC
    ['cron(0 12 * * ? *)', 'UTC', '2026-01-05T12:00:00Z', undefined, '2026-01-06T12:00:00.000Z'],
    ['cron(0 12 * * ? *)', 'UTC', '2026-01-05T11:59:59Z', undefined, '2026-01-05T12:00:00.000Z'],
    ['cron(0/20 * * * ? *)', 'UTC', '2026-01-05T10:41:00Z', undefined, '2026-01-05T11:00:00.000Z'],
    ['cron(0 22-2 * * ? *)', 'UTC', '2026-01-05T23:30:00Z', undefined, '2026-01-06T00:00:00.000Z'],
    ['cron(0 22-2 * * ? *)', 'UTC', '2026-01-06T02:00:00Z', undefined, '2026-01-06T22:00:00.000Z'],
    // day of week is 1 = Sunday … 7 = Saturday (2026-01-05 is a Monday)
    ['cron(0 12 ? * 2 *)', 'UTC', '2026-01-05T12:00:00Z', undefined, '2026-01-12T12:00:00.000Z'],
    ['cron(0 9 ? * SUN *)', 'UTC', '2026-01-05T00:00:00Z', undefined, '2026-01-11T09:00:00.000Z'],
    ['cron(0 9 ? * L *)', 'UTC', '2026-01-05T00:00:00Z', undefined, '2026-01-10T09:00:00.000Z'],
    ['cron(0 9 ? * 6L *)', 'UTC', '2026-01-01T00:00:00Z', undefined, '2026-01-30T09:00:00.000Z'],
    ['cron(0 9 ? * 3#2 *)', 'UTC', '2026-01-01T00:00:00Z', undefined, '2026-01-13T09:00:00.000Z'],
    // L, LW, nW
    ['cron(0 10 L * ? *)', 'UTC', '2026-02-01T00:00:00Z', undefined, '2026-02-28T10:00:00.000Z'],
    ['cron(0 10 L * ? *)', 'UTC', '2028-02-01T00:00:00Z', undefined, '2028-02-29T10:00:00.000Z'],
    ['cron(0 10 LW * ? *)', 'UTC', '2026-05-01T00:00:00Z', undefined, '2026-05-29T10:00:00.000Z'],
    ['cron(0 10 15W * ? *)', 'UTC', '2026-08-01T00:00:00Z', undefined, '2026-08-14T10:00:00.000Z'],
    ['cron(0 10 1W * ? *)', 'UTC', '2026-07-31T12:00:00Z', undefined, '2026-08-03T10:00:00.000Z'],
    // year field
    ['cron(0 0 1 JAN ? 2027)', 'UTC', '2026-03-01T00:00:00Z', undefined, '2027-01-01T00:00:00.000Z'],
    ['cron(0 0 1 JAN ? 2027)', 'UTC', '2027-01-01T00:00:00Z', undefined, null],
    ['cron(0 0 31 2 ? *)', 'UTC', '2026-01-01T00:00:00Z', undefined, null],
    // StartDate bounds cron from below (inclusive)
    ['cron(0 12 * * ? *)', 'UTC', '2026-01-05T00:00:00Z', '2026-01-07T12:00:00Z', '2026-01-07T12:00:00.000Z'],
    // time zones: winter and summer offsets, half-hour offsets
    [
      'cron(45 5 ? * MON-FRI *)',
      'Europe/Berlin',
      '2026-01-09T12:00:00Z',
      undefined,
      '2026-01-12T04:45:00.000Z',
    ],
    [
      'cron(45 5 ? * MON-FRI *)',
      'Europe/Berlin',
      '2026-07-03T12:00:00Z',
      undefined,
      '2026-07-06T03:45:00.000Z',
    ],
    ['cron(0 9 * * ? *)', 'Asia/Kolkata', '2026-01-05T00:00:00Z', undefined, '2026-01-05T03:30:00.000Z'],
    ['cron(0 9 * * ? *)', 'America/New_York', '2026-03-07T15:00:00Z', undefined, '2026-03-08T13:00:00.000Z'],
    // DST: a skipped wall-clock time does not fire (croner/cron-parser would fire at 03:00)
    ['cron(30 2 * * ? *)', 'Europe/Berlin', '2026-03-28T12:00:00Z', undefined, '2026-03-30T00:30:00.000Z'],
    // DST: a repeated wall-clock time fires once, at its first occurrence
    ['cron(30 2 * * ? *)', 'Europe/Berlin', '2026-10-24T12:00:00Z', undefined, '2026-10-25T00:30:00.000Z'],
    ['cron(30 2 * * ? *)', 'Europe/Berlin', '2026-10-25T00:30:00Z', undefined, '2026-10-26T01:30:00.000Z'],
    ['cron(0/30 * * * ? *)', 'Europe/Berlin', '2026-10-25T00:30:00Z', undefined, '2026-10-25T02:00:00.000Z'],
    // at(): once, in the time zone; StartDate is ignored
    [
      'at(2026-12-01T06:00:00)',
      'Europe/Berlin',
      '2026-11-30T00:00:00Z',
      undefined,
      '2026-12-01T05:00:00.000Z',
    ],
    [
      'at(2026-12-01T06:00:00)',
      'UTC',
      '2026-11-30T00:00:00Z',
      '2027-01-01T00:00:00Z',
      '2026-12-01T06:00:00.000Z',
    ],
    ['at(2026-12-01T06:00:00)', 'Europe/Berlin', '2026-12-01T05:00:00Z', undefined, null],
    ['at(2026-03-29T02:30:00)', 'Europe/Berlin', '2026-03-01T00:00:00Z', undefined, null],
  ])('%s in %s after %s (start %s) → %s', (expr, tz, after, start, expected) => {
    const t = nextFireTime(expr, tz, d(after), start === undefined ? undefined : d(start))
    expect(t === null ? null : t.toISOString()).toBe(expected)
  })

  it('accepts a parsed expression and walks a schedule forward', () => {
    const e = parseScheduleExpression('cron(45 5 ? * MON-FRI *)')
    const times: string[] = []
    let t: Date | null = d('2026-01-08T00:00:00Z')
    for (let i = 0; i < 4 && t; i++) {
      t = nextFireTime(e, 'Europe/Berlin', t)
      if (t) times.push(t.toISOString())
    }
    expect(times).toEqual([
      '2026-01-08T04:45:00.000Z',
      '2026-01-09T04:45:00.000Z',
      '2026-01-12T04:45:00.000Z',
      '2026-01-13T04:45:00.000Z',
    ])
  })

  it('rejects unknown time zones and offsets', () => {
    expect(() => nextFireTime('rate(1 hour)', 'Mars/Olympus', new Date())).toThrow(
      /Unknown time zone 'Mars\/Olympus'/,
    )
    expect(() => nextFireTime('rate(1 hour)', '+01:00', new Date())).toThrow(ScheduleExpressionError)
  })
})

describe('localToInstants', () => {
  it('finds none in a spring-forward gap and two in a repeated hour', () => {
    const local = { year: 2026, month: 3, day: 29, hour: 2, minute: 30, second: 0 }
    expect(localToInstants(local, 'Europe/Berlin')).toEqual([])
    const repeated = { ...local, month: 10, day: 25 }
    expect(localToInstants(repeated, 'Europe/Berlin').map((t) => new Date(t).toISOString())).toEqual([
      '2026-10-25T00:30:00.000Z',
      '2026-10-25T01:30:00.000Z',
    ])
  })
})

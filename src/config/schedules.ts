import { join } from 'node:path'
import { z } from 'zod'
import { ConfigError } from '../errors.ts'
import type { Catalog } from './catalog.ts'
import { isValidTimeZone, parseScheduleExpression, ScheduleExpressionError } from './schedule-expression.ts'
import { readYamlFile } from './yaml-file.ts'

/** The file, inside the configuration directory, holding the prewarm schedules. */
export const SCHEDULES_FILE = 'schedules.yaml'

/** EventBridge Scheduler's rule for schedule (and group) names. */
export const SCHEDULE_NAME_PATTERN = /^[0-9a-zA-Z_.-]{1,64}$/

const catalogName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be lower_snake_case (a-z, 0-9, _)')

const scheduleSchema = z.strictObject({
  expression: z.string().min(1),
  timezone: z.string().min(1).default('UTC'),
  /** 0 = the service's FlexibleTimeWindow OFF; otherwise the window of Mode FLEXIBLE (the service allows ≤ 1440). */
  flexibleWindowMinutes: z.number().int().min(0).max(1440).default(0),
  // The service caps Description at 512 characters.
  description: z.string().max(512).default(''),
  enabled: z.boolean().default(true),
  queries: z.array(catalogName).default([]),
  tags: z.array(catalogName).default([]),
})

const fileSchema = z.strictObject({ schedules: z.record(z.string(), scheduleSchema).nullable().default({}) })

/** A prewarm schedule from `schedules.yaml`, validated. Empty `queries` and `tags` = the whole catalog. */
export interface ScheduleDef {
  name: string
  /** `rate(…)`, `cron(…)` or `at(…)`, exactly as written (that is what is sent to the service). */
  expression: string
  /** IANA time zone the expression is evaluated in. */
  timezone: string
  /** 0 = off. */
  flexibleWindowMinutes: number
  description: string
  enabled: boolean
  queries: string[]
  tags: string[]
}

/** Reads and validates `<configDir>/schedules.yaml`; a missing file means no schedules. */
export async function loadSchedules(configDir: string): Promise<ScheduleDef[]> {
  const file = join(configDir, SCHEDULES_FILE)
  const doc = await readYamlFile(file, { optional: true })
  // An empty or comments-only file parses to null: no schedules.
  const parsed = fileSchema.safeParse(doc ?? {})
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const [top, name, ...field] = i.path.map(String)
      // A misspelt field (`timeZone`) is reported under its own name.
      const unknown = i.code === 'unrecognized_keys' ? i.keys : undefined
      if (top === 'schedules' && name !== undefined) {
        if (unknown) return `schedule '${name}', ${unknown.join(', ')}: unknown field`
        return `schedule '${name}', ${field.length > 0 ? field.join('.') : '(schedule)'}: ${i.message}`
      }
      if (unknown) return `${unknown.join(', ')}: unknown key (expected 'schedules')`
      return `${i.path.length > 0 ? i.path.join('.') : '(file)'}: ${i.message}`
    })
    throw new ConfigError(`${file}: ${lines.join('; ')}`)
  }
  return Object.entries(parsed.data.schedules ?? {}).map(([name, raw]) => {
    const fail = (field: string, message: string): never => {
      throw new ConfigError(`${file}: schedule '${name}', ${field}: ${message}`)
    }
    if (!SCHEDULE_NAME_PATTERN.test(name))
      fail('name', '1–64 letters, digits, - _ and . only (the EventBridge Scheduler rule)')
    try {
      parseScheduleExpression(raw.expression)
    } catch (err) {
      if (err instanceof ScheduleExpressionError) fail('expression', err.message)
      throw err
    }
    if (!isValidTimeZone(raw.timezone)) fail('timezone', `'${raw.timezone}' is not an IANA time zone name`)
    return { name, ...raw }
  })
}

/**
 * Rejects schedules naming queries or tags that the catalog does not have: a typo would otherwise prewarm
 * nothing, silently, on every run. `file` is the schedules file, named in the message with the schedule.
 */
export function checkScheduleCoverage(
  schedules: readonly ScheduleDef[],
  catalog: Catalog,
  file: string,
): void {
  const tags = new Set([...catalog.queries.values()].flatMap((q) => q.tags))
  for (const s of schedules) {
    const unknownQueries = s.queries.filter((q) => !catalog.queries.has(q))
    if (unknownQueries.length > 0)
      throw new ConfigError(
        `${file}: schedule '${s.name}', queries: not in the catalog (${catalog.file}): ${unknownQueries.join(', ')}`,
      )
    const unknownTags = s.tags.filter((t) => !tags.has(t))
    if (unknownTags.length > 0)
      throw new ConfigError(
        `${file}: schedule '${s.name}', tags: no query in the catalog (${catalog.file}) has ${unknownTags.join(', ')}`,
      )
  }
}

/**
 * The Input the schedule sends to the Lambda. The service replaces `<aws.scheduler.scheduled-time>` at fire time,
 * so the handler learns which slot it is warming even when it runs late.
 */
export function scheduleInput(name: string): string {
  return JSON.stringify({
    action: 'prewarm',
    schedule: name,
    scheduledTime: '<aws.scheduler.scheduled-time>',
  })
}

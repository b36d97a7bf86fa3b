import { z } from 'zod'
import {
  isValidTimeZone,
  parseScheduleExpression,
  type ScheduleExpression,
  ScheduleExpressionError,
} from '../../src/config/schedule-expression.ts'
import { parseMember } from './request-validation.ts'
import { validationError } from './scheduler-api-error.ts'
import { parseTags, tagList } from './tag-requests.ts'

// Constraints below are the service model's (lengths, patterns, ranges), so the same input fails here and in AWS.
const NAME_PATTERN = /^[0-9a-zA-Z-_.]+$/
const name = z
  .string()
  .min(1, 'Member must have length greater than or equal to 1')
  .max(64, 'Member must have length less than or equal to 64')
  .regex(NAME_PATTERN, `Member must satisfy regular expression pattern: ${NAME_PATTERN.source}`)
const clientToken = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-zA-Z0-9-_]+$/, 'Member must satisfy regular expression pattern: ^[a-zA-Z0-9-_]+$')
const arn = z
  .string()
  .min(1, 'Member must have length greater than or equal to 1')
  .max(1600, 'Member must have length less than or equal to 1600')
const ROLE_ARN = /^arn:aws(-[a-z]+)?:iam::\d{12}:role\/[\w+=,.@/-]+$/
const epochSeconds = z.number().finite()

const target = z.looseObject({
  Arn: arn,
  RoleArn: arn.regex(ROLE_ARN, `Member must satisfy regular expression pattern: ${ROLE_ARN.source}`),
  Input: z
    .string()
    .min(1, 'Member must have length greater than or equal to 1')
    .max(8192, 'Member must have length less than or equal to 8192')
    .optional(),
  RetryPolicy: z
    .object({
      MaximumEventAgeInSeconds: z.number().int().min(60).max(86_400).optional(),
      MaximumRetryAttempts: z.number().int().min(0).max(185).optional(),
    })
    .optional(),
  DeadLetterConfig: z.object({ Arn: arn.optional() }).optional(),
})

const scheduleBody = z.object({
  ScheduleExpression: z
    .string()
    .min(1, 'Member must have length greater than or equal to 1')
    .max(256, 'Member must have length less than or equal to 256'),
  Target: target,
  FlexibleTimeWindow: z.object({
    Mode: z.enum(['OFF', 'FLEXIBLE'], 'Member must satisfy enum value set: [OFF, FLEXIBLE]'),
    MaximumWindowInMinutes: z
      .number()
      .int()
      .min(1, 'Member must have value greater than or equal to 1')
      .max(1440, 'Member must have value less than or equal to 1440')
      .optional(),
  }),
  GroupName: name.optional(),
  StartDate: epochSeconds.optional(),
  EndDate: epochSeconds.optional(),
  Description: z.string().max(512, 'Member must have length less than or equal to 512').optional(),
  ScheduleExpressionTimezone: z
    .string()
    .min(1, 'Member must have length greater than or equal to 1')
    .max(50, 'Member must have length less than or equal to 50')
    .optional(),
  State: z
    .enum(['ENABLED', 'DISABLED'], 'Member must satisfy enum value set: [ENABLED, DISABLED]')
    .optional(),
  KmsKeyArn: z.string().min(1).max(2048).optional(),
  ClientToken: clientToken.optional(),
  ActionAfterCompletion: z
    .enum(['NONE', 'DELETE'], 'Member must satisfy enum value set: [NONE, DELETE]')
    .optional(),
})

/** The target as sent: Arn, RoleArn, Input, and whatever else (RetryPolicy, SqsParameters…) is echoed back. */
export type ScheduleTarget = z.infer<typeof target>

/** A validated CreateSchedule / UpdateSchedule request: the whole schedule (an update replaces everything). */
export interface ScheduleSpec {
  groupName: string
  scheduleExpression: string
  expression: ScheduleExpression
  /** As sent; evaluation uses UTC when absent. */
  timezone: string | undefined
  startDateMs: number | undefined
  endDateMs: number | undefined
  description: string | undefined
  state: 'ENABLED' | 'DISABLED'
  flexibleTimeWindow: { Mode: 'OFF' | 'FLEXIBLE'; MaximumWindowInMinutes?: number }
  target: ScheduleTarget
  actionAfterCompletion: 'NONE' | 'DELETE'
  kmsKeyArn: string | undefined
  clientToken: string | undefined
}

/** Validates a CreateSchedule / UpdateSchedule body like the service; ValidationException otherwise. */
export function parseScheduleRequest(scheduleName: string, body: unknown, nowMs: number): ScheduleSpec {
  parseMember(name, scheduleName, 'Name')
  const b = parseMember(scheduleBody, body ?? {}, undefined)
  let expression: ScheduleExpression
  try {
    expression = parseScheduleExpression(b.ScheduleExpression)
  } catch (err) {
    if (err instanceof ScheduleExpressionError) throw validationError(err.message)
    throw err
  }
  if (b.ScheduleExpressionTimezone !== undefined && !isValidTimeZone(b.ScheduleExpressionTimezone))
    throw validationError(`Invalid ScheduleExpressionTimezone: ${b.ScheduleExpressionTimezone}`)
  const window = b.FlexibleTimeWindow
  if (window.Mode === 'FLEXIBLE' && window.MaximumWindowInMinutes === undefined)
    throw validationError('MaximumWindowInMinutes is required when FlexibleTimeWindow Mode is FLEXIBLE.')
  if (window.Mode === 'OFF' && window.MaximumWindowInMinutes !== undefined)
    throw validationError('MaximumWindowInMinutes must not be set when FlexibleTimeWindow Mode is OFF.')
  const startDateMs = b.StartDate === undefined ? undefined : Math.round(b.StartDate * 1000)
  const endDateMs = b.EndDate === undefined ? undefined : Math.round(b.EndDate * 1000)
  if (startDateMs !== undefined && startDateMs < nowMs - 5 * 60_000)
    throw validationError(
      'The StartDate you specify cannot be earlier than 5 minutes prior to the current time.',
    )
  if (endDateMs !== undefined && endDateMs < nowMs)
    throw validationError('The EndDate you specify cannot be earlier than the current time.')
  if (startDateMs !== undefined && endDateMs !== undefined && endDateMs <= startDateMs)
    throw validationError('The EndDate you specify must be after the StartDate.')
  return {
    groupName: b.GroupName ?? 'default',
    scheduleExpression: b.ScheduleExpression,
    expression,
    timezone: b.ScheduleExpressionTimezone,
    startDateMs,
    endDateMs,
    description: b.Description,
    state: b.State ?? 'ENABLED',
    flexibleTimeWindow: window,
    target: b.Target,
    actionAfterCompletion: b.ActionAfterCompletion ?? 'NONE',
    kmsKeyArn: b.KmsKeyArn,
    clientToken: b.ClientToken,
  }
}

const groupBody = z.object({
  Tags: tagList.optional(),
  ClientToken: clientToken.optional(),
})

/** A validated CreateScheduleGroup request. */
export interface GroupSpec {
  tags: Array<{ Key: string; Value: string }>
  clientToken: string | undefined
}

/** Validates a CreateScheduleGroup request. */
export function parseGroupRequest(groupName: string, body: unknown): GroupSpec {
  parseMember(name, groupName, 'Name')
  const b = parseMember(groupBody, body ?? {}, undefined)
  return { tags: parseTags(b.Tags ?? []), clientToken: b.ClientToken }
}

/** Validates the `clientToken` query parameter of DeleteScheduleGroup. */
export function parseClientToken(value: string | undefined): string | undefined {
  return value === undefined ? undefined : parseMember(clientToken, value, 'ClientToken')
}

/** Validates a schedule or group name taken from the path or a query parameter. */
export function parseName(value: string, member: string): string {
  return parseMember(name, value, member)
}

const listQuery = z.object({
  NamePrefix: name.optional(),
  State: z
    .enum(['ENABLED', 'DISABLED'], 'Member must satisfy enum value set: [ENABLED, DISABLED]')
    .optional(),
  ScheduleGroup: name.optional(),
  NextToken: z.string().min(1).max(2048).optional(),
  MaxResults: z.coerce
    .number()
    .int()
    .min(1, 'Member must have value greater than or equal to 1')
    .max(100, 'Member must have value less than or equal to 100')
    .optional(),
})

export type ListQuery = z.infer<typeof listQuery>

/** Validates the query string of ListSchedules / ListScheduleGroups. */
export function parseListQuery(query: Record<string, string>): ListQuery {
  return parseMember(listQuery, query, undefined)
}

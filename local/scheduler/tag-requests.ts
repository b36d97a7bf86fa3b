import { z } from 'zod'
import { parseMember } from './request-validation.ts'
import { validationError } from './scheduler-api-error.ts'

// The service model's constraints (TagResourceArn, TagKey, TagValue, TagList, TagKeyList): only schedule-group ARNs
// match the pattern, which is how the service refuses tags on schedules.
const TAG_RESOURCE_ARN = /^arn:aws(-[a-z]+)?:scheduler:[a-z0-9-]+:\d{12}:schedule-group\/([0-9a-zA-Z-_.]+)$/
const TAG_RESOURCE_ARN_SOURCE = String.raw`^arn:aws(-[a-z]+)?:scheduler:[a-z0-9\-]+:\d{12}:schedule-group\/[0-9a-zA-Z-_.]+$`
/** The most tags one request carries, and (as CreateScheduleGroup's limit implies) one group holds. */
export const MAX_TAGS = 200

const resourceArn = z
  .string()
  .min(1, 'Member must have length greater than or equal to 1')
  .max(1011, 'Member must have length less than or equal to 1011')
  .regex(TAG_RESOURCE_ARN, `Member must satisfy regular expression pattern: ${TAG_RESOURCE_ARN_SOURCE}`)
const tagKey = z
  .string()
  .min(1, 'Member must have length greater than or equal to 1')
  .max(128, 'Member must have length less than or equal to 128')
const tagValue = z
  .string()
  .min(1, 'Member must have length greater than or equal to 1')
  .max(256, 'Member must have length less than or equal to 256')

/** TagList: 0–200 `{ Key, Value }`. */
export const tagList = z
  .array(z.object({ Key: tagKey, Value: tagValue }))
  .max(MAX_TAGS, `Member must have length less than or equal to ${MAX_TAGS}`)

const tagResourceBody = z.object({ Tags: tagList })
const tagKeyList = z.array(tagKey).max(MAX_TAGS, `Member must have length less than or equal to ${MAX_TAGS}`)

/** A tag as the API carries it. */
export interface Tag {
  Key: string
  Value: string
}

/** Validates the `{ResourceArn}` label of the tag operations; the name of the schedule group it designates. */
export function parseTagResourceArn(arn: string): string {
  parseMember(resourceArn, arn, 'ResourceArn')
  // The regex matched, so the group name is there.
  return TAG_RESOURCE_ARN.exec(arn)?.[2] ?? ''
}

/** Validates a TagResource body. */
export function parseTagResourceBody(body: unknown): Tag[] {
  return parseTags(parseMember(tagResourceBody, body ?? {}, undefined).Tags)
}

/** Validates the repeated `TagKeys` query parameter of UntagResource. */
export function parseTagKeys(keys: string[] | undefined): string[] {
  const parsed = parseMember(tagKeyList, keys, 'TagKeys')
  for (const key of parsed) refuseReserved(key)
  return parsed
}

/** Refuses keys in the reserved `aws:` namespace, which only AWS may set, change or remove. */
export function parseTags(tags: Tag[]): Tag[] {
  for (const tag of tags) refuseReserved(tag.Key)
  return tags
}

function refuseReserved(key: string): void {
  if (key.toLowerCase().startsWith('aws:'))
    throw validationError(`Tag keys beginning with 'aws:' are reserved for AWS use: ${key}`)
}

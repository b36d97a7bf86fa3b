import type { z } from 'zod'
import { validationError } from './scheduler-api-error.ts'

/** Parses with a zod schema, answering like the service's constraint checks ("N validation errors detected: …"). */
export function parseMember<T>(schema: z.ZodType<T>, value: unknown, member: string | undefined): T {
  const parsed = schema.safeParse(value)
  if (parsed.success) return parsed.data
  const issues = parsed.error.issues
  const details = issues.map((i) => {
    const path = [member, ...i.path.map(String)].filter((p) => p !== undefined).join('.') || '(body)'
    const missing = i.code === 'invalid_type' && /received undefined/.test(i.message)
    return `Value at '${path}' failed to satisfy constraint: ${missing ? 'Member must not be null' : i.message}`
  })
  const noun = issues.length === 1 ? 'error' : 'errors'
  throw validationError(`${issues.length} validation ${noun} detected: ${details.join('; ')}`)
}

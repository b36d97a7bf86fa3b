import { z } from 'zod'
import { invalidRequest } from './athena-api-error.ts'

const queryExecutionId = z.string().min(1).max(128)

/** StartQueryExecution input (the members the local endpoint reads). */
export const startQueryExecutionInput = z.object({
  QueryString: z.string().min(1).max(262_144),
  ClientRequestToken: z.string().min(32).max(128).optional(),
  QueryExecutionContext: z
    .object({
      Database: z.string().min(1).max(255).optional(),
      Catalog: z.string().min(1).max(256).optional(),
    })
    .optional(),
  ResultConfiguration: z.object({ OutputLocation: z.string().min(1).optional() }).optional(),
  WorkGroup: z
    .string()
    .regex(/^[a-zA-Z0-9._-]{1,128}$/)
    .optional(),
  ExecutionParameters: z.array(z.string().min(1).max(1024)).min(1).optional(),
  ResultReuseConfiguration: z
    .object({
      ResultReuseByAgeConfiguration: z
        .object({ Enabled: z.boolean(), MaxAgeInMinutes: z.number().int().min(0).max(10_080).optional() })
        .optional(),
    })
    .optional(),
})

export const getQueryExecutionInput = z.object({ QueryExecutionId: queryExecutionId })

export const batchGetQueryExecutionInput = z.object({
  QueryExecutionIds: z.array(queryExecutionId).min(1).max(50),
})

export const listQueryExecutionsInput = z.object({
  NextToken: z.string().min(1).max(1024).optional(),
  MaxResults: z.number().int().min(0).max(50).optional(),
  WorkGroup: z.string().min(1).max(128).optional(),
})

export const getQueryResultsInput = z.object({
  QueryExecutionId: queryExecutionId,
  NextToken: z.string().min(1).max(1024).optional(),
  MaxResults: z.number().int().min(1).max(1000).optional(),
})

export const stopQueryExecutionInput = z.object({ QueryExecutionId: queryExecutionId })

export type StartQueryExecutionInput = z.infer<typeof startQueryExecutionInput>
export type GetQueryResultsInput = z.infer<typeof getQueryResultsInput>
export type ListQueryExecutionsInput = z.infer<typeof listQueryExecutionsInput>

/** Validates a request body, answering like AWS's constraint checks ("N validation errors detected: …"). */
export function parseRequest<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {})
  if (parsed.success) return parsed.data
  const issues = parsed.error.issues
  const details = issues.map(
    (i) => `Value at '${i.path.join('.') || '(body)'}' failed to satisfy constraint: ${i.message}`,
  )
  const noun = issues.length === 1 ? 'error' : 'errors'
  throw invalidRequest(`${issues.length} validation ${noun} detected: ${details.join('; ')}`)
}

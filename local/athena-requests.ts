import { z } from 'zod'
import { AthenaApiError, invalidRequest } from './athena-api-error.ts'

const queryExecutionId = z.string().min(1).max(128)
const nextToken = z.string().min(1).max(1024)
const maxResults = (max: number, min = 1) => z.number().int().min(min).max(max)
const catalogName = z.string().min(1).max(256)
const glueName = z.string().min(1).max(128)
/** A work group name as Athena's model constrains it. */
export const workGroupName = z.string().regex(/^[a-zA-Z0-9._-]{1,128}$/)

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
  WorkGroup: workGroupName.optional(),
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
  NextToken: nextToken.optional(),
  MaxResults: maxResults(50, 0).optional(),
  WorkGroup: workGroupName.optional(),
})

export const getQueryResultsInput = z.object({
  QueryExecutionId: queryExecutionId,
  NextToken: nextToken.optional(),
  MaxResults: maxResults(1000).optional(),
})

export const stopQueryExecutionInput = z.object({ QueryExecutionId: queryExecutionId })

export const listDataCatalogsInput = z.object({
  NextToken: nextToken.optional(),
  MaxResults: maxResults(50, 2).optional(),
  WorkGroup: workGroupName.optional(),
})

export const getDataCatalogInput = z.object({ Name: catalogName, WorkGroup: workGroupName.optional() })

export const listDatabasesInput = z.object({
  CatalogName: catalogName,
  NextToken: nextToken.optional(),
  MaxResults: maxResults(50).optional(),
  WorkGroup: workGroupName.optional(),
})

export const getDatabaseInput = z.object({
  CatalogName: catalogName,
  DatabaseName: glueName,
  WorkGroup: workGroupName.optional(),
})

export const listTableMetadataInput = z.object({
  CatalogName: catalogName,
  DatabaseName: glueName,
  Expression: z.string().max(256).optional(),
  NextToken: nextToken.optional(),
  MaxResults: maxResults(50).optional(),
  WorkGroup: workGroupName.optional(),
})

export const getTableMetadataInput = z.object({
  CatalogName: catalogName,
  DatabaseName: glueName,
  TableName: glueName,
  WorkGroup: workGroupName.optional(),
})

export const listWorkGroupsInput = z.object({
  NextToken: nextToken.optional(),
  MaxResults: maxResults(50).optional(),
})

export const getWorkGroupInput = z.object({ WorkGroup: workGroupName })

export const listEngineVersionsInput = z.object({
  NextToken: nextToken.optional(),
  MaxResults: maxResults(10).optional(),
})

export type StartQueryExecutionInput = z.infer<typeof startQueryExecutionInput>
export type GetQueryResultsInput = z.infer<typeof getQueryResultsInput>
export type ListQueryExecutionsInput = z.infer<typeof listQueryExecutionsInput>
export type ListTableMetadataInput = z.infer<typeof listTableMetadataInput>

/**
 * Validates a request body as Athena does: a member of the wrong JSON type is a SerializationException worded by
 * the service's deserializer; `null` members count as absent; constraint failures are InvalidRequestException
 * "N validation errors detected: Value at 'X' failed to satisfy constraint: Member must …".
 */
export function parseRequest<T>(schema: z.ZodType<T>, body: unknown): T {
  const input = withoutNulls(body ?? {})
  const parsed = schema.safeParse(input)
  if (parsed.success) return parsed.data
  const issues = parsed.error.issues
  for (const issue of issues) {
    const mismatch = typeMismatch(issue, input)
    if (mismatch !== undefined) throw new AthenaApiError('SerializationException', mismatch)
  }
  const details = issues.map((i) => {
    const path = i.path.join('.') || '(body)'
    const missing = i.code === 'invalid_type' && valueAt(input, i.path) === undefined
    return missing
      ? `Value null at '${path}' failed to satisfy constraint: Member must not be null`
      : `Value at '${path}' failed to satisfy constraint: ${constraintText(i)}`
  })
  const noun = issues.length === 1 ? 'error' : 'errors'
  throw invalidRequest(`${issues.length} validation ${noun} detected: ${details.join('; ')}`)
}

function constraintText(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'too_small': {
      const what = issue.origin === 'number' || issue.origin === 'int' ? 'value' : 'length'
      return `Member must have ${what} greater than or equal to ${issue.minimum}`
    }
    case 'too_big': {
      const what = issue.origin === 'number' || issue.origin === 'int' ? 'value' : 'length'
      return `Member must have ${what} less than or equal to ${issue.maximum}`
    }
    case 'invalid_format':
      return issue.format === 'regex' && 'pattern' in issue && typeof issue.pattern === 'string'
        ? `Member must satisfy regular expression pattern: ${issue.pattern.replace(/^\/\^?|\$?\/[a-z]*$/g, '')}`
        : issue.message
    default:
      return issue.message
  }
}

// The deserializer's words for a JSON value of the wrong kind (measured on Athena; other pairs get the generic form).
function typeMismatch(issue: z.core.$ZodIssue, input: unknown): string | undefined {
  if (issue.code !== 'invalid_type') return undefined
  const value = valueAt(input, issue.path)
  if (value === undefined) return undefined
  if (Array.isArray(value)) return 'Start of list found where not expected'
  if (typeof value === 'object') return 'Start of structure or map found where not expected.'
  const token =
    typeof value === 'string'
      ? 'STRING_VALUE'
      : typeof value === 'boolean'
        ? `${String(value).toUpperCase()}_VALUE`
        : 'NUMBER_VALUE'
  if (issue.expected === 'number' || issue.expected === 'int') {
    return typeof value === 'number' ? undefined : `${token} can not be converted to an Integer`
  }
  if (issue.expected === 'string') return `${token} can not be converted to a String`
  if (issue.expected === 'array') return 'Expected list or null'
  if (issue.expected === 'object') return 'Expected null'
  return undefined
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined
    value = (value as Record<PropertyKey, unknown>)[key]
  }
  return value
}

function withoutNulls(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value
  const out: Record<string, unknown> = {}
  for (const [key, member] of Object.entries(value)) if (member !== null) out[key] = withoutNulls(member)
  return out
}

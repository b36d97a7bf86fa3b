import type { Context } from 'hono'
import type { TenantFromRequest } from '../http/api-key-auth.ts'
import type { AppEnv } from '../http/app-env.ts'

type Fields = Record<string, unknown>

const isObject = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * The context a Lambda authorizer returned for an API Gateway request event: `requestContext.authorizer` on a REST
 * API (v1) event, `requestContext.authorizer.lambda` on an HTTP API (v2) one; undefined for any other event (ALB,
 * VPC Lattice, none at all), which no authorizer of ours has seen.
 */
export function authorizerContext(event: unknown): Fields | undefined {
  if (!isObject(event) || !isObject(event.requestContext)) return undefined
  const authorizer = event.requestContext.authorizer
  if (!isObject(authorizer)) return undefined
  if (event.version === '2.0') return isObject(authorizer.lambda) ? authorizer.lambda : undefined
  return typeof event.httpMethod === 'string' ? authorizer : undefined
}

/**
 * The value of `field` in an event's authorizer context, as a tenant name: undefined when the field is absent (or
 * null), so the request's key decides; any other value is a name, and one that names no tenant is refused.
 * API Gateway passes strings, numbers and booleans; anything else is kept as its JSON, which names no tenant.
 */
export function authorizerTenantName(event: unknown, field: string): string | undefined {
  const context = authorizerContext(event)
  if (!context || !Object.hasOwn(context, field)) return undefined
  const value = context[field]
  if (value === undefined || value === null) return undefined
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return JSON.stringify(value)
}

/**
 * The app's `tenantFromRequest` on Lambda: the tenant named by the authorizer's `field`, read from the event that
 * Hono's Lambda adapter hands the app as `c.env.event` (both handlers give the app that env: lambda.ts).
 */
export function tenantFromAuthorizer(field: string): TenantFromRequest {
  return (c: Context<AppEnv>) => {
    const env: unknown = c.env
    return isObject(env) ? authorizerTenantName(env.event, field) : undefined
  }
}

import type { TenantDef } from '../config/tenants.ts'
import type { ReadResult } from '../service/query-service.ts'

/** Hono context variables set by handlers and read by middleware (the request logger). */
export interface AppEnv {
  Variables: {
    read: ReadResult | undefined
    /** The tenant of the request's key (tenants.yaml), if it has one. */
    tenant: TenantDef | undefined
  }
}

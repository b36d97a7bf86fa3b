import type { QueryIdentity } from '../cache/cache-key.ts'
import type { DecodedEntry } from '../cache/entry-codec.ts'
import type { StampRange } from '../cache/generations.ts'
import type { QueryDef } from '../config/catalog.ts'
import type { TenantDef } from '../config/tenants.ts'
import type { CanonicalParams } from './parameters.ts'
import type { ResultFormat } from './result-body.ts'

/**
 * How a read was answered: `HIT` fresh from cache, `STALE` stale (a refresh runs, or the refresh failed), `MISS`
 * computed now, `BYPASS` computed because the cache was unusable.
 */
export type CacheOutcome = 'HIT' | 'STALE' | 'MISS' | 'BYPASS'

/** A validated request: its query, canonical parameters, identity and cache key. */
export interface ResolvedQuery {
  def: QueryDef
  params: CanonicalParams
  identity: QueryIdentity
  key: string
  /** The popularity member of this read (query + canonical parameters). */
  member: string
  /** The stamp hash of the query and the fields of it that concern this entry (see generations.ts). */
  stamps: { hashKey: string; fields: readonly string[]; range?: StampRange }
  /** The caller's tenant, when it has one (also in `identity` and so in `key`). */
  tenant?: TenantDef
  /** The body format; `json` is the entry computations write, the others are rendered from its execution. */
  format: ResultFormat
  /** For another format: the JSON read it is rendered from (same query, parameters and stamps). */
  json?: ResolvedQuery
}

/** A read answered with an entry. */
export interface ReadResult {
  kind: 'entry'
  entry: DecodedEntry
  outcome: CacheOutcome
  key: string
  query: string
  def: QueryDef
  /** The body format of `entry`. */
  format: ResultFormat
  /** The tenant the read was made as (its id), if any. */
  tenant?: string
  /** Time spent in the cache lookup and (on a miss) in the engine, for Server-Timing and logs. */
  timings: { cacheMs: number; engineMs?: number }
}

/** The query runs on; poll `/executions/{id}` (202 Accepted). */
export interface PendingResult {
  kind: 'pending'
  executionId: string
  state: string
  key: string
  query: string
}

export type ReadOutcome = ReadResult | PendingResult

/** What a process does with work that outlives the request: finish it (Node server) or leave it to the lease. */
export type BackgroundMode = 'continue' | 'detach'

/** A read answered with an entry. */
export function entryResult(
  resolved: ResolvedQuery,
  entry: DecodedEntry,
  outcome: CacheOutcome,
  timings: ReadResult['timings'],
): ReadResult {
  return {
    kind: 'entry',
    entry,
    outcome,
    key: resolved.key,
    query: resolved.def.name,
    def: resolved.def,
    format: resolved.format,
    ...(resolved.tenant ? { tenant: resolved.tenant.id } : {}),
    timings,
  }
}

/** A read whose query still runs as `executionId`. */
export function pendingResult(resolved: ResolvedQuery, executionId: string, state: string): PendingResult {
  return { kind: 'pending', executionId, state, key: resolved.key, query: resolved.def.name }
}

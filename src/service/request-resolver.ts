import { LRUCache } from 'lru-cache'
import { type CacheKeys, canonicalJson, type QueryIdentity } from '../cache/cache-key.ts'
import { generationFields, rangeFieldsFrom } from '../cache/generations.ts'
import type { Catalog, QueryDef } from '../config/catalog.ts'
import type { TenantDef, Tenants } from '../config/tenants.ts'
import { ForbiddenError, UnknownQueryError } from '../errors.ts'
import { type CanonicalParams, parseParameters, type RawParams } from './parameters.ts'
import type { ResolvedQuery } from './read-result.ts'
import type { ResultFormat } from './result-body.ts'
import { popularityMember } from './usage.ts'

/** Resolutions remembered per exact query string, at most. */
const MEMO_ENTRIES = 10_000
/**
 * What the memo may hold, by its own estimate (see memoSize). Counting entries alone let 12,000 distinct 14 KB query
 * strings (the same parameters padded with `&`) pin 157 MB; a dashboard's few hundred URLs of ~1 KB each fit many
 * times over.
 */
export const MEMO_MAX_BYTES = 8 * 1024 * 1024
/**
 * Longer query strings are resolved every time, never memoised. A browser's dashboard URL is a few hundred
 * characters; only padding or hostile input reaches this, and a memo hit is worth nothing to either.
 */
export const MEMO_MAX_SEARCH_LENGTH = 2048
/**
 * The objects of one memo entry besides its strings (LRU node, ResolvedQuery, identity, parameters, stamp fields),
 * an over-estimate of what V8 allocates for them.
 */
const MEMO_ENTRY_OVERHEAD_BYTES = 512

/**
 * Estimated bytes one memo entry pins: its key and every string of the resolution that is not shared with the
 * catalog, one byte per character (query strings are percent-encoded ASCII; decoded values are shorter than that).
 */
export function memoSize(memoKey: string, resolved: ResolvedQuery): number {
  let chars = memoKey.length + resolved.key.length + resolved.member.length + resolved.stamps.hashKey.length
  for (const field of resolved.stamps.fields) chars += field.length
  for (const [name, value] of Object.entries(resolved.params))
    chars += name.length + (typeof value === 'string' ? value.length : 8)
  return MEMO_ENTRY_OVERHEAD_BYTES + chars
}

/**
 * The stamp fields of an entry: a query with a declared time range (its first `ranges` item) also reads the range
 * records, and an entry's span is [from, to) of that range in UTC days. A range parameter without a value (an
 * optional one left out) leaves the entry without a span: every range invalidation of its query then reaches it.
 */
export function stampsOf(
  hashKey: string,
  entryId: string,
  def: QueryDef,
  params: CanonicalParams,
  tenant: string | undefined,
): ResolvedQuery['stamps'] {
  const declared = def.ranges[0]
  if (!declared) return { hashKey, fields: generationFields(entryId, tenant) }
  const fields = generationFields(entryId, tenant, true)
  const from = dayStartMs(params[declared.from])
  const to = dayStartMs(params[declared.to])
  const span = from !== undefined && to !== undefined && to > from ? { startMs: from, endMs: to } : ALL_TIME
  return { hashKey, fields, range: { ...span, recordsFrom: rangeFieldsFrom(tenant) } }
}

const ALL_TIME = { startMs: 0, endMs: 253_402_300_800_000 }

/** A canonical date parameter (YYYY-MM-DD) as the epoch ms of its UTC midnight. */
function dayStartMs(value: unknown): number | undefined {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return undefined
  const ms = Date.parse(`${value}T00:00:00Z`)
  return Number.isFinite(ms) ? ms : undefined
}

/** A query string as repeated-value lists, the shape Hono's `c.req.queries()` gives. */
export function parseSearch(search: string): RawParams {
  const out: Record<string, string[]> = {}
  for (const [k, v] of new URLSearchParams(search)) {
    const values = out[k] ?? []
    values.push(v)
    out[k] = values
  }
  return out
}

/**
 * Turns a request (query name + raw parameters) into a validated read: its canonical parameters, its identity
 * (query, SQL hash, database, workgroup, parameters) and the cache key derived from it.
 */
export class RequestResolver {
  // Dashboards repeat the same URLs. Resolution is a pure function of the query name and the query string (the
  // catalog is immutable while running), so successful resolutions are memoised: a hit skips validation and hashing.
  private readonly memo = new LRUCache<string, ResolvedQuery>({
    max: MEMO_ENTRIES,
    maxSize: MEMO_MAX_BYTES,
    sizeCalculation: (resolved, memoKey) => memoSize(memoKey, resolved),
  })

  /** Other-format reads of a resolution, living exactly as long as it does (the memo bounds them). */
  private readonly variants = new WeakMap<ResolvedQuery, Partial<Record<ResultFormat, ResolvedQuery>>>()

  constructor(
    private readonly o: {
      catalog: Catalog
      keys: CacheKeys
      database: string
      workgroup: string
      /** tenants.yaml; none when absent. */
      tenants?: Tenants | undefined
    },
  ) {}

  /**
   * Validates the request and derives its cache key; throws UnknownQueryError / ValidationError, and ForbiddenError
   * for a query the tenant may not read or one that needs a tenant's value the caller does not have.
   */
  resolve(name: string, raw: RawParams, tenant?: TenantDef): ResolvedQuery {
    const def = this.o.catalog.queries.get(name)
    if (!def) throw new UnknownQueryError(name)
    if (tenant?.queries && !tenant.queries.has(name))
      throw new ForbiddenError(`Tenant '${tenant.id}' may not read query '${name}'`)
    // The service's own parameters (the body format) are not the query's; the catalog cannot declare them.
    const { format: _format, ...queryRaw } = raw
    const params = parseParameters(def, queryRaw, tenant)
    const identity: QueryIdentity = {
      query: def.name,
      sqlHash: def.sqlHash,
      database: def.database ?? this.o.database,
      workgroup: def.workgroup ?? this.o.workgroup,
      params,
      ...(tenant ? { tenant: tenant.id } : {}),
    }
    const key = this.o.keys.entry(identity)
    return {
      def,
      params,
      identity,
      key,
      member: popularityMember(def.name, canonicalJson(params), tenant?.id),
      // Derived once here (and memoised with the resolution), not on every lookup.
      stamps: stampsOf(this.o.keys.generations(def.name), this.o.keys.entryId(key), def, params, tenant?.id),
      format: 'json',
      ...(tenant ? { tenant } : {}),
    }
  }

  /**
   * Who reads a query as the service replays it (prewarm): each tenant that may read it and has every value it takes
   * from the tenant, when it takes any; else nobody in particular (undefined).
   */
  readersOf(query: string): Array<string | undefined> {
    const def = this.o.catalog.queries.get(query)
    const bound = def?.parameters.filter((p) => p.from === 'tenant').map((p) => p.name) ?? []
    if (bound.length === 0) return [undefined]
    return [...(this.o.tenants?.byId.values() ?? [])]
      .filter((t) => (!t.queries || t.queries.has(query)) && bound.every((name) => name in t.parameters))
      .map((t) => t.id)
  }

  /**
   * A read the service replays itself (prewarm, `/executions/{id}`), from canonical parameters that include the
   * tenant-bound values: those are dropped and taken from the tenant again, so a replay can never bind a value its
   * tenant does not have. An unknown tenant (removed from tenants.yaml) is a ForbiddenError.
   */
  replay(name: string, params: RawParams, tenantId: string | undefined): ResolvedQuery {
    const def = this.o.catalog.queries.get(name)
    if (!def) throw new UnknownQueryError(name)
    const tenant = tenantId === undefined ? undefined : this.o.tenants?.byId.get(tenantId)
    if (tenantId !== undefined && !tenant) throw new ForbiddenError(`No tenant '${tenantId}' any more`)
    const own = Object.fromEntries(
      Object.entries(params).filter(
        ([k]) => !def.parameters.some((p) => p.name === k && p.from === 'tenant'),
      ),
    )
    return this.resolve(name, own, tenant)
  }

  /**
   * The read of `resolved` in another body format: its own entry key, the same stamps (an invalidation of the JSON
   * entry reaches it), remembered per resolution so a memoised read costs no allocation.
   */
  inFormat(resolved: ResolvedQuery, format: ResultFormat): ResolvedQuery {
    if (format === resolved.format) return resolved
    const json = resolved.json ?? resolved
    if (format === 'json') return json
    let forms = this.variants.get(json)
    if (!forms) {
      forms = {}
      this.variants.set(json, forms)
    }
    let variant = forms[format]
    if (!variant) {
      variant = { ...json, format, key: this.o.keys.variant(json.key, format), json }
      forms[format] = variant
    }
    return variant
  }

  /**
   * `resolve` memoised on the exact query string of the request; `raw` is only evaluated on a memo miss.
   * Errors are not memoised (bad input is rare and must be reported in full every time).
   */
  resolveRequest(name: string, search: string, raw: () => RawParams, tenant?: TenantDef): ResolvedQuery {
    if (search.length > MEMO_MAX_SEARCH_LENGTH) return this.resolve(name, raw(), tenant)
    // The tenant is part of the memo key: the same URL resolves to another entry for another tenant.
    const memoKey = tenant ? `${tenant.id}@${name}?${search}` : `${name}?${search}`
    let resolved = this.memo.get(memoKey)
    if (!resolved) {
      resolved = this.resolve(name, raw(), tenant)
      this.memo.set(memoKey, resolved)
    }
    return resolved
  }

  /** What the memo holds: entries and their estimated bytes (bounded by MEMO_ENTRIES and MEMO_MAX_BYTES). */
  get memoStats(): { entries: number; bytes: number } {
    return { entries: this.memo.size, bytes: this.memo.calculatedSize }
  }

  /** `resolveRequest` on a raw query string, or undefined for invalid input (the full path then reports it). */
  tryResolve(name: string, search: string, tenant?: TenantDef): ResolvedQuery | undefined {
    try {
      return this.resolveRequest(name, search, () => parseSearch(search), tenant)
    } catch {
      return undefined
    }
  }
}

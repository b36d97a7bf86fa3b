import { z } from 'zod'
import type { CacheKeys } from '../cache/cache-key.ts'
import type { CacheStore } from '../cache/cache-store.ts'
import { type InvalidationMode, stampWrite, type TimeSpan } from '../cache/generations.ts'
import type { TenantDef, Tenants } from '../config/tenants.ts'
import { UnknownQueryError, ValidationError } from '../errors.ts'
import type { CanonicalParams, RawParams } from './parameters.ts'
import type { QueryService } from './query-service.ts'
import { RESULT_FORMATS } from './result-body.ts'

const parameterValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.string())])

/** A date (its UTC midnight) or an ISO 8601 timestamp with a zone, kept as written and as epoch ms. */
const instant = z
  .string()
  .max(40)
  .transform((text, ctx) => {
    const date = /^\d{4}-\d{2}-\d{2}$/.test(text)
    const ms = date
      ? Date.parse(`${text}T00:00:00Z`)
      : /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(text)
        ? Date.parse(text)
        : Number.NaN
    if (!Number.isFinite(ms) || (date && new Date(ms).toISOString().slice(0, 10) !== text)) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be a date (YYYY-MM-DD) or an ISO 8601 timestamp with a zone',
      })
      return z.NEVER
    }
    return { text, ms }
  })

/**
 * An invalidation: exactly one target (one entry, one query, tags, or everything), optionally narrowed to one tenant's
 * entries, a mode, and whether to refresh the invalidated entries of the prewarm set right away. The same body for HTTP, the Lambda event and the CLI.
 */
export const invalidateRequestSchema = z
  .strictObject({
    query: z.string().min(1).max(128).optional(),
    parameters: z.record(z.string(), parameterValue).optional(),
    tags: z.array(z.string().min(1).max(128)).min(1).max(100).optional(),
    all: z.literal(true).optional(),
    /** Only this tenant's entries (tenants.yaml); every entry without it. */
    tenant: z.string().min(1).max(64).optional(),
    mode: z.enum(['expire', 'delete']).default('expire'),
    rewarm: z.boolean().default(false),
    /**
     * Only the entries whose time range overlaps this half-open span (dates are UTC midnights; timestamps ISO 8601).
     * A query without a declared range has no span to compare: it is invalidated whole.
     */
    range: z.strictObject({ start: instant, end: instant }).optional(),
  })
  .superRefine((v, ctx) => {
    const targets = [v.query !== undefined, v.tags !== undefined, v.all === true].filter(Boolean).length
    if (targets !== 1)
      ctx.addIssue({
        code: 'custom',
        message: 'give exactly one of "query" (optionally with "parameters"), "tags" or "all": true',
        path: [],
      })
    if (v.parameters !== undefined && v.query === undefined)
      ctx.addIssue({ code: 'custom', message: '"parameters" needs "query"', path: ['parameters'] })
    if (v.range && v.parameters !== undefined)
      ctx.addIssue({
        code: 'custom',
        message:
          'a range narrows a query, tags or all; one entry (query with parameters) is invalidated whole',
        path: ['range'],
      })
    if (v.range && v.range.end.ms <= v.range.start.ms)
      ctx.addIssue({
        code: 'custom',
        message: '"end" must be after "start" (the range is half-open)',
        path: ['range', 'end'],
      })
  })

export type InvalidateRequest = z.infer<typeof invalidateRequestSchema>

/** Parses an invalidation body; a ValidationError names every problem. */
export function parseInvalidateRequest(body: unknown): InvalidateRequest {
  const parsed = invalidateRequestSchema.safeParse(body)
  if (parsed.success) return parsed.data
  throw new ValidationError(
    'Invalid invalidation request',
    parsed.error.issues.map((i) => ({ name: i.path.join('.') || 'body', message: i.message })),
  )
}

/** What one invalidation did. */
export interface InvalidationResult {
  /** `landing`: data landed in `table` (landing.yaml), invalidating the queries that read it over its spans. */
  scope: 'entry' | 'query' | 'tags' | 'all' | 'landing'
  mode: InvalidationMode
  /** The catalog queries whose entries were invalidated (for `entry`: the entry's query). */
  queries: string[]
  /** The tenant whose entries alone were invalidated; absent when every tenant's were. */
  tenant?: string
  /** The single entry, for `scope: entry`. */
  entry?: { query: string; parameters: CanonicalParams; key: string }
  /** The invalidation stamp (the store's clock), ISO 8601. */
  invalidatedAt: string
  /** The span a range invalidation narrowed to, as given (of landed data: from the first span's start to the last's end). */
  range?: { start: string; end: string }
  /** The table data landed in, for `scope: landing`. */
  table?: string
  /** The separate spans of landed data, when there are several (each a range record). */
  spans?: Array<{ start: string; end: string }>
  /** Of `queries`, those without a declared time range: a range invalidation reaches all their entries. */
  unranged?: string[]
}

const DAY_MS = 86_400_000

/** A span as people read it: dates when it is whole UTC days, ISO 8601 timestamps otherwise. */
export function spanText(span: TimeSpan): { start: string; end: string } {
  const whole = span.startMs % DAY_MS === 0 && span.endMs % DAY_MS === 0
  const text = (ms: number) =>
    whole ? new Date(ms).toISOString().slice(0, 10) : new Date(ms).toISOString().replace('.000Z', 'Z')
  return { start: text(span.startMs), end: text(span.endMs) }
}

function toRaw(parameters: Record<string, string | number | boolean | string[]>): RawParams {
  return Object.fromEntries(
    Object.entries(parameters).map(([k, v]) => [k, typeof v === 'boolean' ? String(v) : v]),
  )
}

/**
 * Invalidates by writing generation stamps (see cache/generations.ts): one atomic store call whatever the number of
 * entries, and computations in flight at that moment can no longer store a fresh result.
 */
export class Invalidator {
  constructor(
    private readonly o: {
      service: QueryService
      store: CacheStore
      keys: CacheKeys
      /** tenants.yaml; none when absent. */
      tenants?: Tenants | undefined
    },
  ) {}

  /** The tenant an invalidation is narrowed to; an unknown id is a ValidationError naming the known ones. */
  private tenantOf(request: InvalidateRequest): TenantDef | undefined {
    if (request.tenant === undefined) return undefined
    const byId = this.o.tenants?.byId ?? new Map<string, TenantDef>()
    const tenant = byId.get(request.tenant)
    if (!tenant)
      throw new ValidationError(
        `No tenant '${request.tenant}' (known: ${[...byId.keys()].join(', ') || 'none: there is no tenants.yaml'})`,
        [{ name: 'tenant', message: `unknown tenant "${request.tenant}"` }],
      )
    return tenant
  }

  async invalidate(request: InvalidateRequest): Promise<InvalidationResult> {
    const { service, store, keys } = this.o
    const catalog = service.catalog
    const mode = request.mode
    const tenant = this.tenantOf(request)
    let result: Omit<InvalidationResult, 'invalidatedAt'>
    let stamps: number[]
    if (request.query !== undefined && request.parameters !== undefined) {
      // The tenant's own entry: its identity holds the tenant and the values bound to it.
      const resolved = service.resolve(request.query, toRaw(request.parameters), tenant)
      const { field, dropPrefixes } = stampWrite(mode, { entryId: keys.entryId(resolved.key) })
      stamps = await store.writeStamp([keys.generations(resolved.def.name)], field, dropPrefixes)
      // The stamp already hides it; deleting frees the memory now rather than at its expiry.
      if (mode === 'delete')
        await store.delete([
          resolved.key,
          ...RESULT_FORMATS.filter((f) => f !== 'json').map((f) => keys.variant(resolved.key, f)),
        ])
      result = {
        scope: 'entry',
        mode,
        queries: [resolved.def.name],
        ...(tenant ? { tenant: tenant.id } : {}),
        entry: { query: resolved.def.name, parameters: resolved.params, key: resolved.key },
      }
    } else {
      let queries: string[]
      let scope: InvalidationResult['scope']
      if (request.query !== undefined) {
        if (!catalog.queries.has(request.query)) throw new UnknownQueryError(request.query)
        queries = [request.query]
        scope = 'query'
      } else if (request.tags) {
        const known = new Set([...catalog.queries.values()].flatMap((q) => q.tags))
        const unknown = request.tags.filter((t) => !known.has(t))
        if (unknown.length > 0)
          throw new ValidationError(
            `No query has the tag ${unknown.map((t) => `"${t}"`).join(', ')} (known tags: ${[...known].sort().join(', ')})`,
            unknown.map((t) => ({ name: 'tags', message: `unknown tag "${t}"` })),
          )
        queries = [...catalog.queries.values()]
          .filter((q) => q.tags.some((t) => request.tags?.includes(t)))
          .map((q) => q.name)
        scope = 'tags'
      } else {
        queries = [...catalog.queries.keys()]
        scope = 'all'
      }
      // A tenant has entries only of the queries it may read: the others are not its to invalidate.
      if (tenant?.queries) {
        const readable = tenant.queries
        if (scope === 'query' && !readable.has(request.query ?? ''))
          throw new ValidationError(`Tenant '${tenant.id}' may not read query '${request.query}'`, [
            { name: 'tenant', message: `has no entries of "${request.query}"` },
          ])
        queries = queries.filter((q) => readable.has(q))
      }
      const tenantTarget = tenant ? { tenant: tenant.id } : {}
      const range = request.range
      const spans = range ? [{ startMs: range.start.ms, endMs: range.end.ms }] : []
      const written = await this.stampQueries(queries, mode, spans, tenantTarget)
      stamps = written.stamps
      const whole = written.whole
      result = {
        scope,
        mode,
        queries,
        ...tenantTarget,
        ...(range ? { range: { start: range.start.text, end: range.end.text }, unranged: whole } : {}),
      }
    }
    return { ...result, invalidatedAt: await this.announce(stamps) }
  }

  /**
   * Landed data: the entries of `queries` whose time range overlaps one of `spans` (sorted, disjoint) are
   * invalidated — one range record per span, each written atomically over every query — and the queries without a
   * declared range whole.
   */
  async invalidateSpans(request: {
    table: string
    queries: readonly string[]
    spans: readonly TimeSpan[]
    mode: InvalidationMode
  }): Promise<InvalidationResult> {
    const queries = request.queries.filter((q) => this.o.service.catalog.queries.has(q))
    const first = request.spans[0]
    const last = request.spans[request.spans.length - 1]
    if (!first || !last)
      throw new ValidationError('No span to invalidate', [{ name: 'spans', message: 'empty' }])
    const { stamps, whole } = await this.stampQueries(queries, request.mode, request.spans, {})
    return {
      scope: 'landing',
      mode: request.mode,
      queries,
      table: request.table,
      range: spanText({ startMs: first.startMs, endMs: last.endMs }),
      ...(request.spans.length > 1 ? { spans: request.spans.map(spanText) } : {}),
      unranged: whole,
      invalidatedAt: await this.announce(stamps),
    }
  }

  /**
   * Writes the stamps of an invalidation of `queries`: with spans, one range record per span for the queries that
   * declare a range (the others have no span to compare and are invalidated whole); without, a plain stamp.
   */
  private async stampQueries(
    queries: readonly string[],
    mode: InvalidationMode,
    spans: readonly TimeSpan[],
    tenantTarget: { tenant?: string },
  ): Promise<{ stamps: number[]; whole: string[] }> {
    const { store, keys, service } = this.o
    const ranged =
      spans.length > 0 ? queries.filter((q) => (service.catalog.queries.get(q)?.ranges.length ?? 0) > 0) : []
    const whole = queries.filter((q) => !ranged.includes(q))
    const stamps: number[] = []
    if (ranged.length > 0)
      for (const span of spans) {
        const { field, dropPrefixes } = stampWrite(mode, { ...tenantTarget, span })
        stamps.push(
          ...(await store.writeStamp(
            ranged.map((q) => keys.generations(q)),
            field,
            dropPrefixes,
            span,
          )),
        )
      }
    if (whole.length > 0) {
      const { field, dropPrefixes } = stampWrite(mode, tenantTarget)
      stamps.push(
        ...(await store.writeStamp(
          whole.map((q) => keys.generations(q)),
          field,
          dropPrefixes,
        )),
      )
    }
    return { stamps, whole }
  }

  /**
   * Drops the in-process tier here and announces the invalidation to every other process (which would otherwise
   * serve an invalidated entry for up to L1_TTL_MS; a lost announcement only costs that). Resolves to the newest
   * stamp, ISO 8601.
   */
  private async announce(stamps: readonly number[]): Promise<string> {
    this.o.service.dropL1()
    await this.o.store.publish?.(this.o.keys.invalidationChannel, 'invalidated').catch(() => {})
    return new Date(Math.max(0, ...stamps)).toISOString()
  }
}

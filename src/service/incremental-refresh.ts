import { createHash, randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { type AthenaRunner, type ExecutionStats, executionStats } from '../athena/athena-runner.ts'
import type { ResultColumn } from '../athena/result-converter.ts'
import type { ResultReader } from '../athena/result-reader.ts'
import type { CacheStore } from '../cache/cache-store.ts'
import type { DecodedEntry } from '../cache/entry-codec.ts'
import { changedSince, parseGenerations, type TimeSpan } from '../cache/generations.ts'
import type { HeldLease, Leases } from '../cache/lease.ts'
import { BUCKET_UNITS, type BucketUnit, type IncrementalDef } from '../config/incremental.ts'
import { errorMessage } from '../errors.ts'
import { bindQuery, type CanonicalParams } from './parameters.ts'
import type { ResolvedQuery } from './read-result.ts'
import type { ResultWriter } from './result-writer.ts'
import {
  bucketed,
  type ResultRows,
  type Row,
  RowCollector,
  readResultRows,
  SpliceError,
  splicedExecutionId,
  spliceRows,
} from './spliced-rows.ts'
import type { TenantBudgets } from './tenant-budgets.ts'
import { bucketsOf, isoDay, refreshSpans } from './time-buckets.ts'
import type { UsageRecorder } from './usage.ts'

/**
 * At most this many partial executions per refresh, run at once (they share Athena's concurrent-query quota with
 * everything else); more changed spans are joined, the closest first.
 */
export const MAX_PARTIAL_EXECUTIONS = 4

export interface IncrementalRefreshOptions {
  store: CacheStore
  runner: AthenaRunner
  reader: ResultReader
  writer: ResultWriter
  leases: Leases
  logger: Logger
  queryTimeoutMs: number
  usage?: UsageRecorder | undefined
  budgets?: TenantBudgets | undefined
  now: () => number
}

/** One partial execution: the span it recomputed, its statistics and its rows. */
interface Partial {
  span: TimeSpan
  stats: ExecutionStats
  columns: ResultColumn[]
  rows: Row[]
}

/** Why a refresh is a full one; `quiet` for queries that never declared anything (nothing worth a log line). */
class FullRefresh extends Error {
  override readonly name = 'FullRefresh'
  constructor(
    readonly reason: string,
    readonly quiet = false,
  ) {
    super(reason)
  }
}

/**
 * Refreshes an entry of a query declared additive per time bucket (the catalog's `incremental`) by recomputing only
 * the buckets that range invalidations since its computation touched, and splicing them into its stored rows
 * (docs/decisions/015). Runs under the lease of the computation that calls it (computation.ts); anything it cannot
 * do exactly — the query or entry does not allow it, a whole-entry invalidation, a partial query that fails, rows
 * that are not what the declaration promises — answers null, and the caller refreshes in full.
 */
export class IncrementalRefresh {
  constructor(private readonly o: IncrementalRefreshOptions) {}

  /**
   * The spliced entry, stored; or null when the refresh must be a full one (the reason logged). `known` is the stamp
   * the caller's lease was taken with. Throws only when `signal` aborts (the computation's deadline).
   */
  async refresh(
    resolved: ResolvedQuery,
    previous: DecodedEntry,
    lease: HeldLease | null,
    known: number,
    signal: AbortSignal,
  ): Promise<DecodedEntry | null> {
    const { key, def } = resolved
    try {
      return await this.splice(resolved, previous, lease, known, signal)
    } catch (err) {
      if (signal.aborted) throw signal.reason ?? err
      if (err instanceof FullRefresh) {
        if (!err.quiet) this.o.logger.info({ query: def.name, key, reason: err.reason }, 'refreshing in full')
      } else
        this.o.logger.warn(
          { query: def.name, key, err: errorMessage(err) },
          'incremental refresh failed; refreshing in full',
        )
      return null
    }
  }

  private async splice(
    resolved: ResolvedQuery,
    previous: DecodedEntry,
    lease: HeldLease | null,
    known: number,
    signal: AbortSignal,
  ): Promise<DecodedEntry> {
    const { def, stamps } = resolved
    const declared = def.incremental
    const range = stamps.range
    if (!declared || !range || resolved.format !== 'json') throw new FullRefresh('not declared', true)
    if (previous.kind !== 'result') throw new FullRefresh('the entry is an error')
    const unit = unitOf(declared, resolved.params)
    if (!unit) throw new FullRefresh('no bucket unit')
    const [from, to] = rangeParams(resolved)
    if (!isDate(resolved.params[from]) || !isDate(resolved.params[to]))
      throw new FullRefresh('the entry has no date range')
    const values = await this.o.store.getStamps(stamps.hashKey, stamps.fields)
    const changed = changedSince(values, range, previous.known)
    if (changed.whole) throw new FullRefresh('an invalidation since covers the whole entry')
    if (changed.spans.length === 0)
      throw new FullRefresh('no range invalidation since the entry was computed')
    const cached = readResultRows(previous)
    const base = baseComputedAt(cached, previous)
    if (this.o.now() - base >= def.ttlSeconds * 1000)
      throw new FullRefresh(
        'the rows kept would be older than the TTL (the safety net of a missed invalidation)',
      )
    const spans = refreshSpans(changed.spans, range, unit, MAX_PARTIAL_EXECUTIONS)
    const [first] = spans
    if (spans.length === 1 && first && first.startMs <= range.startMs && first.endMs >= range.endMs)
      throw new FullRefresh('the changes cover the whole entry')
    const cachedRows = bucketed(cached.rows, declared.bucket)
    // Every stamp read above is accounted for: the ones that concern the entry are recomputed, the others do not.
    const planned = Math.max(known, parseGenerations(values, range).latest)
    // Others wait for this entry rather than attach: the lease names no execution, since none holds the result.
    if (lease) await this.o.leases.hold(lease).catch(() => false)
    const partials = await Promise.all(spans.map((span) => this.runPartial(resolved, span, lease, signal)))
    const columns = JSON.stringify(cached.columns)
    for (const p of partials)
      if (JSON.stringify(p.columns) !== columns) throw new SpliceError('a partial result has other columns')
    const rows = spliceRows(
      cachedRows,
      bucketed(
        partials.flatMap((p) => p.rows),
        declared.bucket,
      ),
      spans.map((s) => bucketsOf(s, unit)),
    )
    const dataScannedBytes = partials.reduce((n, p) => n + p.stats.dataScannedBytes, 0)
    const queryExecutionIds = partials.map((p) => p.stats.queryExecutionId)
    const entry = await this.o.writer.storeSpliced(
      resolved,
      {
        columns: cached.columns,
        rows,
        queryExecutionId: splicedExecutionId(),
        dataScannedBytes,
        engineMs: partials.reduce((n, p) => n + p.stats.engineMs, 0),
        refresh: {
          kind: 'incremental',
          spans: spans.map((s) => ({ start: isoDay(s.startMs), end: isoDay(s.endMs) })),
          queryExecutionIds,
          baseComputedAt: new Date(base).toISOString(),
        },
      },
      planned,
    )
    this.o.logger.info(
      {
        query: def.name,
        key: resolved.key,
        spans: spans.map((s) => `${isoDay(s.startMs)}..${isoDay(s.endMs)}`),
        queryExecutionIds,
        dataScannedBytes,
        rows: rows.length,
        recomputedRows: partials.reduce((n, p) => n + p.rows.length, 0),
      },
      'query refreshed incrementally',
    )
    return entry
  }

  /** The catalog SQL with the range parameters narrowed to `span`, run and read to the end. */
  private async runPartial(
    resolved: ResolvedQuery,
    span: TimeSpan,
    lease: HeldLease | null,
    signal: AbortSignal,
  ): Promise<Partial> {
    const { def, identity, key } = resolved
    const [from, to] = rangeParams(resolved)
    const narrowed = { ...resolved.params, [from]: isoDay(span.startMs), [to]: isoDay(span.endMs) }
    const { sql, executionParameters } = bindQuery(def, narrowed)
    const id = await this.o.runner.start(
      {
        sql,
        executionParameters,
        database: identity.database,
        workgroup: identity.workgroup,
        // As a full computation's: a retried start returns the same execution, a later refresh never an old one.
        // No result reuse: a partial runs because its days changed.
        clientRequestToken: createHash('sha256')
          .update(`${key}|${lease?.owner ?? randomUUID()}|${narrowed[from]}|${narrowed[to]}`)
          .digest('hex'),
      },
      signal,
    )
    this.o.usage?.executionStarted(def.name)
    const { execution, statusCalls } = await this.o.runner.waitForCompletion(id, {
      deadline: Date.now() + this.o.queryTimeoutMs,
      signal,
    })
    const stats = executionStats(execution, statusCalls)
    this.o.usage?.executionCollected(def.name, stats.dataScannedBytes, stats.reusedPreviousResult)
    if (resolved.tenant)
      await this.o.budgets?.charge(resolved.tenant.id, stats.dataScannedBytes).catch((err: unknown) => {
        this.o.logger.warn(
          { err: errorMessage(err), tenant: resolved.tenant?.id },
          'tenant spend not counted',
        )
      })
    const collected = new RowCollector(this.o.runner.limits.maxRows)
    await this.o.reader.read(execution, collected, signal)
    return { span, stats, columns: collected.columns, rows: collected.rows }
  }
}

/** The bucket unit of a read: the declared one, or its granularity parameter's value. */
function unitOf(declared: IncrementalDef, params: CanonicalParams): BucketUnit | undefined {
  if ('unit' in declared.granularity) return declared.granularity.unit
  const value = params[declared.granularity.parameter]
  return BUCKET_UNITS.find((u) => u === value)
}

/** The names of the date parameters that bound the entry (the query's first `ranges` item). */
function rangeParams(resolved: ResolvedQuery): [string, string] {
  const declared = resolved.def.ranges[0]
  return declared ? [declared.from, declared.to] : ['', '']
}

const isDate = (v: unknown): boolean => typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)

/**
 * When the oldest of the rows kept was computed: the last full computation, carried from splice to splice in
 * `meta.refresh.baseComputedAt` (a result never spliced: its own computation).
 */
function baseComputedAt(cached: ResultRows, previous: DecodedEntry): number {
  const refresh = cached.meta.refresh
  const carried =
    typeof refresh === 'object' && refresh !== null && !Array.isArray(refresh)
      ? refresh.baseComputedAt
      : undefined
  const ms = typeof carried === 'string' ? Date.parse(carried) : previous.computedAt
  return Number.isFinite(ms) ? ms : 0
}

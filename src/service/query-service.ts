import type { Logger } from 'pino'
import type { AthenaRunner } from '../athena/athena-runner.ts'
import { sleep } from '../athena/poll-until-done.ts'
import type { ResultReader } from '../athena/result-reader.ts'
import type { CacheKeys } from '../cache/cache-key.ts'
import { decideCacheAction, freshnessAt } from '../cache/cache-policy.ts'
import type { CacheStore } from '../cache/cache-store.ts'
import { DamageReport } from '../cache/damage-report.ts'
import type { DecodedEntry } from '../cache/entry-codec.ts'
import { Leases } from '../cache/lease.ts'
import type { Catalog } from '../config/catalog.ts'
import type { TenantDef, Tenants } from '../config/tenants.ts'
import { BudgetExceededError, EngineTimeoutError, errorMessage, isDegradableError } from '../errors.ts'
import type { ClosedWindows } from './closed-windows.ts'
import { Computation } from './computation.ts'
import { EntryLookup, type Lookup } from './entry-lookup.ts'
import { ExecutionRegistry } from './execution-registry.ts'
import { FormatReads } from './format-reads.ts'
import { IncrementalRefresh } from './incremental-refresh.ts'
import type { RawParams } from './parameters.ts'
import {
  type BackgroundMode,
  entryResult,
  type PendingResult,
  pendingResult,
  type ReadOutcome,
  type ReadResult,
  type ResolvedQuery,
} from './read-result.ts'
import { RequestResolver } from './request-resolver.ts'
import type { ResultFormat } from './result-body.ts'
import { ResultWriter } from './result-writer.ts'
import type { RuntimeHistory } from './runtime-history.ts'
import type { TenantBudgets } from './tenant-budgets.ts'
import type { UsageRecorder } from './usage.ts'

export type { BackgroundMode, PendingResult, ReadOutcome, ReadResult, ResolvedQuery } from './read-result.ts'

export interface QueryServiceOptions {
  catalog: Catalog
  /** tenants.yaml (none when absent). */
  tenants?: Tenants | undefined
  store: CacheStore
  runner: AthenaRunner
  /** Reads finished executions' rows (result files from S3 when they span pages). */
  reader: ResultReader
  keys: CacheKeys
  history: RuntimeHistory
  logger: Logger
  database: string
  workgroup: string
  queryTimeoutMs: number
  syncDeadlineMs: number
  leaseTtlMs: number
  errorTtlSeconds: number
  background: BackgroundMode
  l1?: { ttlMs: number; maxBytes: number }
  /** Tenants' daily scan budgets (tenants.yaml `budget`); absent = none enforced. */
  budgets?: TenantBudgets | undefined
  /** Counts reads, executions and bytes; absent in tests that do not look at them. */
  usage?: UsageRecorder
  /** Longer freshness for results of closed windows (landed data); absent = off. */
  closedWindows?: ClosedWindows | undefined
  now?: () => number
}

/** How long a 202 answer waits for the computation to record its execution id. */
const PENDING_ID_WAIT_MS = 2_000

/**
 * The read-through path a request walks, as a thin facade over its parts (docs/architecture.md): resolve
 * (request-resolver) → look up (entry-lookup: L1, then the store with the stamps) → decide (cache-policy) → serve,
 * serve stale and refresh once, or compute (computation: single flight + lease; result-writer: the entry). Past the
 * sync deadline a miss answers 202 with its execution (execution-registry); engine trouble with an old entry at hand
 * answers that entry (stale-if-error).
 */
export class QueryService {
  private readonly resolver: RequestResolver
  private readonly lookup: EntryLookup
  private readonly computation: Computation
  private readonly registry: ExecutionRegistry
  private readonly formats: FormatReads
  private readonly now: () => number

  constructor(private readonly o: QueryServiceOptions) {
    const now = o.now ?? Date.now
    this.now = now
    const { store, keys, runner, logger } = o
    const leases = new Leases(store, {
      startTtlMs: o.leaseTtlMs,
      runTtlMs: o.queryTimeoutMs + 60_000,
      now,
      damage: new DamageReport(logger),
    })
    this.resolver = new RequestResolver({
      catalog: o.catalog,
      keys,
      database: o.database,
      workgroup: o.workgroup,
      tenants: o.tenants,
    })
    this.lookup = new EntryLookup({ store, keys, logger, l1: o.l1, now: o.now })
    const writer = new ResultWriter({
      store,
      keys,
      runner,
      reader: o.reader,
      limits: runner.limits,
      lookup: this.lookup,
      history: o.history,
      logger,
      errorTtlSeconds: o.errorTtlSeconds,
      usage: o.usage,
      budgets: o.budgets,
      closedWindows: o.closedWindows,
      now,
    })
    this.registry = new ExecutionRegistry({
      store,
      keys,
      resolver: this.resolver,
      lookup: this.lookup,
      writer,
      runner,
      leases,
      queryTimeoutMs: o.queryTimeoutMs,
      logger,
      now,
    })
    this.computation = new Computation({
      keys,
      runner,
      leases,
      lookup: this.lookup,
      writer,
      registry: this.registry,
      history: o.history,
      logger,
      queryTimeoutMs: o.queryTimeoutMs,
      background: o.background,
      usage: o.usage,
      incremental: new IncrementalRefresh({ ...o, writer, leases, now }),
      now,
    })
    this.formats = new FormatReads({
      lookup: this.lookup,
      writer,
      recompute: (json, known) => this.computation.computeShared(json, known),
      timeoutMs: o.queryTimeoutMs,
      now,
    })
  }

  /** How many tenants tenants.yaml defines (0 without one). */
  get tenantCount(): number {
    return this.o.tenants?.byId.size ?? 0
  }

  /** Who reads a query as the service replays it (prewarm): see RequestResolver.readersOf. */
  readonly readersOf = (query: string): Array<string | undefined> => this.resolver.readersOf(query)

  get catalog(): Catalog {
    return this.o.catalog
  }

  /** The cache's clock (ms since epoch): freshness decisions elsewhere must use the same one. */
  get clock(): () => number {
    return this.now
  }

  /** How long a read's query is expected to run on Athena, from its history (undefined when unknown). */
  expectedMs(resolved: ResolvedQuery): Promise<number | undefined> {
    return this.o.history.expectedMs(resolved.key, resolved.def.name)
  }

  /** Validates the request and derives its cache key; throws UnknownQueryError / ValidationError / ForbiddenError. */
  resolve(name: string, raw: RawParams, tenant?: TenantDef): ResolvedQuery {
    return this.resolver.resolve(name, raw, tenant)
  }

  /** A read the service replays itself (prewarm): the tenant's values are taken from the tenant again. */
  replay(name: string, params: RawParams, tenantId: string | undefined): ResolvedQuery {
    return this.resolver.replay(name, params, tenantId)
  }

  /** `resolve` memoised on the exact query string (and tenant); `raw` is only evaluated on a memo miss. */
  resolveRequest(name: string, search: string, raw: () => RawParams, tenant?: TenantDef): ResolvedQuery {
    return this.resolver.resolveRequest(name, search, raw, tenant)
  }

  /** Drops the in-process tier (an invalidation happened here or was announced by another process). */
  dropL1(): void {
    this.lookup.dropL1()
  }

  /** `resolveRequest` on a raw query string, or undefined for invalid input (the full path then reports it). */
  tryResolve(name: string, search: string, tenant?: TenantDef): ResolvedQuery | undefined {
    return this.resolver.tryResolve(name, search, tenant)
  }

  /**
   * A fresh result already in this process's L1 tier, or undefined. No I/O: the Node server answers such reads
   * before the HTTP framework runs.
   */
  peekL1(resolved: ResolvedQuery): ReadResult | undefined {
    const entry = this.lookup.peekL1(resolved.key)
    return entry ? this.freshHit(resolved, entry, 0) : undefined
  }

  /**
   * A fresh result from L1 or the store, or undefined for everything else (miss, stale, error entry, cache down):
   * the Node server's fast path answers these reads and hands the rest to the full path.
   */
  async peek(resolved: ResolvedQuery): Promise<ReadResult | undefined> {
    const t0 = performance.now()
    const { entry } = await this.lookup.lookup(resolved)
    return entry ? this.freshHit(resolved, entry, performance.now() - t0) : undefined
  }

  private freshHit(resolved: ResolvedQuery, entry: DecodedEntry, cacheMs: number): ReadResult | undefined {
    if (entry.kind !== 'result' || freshnessAt(entry, this.now()) !== 'fresh') return undefined
    this.o.usage?.read(resolved.member, 'HIT', entry.dataScannedBytes, resolved.tenant?.id)
    return entryResult(resolved, entry, 'HIT', { cacheMs })
  }

  /** Forgets an entry found damaged while it was served (see http/request-guard.ts): the next read computes it. */
  discardDamaged(key: string, reason: string): Promise<void> {
    return this.lookup.discard(key, reason)
  }

  /** The entry of a read as the cache holds it now (prewarm decisions, /admin/entries): no computation, no counting. */
  inspect(resolved: ResolvedQuery): Promise<Lookup> {
    return this.lookup.lookup(resolved, { skipL1: true })
  }

  /** A read's entry computed now, shared (prewarm), within budget; `stale`: the entry it refreshes, if any. */
  async computeShared(resolved: ResolvedQuery, known: number, stale?: DecodedEntry): Promise<DecodedEntry> {
    await this.o.budgets?.check(resolved.tenant)
    return this.computation.computeShared(resolved, known, stale)
  }

  /** True when the read's tenant has spent its scan budget for today (no query may start for it). */
  private async overBudget(resolved: ResolvedQuery): Promise<boolean> {
    if (!this.o.budgets || resolved.tenant?.scannedBytesPerDay === undefined) return false
    return this.o.budgets.check(resolved.tenant).then(
      () => false,
      (err: unknown) => err instanceof BudgetExceededError,
    )
  }

  /** The read of a resolution in a body format (its own entry, rendered from the JSON entry's execution). */
  inFormat(resolved: ResolvedQuery, format: ResultFormat): ResolvedQuery {
    return this.resolver.inFormat(resolved, format)
  }

  /** Answers a resolved read from cache when it can, from the engine when it must. */
  async readResolved(resolved: ResolvedQuery, options: { preferAsync?: boolean } = {}): Promise<ReadOutcome> {
    const read =
      resolved.format === 'json'
        ? await this.readUncounted(resolved, options)
        : await this.formats.read(resolved, (json) => this.readUncounted(json, options))
    if (read.kind === 'entry')
      this.o.usage?.read(resolved.member, read.outcome, read.entry.dataScannedBytes, resolved.tenant?.id)
    return read
  }

  private async readUncounted(
    resolved: ResolvedQuery,
    options: { preferAsync?: boolean },
  ): Promise<ReadOutcome> {
    const t0 = performance.now()
    // The whole request, the lookup and the start of a query included, answers by this time (wall clock, as timers).
    const deadlineAt = Date.now() + this.o.syncDeadlineMs
    const found = await this.lookup.lookup(resolved)
    const { entry, unusable, known } = found
    const cacheMs = performance.now() - t0
    const { def } = resolved
    const now = this.now()
    const action = decideCacheAction(entry, now, { serveStale: def.staleSeconds > 0 })
    if (action.kind === 'serve' && entry) return entryResult(resolved, entry, 'HIT', { cacheMs })
    if (action.kind === 'serve-stale-and-refresh' && entry) {
      // Over its budget a tenant is served what it has; the refresh waits for tomorrow's budget.
      if (!(await this.overBudget(resolved))) await this.refreshWithin(resolved, found, deadlineAt)
      return entryResult(resolved, entry, 'STALE', { cacheMs })
    }
    if (await this.overBudget(resolved)) {
      // Hits are never refused; a miss is answered by any result the tenant already has, however old, else 429.
      if (entry && entry.kind === 'result') return entryResult(resolved, entry, 'STALE', { cacheMs })
      await this.o.budgets?.check(resolved.tenant)
    }
    const fallback =
      entry && entry.kind === 'result' && now < entry.staleUntil + def.staleIfErrorSeconds * 1000
        ? entry
        : null
    const t1 = performance.now()
    try {
      const computed = this.computation.computeShared(resolved, known)
      if (options.preferAsync) {
        const pending = await this.pendingOf(
          resolved,
          computed,
          Math.min(Date.now() + PENDING_ID_WAIT_MS, deadlineAt),
        )
        if (pending) return pending
      }
      const raced = await this.withDeadline(resolved, computed, deadlineAt)
      if (raced.kind === 'pending') return raced
      return entryResult(resolved, raced.entry, unusable ? 'BYPASS' : 'MISS', {
        cacheMs,
        engineMs: performance.now() - t1,
      })
    } catch (err) {
      if (fallback && isDegradableError(err)) {
        this.o.logger.warn(
          { err: errorMessage(err), key: resolved.key },
          'refresh failed; serving stale (stale-if-error)',
        )
        return entryResult(resolved, fallback, 'STALE', { cacheMs })
      }
      throw err
    }
  }

  /**
   * Waits for a shared computation up to the request's deadline; past it, the execution is reported as pending, and
   * without one (the start itself hangs, or the cache that records it is down) the request fails with an
   * EngineTimeoutError, which a stale entry at hand answers instead (stale-if-error). The computation goes on.
   */
  private async withDeadline(
    resolved: ResolvedQuery,
    computed: Promise<DecodedEntry>,
    deadlineAt: number,
  ): Promise<{ kind: 'entry'; entry: DecodedEntry } | PendingResult> {
    const timeout = new AbortController()
    const winner = await Promise.race([
      computed.then((entry) => ({ kind: 'entry' as const, entry })),
      sleep(deadlineAt - Date.now(), timeout.signal).then(() => ({ kind: 'deadline' as const })),
    ]).finally(() => timeout.abort())
    if (winner.kind === 'entry') return winner
    const pending = await this.pendingOf(resolved, computed, Date.now())
    if (pending) return pending
    throw new EngineTimeoutError(
      `No result within SYNC_DEADLINE_MS (${this.o.syncDeadlineMs} ms) and no execution to report: the query ` +
        'engine has not accepted the query yet, or the cache that records executions is unavailable; the ' +
        'computation goes on, retry shortly',
    )
  }

  /**
   * The stale entry's refresh, as long as the request may wait for it. With `continue` it only schedules the work;
   * with `detach` it starts the query before the response (Lambda runs nothing after it), and a start that hangs must
   * not hold the stale answer past the deadline.
   */
  private async refreshWithin(resolved: ResolvedQuery, stale: Lookup, deadlineAt: number): Promise<void> {
    const refreshing = this.computation.refresh(resolved, stale.known, stale.entry ?? undefined)
    if (this.o.background === 'continue') return refreshing
    const timeout = new AbortController()
    await Promise.race([refreshing, sleep(deadlineAt - Date.now(), timeout.signal)]).finally(() =>
      timeout.abort(),
    )
  }

  /** The execution a computation runs, as a 202 answer (looking until `until` for it to be recorded). */
  private async pendingOf(
    resolved: ResolvedQuery,
    computed: Promise<DecodedEntry>,
    until: number,
  ): Promise<PendingResult | null> {
    // Swallow here: the caller that awaits `computed` reports the error.
    computed.catch(() => {})
    const settled = computed.then(
      () => true,
      () => true,
    )
    for (;;) {
      const id = await this.computation.executionOf(resolved)
      if (id) return pendingResult(resolved, id, 'RUNNING')
      if (Date.now() >= until) return null
      const pause = new AbortController()
      const done = await Promise.race([
        settled,
        sleep(Math.min(25, until - Date.now()), pause.signal).then(() => false),
      ]).finally(() => pause.abort())
      if (done) return null
    }
  }

  /** The state of an execution this service started (see execution-registry.ts). */
  execution(id: string, caller: { tenant?: string; admin?: boolean } = {}): Promise<ReadOutcome> {
    return this.registry.execution(id, caller)
  }

  /** Stops an execution this service started and clears its lease. */
  stopExecution(id: string): Promise<{ executionId: string; stopped: boolean }> {
    return this.registry.stop(id)
  }
}

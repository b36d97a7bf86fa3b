import { createHash, randomUUID } from 'node:crypto'
import type { QueryExecution } from '@aws-sdk/client-athena'
import { LRUCache } from 'lru-cache'
import type { Logger } from 'pino'
import { type AthenaRunner, executionStats, hasHeaderRow } from '../athena/athena-runner.ts'
import { sleep } from '../athena/poll-until-done.ts'
import type { JsonValue } from '../athena/result-converter.ts'
import { type CacheKeys, canonicalJson, type QueryIdentity } from '../cache/cache-key.ts'
import { decideCacheAction, freshnessAt } from '../cache/cache-policy.ts'
import type { CacheStore } from '../cache/cache-store.ts'
import { type DecodedEntry, decodeEntry, encodeEntry } from '../cache/entry-codec.ts'
import {
  type Generations,
  generationFields,
  NO_GENERATIONS,
  parseGenerations,
  validityOf,
} from '../cache/generations.ts'
import { CacheUnavailableError } from '../cache/guarded-cache-store.ts'
import { type HeldLease, Leases } from '../cache/lease.ts'
import type { Catalog, QueryDef } from '../config/catalog.ts'
import {
  EngineThrottledError,
  EngineUnavailableError,
  NotFoundError,
  QueryCancelledError,
  QueryFailedError,
  QueryTimeoutError,
  UnknownQueryError,
} from '../errors.ts'
import { bindQuery, type CanonicalParams, parseParameters, type RawParams } from './parameters.ts'
import type { RuntimeHistory } from './runtime-history.ts'
import { popularityMember, type UsageRecorder } from './usage.ts'

/**
 * How a read was answered: `HIT` fresh from cache, `STALE` stale (a refresh runs, or the refresh failed), `MISS`
 * computed now, `BYPASS` computed because the cache was unusable.
 */
export type CacheOutcome = 'HIT' | 'STALE' | 'MISS' | 'BYPASS'

export interface ResolvedQuery {
  def: QueryDef
  params: CanonicalParams
  identity: QueryIdentity
  key: string
  /** The popularity member of this read (query + canonical parameters). */
  member: string
}

export interface ReadResult {
  kind: 'entry'
  entry: DecodedEntry
  outcome: CacheOutcome
  key: string
  query: string
  def: QueryDef
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

export interface QueryServiceOptions {
  catalog: Catalog
  store: CacheStore
  runner: AthenaRunner
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
  /** Counts reads, executions and bytes; absent in tests that do not look at them. */
  usage?: UsageRecorder
  now?: () => number
}

interface ExecutionRecord {
  query: string
  params: CanonicalParams
  key: string
  createdAt: number
  /** The invalidation stamp the computation started from (see generations.ts). */
  known?: number
}

/** An entry looked up with what the invalidations since its computation make of it. */
interface Lookup {
  entry: DecodedEntry | null
  /** The store failed: the read bypasses the cache. */
  unusable: boolean
  /** The newest invalidation stamp seen: a computation started now records it. */
  known: number
}

/** A computation in flight in this process, with the invalidation stamp it started from. */
interface Inflight {
  run: Promise<DecodedEntry>
  known: number
}

/** An L1 entry: the entry as validated against the stamps read with it. */
interface L1Entry {
  entry: DecodedEntry
  known: number
}

const USER_ERROR_STATUS = 422
/** Lifetime of the registry of executions this service started (for /executions/{id}). */
const EXECUTION_RECORD_MS = 86_400_000

/** A read answered with an entry. */
function entryResult(
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
    timings,
  }
}

/** A read whose query still runs as `executionId`. */
function pendingResult(resolved: ResolvedQuery, executionId: string, state: string): PendingResult {
  return { kind: 'pending', executionId, state, key: resolved.key, query: resolved.def.name }
}

/**
 * An entry as the invalidations since its computation leave it: null when deleted, already stale when expired (its
 * fresh period ends where it began), unchanged otherwise.
 */
function applyGenerations(entry: DecodedEntry, generations: Generations): DecodedEntry | null {
  switch (validityOf(entry.known, generations)) {
    case 'deleted':
      return null
    case 'expired':
      return { ...entry, freshUntil: Math.min(entry.freshUntil, entry.computedAt) }
    case 'valid':
      return entry
  }
}

/** A query string as repeated-value lists, the shape Hono's `c.req.queries()` gives. */
function parseSearch(search: string): RawParams {
  const out: Record<string, string[]> = {}
  for (const [k, v] of new URLSearchParams(search)) (out[k] ??= []).push(v)
  return out
}

function isDegradableError(err: unknown): boolean {
  // Engine trouble that a stale entry may paper over; user errors are never hidden behind old data.
  return (
    err instanceof EngineThrottledError ||
    err instanceof EngineUnavailableError ||
    err instanceof QueryTimeoutError ||
    err instanceof QueryCancelledError ||
    (err instanceof QueryFailedError && !err.isUserError)
  )
}

/**
 * The read-through path a request walks: validate → key → lookup (L1, then the store) → decide → serve, serve stale
 * and refresh once, or compute. A computation is shared by concurrent callers in this process and, through a lease
 * in the store, by every process: one Athena execution per key, whoever asks.
 */
export class QueryService {
  private readonly inflight = new Map<string, Inflight>()
  // Dashboards repeat the same URLs. Resolution is a pure function of the query name and the query string (the
  // catalog is immutable while running), so successful resolutions are memoised: a hit skips validation and hashing.
  private readonly resolved = new LRUCache<string, ResolvedQuery>({ max: 10_000 })
  private readonly l1: LRUCache<string, L1Entry> | undefined
  private readonly leases: Leases
  private readonly now: () => number

  constructor(private readonly o: QueryServiceOptions) {
    this.now = o.now ?? Date.now
    this.leases = new Leases(o.store, {
      startTtlMs: o.leaseTtlMs,
      runTtlMs: o.queryTimeoutMs + 60_000,
      now: this.now,
    })
    if (o.l1 && o.l1.ttlMs > 0 && o.l1.maxBytes > 0) {
      this.l1 = new LRUCache<string, L1Entry>({
        maxSize: o.l1.maxBytes,
        sizeCalculation: (e) => e.entry.gzipBody.length + 256,
        ttl: o.l1.ttlMs,
        ttlResolution: 0,
        ...(o.now ? { perf: { now: o.now } } : {}),
      })
    }
  }

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

  /** Validates the request and derives its cache key; throws UnknownQueryError / ValidationError. */
  resolve(name: string, raw: RawParams): ResolvedQuery {
    const def = this.o.catalog.queries.get(name)
    if (!def) throw new UnknownQueryError(name)
    const params = parseParameters(def, raw)
    const identity: QueryIdentity = {
      query: def.name,
      sqlHash: def.sqlHash,
      database: def.database ?? this.o.database,
      workgroup: def.workgroup ?? this.o.workgroup,
      params,
    }
    return {
      def,
      params,
      identity,
      key: this.o.keys.entry(identity),
      member: popularityMember(def.name, canonicalJson(params)),
    }
  }

  /** Drops the in-process tier (an invalidation happened here or was announced by another process). */
  dropL1(): void {
    this.l1?.clear()
  }

  /**
   * `resolve` memoised on the exact query string of the request; `raw` is only evaluated on a memo miss.
   * Errors are not memoised (bad input is rare and must be reported in full every time).
   */
  resolveRequest(name: string, search: string, raw: () => RawParams): ResolvedQuery {
    const memoKey = `${name}?${search}`
    let resolved = this.resolved.get(memoKey)
    if (!resolved) {
      resolved = this.resolve(name, raw())
      this.resolved.set(memoKey, resolved)
    }
    return resolved
  }

  /**
   * A fresh result already in this process's L1 tier, or undefined (and undefined for anything invalid: the full
   * path then reports it). No I/O: the Node server answers such reads before the HTTP framework runs.
   */
  peekL1(name: string, search: string): ReadResult | undefined {
    const resolved = this.tryResolve(name, search)
    const cached = resolved && this.l1?.get(resolved.key)
    return resolved && cached ? this.freshHit(resolved, cached.entry, 0) : undefined
  }

  /**
   * A fresh result from L1 or the store, or undefined for everything else (miss, stale, error entry, invalid input,
   * cache down): the Node server's fast path answers these reads and hands the rest to the full path.
   */
  async peek(name: string, search: string): Promise<ReadResult | undefined> {
    const resolved = this.tryResolve(name, search)
    if (!resolved) return undefined
    const t0 = performance.now()
    const { entry } = await this.lookup(resolved)
    return entry ? this.freshHit(resolved, entry, performance.now() - t0) : undefined
  }

  private tryResolve(name: string, search: string): ResolvedQuery | undefined {
    try {
      return this.resolveRequest(name, search, () => parseSearch(search))
    } catch {
      return undefined
    }
  }

  private freshHit(resolved: ResolvedQuery, entry: DecodedEntry, cacheMs: number): ReadResult | undefined {
    if (entry.kind !== 'result' || freshnessAt(entry, this.now()) !== 'fresh') return undefined
    this.o.usage?.read(resolved.member, 'HIT', entry.dataScannedBytes)
    return entryResult(resolved, entry, 'HIT', { cacheMs })
  }

  /**
   * Looks an entry up: L1, then the store together with its invalidation stamps (one round trip). An entry deleted
   * by a later invalidation is absent; one expired by it is returned already stale.
   */
  private async lookup(resolved: ResolvedQuery, options: { skipL1?: boolean } = {}): Promise<Lookup> {
    const { key } = resolved
    const cached = options.skipL1 ? undefined : this.l1?.get(key)
    if (cached) return { entry: cached.entry, unusable: false, known: cached.known }
    let stored: { value: Buffer | null; fields: Array<string | null> }
    try {
      stored = await this.o.store.getWithFields(
        key,
        this.o.keys.generations(resolved.def.name),
        generationFields(this.o.keys.entryId(key)),
      )
    } catch (err) {
      if (!(err instanceof CacheUnavailableError)) throw err
      return { entry: null, unusable: true, known: 0 }
    }
    const generations = parseGenerations(stored.fields)
    const known = generations.latest
    if (!stored.value) return { entry: null, unusable: false, known }
    let decoded: DecodedEntry
    try {
      decoded = decodeEntry(stored.value)
    } catch (err) {
      // A corrupt entry is a miss; the computation overwrites it.
      this.o.logger.warn({ err: (err as Error).message, key }, 'undecodable cache entry treated as a miss')
      return { entry: null, unusable: false, known }
    }
    const entry = applyGenerations(decoded, generations)
    if (entry) this.l1?.set(key, { entry, known })
    return { entry, unusable: false, known }
  }

  /** The entry of a read as the cache holds it now (for prewarm decisions): no computation, no counting. */
  async inspect(resolved: ResolvedQuery): Promise<{ entry: DecodedEntry | null; known: number }> {
    const { entry, known } = await this.lookup(resolved, { skipL1: true })
    return { entry, known }
  }

  /** Answers a resolved read from cache when it can, from the engine when it must. */
  async readResolved(resolved: ResolvedQuery, options: { preferAsync?: boolean } = {}): Promise<ReadOutcome> {
    const read = await this.readUncounted(resolved, options)
    if (read.kind === 'entry') this.o.usage?.read(resolved.member, read.outcome, read.entry.dataScannedBytes)
    return read
  }

  private async readUncounted(
    resolved: ResolvedQuery,
    options: { preferAsync?: boolean },
  ): Promise<ReadOutcome> {
    const t0 = performance.now()
    const { entry, unusable, known } = await this.lookup(resolved)
    const cacheMs = performance.now() - t0
    const { def } = resolved
    const now = this.now()
    const action = decideCacheAction(entry, now, { serveStale: def.staleSeconds > 0 })
    if (action.kind === 'serve' && entry) return entryResult(resolved, entry, 'HIT', { cacheMs })
    if (action.kind === 'serve-stale-and-refresh' && entry) {
      await this.refresh(resolved, known)
      return entryResult(resolved, entry, 'STALE', { cacheMs })
    }
    const fallback =
      entry && entry.kind === 'result' && now < entry.staleUntil + def.staleIfErrorSeconds * 1000
        ? entry
        : null
    const t1 = performance.now()
    try {
      const computed = this.computeShared(resolved, known)
      if (options.preferAsync) {
        const pending = await this.pendingOf(resolved, computed, 0)
        if (pending) return pending
      }
      const raced = await this.withDeadline(resolved, computed)
      if (raced.kind === 'pending') return raced
      return entryResult(resolved, raced.entry, unusable ? 'BYPASS' : 'MISS', {
        cacheMs,
        engineMs: performance.now() - t1,
      })
    } catch (err) {
      if (fallback && isDegradableError(err)) {
        this.o.logger.warn(
          { err: (err as Error).message, key: resolved.key },
          'refresh failed; serving stale (stale-if-error)',
        )
        return entryResult(resolved, fallback, 'STALE', { cacheMs })
      }
      throw err
    }
  }

  /** Waits for a shared computation up to the sync deadline; past it, the execution is reported as pending. */
  private async withDeadline(
    resolved: ResolvedQuery,
    computed: Promise<DecodedEntry>,
  ): Promise<{ kind: 'entry'; entry: DecodedEntry } | PendingResult> {
    const timeout = new AbortController()
    const winner = await Promise.race([
      computed.then((entry) => ({ kind: 'entry' as const, entry })),
      sleep(this.o.syncDeadlineMs, timeout.signal).then(() => ({ kind: 'deadline' as const })),
    ]).finally(() => timeout.abort())
    if (winner.kind === 'entry') return winner
    const pending = await this.pendingOf(resolved, computed, 2_000)
    if (pending) return pending
    return { kind: 'entry', entry: await computed }
  }

  /** The execution a computation runs, as a 202 answer (waiting up to `waitMs` for it to be started). */
  private async pendingOf(
    resolved: ResolvedQuery,
    computed: Promise<DecodedEntry>,
    waitMs: number,
  ): Promise<PendingResult | null> {
    // Swallow here: the caller that awaits `computed` reports the error.
    computed.catch(() => {})
    const deadline = Date.now() + Math.max(waitMs, 2_000)
    for (;;) {
      const holder = await this.leases.read(this.o.keys.lease(resolved.key)).catch(() => null)
      if (holder?.executionId) return pendingResult(resolved, holder.executionId, 'RUNNING')
      const settled = await Promise.race([
        computed.then(
          () => true,
          () => true,
        ),
        sleep(25).then(() => false),
      ])
      if (settled || Date.now() > deadline) return null
    }
  }

  /**
   * Computes a key's entry, sharing the work with concurrent callers in this process (and, via the lease, others)
   * that started from the same invalidations: `known` is the newest invalidation stamp the caller saw, and a
   * computation that started before it is not joined, since its result predates the invalidation.
   */
  computeShared(resolved: ResolvedQuery, known: number): Promise<DecodedEntry> {
    const existing = this.inflight.get(resolved.key)
    if (existing && existing.known >= known) return existing.run
    const flight: Inflight = { run: this.produce(resolved, known), known }
    flight.run = flight.run.finally(() => {
      if (this.inflight.get(resolved.key) === flight) this.inflight.delete(resolved.key)
    })
    this.inflight.set(resolved.key, flight)
    return flight.run
  }

  /**
   * Serves-stale refresh: exactly one per key through the lease. With `continue` (Node server) the computation runs
   * on in the background; with `detach` (Lambda, where nothing runs after the response) it only starts the query and
   * records it in the lease, and whichever read or prewarm run next finds it SUCCEEDED collects the result.
   */
  private async refresh(resolved: ResolvedQuery, known: number): Promise<void> {
    const existing = this.inflight.get(resolved.key)
    if (existing && existing.known >= known) return
    if (this.o.background === 'continue') {
      this.computeShared(resolved, known).catch((err: unknown) =>
        this.o.logger.warn(
          { err: (err as Error).message, key: resolved.key },
          'background refresh failed; stale entry kept',
        ),
      )
      return
    }
    try {
      const leaseKey = this.o.keys.lease(resolved.key)
      let taken = await this.leases.acquire(leaseKey, known)
      if (!taken.acquired && taken.raw && (taken.holder?.known ?? 0) < known) {
        const lease = await this.leases.takeOver(leaseKey, taken.raw, known)
        if (lease) taken = { acquired: true, lease }
      }
      if (taken.acquired) {
        const id = await this.startExecution(resolved, taken.lease, known)
        await this.leases.recordExecution(taken.lease, id)
        return
      }
      const id = taken.holder?.executionId
      if (!id) return
      const execution = await this.o.runner.describe(id)
      const state = execution.Status?.State
      if (state === 'SUCCEEDED') await this.collectFinished(resolved, execution, taken.holder?.known ?? 0)
      else if (state === 'FAILED' || state === 'CANCELLED') await this.leases.clearExecution(leaseKey, id)
    } catch (err) {
      this.o.logger.warn(
        { err: (err as Error).message, key: resolved.key },
        'detached refresh failed; stale entry kept',
      )
    }
  }

  private async startExecution(
    resolved: ResolvedQuery,
    lease: HeldLease | null,
    known: number,
  ): Promise<string> {
    const { def, params, identity, key } = resolved
    const { sql, executionParameters } = bindQuery(def, params)
    const reuseMinutes = this.resultReuseMinutes(def, known)
    const id = await this.o.runner.start({
      sql,
      executionParameters,
      database: identity.database,
      workgroup: identity.workgroup,
      // Derived from the key and the lease: a retried start (the SDK's, or another process's with the same lease)
      // returns the same execution, and a later refresh under a new lease is never answered with an old one.
      clientRequestToken: createHash('sha256')
        .update(`${key}|${lease?.owner ?? randomUUID()}`)
        .digest('hex'),
      ...(reuseMinutes > 0 ? { resultReuseMaxAgeMinutes: reuseMinutes } : {}),
    })
    this.o.usage?.executionStarted()
    const record: ExecutionRecord = { query: def.name, params, key, createdAt: this.now(), known }
    await this.o.store
      .set(this.o.keys.execution(id), Buffer.from(JSON.stringify(record)), EXECUTION_RECORD_MS)
      .catch(() => {})
    return id
  }

  /**
   * Athena's result reuse, limited so that it can never hand back a result computed before the newest invalidation:
   * off until the invalidation is older than a whole query timeout (an execution running across it is done by then).
   */
  private resultReuseMinutes(def: QueryDef, known: number): number {
    if (def.resultReuseMinutes <= 0 || known <= 0) return def.resultReuseMinutes
    const sinceMs = Date.now() - known - this.o.queryTimeoutMs
    return Math.min(def.resultReuseMinutes, Math.floor(sinceMs / 60_000))
  }

  /** One computation across processes: take the lease and run, or attach to the holder's execution. */
  private async produce(resolved: ResolvedQuery, known: number): Promise<DecodedEntry> {
    const leaseKey = this.o.keys.lease(resolved.key)
    const giveUpAt = Date.now() + this.o.queryTimeoutMs
    for (;;) {
      let taken: Awaited<ReturnType<Leases['acquire']>>
      try {
        taken = await this.leases.acquire(leaseKey, known)
      } catch (err) {
        if (!(err instanceof CacheUnavailableError)) throw err
        // No shared store: coalescing stays in-process, and the query still runs once per process.
        return this.runAndCollect(resolved, null, known)
      }
      if (taken.acquired) return this.runAndCollect(resolved, taken.lease, known)
      const holderKnown = taken.holder?.known ?? 0
      if (taken.raw && holderKnown < known) {
        // The holder's computation predates an invalidation this read knows of: its result is outdated.
        const lease = await this.leases.takeOver(leaseKey, taken.raw, known)
        if (lease) return this.runAndCollect(resolved, lease, known)
        continue
      }
      const id = taken.holder?.executionId
      if (id) return this.waitAndCollect(resolved, id, undefined, null, holderKnown)
      // The holder is still starting its query: look again shortly (its entry may also appear).
      await sleep(50)
      const { entry } = await this.lookup(resolved)
      if (
        entry &&
        entry.kind === 'result' &&
        entry.known >= known &&
        freshnessAt(entry, this.now()) === 'fresh'
      )
        return entry
      if (Date.now() > giveUpAt) throw new QueryTimeoutError(undefined, this.o.queryTimeoutMs)
    }
  }

  private async runAndCollect(
    resolved: ResolvedQuery,
    lease: HeldLease | null,
    known: number,
  ): Promise<DecodedEntry> {
    const startedAt = Date.now()
    let id: string
    try {
      id = await this.startExecution(resolved, lease, known)
    } catch (err) {
      if (lease) await this.leases.release(lease).catch(() => {})
      await this.cacheUserError(resolved, err, known)
      throw err
    }
    if (lease) await this.leases.recordExecution(lease, id).catch(() => false)
    return this.waitAndCollect(resolved, id, startedAt, lease, known)
  }

  /**
   * Waits on an execution (ours, or another process's when `lease` is null) and collects the result, whoever is
   * first; `known` is the invalidation stamp the execution started from.
   */
  private async waitAndCollect(
    resolved: ResolvedQuery,
    id: string,
    startedAt: number | undefined,
    lease: HeldLease | null,
    known: number,
  ): Promise<DecodedEntry> {
    const leaseKey = this.o.keys.lease(resolved.key)
    const expectedMs = await this.o.history.expectedMs(resolved.key, resolved.def.name)
    try {
      const { execution } = await this.o.runner.waitForCompletion(id, {
        // Engine deadlines run on the wall clock (the runner's); `this.now` is the cache's clock.
        deadline: (startedAt ?? Date.now()) + this.o.queryTimeoutMs,
        ...(startedAt !== undefined ? { startedAt } : {}),
        ...(expectedMs !== undefined ? { expectedMs } : {}),
      })
      return await this.collectFinished(resolved, execution, known, expectedMs)
    } catch (err) {
      await this.cacheUserError(resolved, err, known)
      throw err
    } finally {
      if (lease) await this.leases.release(lease).catch(() => {})
      else await this.leases.clearExecution(leaseKey, id).catch(() => {})
    }
  }

  /** Fetches a SUCCEEDED execution's rows and stores the entry, unless someone already stored this execution's. */
  private async collectFinished(
    resolved: ResolvedQuery,
    execution: QueryExecution,
    known: number,
    expectedMs?: number,
  ): Promise<DecodedEntry> {
    const id = execution.QueryExecutionId ?? ''
    const stored = async () => {
      const { entry } = await this.lookup(resolved, { skipL1: true })
      return entry?.kind === 'result' && entry.queryExecutionId === id ? entry : null
    }
    const existing = await stored()
    if (existing) return existing
    // Several processes may be waiting on this execution: one fetches the rows and writes the entry, the others
    // pick that entry up, so every process serves the same bytes (one ETag) and Athena's results are read once.
    const collectKey = `${this.o.keys.lease(resolved.key)}:c:${id}`
    const collector = await this.o.store.setIfAbsent(collectKey, Buffer.from('1'), 30_000).catch(() => true)
    if (!collector) {
      const giveUpAt = Date.now() + 10_000
      while (Date.now() < giveUpAt) {
        await sleep(20)
        const written = await stored()
        if (written) return written
      }
    }
    const { def, params, key } = resolved
    const { columns, rows } = await this.o.runner.fetchResults(id, { hasHeaderRow: hasHeaderRow(execution) })
    const stats = executionStats(execution, 0)
    const computedAt = this.now()
    const freshUntil = computedAt + def.ttlSeconds * 1000
    const staleUntil = freshUntil + def.staleSeconds * 1000
    const body = {
      columns,
      rows,
      meta: {
        query: def.name,
        parameters: JSON.parse(canonicalJson(params)) as JsonValue,
        rowCount: rows.length,
        queryExecutionId: id,
        dataScannedBytes: stats.dataScannedBytes,
        computedAt: new Date(computedAt).toISOString(),
        expiresAt: new Date(freshUntil).toISOString(),
      },
    }
    const buf = encodeEntry(
      {
        kind: 'result',
        computedAt,
        freshUntil,
        staleUntil,
        dataScannedBytes: stats.dataScannedBytes,
        engineMs: stats.engineMs,
        rowCount: rows.length,
        queryExecutionId: id,
        known,
      },
      Buffer.from(JSON.stringify(body)),
    )
    this.o.usage?.executionCollected(stats.dataScannedBytes, stats.reusedPreviousResult)
    const generations = await this.generationsOf(resolved)
    // Kept past staleness for stale-if-error.
    const ttlMs = staleUntil - computedAt + def.staleIfErrorSeconds * 1000
    // Invalidated while running: stored only where nothing is (it reads as stale or deleted, per the stamps), so it
    // can never replace an entry computed after the invalidation.
    const outdated = validityOf(known, generations) !== 'valid'
    await (outdated ? this.o.store.setIfAbsent(key, buf, ttlMs) : this.o.store.set(key, buf, ttlMs)).catch(
      (err: unknown) => {
        this.o.logger.warn({ err: (err as Error).message, key }, 'cache write failed; result served uncached')
      },
    )
    const entry = decodeEntry(buf)
    if (!outdated) this.l1?.set(key, { entry, known: generations.latest })
    await this.o.history.record(key, def.name, stats.totalMs)
    this.o.logger.info(
      {
        query: def.name,
        key,
        queryExecutionId: id,
        dataScannedBytes: stats.dataScannedBytes,
        athenaTotalMs: stats.totalMs,
        reusedPreviousResult: stats.reusedPreviousResult,
        expectedMs,
        rows: rows.length,
      },
      'query computed',
    )
    return entry
  }

  /** The current invalidation stamps of a read's entry (none when the store cannot tell). */
  private async generationsOf(resolved: ResolvedQuery): Promise<Generations> {
    try {
      const fields = await this.o.store.getFields(
        this.o.keys.generations(resolved.def.name),
        generationFields(this.o.keys.entryId(resolved.key)),
      )
      return parseGenerations(fields)
    } catch {
      return NO_GENERATIONS
    }
  }

  /** A user error (engine category 2) is cached briefly, so a broken dashboard cannot hammer Athena. */
  private async cacheUserError(resolved: ResolvedQuery, err: unknown, known: number): Promise<void> {
    if (!(err instanceof QueryFailedError && err.isUserError) || this.o.errorTtlSeconds <= 0) return
    const computedAt = this.now()
    const until = computedAt + this.o.errorTtlSeconds * 1000
    const body = Buffer.from(
      JSON.stringify({ status: USER_ERROR_STATUS, detail: err.message, ...err.details }),
    )
    const buf = encodeEntry(
      {
        kind: 'error',
        computedAt,
        freshUntil: until,
        staleUntil: until,
        dataScannedBytes: 0,
        engineMs: 0,
        rowCount: 0,
        queryExecutionId: err.details.queryExecutionId ?? '',
        known,
      },
      body,
    )
    await this.o.store.set(resolved.key, buf, this.o.errorTtlSeconds * 1000).catch(() => {})
  }

  /**
   * The state of an execution this service started: its result when done (collected if nobody has yet), else
   * pending. Unknown ids are a 404: the service never reads arbitrary Athena executions.
   */
  async execution(id: string): Promise<ReadOutcome> {
    const record = await this.executionRecord(id)
    const resolved = this.resolve(record.query, record.params as RawParams)
    const { entry } = await this.lookup(resolved)
    if (entry && entry.queryExecutionId === id) return entryResult(resolved, entry, 'HIT', { cacheMs: 0 })
    const execution = await this.o.runner.describe(id)
    const state = execution.Status?.State ?? 'QUEUED'
    if (state === 'QUEUED' || state === 'RUNNING') return pendingResult(resolved, id, state)
    if (state === 'SUCCEEDED') {
      const collected = await this.collectFinished(resolved, execution, record.known ?? 0)
      await this.leases.clearExecution(this.o.keys.lease(resolved.key), id).catch(() => {})
      return entryResult(resolved, collected, 'MISS', { cacheMs: 0 })
    }
    if (state === 'CANCELLED') throw new QueryCancelledError(id, execution.Status?.StateChangeReason)
    const athenaError = execution.Status?.AthenaError
    throw new QueryFailedError(
      athenaError?.ErrorMessage ?? execution.Status?.StateChangeReason ?? 'Athena query failed',
      {
        queryExecutionId: id,
        ...(athenaError?.ErrorCategory !== undefined ? { errorCategory: athenaError.ErrorCategory } : {}),
      },
    )
  }

  /** Stops an execution this service started and clears its lease. */
  async stopExecution(id: string): Promise<{ executionId: string; stopped: boolean }> {
    const record = await this.executionRecord(id)
    const stopped = await this.o.runner.stop(id)
    await this.leases.clearExecution(this.o.keys.lease(record.key), id).catch(() => {})
    return { executionId: id, stopped }
  }

  private async executionRecord(id: string): Promise<ExecutionRecord> {
    if (!/^[A-Za-z0-9-]{1,128}$/.test(id))
      throw new NotFoundError(`No execution ${id.slice(0, 64)} was issued by this service`)
    const raw = await this.o.store.get(this.o.keys.execution(id))
    if (!raw) throw new NotFoundError(`No execution ${id} was issued by this service`)
    return JSON.parse(raw.toString('utf8')) as ExecutionRecord
  }
}

import { createHash, randomUUID } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import type { Logger } from 'pino'
import type { AthenaRunner, ExecutionStats } from '../athena/athena-runner.ts'
import type { JsonValue, ResultColumn } from '../athena/result-converter.ts'
import { type CacheKeys, canonicalJson, type QueryIdentity } from '../cache/cache-key.ts'
import { decideCacheAction } from '../cache/cache-policy.ts'
import type { CacheStore } from '../cache/cache-store.ts'
import { type DecodedEntry, decodeEntry, type EntryDecodeError, encodeEntry } from '../cache/entry-codec.ts'
import type { Catalog, QueryDef } from '../config/catalog.ts'
import { UnknownQueryError } from '../errors.ts'
import { bindQuery, type CanonicalParams, parseParameters, type RawParams } from './parameters.ts'
import type { RuntimeHistory } from './runtime-history.ts'

/** How a read was answered: `HIT` fresh from cache, `STALE` stale while a refresh runs, `MISS` computed now, `BYPASS` computed because the cache was unusable. */
export type CacheOutcome = 'HIT' | 'STALE' | 'MISS' | 'BYPASS'

export interface ResolvedQuery {
  def: QueryDef
  params: CanonicalParams
  identity: QueryIdentity
  key: string
}

export interface ReadResult {
  entry: DecodedEntry
  outcome: CacheOutcome
  key: string
  query: string
  /** Time spent in the cache lookup and (on a miss) in the engine, for Server-Timing and logs. */
  timings: { cacheMs: number; engineMs?: number }
}

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
  now?: () => number
}

/**
 * The read-through path a request walks: validate → key → lookup → decide → (compute → store) → entry.
 * Concurrent misses on one key in this process share one computation.
 */
export class QueryService {
  private readonly inflight = new Map<string, Promise<{ entry: DecodedEntry; engineMs: number }>>()
  // Dashboards repeat the same URLs. Resolution is a pure function of the query name and the query string (the
  // catalog is immutable while running), so successful resolutions are memoised: a hit skips validation and hashing.
  private readonly resolved = new LRUCache<string, ResolvedQuery>({ max: 10_000 })
  private readonly now: () => number

  constructor(private readonly o: QueryServiceOptions) {
    this.now = o.now ?? Date.now
  }

  get catalog(): Catalog {
    return this.o.catalog
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
    return { def, params, identity, key: this.o.keys.entry(identity) }
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

  /** Answers a read from cache when it can, from the engine when it must. */
  async read(name: string, raw: RawParams): Promise<ReadResult> {
    return this.readResolved(this.resolve(name, raw))
  }

  /** `read` for an already resolved request. */
  async readResolved(resolved: ResolvedQuery): Promise<ReadResult> {
    const t0 = performance.now()
    let stored: Buffer | null = null
    let cacheUsable = true
    try {
      stored = await this.o.store.get(resolved.key)
    } catch (err) {
      cacheUsable = false
      this.o.logger.warn({ err, key: resolved.key }, 'cache lookup failed; answering from the engine')
    }
    const cacheMs = performance.now() - t0
    let entry: DecodedEntry | null = null
    if (stored) {
      try {
        entry = decodeEntry(stored)
      } catch (err) {
        // A corrupt entry is a miss; the computation below overwrites it.
        this.o.logger.warn(
          { err: (err as EntryDecodeError).message, key: resolved.key },
          'undecodable cache entry',
        )
      }
    }
    const action = decideCacheAction(entry, this.now(), { serveStale: resolved.def.staleSeconds > 0 })
    const base = { key: resolved.key, query: resolved.def.name }
    if (action.kind === 'serve' && entry) return { ...base, entry, outcome: 'HIT', timings: { cacheMs } }
    if (action.kind === 'serve-stale-and-refresh' && entry) {
      this.refreshInBackground(resolved)
      return { ...base, entry, outcome: 'STALE', timings: { cacheMs } }
    }
    const computed = await this.computeShared(resolved)
    return {
      ...base,
      entry: computed.entry,
      outcome: cacheUsable ? 'MISS' : 'BYPASS',
      timings: { cacheMs, engineMs: computed.engineMs },
    }
  }

  /** Computes and stores a key's entry, sharing the work with concurrent callers in this process. */
  computeShared(resolved: ResolvedQuery): Promise<{ entry: DecodedEntry; engineMs: number }> {
    const existing = this.inflight.get(resolved.key)
    if (existing) return existing
    const run = this.compute(resolved).finally(() => this.inflight.delete(resolved.key))
    this.inflight.set(resolved.key, run)
    return run
  }

  private refreshInBackground(resolved: ResolvedQuery): void {
    if (this.inflight.has(resolved.key)) return
    this.computeShared(resolved).catch((err: unknown) =>
      this.o.logger.warn({ err, key: resolved.key }, 'background refresh failed; stale entry kept'),
    )
  }

  private async compute(resolved: ResolvedQuery): Promise<{ entry: DecodedEntry; engineMs: number }> {
    const { def, params, identity, key } = resolved
    const { sql, executionParameters } = bindQuery(def, params)
    const expectedMs = await this.o.history.expectedMs(key, def.name)
    const t0 = performance.now()
    const result = await this.o.runner.run(
      {
        sql,
        executionParameters,
        database: identity.database,
        workgroup: identity.workgroup,
        // Derived from the key so it is stable across the SDK's retries of this start, and unique per computation
        // so a later refresh is never answered with an old execution.
        clientRequestToken: createHash('sha256').update(`${key}|${randomUUID()}`).digest('hex'),
      },
      { deadline: this.now() + this.o.queryTimeoutMs, ...(expectedMs !== undefined ? { expectedMs } : {}) },
    )
    const engineMs = performance.now() - t0
    const buf = this.buildEntry(def, params, result.columns, result.rows, result.stats)
    try {
      await this.o.store.set(key, buf, def.ttlSeconds * 1000 + def.staleSeconds * 1000)
    } catch (err) {
      this.o.logger.warn({ err, key }, 'cache write failed; result served uncached')
    }
    await this.o.history.record(key, def.name, result.stats.totalMs)
    this.o.logger.info(
      {
        query: def.name,
        key,
        queryExecutionId: result.stats.queryExecutionId,
        dataScannedBytes: result.stats.dataScannedBytes,
        engineMs: Math.round(engineMs),
        athenaTotalMs: result.stats.totalMs,
        statusCalls: result.stats.statusCalls,
        expectedMs,
        rows: result.rows.length,
      },
      'query computed',
    )
    return { entry: decodeEntry(buf), engineMs }
  }

  /** Serializes and compresses the response body once; every hit then serves these bytes. */
  private buildEntry(
    def: QueryDef,
    params: CanonicalParams,
    columns: ResultColumn[],
    rows: Array<Record<string, JsonValue>>,
    stats: ExecutionStats,
  ): Buffer {
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
        queryExecutionId: stats.queryExecutionId,
        dataScannedBytes: stats.dataScannedBytes,
        computedAt: new Date(computedAt).toISOString(),
        expiresAt: new Date(freshUntil).toISOString(),
      },
    }
    return encodeEntry(
      {
        computedAt,
        freshUntil,
        staleUntil,
        dataScannedBytes: stats.dataScannedBytes,
        engineMs: stats.engineMs,
        rowCount: rows.length,
        queryExecutionId: stats.queryExecutionId,
      },
      Buffer.from(JSON.stringify(body)),
    )
  }
}

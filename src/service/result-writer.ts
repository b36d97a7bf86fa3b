import type { QueryExecution } from '@aws-sdk/client-athena'
import type { Logger } from 'pino'
import { type AthenaRunner, executionStats, hasHeaderRow } from '../athena/athena-runner.ts'
import { sleep } from '../athena/poll-until-done.ts'
import type { JsonValue } from '../athena/result-converter.ts'
import { type CacheKeys, canonicalJson } from '../cache/cache-key.ts'
import type { CacheStore } from '../cache/cache-store.ts'
import { type DecodedEntry, decodeEntry, encodeEntry } from '../cache/entry-codec.ts'
import { validityOf } from '../cache/generations.ts'
import { errorMessage, QueryFailedError } from '../errors.ts'
import type { EntryLookup } from './entry-lookup.ts'
import type { ResolvedQuery } from './read-result.ts'
import type { RuntimeHistory } from './runtime-history.ts'
import type { UsageRecorder } from './usage.ts'

const USER_ERROR_STATUS = 422
/** How long the other processes waiting on one execution give its collector to write the entry. */
const COLLECTOR_WAIT_MS = 10_000
/** Lifetime of the collector claim of one execution. */
const COLLECTOR_CLAIM_MS = 30_000

export interface ResultWriterOptions {
  store: CacheStore
  keys: CacheKeys
  runner: AthenaRunner
  lookup: EntryLookup
  history: RuntimeHistory
  logger: Logger
  /** How long a user error (engine category 2) is cached; 0 = never. */
  errorTtlSeconds: number
  usage?: UsageRecorder | undefined
  now: () => number
}

/**
 * Turns a finished execution into the stored entry: fetches its rows once (one collector per execution across
 * processes), builds the JSON body, encodes the entry (gzip once) and stores it — unless an invalidation happened
 * while it ran, in which case it is stored only where nothing is.
 */
export class ResultWriter {
  constructor(private readonly o: ResultWriterOptions) {}

  /** Fetches a SUCCEEDED execution's rows and stores the entry, unless someone already stored this execution's. */
  async collectFinished(
    resolved: ResolvedQuery,
    execution: QueryExecution,
    known: number,
    expectedMs?: number,
  ): Promise<DecodedEntry> {
    const { store, keys, lookup } = this.o
    const id = execution.QueryExecutionId ?? ''
    const stored = async () => {
      const { entry } = await lookup.lookup(resolved, { skipL1: true })
      return entry?.kind === 'result' && entry.queryExecutionId === id ? entry : null
    }
    const existing = await stored()
    if (existing) return existing
    // Several processes may be waiting on this execution: one fetches the rows and writes the entry, the others
    // pick that entry up, so every process serves the same bytes (one ETag) and Athena's results are read once.
    const collectKey = `${keys.lease(resolved.key)}:c:${id}`
    const collector = await store
      .setIfAbsent(collectKey, Buffer.from('1'), COLLECTOR_CLAIM_MS)
      .catch(() => true)
    if (!collector) {
      const giveUpAt = Date.now() + COLLECTOR_WAIT_MS
      while (Date.now() < giveUpAt) {
        await sleep(20)
        const written = await stored()
        if (written) return written
      }
    }
    const { def, params, key } = resolved
    const { columns, rows } = await this.o.runner.fetchResults(id, { hasHeaderRow: hasHeaderRow(execution) })
    const stats = executionStats(execution, 0)
    const computedAt = this.o.now()
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
    const generations = await lookup.generations(resolved)
    // Kept past staleness for stale-if-error.
    const ttlMs = staleUntil - computedAt + def.staleIfErrorSeconds * 1000
    // Invalidated while running: stored only where nothing is (it reads as stale or deleted, per the stamps), so it
    // can never replace an entry computed after the invalidation.
    const outdated = validityOf(known, generations) !== 'valid'
    await (outdated ? store.setIfAbsent(key, buf, ttlMs) : store.set(key, buf, ttlMs)).catch(
      (err: unknown) => {
        this.o.logger.warn({ err: errorMessage(err), key }, 'cache write failed; result served uncached')
      },
    )
    const entry = decodeEntry(buf)
    if (!outdated) lookup.remember(key, entry, generations.latest)
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

  /** A user error (engine category 2) is cached briefly, so a broken dashboard cannot hammer Athena. */
  async cacheUserError(resolved: ResolvedQuery, err: unknown, known: number): Promise<void> {
    const ttlSeconds = this.o.errorTtlSeconds
    if (!(err instanceof QueryFailedError && err.isUserError) || ttlSeconds <= 0) return
    const computedAt = this.o.now()
    const until = computedAt + ttlSeconds * 1000
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
    await this.o.store.set(resolved.key, buf, ttlSeconds * 1000).catch(() => {})
  }
}

import type { QueryExecution } from '@aws-sdk/client-athena'
import type { Logger } from 'pino'
import { type AthenaRunner, executionStats } from '../athena/athena-runner.ts'
import { sleep } from '../athena/poll-until-done.ts'
import type { JsonValue } from '../athena/result-converter.ts'
import type { ResultReader } from '../athena/result-reader.ts'
import { type CacheKeys, canonicalJson } from '../cache/cache-key.ts'
import type { CacheStore } from '../cache/cache-store.ts'
import {
  type DecodedEntry,
  decodeEntry,
  encodeEntry,
  encodeEntryParts,
  plainBody,
} from '../cache/entry-codec.ts'
import { validityOf } from '../cache/generations.ts'
import { ExecutionGoneError, errorMessage, QueryFailedError, ResultTooLargeError } from '../errors.ts'
import type { ClosedWindows } from './closed-windows.ts'
import type { EntryLookup } from './entry-lookup.ts'
import type { ResolvedQuery } from './read-result.ts'
import { type BodyLimits, ResultBody } from './result-body.ts'
import type { RuntimeHistory } from './runtime-history.ts'
import { isSplicedId, renderFromRows, type SplicedResult, writeRows } from './spliced-rows.ts'
import type { TenantBudgets } from './tenant-budgets.ts'
import type { UsageRecorder } from './usage.ts'

const USER_ERROR_STATUS = 422
const TOO_LARGE_STATUS = 413
/** How long the other processes waiting on one execution give its collector to write the entry. */
const COLLECTOR_WAIT_MS = 10_000
/** Lifetime of the collector claim of one execution. */
const COLLECTOR_CLAIM_MS = 30_000

export interface ResultWriterOptions {
  store: CacheStore
  keys: CacheKeys
  runner: AthenaRunner
  /** Reads a finished execution's rows (first page, result file, or paging). */
  reader: ResultReader
  /** MAX_RESULT_ROWS and MAX_RESULT_BYTES (the plain body as sent). */
  limits: BodyLimits
  lookup: EntryLookup
  history: RuntimeHistory
  logger: Logger
  /** How long a user error (engine category 2) is cached; 0 = never. */
  errorTtlSeconds: number
  /** Charged with what each execution collected for a tenant scanned. */
  budgets?: TenantBudgets | undefined
  usage?: UsageRecorder | undefined
  /** Longer freshness for results of closed windows; absent = the query's TTL for every result. */
  closedWindows?: ClosedWindows | undefined
  now: () => number
}

/**
 * Turns a finished execution into the stored entry: reads its rows once (one collector per execution across
 * processes) straight into the body, compressed as it is built (result-body.ts), and stores it — unless an invalidation happened
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
    signal?: AbortSignal,
  ): Promise<DecodedEntry> {
    const { store, keys, lookup } = this.o
    const id = execution.QueryExecutionId ?? ''
    const stored = async () => {
      const { entry } = await lookup.lookup(resolved, { skipL1: true })
      if (!entry || entry.queryExecutionId !== id) return null
      // This execution's answer was an error (a result over the limits): the same answer here, at once.
      if (entry.kind === 'error') throw cachedErrorOf(entry)
      return entry
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
    const stats = executionStats(execution, 0)
    const body = new ResultBody('json', this.o.limits, id)
    const source = await this.readInto(body, execution, signal)
    const freshForMs = await this.freshForMs(resolved)
    const computedAt = this.o.now()
    const freshUntil = computedAt + freshForMs
    const staleUntil = freshUntil + def.staleSeconds * 1000
    const encoded = await body.finish({
      query: def.name,
      parameters: JSON.parse(canonicalJson(params)) as JsonValue,
      queryExecutionId: id,
      dataScannedBytes: stats.dataScannedBytes,
      computedAt: new Date(computedAt).toISOString(),
      expiresAt: new Date(freshUntil).toISOString(),
    })
    const rows = body.rows
    const buf = encodeEntryParts(
      {
        kind: 'result',
        computedAt,
        freshUntil,
        staleUntil,
        dataScannedBytes: stats.dataScannedBytes,
        engineMs: stats.engineMs,
        rowCount: rows,
        queryExecutionId: id,
        known,
      },
      encoded,
    )
    this.o.usage?.executionCollected(resolved.def.name, stats.dataScannedBytes, stats.reusedPreviousResult)
    // Once per execution (only its collector gets here), whoever's read or prewarm collected it.
    if (resolved.tenant)
      await this.o.budgets?.charge(resolved.tenant.id, stats.dataScannedBytes).catch((err: unknown) => {
        this.o.logger.warn(
          { err: errorMessage(err), tenant: resolved.tenant?.id },
          'tenant spend not counted',
        )
      })
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
    await this.o.history.record(key, def.name, stats.totalMs, ttlMs)
    this.o.logger.info(
      {
        query: def.name,
        key,
        queryExecutionId: id,
        dataScannedBytes: stats.dataScannedBytes,
        athenaTotalMs: stats.totalMs,
        reusedPreviousResult: stats.reusedPreviousResult,
        expectedMs,
        rows,
        read: source,
        bytes: encoded.plainLength,
        storedBytes: buf.length,
      },
      'query computed',
    )
    return entry
  }

  /** Reads an execution's rows into a body; the body is discarded (its memory freed) when the read fails. */
  private async readInto(body: ResultBody, execution: QueryExecution, signal?: AbortSignal) {
    try {
      return await this.o.reader.read(execution, body, signal)
    } catch (err) {
      body.discard()
      throw err
    }
  }

  /**
   * Renders a result in another format (`resolved.format`) from the execution of its JSON entry `json`, and stores
   * it with that entry's times and stamp: it is as fresh as the JSON entry, and invalidated with it. No query runs:
   * the rows are read again from the execution's result (a file in S3 the engine keeps), not computed again.
   */
  async renderFormat(
    resolved: ResolvedQuery,
    json: DecodedEntry,
    signal?: AbortSignal,
  ): Promise<DecodedEntry> {
    const id = json.queryExecutionId
    // A spliced result has no execution that holds its rows: its format is rendered from its JSON rows.
    const execution = isSplicedId(id) ? undefined : await this.succeeded(id, signal)
    const body = new ResultBody(resolved.format, this.o.limits, id)
    const source = execution ? await this.readInto(body, execution, signal) : await renderFromRows(body, json)
    const encoded = await body.finish({
      query: resolved.def.name,
      parameters: null,
      queryExecutionId: id,
      dataScannedBytes: json.dataScannedBytes,
      computedAt: new Date(json.computedAt).toISOString(),
      expiresAt: new Date(json.freshUntil).toISOString(),
    })
    const buf = encodeEntryParts(
      {
        kind: 'result',
        computedAt: json.computedAt,
        freshUntil: json.freshUntil,
        staleUntil: json.staleUntil,
        dataScannedBytes: json.dataScannedBytes,
        engineMs: json.engineMs,
        rowCount: body.rows,
        queryExecutionId: id,
        known: json.known,
      },
      encoded,
    )
    const ttlMs = json.staleUntil + resolved.def.staleIfErrorSeconds * 1000 - this.o.now()
    if (ttlMs > 0)
      await this.o.store.set(resolved.key, buf, ttlMs).catch((err: unknown) => {
        this.o.logger.warn(
          { err: errorMessage(err), key: resolved.key },
          'cache write failed; served uncached',
        )
      })
    this.o.logger.info(
      {
        query: resolved.def.name,
        key: resolved.key,
        format: resolved.format,
        queryExecutionId: id,
        rows: body.rows,
        read: source,
      },
      'result rendered',
    )
    return decodeEntry(buf)
  }

  /** The execution, which must have SUCCEEDED (its result file is what a format is rendered from). */
  private async succeeded(id: string, signal?: AbortSignal): Promise<QueryExecution> {
    const execution = await this.o.runner.describe(id, signal)
    if (execution.Status?.State !== 'SUCCEEDED')
      throw new ExecutionGoneError(id, {
        cause: new Error(`execution ${id} is ${execution.Status?.State ?? 'in no state'}`),
      })
    return execution
  }

  /** How long a result computed now stays fresh: longer for a closed window (closed-windows.ts). */
  private freshForMs(resolved: ResolvedQuery): Promise<number> {
    return this.o.closedWindows
      ? this.o.closedWindows.freshForMs(resolved)
      : Promise.resolve(resolved.def.ttlSeconds * 1000)
  }

  /**
   * Stores a result spliced by an incremental refresh (incremental-refresh.ts) as collectFinished stores a computed
   * one: the same body writer (ETag, gzip, meta), the same times, and stored only where nothing is when an
   * invalidation came after the stamps it was planned from (`known`). `dataScannedBytes` is what the refresh scanned.
   */
  async storeSpliced(resolved: ResolvedQuery, splice: SplicedResult, known: number): Promise<DecodedEntry> {
    const { store, lookup } = this.o
    const { def, params, key } = resolved
    const id = splice.queryExecutionId
    const body = new ResultBody('json', this.o.limits, id)
    await writeRows(body, splice).catch(discarding(body))
    const freshForMs = await this.freshForMs(resolved)
    const computedAt = this.o.now()
    const freshUntil = computedAt + freshForMs
    const staleUntil = freshUntil + def.staleSeconds * 1000
    const { dataScannedBytes, engineMs } = splice
    const encoded = await body.finish({
      query: def.name,
      parameters: JSON.parse(canonicalJson(params)) as JsonValue,
      queryExecutionId: id,
      dataScannedBytes,
      computedAt: new Date(computedAt).toISOString(),
      expiresAt: new Date(freshUntil).toISOString(),
      refresh: splice.refresh,
    })
    const header = { computedAt, freshUntil, staleUntil, dataScannedBytes, engineMs, rowCount: body.rows }
    const buf = encodeEntryParts({ kind: 'result', ...header, queryExecutionId: id, known }, encoded)
    const generations = await lookup.generations(resolved)
    const ttlMs = staleUntil - computedAt + def.staleIfErrorSeconds * 1000
    const outdated = validityOf(known, generations) !== 'valid'
    await (outdated ? store.setIfAbsent(key, buf, ttlMs) : store.set(key, buf, ttlMs)).catch(
      (err: unknown) => {
        this.o.logger.warn({ err: errorMessage(err), key }, 'cache write failed; result served uncached')
      },
    )
    const entry = decodeEntry(buf)
    if (!outdated) lookup.remember(key, entry, generations.latest)
    return entry
  }

  /**
   * An answer that would be the same on a retry — a user error (engine category 2), or a result over MAX_RESULT_ROWS
   * or MAX_RESULT_BYTES — is cached for ERROR_TTL_SECONDS, so a broken dashboard or its retries cannot hammer Athena.
   */
  async cacheUserError(resolved: ResolvedQuery, err: unknown, known: number): Promise<void> {
    const ttlSeconds = this.o.errorTtlSeconds
    const stored = storedErrorOf(err)
    if (!stored || ttlSeconds <= 0) return
    const computedAt = this.o.now()
    const until = computedAt + ttlSeconds * 1000
    const buf = encodeEntry(
      {
        kind: 'error',
        computedAt,
        freshUntil: until,
        staleUntil: until,
        dataScannedBytes: 0,
        engineMs: 0,
        rowCount: 0,
        queryExecutionId: executionOf(err) ?? '',
        known,
      },
      Buffer.from(JSON.stringify(stored)),
    )
    await this.o.store.set(resolved.key, buf, ttlSeconds * 1000).catch(() => {})
  }
}

/** The body of an error entry: enough to throw the same error again when it is served. */
type StoredError =
  | ({ status: typeof USER_ERROR_STATUS; detail: string } & QueryFailedError['details'])
  | { status: typeof TOO_LARGE_STATUS; detail: string; limit: ResultTooLargeError['limit'] }

function storedErrorOf(err: unknown): StoredError | undefined {
  if (err instanceof QueryFailedError && err.isUserError)
    return { status: USER_ERROR_STATUS, detail: err.message, ...err.details }
  if (err instanceof ResultTooLargeError)
    return { status: TOO_LARGE_STATUS, detail: err.message, limit: err.limit }
  return undefined
}

function executionOf(err: unknown): string | undefined {
  if (err instanceof QueryFailedError) return err.details.queryExecutionId
  return err instanceof ResultTooLargeError ? err.queryExecutionId : undefined
}

/** Frees a body's memory when writing it failed, and fails on. */
const discarding =
  (body: ResultBody) =>
  (err: unknown): never => {
    body.discard()
    throw err
  }

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

const optionalNumber = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined)
const optionalString = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

/**
 * The error a cached error entry stands for, as the computation threw it: served through the same error mapping,
 * a cached answer has the status and problem body of the first one (413 stays 413, 422 stays 422).
 */
export function cachedErrorOf(entry: DecodedEntry): QueryFailedError | ResultTooLargeError {
  const raw = parseJson(plainBody(entry).toString('utf8'))
  const stored: Record<string, unknown> = typeof raw === 'object' && raw !== null ? { ...raw } : {}
  const detail = optionalString(stored.detail) ?? 'Query failed'
  if (stored.status === TOO_LARGE_STATUS) {
    const limit = typeof stored.limit === 'object' && stored.limit !== null ? { ...stored.limit } : {}
    const rows = optionalNumber('rows' in limit ? limit.rows : undefined)
    const bytes = optionalNumber('bytes' in limit ? limit.bytes : undefined)
    return new ResultTooLargeError(
      detail,
      { ...(rows !== undefined ? { rows } : {}), ...(bytes !== undefined ? { bytes } : {}) },
      entry.queryExecutionId || undefined,
    )
  }
  const queryExecutionId = optionalString(stored.queryExecutionId) ?? entry.queryExecutionId
  const errorType = optionalNumber(stored.errorType)
  const stateChangeReason = optionalString(stored.stateChangeReason)
  // Entries written before the category was stored are user errors too: nothing else was cached.
  return new QueryFailedError(detail, {
    errorCategory: 2,
    ...(queryExecutionId ? { queryExecutionId } : {}),
    ...(errorType !== undefined ? { errorType } : {}),
    ...(stateChangeReason !== undefined ? { stateChangeReason } : {}),
  })
}

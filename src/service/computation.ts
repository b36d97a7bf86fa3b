import { createHash, randomUUID } from 'node:crypto'
import type { QueryExecution } from '@aws-sdk/client-athena'
import type { Logger } from 'pino'
import type { AthenaRunner } from '../athena/athena-runner.ts'
import { sleep } from '../athena/poll-until-done.ts'
import type { CacheKeys } from '../cache/cache-key.ts'
import { freshnessAt } from '../cache/cache-policy.ts'
import type { DecodedEntry } from '../cache/entry-codec.ts'
import { CacheUnavailableError } from '../cache/guarded-cache-store.ts'
import type { AcquireResult, HeldLease, Leases } from '../cache/lease.ts'
import type { QueryDef } from '../config/catalog.ts'
import { ExecutionGoneError, errorMessage, QueryTimeoutError } from '../errors.ts'
import type { EntryLookup } from './entry-lookup.ts'
import type { ExecutionRegistry } from './execution-registry.ts'
import type { IncrementalRefresh } from './incremental-refresh.ts'
import { bindQuery } from './parameters.ts'
import type { BackgroundMode, ResolvedQuery } from './read-result.ts'
import type { ResultWriter } from './result-writer.ts'
import type { RuntimeHistory } from './runtime-history.ts'
import type { UsageRecorder } from './usage.ts'

/** How often a reader looks again while the lease holder has not recorded its execution yet. */
const HOLDER_STARTING_POLL_MS = 50

/** A computation in flight in this process, with the invalidation stamp it started from. */
interface Inflight {
  run: Promise<DecodedEntry>
  known: number
}

export interface ComputationOptions {
  keys: CacheKeys
  runner: AthenaRunner
  leases: Leases
  lookup: EntryLookup
  writer: ResultWriter
  registry: ExecutionRegistry
  history: RuntimeHistory
  logger: Logger
  queryTimeoutMs: number
  background: BackgroundMode
  usage?: UsageRecorder | undefined
  /** Refreshes of entries of queries declared additive per time bucket; absent: every refresh is a full one. */
  incremental?: IncrementalRefresh | undefined
  now: () => number
}

/**
 * Computes entries: one computation per key in this process (single flight) and, through a lease in the store, one
 * Athena execution per key across every process — the first miss takes the lease and starts the query, the others
 * attach to the execution recorded in the lease and wait on it (docs/decisions/002).
 */
export class Computation {
  private readonly inflight = new Map<string, Inflight>()

  constructor(private readonly o: ComputationOptions) {}

  /**
   * Computes a key's entry, sharing the work with concurrent callers in this process (and, via the lease, others)
   * that started from the same invalidations: `known` is the newest invalidation stamp the caller saw, and a
   * computation that started before it is not joined, since its result predates the invalidation. `previous`: the
   * entry this computation refreshes (a stale read's, a prewarm's), which an incremental refresh splices into.
   */
  computeShared(
    resolved: ResolvedQuery,
    known: number,
    previous?: DecodedEntry | null,
  ): Promise<DecodedEntry> {
    const existing = this.inflight.get(resolved.key)
    if (existing && existing.known >= known) return existing.run
    const flight: Inflight = { run: this.bounded(resolved, known, previous ?? null), known }
    flight.run = flight.run.finally(() => {
      if (this.inflight.get(resolved.key) === flight) this.inflight.delete(resolved.key)
    })
    this.inflight.set(resolved.key, flight)
    return flight.run
  }

  /** The execution a computation of `resolved` runs, once recorded in its lease (undefined before, or unknown). */
  async executionOf(resolved: ResolvedQuery): Promise<string | undefined> {
    const holder = await this.o.leases.read(this.o.keys.lease(resolved.key)).catch(() => null)
    return holder?.executionId
  }

  /**
   * Serves-stale refresh: exactly one per key through the lease. With `continue` (Node server) the computation runs
   * on in the background; with `detach` (Lambda, where nothing runs after the response) it only starts the query and
   * records it in the lease, and whichever read or prewarm run next finds it SUCCEEDED collects the result.
   */
  async refresh(resolved: ResolvedQuery, known: number, previous?: DecodedEntry): Promise<void> {
    const existing = this.inflight.get(resolved.key)
    if (existing && existing.known >= known) return
    if (this.o.background === 'continue') {
      this.computeShared(resolved, known, previous).catch((err: unknown) =>
        this.o.logger.warn(
          { err: errorMessage(err), key: resolved.key },
          'background refresh failed; stale entry kept',
        ),
      )
      return
    }
    try {
      await this.detachedRefresh(resolved, known)
    } catch (err) {
      this.o.logger.warn(
        { err: errorMessage(err), key: resolved.key },
        'detached refresh failed; stale entry kept',
      )
    }
  }

  private async detachedRefresh(resolved: ResolvedQuery, known: number): Promise<void> {
    const { leases, keys, runner, writer } = this.o
    const leaseKey = keys.lease(resolved.key)
    let taken = await leases.acquire(leaseKey, known)
    if (!taken.acquired && taken.raw && (taken.holder?.known ?? 0) < known) {
      const lease = await leases.takeOver(leaseKey, taken.raw, known)
      if (lease) taken = { acquired: true, lease }
    }
    if (taken.acquired) {
      const id = await this.startExecution(resolved, taken.lease, known)
      await leases.recordExecution(taken.lease, id)
      return
    }
    const id = taken.holder?.executionId
    if (!id) return
    let execution: QueryExecution
    try {
      execution = await runner.describe(id)
    } catch (err) {
      // Gone from the engine: clear the lease so that the next stale read starts a new execution.
      if (err instanceof ExecutionGoneError) await leases.clearExecution(leaseKey, id)
      throw err
    }
    const state = execution.Status?.State
    if (state === 'SUCCEEDED') await writer.collectFinished(resolved, execution, taken.holder?.known ?? 0)
    else if (state === 'FAILED' || state === 'CANCELLED') await leases.clearExecution(leaseKey, id)
  }

  private async startExecution(
    resolved: ResolvedQuery,
    lease: HeldLease | null,
    known: number,
    signal?: AbortSignal,
  ): Promise<string> {
    const { def, params, identity, key } = resolved
    const { sql, executionParameters } = bindQuery(def, params)
    const reuseMinutes = this.resultReuseMinutes(def, known)
    const id = await this.o.runner.start(
      {
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
      },
      signal,
    )
    this.o.usage?.executionStarted(resolved.def.name)
    await this.o.registry.record(id, resolved, known)
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

  /**
   * `produce` within QUERY_TIMEOUT_MS as a whole (start, polls and result fetch, not just the polling): past it the
   * SDK calls in flight are aborted, the query is stopped, and the callers get a QueryTimeoutError even while a call
   * that takes no signal (the result fetch) is still running down its own request timeout.
   */
  private async bounded(
    resolved: ResolvedQuery,
    known: number,
    previous: DecodedEntry | null,
  ): Promise<DecodedEntry> {
    const abort = new AbortController()
    const timer = setTimeout(
      () => abort.abort(new QueryTimeoutError(undefined, this.o.queryTimeoutMs)),
      this.o.queryTimeoutMs,
    )
    try {
      return await untilAborted(this.produce(resolved, known, abort.signal, previous), abort.signal)
    } finally {
      clearTimeout(timer)
    }
  }

  /**
   * One computation across processes. An execution the engine no longer knows (it restarted) is gone, not failed:
   * its lease has been cleared by then, and the computation starts over once, with a new execution.
   */
  private async produce(
    resolved: ResolvedQuery,
    known: number,
    signal: AbortSignal,
    previous: DecodedEntry | null,
  ): Promise<DecodedEntry> {
    try {
      return await this.produceOnce(resolved, known, signal, previous)
    } catch (err) {
      if (!(err instanceof ExecutionGoneError) || signal.aborted) throw err
      this.o.logger.warn(
        { err: errorMessage(err), key: resolved.key },
        'execution gone from the engine; computing anew',
      )
      return this.produceOnce(resolved, known, signal, previous)
    }
  }

  /** Take the lease and run, or attach to the holder's execution. */
  private async produceOnce(
    resolved: ResolvedQuery,
    known: number,
    signal: AbortSignal,
    previous: DecodedEntry | null,
  ): Promise<DecodedEntry> {
    const { leases, keys, lookup } = this.o
    const leaseKey = keys.lease(resolved.key)
    const giveUpAt = Date.now() + this.o.queryTimeoutMs
    for (;;) {
      let taken: AcquireResult
      try {
        taken = await leases.acquire(leaseKey, known)
      } catch (err) {
        if (!(err instanceof CacheUnavailableError)) throw err
        // No shared store: coalescing stays in-process, and the query still runs once per process.
        return this.runAndCollect(resolved, null, known, signal)
      }
      if (taken.acquired) return this.runHeld(resolved, taken.lease, known, signal, previous)
      const holderKnown = taken.holder?.known ?? 0
      if (taken.raw && holderKnown < known) {
        // The holder's computation predates an invalidation this read knows of: its result is outdated.
        const lease = await leases.takeOver(leaseKey, taken.raw, known)
        if (lease) return this.runHeld(resolved, lease, known, signal, previous)
        continue
      }
      const id = taken.holder?.executionId
      if (id) {
        // Another reader's computation: counted as a lease wait, however it ends.
        const waitStarted = performance.now()
        try {
          return await this.waitAndCollect(resolved, id, undefined, null, holderKnown, signal)
        } finally {
          this.o.usage?.leaseWait(resolved.def.name, performance.now() - waitStarted)
        }
      }
      // The holder is still starting its query: look again shortly (its entry may also appear).
      await sleep(HOLDER_STARTING_POLL_MS)
      const { entry } = await lookup.lookup(resolved)
      if (
        entry &&
        entry.kind === 'result' &&
        entry.known >= known &&
        freshnessAt(entry, this.o.now()) === 'fresh'
      )
        return entry
      if (signal.aborted || Date.now() > giveUpAt)
        throw new QueryTimeoutError(undefined, this.o.queryTimeoutMs)
    }
  }

  /**
   * With the lease held: an incremental refresh of `previous` when its query and the invalidations since allow one,
   * else (or when it fails) the full query under the same lease.
   */
  private async runHeld(
    resolved: ResolvedQuery,
    lease: HeldLease,
    known: number,
    signal: AbortSignal,
    previous: DecodedEntry | null,
  ): Promise<DecodedEntry> {
    if (previous && this.o.incremental) {
      const spliced = await this.o.incremental
        .refresh(resolved, previous, lease, known, signal)
        .catch(async (err: unknown) => {
          await this.o.leases.release(lease).catch(() => {})
          throw err
        })
      if (spliced) {
        await this.o.leases.release(lease).catch(() => {})
        return spliced
      }
    }
    return this.runAndCollect(resolved, lease, known, signal)
  }

  private async runAndCollect(
    resolved: ResolvedQuery,
    lease: HeldLease | null,
    known: number,
    signal: AbortSignal,
  ): Promise<DecodedEntry> {
    const startedAt = Date.now()
    let id: string
    try {
      id = await this.startExecution(resolved, lease, known, signal)
    } catch (err) {
      if (lease) await this.o.leases.release(lease).catch(() => {})
      await this.o.writer.cacheUserError(resolved, err, known)
      throw err
    }
    if (lease) await this.o.leases.recordExecution(lease, id).catch(() => false)
    return this.waitAndCollect(resolved, id, startedAt, lease, known, signal)
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
    signal: AbortSignal,
  ): Promise<DecodedEntry> {
    const { leases, keys, writer } = this.o
    const expectedMs = await this.o.history.expectedMs(resolved.key, resolved.def.name)
    try {
      const { execution } = await this.o.runner.waitForCompletion(id, {
        // Engine deadlines run on the wall clock (the runner's); `now` is the cache's clock.
        deadline: (startedAt ?? Date.now()) + this.o.queryTimeoutMs,
        signal,
        ...(startedAt !== undefined ? { startedAt } : {}),
        ...(expectedMs !== undefined ? { expectedMs } : {}),
      })
      return await writer.collectFinished(resolved, execution, known, expectedMs, signal)
    } catch (err) {
      await writer.cacheUserError(resolved, err, known)
      throw err
    } finally {
      if (lease) await leases.release(lease).catch(() => {})
      else await leases.clearExecution(keys.lease(resolved.key), id).catch(() => {})
    }
  }
}

/**
 * `work`, or `signal`'s reason once it aborts, whichever comes first. The work is not stopped (only the caller stops
 * waiting for it); its late failure is swallowed, as nobody is listening any more.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(err)
      },
    )
  })
}

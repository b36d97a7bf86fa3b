import type { Logger } from 'pino'
import { z } from 'zod'
import type { AthenaRunner } from '../athena/athena-runner.ts'
import type { CacheKeys } from '../cache/cache-key.ts'
import type { CacheStore } from '../cache/cache-store.ts'
import { DamageReport } from '../cache/damage-report.ts'
import type { Leases } from '../cache/lease.ts'
import { NotFoundError, QueryCancelledError, QueryFailedError } from '../errors.ts'
import type { EntryLookup } from './entry-lookup.ts'
import type { CanonicalParams, RawParams } from './parameters.ts'
import { entryResult, pendingResult, type ReadOutcome, type ResolvedQuery } from './read-result.ts'
import type { RequestResolver } from './request-resolver.ts'
import type { ResultWriter } from './result-writer.ts'

/**
 * How long a record outlives the query timeout. A client told 202 polls `/executions/{id}` until the execution is
 * done, and no execution runs longer than QUERY_TIMEOUT_MS; the margin covers the last polls of a client that polls
 * slowly (a background browser tab runs timers once a minute). Past it, the entry the execution stored answers the
 * same read under its own URL.
 */
const EXECUTION_RECORD_MARGIN_MS = 5 * 60_000
const EXECUTION_ID = /^[A-Za-z0-9-]{1,128}$/

/** What the registry keeps of an execution this service started. */
export interface ExecutionRecord {
  query: string
  params: CanonicalParams
  key: string
  createdAt: number
  /** The invalidation stamp the computation started from (see generations.ts). */
  known?: number
  /** The tenant it was started for; only that tenant (or an admin) may see it. */
  tenant?: string
}

/** A stored record is input: anything else under an `x:` key is ignored (and removed), never a 500. */
const recordSchema = z.object({
  query: z.string().min(1).max(256),
  params: z.record(z.string(), z.union([z.string(), z.number()])),
  key: z.string().min(1).max(1024),
  createdAt: z.number().nonnegative(),
  known: z.number().nonnegative().optional(),
  tenant: z.string().min(1).max(64).optional(),
})

export interface ExecutionRegistryOptions {
  store: CacheStore
  keys: CacheKeys
  resolver: RequestResolver
  lookup: EntryLookup
  writer: ResultWriter
  runner: AthenaRunner
  leases: Leases
  /** QUERY_TIMEOUT_MS: records live this long plus EXECUTION_RECORD_MARGIN_MS. */
  queryTimeoutMs: number
  logger: Logger
  now: () => number
}

/**
 * The executions this service started, so that a client told `202 Accepted` can poll `/executions/{id}` from any
 * process: the id maps to the read it computes. Ids the service did not issue are a 404: the service never reads
 * arbitrary Athena executions.
 */
export class ExecutionRegistry {
  private readonly damage: DamageReport

  constructor(private readonly o: ExecutionRegistryOptions) {
    this.damage = new DamageReport(o.logger)
  }

  /** Records an execution just started for `resolved`. Best effort: a lost record only costs that 202's poll URL. */
  async record(id: string, resolved: ResolvedQuery, known: number): Promise<void> {
    const record: ExecutionRecord = {
      query: resolved.def.name,
      params: resolved.params,
      key: resolved.key,
      createdAt: this.o.now(),
      known,
      ...(resolved.tenant ? { tenant: resolved.tenant.id } : {}),
    }
    await this.o.store
      .set(
        this.o.keys.execution(id),
        Buffer.from(JSON.stringify(record)),
        this.o.queryTimeoutMs + EXECUTION_RECORD_MARGIN_MS,
      )
      .catch(() => {})
  }

  /**
   * The state of an execution: its result when done (collected if nobody has yet), else pending. `caller` is who
   * asks: an execution started for another tenant is a 404, as one never issued (`admin` sees every execution).
   */
  async execution(id: string, caller: { tenant?: string; admin?: boolean } = {}): Promise<ReadOutcome> {
    const record = await this.get(id)
    if (!caller.admin && record.tenant !== caller.tenant)
      throw new NotFoundError(`No execution ${id} was issued by this service`)
    const resolved = this.o.resolver.replay(record.query, record.params as RawParams, record.tenant)
    const { entry } = await this.o.lookup.lookup(resolved)
    if (entry && entry.queryExecutionId === id) return entryResult(resolved, entry, 'HIT', { cacheMs: 0 })
    const execution = await this.o.runner.describe(id)
    const state = execution.Status?.State ?? 'QUEUED'
    if (state === 'QUEUED' || state === 'RUNNING') return pendingResult(resolved, id, state)
    if (state === 'SUCCEEDED') {
      try {
        const collected = await this.o.writer.collectFinished(resolved, execution, record.known ?? 0)
        return entryResult(resolved, collected, 'MISS', { cacheMs: 0 })
      } catch (err) {
        // A result over the limits is the same answer next time: cached as it is on the read path.
        await this.o.writer.cacheUserError(resolved, err, record.known ?? 0)
        throw err
      } finally {
        await this.o.leases.clearExecution(this.o.keys.lease(resolved.key), id).catch(() => {})
      }
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
  async stop(id: string): Promise<{ executionId: string; stopped: boolean }> {
    const record = await this.get(id)
    const stopped = await this.o.runner.stop(id)
    await this.o.leases.clearExecution(this.o.keys.lease(record.key), id).catch(() => {})
    return { executionId: id, stopped }
  }

  private async get(id: string): Promise<ExecutionRecord> {
    if (!EXECUTION_ID.test(id))
      throw new NotFoundError(`No execution ${id.slice(0, 64)} was issued by this service`)
    const key = this.o.keys.execution(id)
    const raw = await this.o.store.get(key)
    if (!raw) throw new NotFoundError(`No execution ${id} was issued by this service`)
    const record = parseRecord(raw)
    // A record names an entry of this deployment's key space (its lease is derived from it when stopping).
    if (!record?.key.startsWith(this.o.keys.root)) {
      // What it computed is lost with it: as if it had never been recorded (a 404, as for an expired record).
      this.damage.report('execution record', key, 'unparsable')
      await this.o.store.deleteIfEquals(key, raw).catch(() => false)
      throw new NotFoundError(`No execution ${id} was issued by this service`)
    }
    return record
  }
}

function parseRecord(raw: Buffer): ExecutionRecord | null {
  try {
    const parsed = recordSchema.safeParse(JSON.parse(raw.toString('utf8')))
    return parsed.success ? parsed.data : null
  } catch {
    return null
  }
}

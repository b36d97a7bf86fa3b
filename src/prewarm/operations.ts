import type { Logger } from 'pino'
import { z } from 'zod'
import type { ScheduleDef } from '../config/schedules.ts'
import type { Tenants } from '../config/tenants.ts'
import { ConflictError, errorMessage, NotFoundError, ValidationError } from '../errors.ts'
import {
  type InvalidateRequest,
  type InvalidationResult,
  type Invalidator,
  parseInvalidateRequest,
} from '../service/invalidation.ts'
import type { TenantBudgets } from '../service/tenant-budgets.ts'
import type { PopularRead, UsageCounters, UsageRecorder } from '../service/usage.ts'
import { type EntriesReport, entriesReport, type SchedulesReport, schedulesReport } from './admin-views.ts'
import type { InvalidationLog, InvalidationRecord } from './invalidation-log.ts'
import { type LandedInvalidation, Landing, type LandingOptions, type LandingResult } from './landing.ts'
import type { LandingEvent } from './landing-events.ts'
import type { Prewarmer, PrewarmItem, PrewarmReport, PrewarmTrigger } from './prewarm-job.ts'

/** The Scheduler's event: `{"action":"prewarm","schedule":"<name>","scheduledTime":"<aws.scheduler.scheduled-time>"}`. */
const prewarmEventSchema = z.strictObject({
  action: z.literal('prewarm'),
  schedule: z.string().min(1).max(64).optional(),
  scheduledTime: z.string().max(64).optional(),
})

/** An invalidation followed, when asked, by a prewarm run over what it invalidated. */
export interface InvalidationReport extends InvalidationResult {
  rewarm: PrewarmReport | null
}

export interface StatsReport extends UsageCounters {
  reads: number
  /** Reads answered from cache (fresh or stale) over all reads. */
  hitRatio: number | null
  topQueries: PopularRead[]
  lastPrewarm: PrewarmReport | null
  /** This process's own counters since it started. */
  process: UsageCounters & { since: string }
  /**
   * Per tenant (tenants.yaml): its reads by outcome (every process, as flushed), the bytes Athena scanned for it
   * today (UTC) and its daily budget, if any.
   */
  tenants?: Record<
    string,
    {
      reads: { hits: number; stale: number; misses: number; bypass: number }
      scannedBytesToday: number
      scannedBytesPerDay: number | null
    }
  >
}

export interface PrewarmRequest {
  trigger: PrewarmTrigger
  /** A schedule of schedules.yaml: its coverage and next run shape the run. */
  schedule?: string
  scheduledTime?: string
  remainingMs?: () => number
  onProgress?: (done: number, total: number, item: PrewarmItem) => void
}

/** Whether a Lambda event is one of ours (as opposed to an API Gateway request). */
export function isOperationEvent(event: unknown): event is { action: string } {
  return (
    typeof event === 'object' && event !== null && typeof (event as { action?: unknown }).action === 'string'
  )
}

/** Rewarm waits this long for a running prewarm to finish before reporting `locked`. */
const REWARM_LOCK_WAIT_MS = 30_000

/**
 * What the data pipeline, the scheduler and operators trigger: invalidate (and rewarm), prewarm, statistics. The
 * HTTP admin routes, the Lambda events and the CLI all come here, so they behave the same.
 */
export class Operations {
  private readonly landing: Landing | undefined

  constructor(
    private readonly o: {
      invalidator: Invalidator
      prewarmer: Prewarmer
      usage: UsageRecorder
      schedules: readonly ScheduleDef[]
      logger: Logger
      /** The deployment's tenants and their spend, for the stats. */
      tenants?: { defs: Tenants; budgets: TenantBudgets } | undefined
      /** The shared log of recent invalidations (absent: not kept). */
      invalidationLog?: InvalidationLog | undefined
      /** Landed data (landing.yaml) and the stores its debounce uses; absent: landing events are refused. */
      landing?: Omit<LandingOptions, 'flush'> | undefined
    },
  ) {
    this.landing = o.landing
      ? new Landing({
          ...o.landing,
          flush: (request, remainingMs) => this.invalidateLanded(request, remainingMs),
        })
      : undefined
  }

  get schedules(): readonly ScheduleDef[] {
    return this.o.schedules
  }

  async invalidate(request: InvalidateRequest, remainingMs?: () => number): Promise<InvalidationReport> {
    const result = await this.o.invalidator.invalidate(request)
    return this.afterInvalidation(
      result,
      request.rewarm
        ? { queries: result.queries, ...(result.entry ? { keys: [result.entry.key] } : {}) }
        : null,
      remainingMs,
    )
  }

  /** Landed data: the entries of `queries` overlapping the spans expire, then the prewarm set's are refreshed. */
  async invalidateLanded(
    request: LandedInvalidation,
    remainingMs?: () => number,
  ): Promise<InvalidationReport> {
    const result = await this.o.invalidator.invalidateSpans({
      table: request.table,
      queries: request.queries,
      spans: request.spans,
      mode: 'expire',
    })
    return this.afterInvalidation(result, request.rewarm ? { queries: result.queries } : null, remainingMs)
  }

  /** Logs an invalidation, rewarms what it reached when asked, and records both in the shared log. */
  private async afterInvalidation(
    result: InvalidationResult,
    rewarmOnly: { queries: readonly string[]; keys?: readonly string[] } | null,
    remainingMs: (() => number) | undefined,
  ): Promise<InvalidationReport> {
    this.o.logger.info(
      {
        scope: result.scope,
        mode: result.mode,
        queries: result.queries,
        tenant: result.tenant,
        key: result.entry?.key,
        table: result.table,
        range: result.range,
      },
      'cache invalidated',
    )
    let rewarm: PrewarmReport | null = null
    try {
      if (rewarmOnly)
        rewarm = await this.o.prewarmer.run({
          trigger: 'rewarm',
          only: rewarmOnly,
          lockWaitMs: REWARM_LOCK_WAIT_MS,
          ...(remainingMs ? { remainingMs } : {}),
        })
    } finally {
      // Logged whatever became of the rewarm: the invalidation itself has happened. Never throws.
      await this.o.invalidationLog?.record(result, rewarm)
    }
    return { ...result, rewarm }
  }

  /** An EventBridge event saying data landed (S3 Object Created, Glue partition change): see landing.ts. */
  handleLanding(event: LandingEvent, remainingMs?: () => number): Promise<LandingResult> {
    if (!this.landing) throw new NotFoundError('Landing events are not configured in this process')
    return this.landing.handle(event, remainingMs)
  }

  /**
   * The end of the newest partition that landed in `table` (from landing events of every process; it only moves
   * forward), or null when none has landed since the store was empty.
   */
  landedUntil(table: string): Promise<Date | null> {
    return this.landing ? this.landing.landedUntil(table) : Promise.resolve(null)
  }

  /** Flushes the landing windows this process holds (without waiting them out). */
  async close(): Promise<void> {
    await this.landing?.close()
  }

  /** The most recent invalidations of every process, newest first (at most the log's size). */
  async invalidations(limit: number): Promise<{ invalidations: InvalidationRecord[] }> {
    return { invalidations: (await this.o.invalidationLog?.recent(limit)) ?? [] }
  }

  /** The prewarm set as a run would compute it now, with each entry's freshness (nothing computed). */
  entries(): Promise<EntriesReport> {
    return entriesReport(this.o.prewarmer)
  }

  /** The schedules with their next fire times, and the last prewarm report. */
  scheduleReport(): Promise<SchedulesReport> {
    return schedulesReport(this.o.schedules, this.o.prewarmer)
  }

  /** One prewarm run; a run already in progress elsewhere makes this a ConflictError. */
  async prewarm(request: PrewarmRequest): Promise<PrewarmReport> {
    const schedule = request.schedule ? this.o.schedules.find((s) => s.name === request.schedule) : undefined
    if (request.schedule && !schedule) {
      if (request.trigger !== 'schedule')
        throw new NotFoundError(
          `No schedule named '${request.schedule}' in schedules.yaml (known: ${this.o.schedules.map((s) => s.name).join(', ') || 'none'})`,
        )
      // A schedule created outside schedules.yaml (e.g. by Terraform) still prewarms: the whole catalog.
      this.o.logger.warn(
        { schedule: request.schedule },
        'schedule not in schedules.yaml: prewarming everything',
      )
    }
    const scheduledTime = request.scheduledTime ? parseScheduledTime(request.scheduledTime) : undefined
    // Spans of landed data whose window's owner died before flushing, should no later event have flushed them: this
    // run then refreshes what they invalidate.
    if (request.trigger === 'schedule' || request.trigger === 'in-process')
      await this.landing?.sweep().catch((err: unknown) => {
        this.o.logger.warn({ err: errorMessage(err) }, 'pending landed data not swept')
      })
    const report = await this.o.prewarmer.run({
      trigger: request.trigger,
      ...(schedule ? { schedule } : {}),
      ...(scheduledTime ? { scheduledTime } : {}),
      ...(request.remainingMs ? { remainingMs: request.remainingMs } : {}),
      ...(request.onProgress ? { onProgress: request.onProgress } : {}),
    })
    if (report.status === 'locked' && request.trigger !== 'schedule')
      throw new ConflictError('Another prewarm run is in progress; try again when it has finished')
    return report
  }

  async stats(): Promise<StatsReport> {
    const { usage, prewarmer } = this.o
    await usage.flush()
    const [{ shared, process, tenants: tenantReads }, topQueries, lastPrewarm] = await Promise.all([
      usage.snapshot(),
      usage.top(10, prewarmer.settings.windowMs),
      prewarmer.lastReport(),
    ])
    const reads = shared.hits + shared.stale + shared.misses + shared.bypass
    const tenants = this.o.tenants
    const spent =
      tenants && tenants.defs.byId.size > 0 ? await tenants.budgets.spentToday().catch(() => ({})) : undefined
    return {
      ...shared,
      reads,
      hitRatio: reads > 0 ? (shared.hits + shared.stale) / reads : null,
      topQueries,
      lastPrewarm,
      process,
      ...(tenants && spent
        ? {
            tenants: Object.fromEntries(
              [...tenants.defs.byId.values()].map((t) => [
                t.id,
                {
                  reads: {
                    hits: tenantReads[t.id]?.hits ?? 0,
                    stale: tenantReads[t.id]?.stale ?? 0,
                    misses: tenantReads[t.id]?.misses ?? 0,
                    bypass: tenantReads[t.id]?.bypass ?? 0,
                  },
                  scannedBytesToday: (spent as Record<string, number>)[t.id] ?? 0,
                  scannedBytesPerDay: t.scannedBytesPerDay ?? null,
                },
              ]),
            ),
          }
        : {}),
    }
  }

  /** A Lambda (or local Scheduler) event: `{action: 'prewarm' …}` or `{action: 'invalidate', …body}`. */
  async handleEvent(event: { action: string }, remainingMs?: () => number): Promise<unknown> {
    if (event.action === 'invalidate') {
      const { action: _action, ...body } = event
      return this.invalidate(parseInvalidateRequest(body), remainingMs)
    }
    if (event.action === 'prewarm') {
      const parsed = prewarmEventSchema.safeParse(event)
      if (!parsed.success)
        throw new ValidationError(
          'Invalid prewarm event',
          parsed.error.issues.map((i) => ({ name: i.path.join('.') || 'event', message: i.message })),
        )
      return this.prewarm({
        trigger: 'schedule',
        ...(parsed.data.schedule ? { schedule: parsed.data.schedule } : {}),
        ...(parsed.data.scheduledTime ? { scheduledTime: parsed.data.scheduledTime } : {}),
        ...(remainingMs ? { remainingMs } : {}),
      })
    }
    throw new ValidationError(`Unknown action '${event.action}' (expected prewarm or invalidate)`, [
      { name: 'action', message: 'must be prewarm or invalidate' },
    ])
  }
}

/** `<aws.scheduler.scheduled-time>` as the Scheduler substitutes it; the unsubstituted placeholder means "now". */
function parseScheduledTime(value: string): Date | undefined {
  if (value.startsWith('<aws.scheduler.')) return undefined
  const ms = Date.parse(value)
  if (Number.isNaN(ms))
    throw new ValidationError(`scheduledTime '${value}' is not an ISO 8601 time`, [
      { name: 'scheduledTime', message: 'must be an ISO 8601 time' },
    ])
  return new Date(ms)
}

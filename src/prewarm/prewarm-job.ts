import pLimit from 'p-limit'
import type { Logger } from 'pino'
import type { CacheKeys } from '../cache/cache-key.ts'
import { freshnessAt } from '../cache/cache-policy.ts'
import type { CacheStore } from '../cache/cache-store.ts'
import { type PrewarmSettings, resolveSet } from '../config/prewarm.ts'
import { nextFireTime, parseScheduleExpression } from '../config/schedule-expression.ts'
import type { ScheduleDef } from '../config/schedules.ts'
import type { Lookup } from '../service/entry-lookup.ts'
import type { CanonicalParams } from '../service/parameters.ts'
import type { QueryService, ResolvedQuery } from '../service/query-service.ts'
import type { UsageRecorder } from '../service/usage.ts'
import { PrewarmState } from './prewarm-state.ts'

/** Why a candidate was refreshed. */
export type RefreshReason = 'missing' | 'stale' | 'expiring'

export interface PrewarmItem {
  query: string
  /** The cache key (absent when the parameters were invalid). */
  key?: string
  parameters: CanonicalParams | Readonly<Record<string, string | number>>
  source: 'configured' | 'popular'
  /** Reads in the popularity window (popular candidates). */
  reads?: number
  action: 'refreshed' | 'fresh' | 'failed' | 'skipped'
  reason?: RefreshReason | 'budget' | 'deadline' | 'invalid-parameters' | 'cached-error'
  /** When the entry stops being fresh (ISO), after the run. */
  freshUntil?: string
  queryExecutionId?: string
  dataScannedBytes?: number
  durationMs?: number
  error?: string
}

export interface PrewarmReport {
  status: 'completed' | 'locked'
  trigger: PrewarmTrigger
  schedule?: string
  scheduledTime?: string
  startedAt: string
  /** Entries expiring before this were refreshed (ISO). */
  refreshBefore: string
  considered: number
  refreshed: number
  skippedFresh: number
  skippedBudget: number
  failed: number
  dataScannedBytes: number
  durationMs: number
  items: PrewarmItem[]
}

export type PrewarmTrigger = 'schedule' | 'admin' | 'cli' | 'rewarm' | 'in-process'

export interface PrewarmRunOptions {
  trigger: PrewarmTrigger
  /** The schedule that fired (its coverage and next run shape the run). */
  schedule?: ScheduleDef
  /** When the schedule was due (`<aws.scheduler.scheduled-time>`); relative dates resolve against it. */
  scheduledTime?: Date
  /** Restricts the candidates (rewarm after an invalidation). */
  only?: { queries?: readonly string[]; keys?: readonly string[] }
  /** Time left before the caller must answer (Lambda's `getRemainingTimeInMillis`). */
  remainingMs?: () => number
  /** Wait this long for another run's lock before reporting `locked` (default 0). */
  lockWaitMs?: number
  onProgress?: (done: number, total: number, item: PrewarmItem) => void
}

export interface PrewarmerOptions {
  service: QueryService
  store: CacheStore
  keys: CacheKeys
  usage: UsageRecorder | undefined
  settings: PrewarmSettings
  logger: Logger
}

/** A read the prewarm set holds: where it comes from, and its reads in the popularity window (popular ones). */
export interface Candidate {
  resolved: ResolvedQuery
  source: 'configured' | 'popular'
  reads?: number
}

/** Time kept in reserve on Lambda for writing the report and answering. */
const LAMBDA_RESERVE_MS = 5_000

/**
 * Refreshes the results dashboards are about to need: the configured prewarm set and the most-read parameter
 * combinations, where they are missing or would expire before the next run. One run at a time across every process
 * (a lock in the store); every refresh takes the same lease as a read, so a prewarm never duplicates a reader's query.
 */
export class Prewarmer {
  private readonly state: PrewarmState

  constructor(private readonly o: PrewarmerOptions) {
    this.state = new PrewarmState({ store: o.store, keys: o.keys, logger: o.logger })
  }

  get settings(): PrewarmSettings {
    return this.o.settings
  }

  /** Runs once; answers `locked` (and does nothing) while another run holds the lock. */
  async run(options: PrewarmRunOptions): Promise<PrewarmReport> {
    const now = this.o.service.clock
    const wallStart = Date.now()
    const startedAt = now()
    const at = options.scheduledTime ?? new Date(startedAt)
    const nextRun = options.schedule
      ? (nextRunAfter(options.schedule, at) ?? startedAt + this.o.settings.horizonMs)
      : startedAt + this.o.settings.horizonMs
    const base: PrewarmReport = {
      status: 'completed',
      trigger: options.trigger,
      ...(options.schedule ? { schedule: options.schedule.name } : {}),
      ...(options.scheduledTime ? { scheduledTime: options.scheduledTime.toISOString() } : {}),
      startedAt: new Date(startedAt).toISOString(),
      refreshBefore: new Date(nextRun + this.o.settings.marginMs).toISOString(),
      considered: 0,
      refreshed: 0,
      skippedFresh: 0,
      skippedBudget: 0,
      failed: 0,
      dataScannedBytes: 0,
      durationMs: 0,
      items: [],
    }
    const lock = await this.state.lock(
      this.o.settings.budgets.maxDurationMs + 60_000,
      options.lockWaitMs ?? 0,
    )
    if (!lock) {
      const locked: PrewarmReport = { ...base, status: 'locked', durationMs: Date.now() - wallStart }
      this.o.usage?.prewarmRun({
        status: 'locked',
        refreshed: 0,
        failed: 0,
        skipped: 0,
        durationMs: locked.durationMs,
      })
      return locked
    }
    try {
      const report = await this.refreshAll(
        base,
        await this.candidates(options, at),
        nextRun,
        options,
        wallStart,
      )
      await this.state.saveReport(report)
      this.o.usage?.prewarmRun({
        status: report.status,
        refreshed: report.refreshed,
        failed: report.failed,
        skipped: report.skippedFresh + report.skippedBudget,
        durationMs: report.durationMs,
      })
      this.o.logger.info(
        {
          trigger: report.trigger,
          schedule: report.schedule,
          considered: report.considered,
          refreshed: report.refreshed,
          skippedFresh: report.skippedFresh,
          skippedBudget: report.skippedBudget,
          failed: report.failed,
          dataScannedBytes: report.dataScannedBytes,
          durationMs: report.durationMs,
        },
        'prewarm run finished',
      )
      return report
    } finally {
      await this.state.unlock(lock)
    }
  }

  /** The report of the last completed run (any process), or null. */
  lastReport(): Promise<PrewarmReport | null> {
    return this.state.lastReport()
  }

  /** The cache's clock (the service's), which runs resolve relative dates against. */
  get clock(): () => number {
    return this.o.service.clock
  }

  /**
   * The prewarm set as a run without a schedule would consider it at `at` (configured sets whose parameters resolve,
   * then popular reads, each key once), each with its entry as the cache holds it now: nothing is refreshed or
   * computed, and nothing counts as a read.
   */
  async plan(at: Date): Promise<Array<Candidate & { lookup: Lookup }>> {
    const candidates = await this.candidates({ trigger: 'admin' }, at)
    return Promise.all(
      candidates.flatMap((c) =>
        'resolved' in c ? [this.o.service.inspect(c.resolved).then((lookup) => ({ ...c, lookup }))] : [],
      ),
    )
  }

  /** Configured sets first (file order), then popular combinations (most read first), each key once. */
  private async candidates(options: PrewarmRunOptions, at: Date): Promise<Array<Candidate | PrewarmItem>> {
    const { service } = this.o
    const covered = (query: string) => {
      const def = service.catalog.queries.get(query)
      if (!def) return false
      if (options.only?.queries && !options.only.queries.includes(query)) return false
      const s = options.schedule
      if (!s || (s.queries.length === 0 && s.tags.length === 0)) return true
      return s.queries.includes(query) || def.tags.some((t) => s.tags.includes(t))
    }
    const seen = new Set<string>()
    const out: Array<Candidate | PrewarmItem> = []
    const add = (c: Candidate) => {
      if (seen.has(c.resolved.key)) return
      if (options.only?.keys && !options.only.keys.includes(c.resolved.key)) return
      seen.add(c.resolved.key)
      out.push(c)
    }
    for (const set of this.o.settings.sets) {
      if (!covered(set.query)) continue
      const parameters = resolveSet(set, at)
      // A query bound to tenants' values is warmed for each tenant that may read it, with that tenant's values.
      for (const tenant of service.readersOf(set.query)) {
        try {
          add({ resolved: service.replay(set.query, parameters, tenant), source: 'configured' })
        } catch (err) {
          out.push({
            query: set.query,
            parameters,
            source: 'configured',
            action: 'failed',
            reason: 'invalid-parameters',
            error: (err as Error).message,
          })
        }
      }
    }
    if (this.o.usage && this.o.settings.topN > 0) {
      await this.o.usage.flush()
      const { topN } = this.o.settings
      // Each tenant (and the untenanted reads) gets its own top N: one busy tenant must not crowd the others out.
      const groups = 1 + service.tenantCount
      const popular = await this.o.usage
        .top(topN * groups, this.o.settings.windowMs)
        .catch((err: unknown) => {
          this.o.logger.warn({ err: (err as Error).message }, 'popularity unavailable; configured sets only')
          return []
        })
      const taken = new Map<string, number>()
      for (const p of popular) {
        if (!covered(p.query)) continue
        const group = p.tenant ?? ''
        const n = taken.get(group) ?? 0
        if (n >= topN) continue
        taken.set(group, n + 1)
        try {
          // As the tenant that read it: its values come from the tenant again, never from the recorded member.
          add({
            resolved: service.replay(p.query, p.parameters, p.tenant),
            source: 'popular',
            reads: p.reads,
          })
        } catch {
          // Recorded under an older catalog and no longer valid: not a dashboard anyone can load any more.
        }
      }
    }
    return out
  }

  private async refreshAll(
    report: PrewarmReport,
    candidates: Array<Candidate | PrewarmItem>,
    nextRun: number,
    options: PrewarmRunOptions,
    wallStart: number,
  ): Promise<PrewarmReport> {
    const { service } = this.o
    const { budgets } = this.o.settings
    const now = service.clock
    const limit = pLimit(this.o.settings.concurrency)
    let started = 0
    let scanned = 0
    let done = 0
    const timeLeft = () => {
      const byBudget = budgets.maxDurationMs - (Date.now() - wallStart)
      const byCaller = options.remainingMs
        ? options.remainingMs() - LAMBDA_RESERVE_MS
        : Number.POSITIVE_INFINITY
      return Math.min(byBudget, byCaller)
    }
    const finish = (item: PrewarmItem) => {
      options.onProgress?.(++done, candidates.length, item)
      return item
    }
    const one = async (c: Candidate | PrewarmItem): Promise<PrewarmItem> => {
      if (!('resolved' in c)) return finish(c)
      const { resolved } = c
      const item: PrewarmItem = {
        query: resolved.def.name,
        key: resolved.key,
        parameters: resolved.params,
        source: c.source,
        ...(c.reads !== undefined ? { reads: c.reads } : {}),
        action: 'fresh',
      }
      try {
        const expectedMs = (await service.expectedMs(resolved)) ?? 0
        const refreshBefore = nextRun + this.o.settings.marginMs + expectedMs
        const { entry, known } = await service.inspect(resolved)
        if (entry?.kind === 'error' && freshnessAt(entry, now()) === 'fresh') {
          // A user error (bad SQL or parameters) would fail again and still cost a query: it is retried when the
          // cached error expires.
          return finish({
            ...item,
            action: 'failed',
            reason: 'cached-error',
            error: 'the query failed recently',
          })
        }
        const reason = refreshReason(entry, now(), refreshBefore)
        if (!reason) {
          if (entry) item.freshUntil = new Date(entry.freshUntil).toISOString()
          return finish(item)
        }
        item.reason = reason
        const estimate = entry?.dataScannedBytes ?? 0
        if (started >= budgets.maxQueries || scanned + estimate > budgets.maxDataScannedBytes) {
          return finish({ ...item, action: 'skipped', reason: 'budget' })
        }
        if (timeLeft() < Math.max(expectedMs, 1_000))
          return finish({ ...item, action: 'skipped', reason: 'deadline' })
        started++
        const t0 = Date.now()
        const computed = await service.computeShared(resolved, known, entry ?? undefined)
        scanned += computed.dataScannedBytes
        return finish({
          ...item,
          action: 'refreshed',
          freshUntil: new Date(computed.freshUntil).toISOString(),
          queryExecutionId: computed.queryExecutionId,
          dataScannedBytes: computed.dataScannedBytes,
          durationMs: Date.now() - t0,
        })
      } catch (err) {
        return finish({ ...item, action: 'failed', error: (err as Error).message })
      }
    }
    const items = await Promise.all(candidates.map((c) => limit(() => one(c))))
    return {
      ...report,
      considered: items.length,
      refreshed: items.filter((i) => i.action === 'refreshed').length,
      skippedFresh: items.filter((i) => i.action === 'fresh').length,
      skippedBudget: items.filter((i) => i.action === 'skipped').length,
      failed: items.filter((i) => i.action === 'failed').length,
      dataScannedBytes: items.reduce(
        (n, i) => n + (i.action === 'refreshed' ? (i.dataScannedBytes ?? 0) : 0),
        0,
      ),
      durationMs: Date.now() - wallStart,
      // In candidate order, not completion order: reports of equal runs compare equal.
      items,
    }
  }
}

/**
 * When a schedule runs next after a run due at `at`: a rate fires every interval counted from its own start (so from
 * this run), a cron or at() expression at its next matching time.
 */
export function nextRunAfter(schedule: ScheduleDef, at: Date): number | undefined {
  const expression = parseScheduleExpression(schedule.expression)
  if (expression.kind === 'rate') return at.getTime() + expression.intervalMs
  return nextFireTime(expression, schedule.timezone, at)?.getTime()
}

/** Why an entry needs a refresh before `refreshBefore`, or undefined when it stays fresh until then. */
export function refreshReason(
  entry: { freshUntil: number; staleUntil: number } | null,
  now: number,
  refreshBefore: number,
): RefreshReason | undefined {
  if (!entry) return 'missing'
  if (freshnessAt(entry, now) !== 'fresh') return 'stale'
  return entry.freshUntil < refreshBefore ? 'expiring' : undefined
}

import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import type { CacheKeys } from '../cache/cache-key.ts'
import type { CacheStore } from '../cache/cache-store.ts'
import type { CounterStore } from '../cache/counter-store.ts'
import type { TimeSpan } from '../cache/generations.ts'
import type { Catalog } from '../config/catalog.ts'
import { type LandingSettings, queriesReadingTable } from '../config/landing.ts'
import { errorMessage, NotFoundError } from '../errors.ts'
import { spanText } from '../service/invalidation.ts'
import {
  type LandingEvent,
  mergeSpans,
  parseSpanMember,
  readLandingEvent,
  spanMember,
} from './landing-events.ts'
import type { InvalidationReport } from './operations.ts'

/** One invalidation of a table's landed spans, for the queries reading it (Operations.invalidateLanded). */
export interface LandedInvalidation {
  table: string
  queries: string[]
  spans: TimeSpan[]
  rewarm: boolean
}

type SpanText = { start: string; end: string }

/**
 * What a landing event did:
 * - `ignored`: it changes nothing here (the reason says why);
 * - `pending`: its spans joined a burst whose window another event opened, and that one will invalidate them;
 * - `scheduled` (Node): it opened the window; the burst is invalidated in the background at `flushAt`;
 * - `flushed` (Lambda): it opened the window, waited, and invalidated the whole burst: `flushed` holds the merged
 *   spans, `invalidation` the report (null when another owner had taken them all).
 */
export type LandingResult =
  | { status: 'ignored'; reason: string }
  | { status: 'pending'; table: string; spans: SpanText[] }
  | { status: 'scheduled'; table: string; spans: SpanText[]; flushAt: string }
  | {
      status: 'flushed'
      table: string
      spans: SpanText[]
      flushed: SpanText[]
      invalidation: InvalidationReport | null
    }

export interface LandingOptions {
  settings: LandingSettings | undefined
  catalog: Catalog
  /** ATHENA_DATABASE: the database of Glue events for tables that name none. */
  database: string
  /** The window keys (set-if-absent with a TTL, compare-and-delete). */
  store: CacheStore
  /** The pending spans and the landed marks. */
  counters: CounterStore
  keys: CacheKeys
  logger: Logger
  /**
   * `inline` (Lambda, where nothing runs between invocations): the event that opens a window waits in its own
   * invocation and invalidates the burst before answering. `background` (Node): it answers at once and a timer does.
   */
  wait: 'inline' | 'background'
  /**
   * Inline, for a call that brings no invocation's remaining time (POST /admin/events on Lambda): how long it may
   * take (SYNC_DEADLINE_MS, inside API Gateway's timeout). The window's wait and the rewarm fit in it.
   */
  requestBudgetMs: number
  /** Invalidates and rewarms (Operations.invalidateLanded). */
  flush: (request: LandedInvalidation, remainingMs?: () => number) => Promise<InvalidationReport>
}

/** Pending spans are kept this long after the last one was added, so that a dead owner's burst is flushed later. */
const PENDING_TTL_MS = 86_400_000
/** A window outlives its owner's wait by this much: another event then opens a new one (the owner died). */
const WINDOW_GRACE_MS = 5_000
/** Lambda: what an invocation keeps of its time for invalidating and rewarming after the wait. */
const FLUSH_RESERVE_MS = 20_000
/** Pending spans of one table past which they are merged into fewer (a backfill of many separate days). */
const MAX_PENDING_SPANS = 1_000
/** Spans one flush writes as range records at most; beyond, the smallest gaps are closed. */
const MAX_FLUSH_SPANS = 16
/** How long closing waits for background flushes to finish. */
const CLOSE_DEADLINE_MS = 10_000

/** `spans` reduced to at most `max` by closing the smallest gaps between neighbours (spans sorted and disjoint). */
export function coarsen(spans: readonly TimeSpan[], max: number): TimeSpan[] {
  const out = spans.map((s) => ({ ...s }))
  while (out.length > Math.max(1, max)) {
    let best = 0
    for (let i = 1; i < out.length - 1; i++) {
      const gap = (out[i + 1]?.startMs ?? 0) - (out[i]?.endMs ?? 0)
      const bestGap = (out[best + 1]?.startMs ?? 0) - (out[best]?.endMs ?? 0)
      if (gap < bestGap) best = i
    }
    const [a, b] = [out[best], out[best + 1]]
    if (!a || !b) break
    out.splice(best, 2, { startMs: a.startMs, endMs: Math.max(a.endMs, b.endMs) })
  }
  return out
}

/**
 * The end (epoch ms) of the newest partition that landed in `table`, as any process recorded it; undefined when none
 * has, or when the stored mark is not a number.
 */
export async function readLandedUntil(
  counters: Pick<CounterStore, 'getCounters'>,
  keys: CacheKeys,
  table: string,
): Promise<number | undefined> {
  const { until } = await counters.getCounters(keys.landed(table))
  return until !== undefined && Number.isFinite(until) ? until : undefined
}

/**
 * Freshness driven by landed data. Each landing event (an S3 object created under a table's prefix, a Glue
 * partition change) adds the spans it changed to the table's pending set in the shared store; the first of a burst
 * also opens the table's window (set-if-absent with a TTL) and, after `debounceSeconds`, closes it and takes every
 * pending span atomically: one invalidation of their union for the queries reading the table, then one rewarm. The
 * window is released before the spans are taken, so an event arriving meanwhile either added its spans in time or
 * opens the next window itself: none is left behind. If the owner dies, its window expires and the next event's
 * owner takes everything pending.
 */
export class Landing {
  /** Background flushes of this process (at most one per table at a time). */
  private readonly timers = new Map<string, { abort: AbortController; done: Promise<void> }>()

  constructor(private readonly o: LandingOptions) {}

  /** Handles one landing event; throws NotFoundError when there is no landing.yaml. */
  async handle(event: LandingEvent, invocationMs?: () => number): Promise<LandingResult> {
    const { settings, logger, keys, counters } = this.o
    const answerBy = Date.now() + this.o.requestBudgetMs
    const remainingMs = invocationMs ?? (() => answerBy - Date.now())
    if (!settings)
      throw new NotFoundError(
        'Landing events are not configured: CONFIG_DIR has no landing.yaml naming where tables land',
      )
    const read = readLandingEvent(event, settings, this.o.database)
    if (read.kind === 'ignored') {
      logger.info({ source: event.source, reason: read.reason }, 'landing event ignored')
      return { status: 'ignored', reason: read.reason }
    }
    const { table, landed, what } = read.change
    const spans = mergeSpans(read.change.spans)
    if (queriesReadingTable(this.o.catalog, table).length === 0) {
      const reason = `no catalog query reads table ${table}`
      logger.info({ table, reason }, 'landing event ignored')
      return { status: 'ignored', reason }
    }
    if (landed)
      await counters.raiseCounters(keys.landed(table), {
        until: Math.max(...spans.map((s) => s.endMs)),
      })
    const pending = keys.landingPending(table)
    const size = await counters.addToSet(pending, spans.map(spanMember), PENDING_TTL_MS)
    if (size > MAX_PENDING_SPANS) await this.compact(pending)
    const waitMs = this.waitMs(remainingMs)
    const token = randomUUID()
    const opened = await this.o.store.setIfAbsent(
      keys.landingWindow(table),
      Buffer.from(token),
      waitMs + WINDOW_GRACE_MS,
    )
    const texts = spans.map(spanText)
    logger.info({ table, what, spans: texts, opened }, 'data landed')
    if (!opened) return { status: 'pending', table, spans: texts }
    if (this.o.wait === 'background') {
      this.schedule(table, token, waitMs)
      return {
        status: 'scheduled',
        table,
        spans: texts,
        flushAt: new Date(Date.now() + waitMs).toISOString(),
      }
    }
    if (waitMs > 0) await sleep(waitMs)
    const flushed = await this.flush(table, token, settings.rewarm, remainingMs)
    return { status: 'flushed', table, spans: texts, ...flushed }
  }

  /**
   * Flushes what a dead owner left when no event came after it: every table of landing.yaml whose window is closed
   * but whose spans are pending, each under a window of its own (so a live owner is never overtaken), without the
   * rewarm. Scheduled prewarms run it first, and then refresh what it invalidated. Resolves to the tables flushed.
   */
  async sweep(): Promise<string[]> {
    const { settings, store, keys } = this.o
    const flushed: string[] = []
    for (const table of settings?.tables.keys() ?? []) {
      const token = randomUUID()
      if (!(await store.setIfAbsent(keys.landingWindow(table), Buffer.from(token), WINDOW_GRACE_MS))) continue
      const { invalidation } = await this.flush(table, token, false)
      if (invalidation) flushed.push(table)
    }
    if (flushed.length > 0) this.o.logger.warn({ tables: flushed }, 'landed data left pending invalidated')
    return flushed
  }

  /** The end of the newest partition that landed in `table` (any process), or null when none has. */
  async landedUntil(table: string): Promise<Date | null> {
    const until = await readLandedUntil(this.o.counters, this.o.keys, table)
    return until === undefined ? null : new Date(until)
  }

  /**
   * Stops waiting: every background window of this process is flushed now, without the rewarm (which could run for
   * minutes), within CLOSE_DEADLINE_MS.
   */
  async close(): Promise<void> {
    const running = [...this.timers.values()]
    for (const t of running) t.abort.abort()
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_DEADLINE_MS)
    })
    await Promise.race([Promise.all(running.map((t) => t.done)), deadline])
    clearTimeout(timer)
  }

  /** The window's wait: debounceSeconds, and on Lambda no longer than the invocation can afford. */
  private waitMs(remainingMs: () => number): number {
    const debounceMs = this.o.settings?.debounceMs ?? 0
    if (this.o.wait === 'background') return debounceMs
    return Math.max(0, Math.min(debounceMs, remainingMs() - FLUSH_RESERVE_MS))
  }

  /** Node: the flush of a window this process opened, on a timer that `close` can cut short. */
  private schedule(table: string, token: string, waitMs: number): void {
    const abort = new AbortController()
    const done = (async () => {
      let early = false
      try {
        await sleep(waitMs, undefined, { signal: abort.signal })
      } catch {
        early = true
      }
      try {
        await this.flush(table, token, !early && (this.o.settings?.rewarm ?? false))
      } catch (err) {
        this.o.logger.error({ table, err: errorMessage(err) }, 'landed data not invalidated')
      } finally {
        this.timers.delete(token)
      }
    })()
    this.timers.set(token, { abort, done })
  }

  /**
   * Closes the window, then takes the pending spans and invalidates their union. Spans taken but not invalidated
   * (the store or the invalidation failed) are put back for the next owner.
   */
  private async flush(
    table: string,
    token: string,
    rewarm: boolean,
    remainingMs?: () => number,
  ): Promise<{ flushed: SpanText[]; invalidation: InvalidationReport | null }> {
    const { store, counters, keys, logger } = this.o
    await store.deleteIfEquals(keys.landingWindow(table), Buffer.from(token))
    const pending = keys.landingPending(table)
    const members = await counters.takeSet(pending)
    const spans = coarsen(mergeSpans(members.flatMap((m) => parseSpanMember(m) ?? [])), MAX_FLUSH_SPANS)
    if (spans.length === 0) return { flushed: [], invalidation: null }
    const queries = queriesReadingTable(this.o.catalog, table)
    try {
      const invalidation = await this.o.flush({ table, queries, spans, rewarm }, remainingMs)
      logger.info(
        { table, spans: spans.map(spanText), queries, refreshed: invalidation.rewarm?.refreshed ?? null },
        'landed data invalidated',
      )
      return { flushed: spans.map(spanText), invalidation }
    } catch (err) {
      await counters.addToSet(pending, spans.map(spanMember), PENDING_TTL_MS).catch(() => {})
      throw err
    }
  }

  /** Merges a table's pending spans into fewer (same coverage or wider), for a burst of many separate days. */
  private async compact(pending: string): Promise<void> {
    const { counters } = this.o
    const members = await counters.takeSet(pending)
    const spans = coarsen(mergeSpans(members.flatMap((m) => parseSpanMember(m) ?? [])), MAX_PENDING_SPANS / 2)
    await counters.addToSet(pending, spans.map(spanMember), PENDING_TTL_MS)
  }
}

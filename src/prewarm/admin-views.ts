import { freshnessAt } from '../cache/cache-policy.ts'
import { CacheUnavailableError } from '../cache/guarded-cache-store.ts'
import { nextFireTime } from '../config/schedule-expression.ts'
import type { ScheduleDef } from '../config/schedules.ts'
import type { CanonicalParams } from '../service/parameters.ts'
import type { Prewarmer, PrewarmReport } from './prewarm-job.ts'

/** One entry of the prewarm set and its freshness (GET /admin/entries). */
export interface EntryView {
  query: string
  /** The tenant the entry belongs to, or null for an untenanted entry. */
  tenant: string | null
  parameters: CanonicalParams
  key: string
  source: 'configured' | 'popular'
  /** `stale` is any result that is held but no longer fresh; a cached error is no result (`absent`). */
  state: 'fresh' | 'stale' | 'absent'
  computedAt: string | null
  /** When the result stops being fresh (ISO), as the result's `meta.expiresAt`. */
  expiresAt: string | null
  ageSeconds: number | null
  /** The query's TTL (queries.yaml). */
  ttlSeconds: number
}

export interface EntriesReport {
  generatedAt: string
  entries: EntryView[]
}

export interface ScheduleView {
  name: string
  expression: string
  timezone: string
  description?: string
  /** null for a disabled schedule or one that will not fire again (a past `at(…)`). */
  nextFireTime: string | null
}

export interface SchedulesReport {
  schedules: ScheduleView[]
  lastPrewarm: PrewarmReport | null
}

/**
 * The prewarm set as a run would compute it now, each entry with its freshness as the cache holds it (a look at the
 * store, never a read or a computation). A cache that does not answer is a CacheUnavailableError: every entry would
 * otherwise show as absent.
 */
export async function entriesReport(prewarmer: Prewarmer): Promise<EntriesReport> {
  const now = prewarmer.clock()
  const planned = await prewarmer.plan(new Date(now))
  if (planned.some((p) => p.lookup.unusable))
    throw new CacheUnavailableError('The cache did not answer: the freshness of the prewarm set is unknown')
  return {
    generatedAt: new Date(now).toISOString(),
    entries: planned.map(({ resolved, source, lookup: { entry } }): EntryView => {
      const base = {
        query: resolved.def.name,
        tenant: resolved.tenant?.id ?? null,
        parameters: resolved.params,
        key: resolved.key,
        source,
        ttlSeconds: resolved.def.ttlSeconds,
      }
      if (entry?.kind !== 'result')
        return { ...base, state: 'absent', computedAt: null, expiresAt: null, ageSeconds: null }
      return {
        ...base,
        state: freshnessAt(entry, now) === 'fresh' ? 'fresh' : 'stale',
        computedAt: new Date(entry.computedAt).toISOString(),
        expiresAt: new Date(entry.freshUntil).toISOString(),
        // As the Age header: whole seconds since the computation.
        ageSeconds: Math.max(0, Math.floor((now - entry.computedAt) / 1000)),
      }
    }),
  }
}

/**
 * The schedules of schedules.yaml with their next fire time after `now` (as the in-process schedules count it;
 * disabled ones never fire), and the last prewarm report of any process.
 */
export async function schedulesReport(
  schedules: readonly ScheduleDef[],
  prewarmer: Prewarmer,
): Promise<SchedulesReport> {
  const now = new Date(prewarmer.clock())
  return {
    schedules: schedules.map((s) => {
      const next = s.enabled ? nextFireTime(s.expression, s.timezone, now) : null
      return {
        name: s.name,
        expression: s.expression,
        timezone: s.timezone,
        ...(s.description ? { description: s.description } : {}),
        nextFireTime: next ? next.toISOString() : null,
      }
    }),
    lastPrewarm: await prewarmer.lastReport(),
  }
}

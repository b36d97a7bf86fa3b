import type { Logger } from 'pino'
import { z } from 'zod'
import type { CacheKeys } from '../cache/cache-key.ts'
import type { CounterStore } from '../cache/counter-store.ts'
import { DamageReport } from '../cache/damage-report.ts'
import { errorMessage } from '../errors.ts'
import type { InvalidationResult } from '../service/invalidation.ts'
import type { PrewarmReport } from './prewarm-job.ts'

/** Invalidations kept in the shared log; `recent` answers at most this many. */
export const INVALIDATION_LOG_SIZE = 100

/** One invalidation as the log keeps it (GET /admin/invalidations). */
export interface InvalidationRecord {
  /** The invalidation stamp (the store's clock), ISO 8601. */
  at: string
  scope: InvalidationResult['scope']
  mode: InvalidationResult['mode']
  queries: string[]
  tenant?: string
  /** The entry's cache key, for `scope: entry`. */
  key?: string
  /** The span of a range invalidation, as given (landed data: from its first span's start to its last's end). */
  range?: { start: string; end: string }
  /** The table data landed in, for `scope: landing`. */
  table?: string
  /** The separate spans of landed data, when there were several. */
  spans?: Array<{ start: string; end: string }>
  /** The rewarm run's outcome, when one was asked for. */
  rewarm: { status: PrewarmReport['status']; refreshed: number; failed: number } | null
}

/**
 * What a stored record must look like to be shown. Unknown fields are dropped rather than refused: a newer version
 * of the service writing to the same log during a rolling deploy must not hide its records from an older one.
 */
const recordSchema = z.object({
  at: z.iso.datetime(),
  scope: z.enum(['entry', 'query', 'tags', 'all', 'landing']),
  mode: z.enum(['expire', 'delete']),
  queries: z.array(z.string().max(128)).max(10_000),
  tenant: z.string().min(1).max(64).optional(),
  key: z.string().min(1).max(512).optional(),
  range: z.object({ start: z.string().max(40), end: z.string().max(40) }).optional(),
  table: z.string().min(1).max(255).optional(),
  spans: z
    .array(z.object({ start: z.string().max(40), end: z.string().max(40) }))
    .max(64)
    .optional(),
  rewarm: z
    .object({
      status: z.enum(['completed', 'locked']),
      refreshed: z.number().int().nonnegative(),
      failed: z.number().int().nonnegative(),
    })
    .nullable(),
})

/**
 * The most recent invalidations of every process, newest first: a list in the counter store capped at
 * INVALIDATION_LOG_SIZE. Records are read back as input (parsed; a damaged one is skipped and reported once), and
 * recording never fails an invalidation, which has already happened by then.
 */
export class InvalidationLog {
  private readonly damage: DamageReport

  constructor(private readonly o: { counters: CounterStore; keys: CacheKeys; logger: Logger }) {
    this.damage = new DamageReport(o.logger)
  }

  /** Appends an invalidation; a store failure is logged, never thrown. */
  async record(result: InvalidationResult, rewarm: PrewarmReport | null): Promise<void> {
    const record: InvalidationRecord = {
      at: result.invalidatedAt,
      scope: result.scope,
      mode: result.mode,
      queries: result.queries,
      ...(result.tenant !== undefined ? { tenant: result.tenant } : {}),
      ...(result.entry ? { key: result.entry.key } : {}),
      ...(result.range ? { range: result.range } : {}),
      ...(result.table !== undefined ? { table: result.table } : {}),
      ...(result.spans ? { spans: result.spans } : {}),
      rewarm: rewarm ? { status: rewarm.status, refreshed: rewarm.refreshed, failed: rewarm.failed } : null,
    }
    try {
      await this.o.counters.pushRecent(
        this.o.keys.invalidationLog,
        JSON.stringify(record),
        INVALIDATION_LOG_SIZE,
      )
    } catch (err) {
      this.o.logger.warn({ err: errorMessage(err), scope: record.scope }, 'invalidation not logged')
    }
  }

  /** The `limit` most recent invalidations that parse, newest first. */
  async recent(limit: number): Promise<InvalidationRecord[]> {
    const key = this.o.keys.invalidationLog
    // The whole (capped) list: damaged records are skipped, and the answer still holds `limit` good ones if there are.
    const raw = await this.o.counters.recent(key, INVALIDATION_LOG_SIZE)
    const out: InvalidationRecord[] = []
    for (const item of raw) {
      if (out.length >= limit) break
      const record = parseRecord(item)
      if (record) out.push(record)
      else this.damage.report('invalidation record', key, 'unparsable')
    }
    return out
  }
}

function parseRecord(item: string): InvalidationRecord | undefined {
  let json: unknown
  try {
    json = JSON.parse(item)
  } catch {
    return undefined
  }
  const parsed = recordSchema.safeParse(json)
  if (!parsed.success) return undefined
  const { tenant, key, range, table, spans, ...rest } = parsed.data
  // Optional fields are left out rather than set to undefined: the record is sent as it was written.
  return {
    ...rest,
    ...(tenant !== undefined ? { tenant } : {}),
    ...(key !== undefined ? { key } : {}),
    ...(range !== undefined ? { range } : {}),
    ...(table !== undefined ? { table } : {}),
    ...(spans !== undefined ? { spans } : {}),
  }
}

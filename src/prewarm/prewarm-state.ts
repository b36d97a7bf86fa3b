import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { z } from 'zod'
import type { CacheKeys } from '../cache/cache-key.ts'
import type { CacheStore } from '../cache/cache-store.ts'
import { DamageReport } from '../cache/damage-report.ts'
import type { PrewarmReport } from './prewarm-job.ts'

const REPORT_TTL_MS = 7 * 86_400_000
/** Clocks of two processes differ a little: a lock is only taken as overdue this long past its `until`. */
const CLOCK_SKEW_MS = 2_000
const LOCK_RETRY_MS = 250

const lockSchema = z.object({ token: z.string().min(1).max(128), until: z.number().nonnegative() })

const params = z.record(z.string(), z.union([z.string(), z.number()]))

const itemSchema = z.object({
  query: z.string(),
  key: z.string().optional(),
  parameters: params,
  source: z.enum(['configured', 'popular']),
  reads: z.number().optional(),
  action: z.enum(['refreshed', 'fresh', 'failed', 'skipped']),
  reason: z
    .enum(['missing', 'stale', 'expiring', 'budget', 'deadline', 'invalid-parameters', 'cached-error'])
    .optional(),
  freshUntil: z.string().optional(),
  queryExecutionId: z.string().optional(),
  dataScannedBytes: z.number().optional(),
  durationMs: z.number().optional(),
  error: z.string().optional(),
})

const reportSchema = z.object({
  status: z.enum(['completed', 'locked']),
  trigger: z.enum(['schedule', 'admin', 'cli', 'rewarm', 'in-process']),
  schedule: z.string().optional(),
  scheduledTime: z.string().optional(),
  startedAt: z.string(),
  refreshBefore: z.string(),
  considered: z.number(),
  refreshed: z.number(),
  skippedFresh: z.number(),
  skippedBudget: z.number(),
  failed: z.number(),
  dataScannedBytes: z.number(),
  durationMs: z.number(),
  items: z.array(itemSchema),
})

function parseJson<T>(schema: z.ZodType<T>, raw: Buffer): T | null {
  try {
    const parsed = schema.safeParse(JSON.parse(raw.toString('utf8')))
    return parsed.success ? parsed.data : null
  } catch {
    return null
  }
}

/**
 * The prewarm job's state in the cache store: the lock that keeps runs one at a time across processes, and the last
 * report (for /admin/stats). Both are read back from the store, so both are parsed: a damaged report is no report
 * (and is removed), and a damaged lock — or one stored without a TTL, long past its `until` — holds nobody and is
 * taken over by compare-and-set, instead of blocking every prewarm until someone deletes it by hand.
 */
export class PrewarmState {
  private readonly damage: DamageReport

  constructor(private readonly o: { store: CacheStore; keys: CacheKeys; logger: Logger }) {
    this.damage = new DamageReport(o.logger)
  }

  /** Takes the lock for `ttlMs`, waiting up to `waitMs` for another run's; resolves to its value, or null. */
  async lock(ttlMs: number, waitMs: number): Promise<Buffer | null> {
    const { store, keys } = this.o
    const key = keys.prewarmLock
    const giveUpAt = Date.now() + waitMs
    for (;;) {
      const value = Buffer.from(JSON.stringify({ token: randomUUID(), until: Date.now() + ttlMs }))
      if (await store.setIfAbsent(key, value, ttlMs)) return value
      const raw = await store.get(key)
      const held = raw ? parseJson(lockSchema, raw) : null
      if (raw && (!held || Date.now() > held.until + CLOCK_SKEW_MS)) {
        this.damage.report(
          'prewarm lock',
          key,
          held ? 'past its expiry (stored without a TTL)' : 'unparsable',
        )
        if (await store.replaceIfEquals(key, raw, value, ttlMs)) return value
      }
      if (Date.now() >= giveUpAt) return null
      await new Promise((r) => setTimeout(r, LOCK_RETRY_MS))
    }
  }

  /** Releases the lock if it is still `lock`. Never throws. */
  async unlock(lock: Buffer): Promise<void> {
    await this.o.store.deleteIfEquals(this.o.keys.prewarmLock, lock).catch(() => false)
  }

  /** Stores the report of a completed run. Never throws: the report is for people, the run is done. */
  async saveReport(report: PrewarmReport): Promise<void> {
    await this.o.store
      .set(this.o.keys.prewarmLast, Buffer.from(JSON.stringify(report)), REPORT_TTL_MS)
      .catch(() => {})
  }

  /** The report of the last completed run (any process), or null when there is none or it is damaged. */
  async lastReport(): Promise<PrewarmReport | null> {
    const key = this.o.keys.prewarmLast
    const raw = await this.o.store.get(key)
    if (!raw) return null
    const report = parseJson(reportSchema, raw)
    if (report) return report
    this.damage.report('prewarm report', key, 'unparsable')
    await this.o.store.deleteIfEquals(key, raw).catch(() => false)
    return null
  }
}

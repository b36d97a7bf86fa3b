import type { Logger } from 'pino'
import { z } from 'zod'
import type { CacheKeys } from '../cache/cache-key.ts'
import type { CacheStore } from '../cache/cache-store.ts'
import { DamageReport } from '../cache/damage-report.ts'

/**
 * A query's moving average serves every parameter set of it, and there is one per catalog query: kept a month, so a
 * query run monthly still polls well.
 */
const QUERY_KEEP_MS = 30 * 86_400_000
/**
 * Cap of a key's own sample. It is read only when that entry is computed again, which is useful while the entry may
 * still be refreshed (its whole stored lifetime: fresh, stale, stale-if-error); later a read is a plain miss of a
 * key nobody has asked for since, and the query's average does as well. Capped so that a catalog of long-lived
 * entries (up to 90 days) cannot keep a sample per parameter set for months.
 */
const KEY_KEEP_MAX_MS = 7 * 86_400_000
/** Weight of the newest run in a query's moving average. */
const ALPHA = 0.3
/**
 * Longer than any Athena query runs: a larger sample is damage, and believing it would schedule the first status call
 * past the query timeout.
 */
const MAX_SAMPLE_MS = 86_400_000

interface Sample {
  ms: number
  n: number
}

const sampleSchema = z.object({
  ms: z.number().positive().max(MAX_SAMPLE_MS),
  n: z.number().int().positive().optional(),
})

/** A stored sample, absent (undefined), or `damaged` (bytes that are not one: ignored, and removed by the caller). */
function parseSample(buf: Buffer | null | undefined): Sample | undefined | 'damaged' {
  if (!buf) return undefined
  try {
    const parsed = sampleSchema.safeParse(JSON.parse(buf.toString('utf8')))
    return parsed.success ? { ms: parsed.data.ms, n: parsed.data.n ?? 1 } : 'damaged'
  } catch {
    return 'damaged'
  }
}

/**
 * Previous run times, per cache key (the last run) and per catalog query (a moving average), kept in the cache store
 * so every Lambda and server shares them and they outlive the entries. The runner polls near the expected completion.
 */
export class RuntimeHistory {
  private readonly damage: DamageReport | undefined

  constructor(
    private readonly store: CacheStore,
    private readonly keys: CacheKeys,
    logger?: Logger,
  ) {
    this.damage = logger ? new DamageReport(logger) : undefined
  }

  /** A sample read from `key`: damaged bytes count as none and are removed (compare-and-delete), off the read path. */
  private sample(key: string, raw: Buffer | null): Sample | undefined {
    const sample = parseSample(raw)
    if (sample !== 'damaged') return sample
    this.damage?.report('run-time history', key, 'unparsable')
    if (raw) this.store.deleteIfEquals(key, raw).catch(() => false)
    return undefined
  }

  /** Expected total run time: this key's last run, else the query's average, else undefined. Never throws. */
  async expectedMs(entryKey: string, query: string): Promise<number | undefined> {
    try {
      // Issued together: auto-pipelined into one round trip (and on Cluster, one per node).
      const keyOfKey = this.keys.runtimeOfKey(entryKey)
      const keyOfQuery = this.keys.runtimeOfQuery(query)
      const [byKey, byQuery] = await Promise.all([this.store.get(keyOfKey), this.store.get(keyOfQuery)])
      return this.sample(keyOfKey, byKey)?.ms ?? this.sample(keyOfQuery, byQuery)?.ms
    } catch {
      return undefined
    }
  }

  /**
   * Records a finished run; the key's sample lives as long as its entry (`entryLifetimeMs`, see KEY_KEEP_MAX_MS).
   * Never throws: history only tunes polling.
   */
  async record(entryKey: string, query: string, totalMs: number, entryLifetimeMs: number): Promise<void> {
    if (!(totalMs > 0)) return
    try {
      const prior = await this.store.get(this.keys.runtimeOfQuery(query))
      // Damaged history is simply replaced by this run's sample.
      const parsed = parseSample(prior)
      const old = parsed === 'damaged' ? undefined : parsed
      const avg: Sample = old
        ? { ms: old.ms * (1 - ALPHA) + totalMs * ALPHA, n: old.n + 1 }
        : { ms: totalMs, n: 1 }
      await Promise.all([
        this.store.set(
          this.keys.runtimeOfKey(entryKey),
          Buffer.from(JSON.stringify({ ms: totalMs, n: 1 })),
          Math.max(1, Math.min(entryLifetimeMs, KEY_KEEP_MAX_MS)),
        ),
        this.store.set(this.keys.runtimeOfQuery(query), Buffer.from(JSON.stringify(avg)), QUERY_KEEP_MS),
      ])
    } catch {
      // Losing a sample costs a few extra status calls next time, nothing more.
    }
  }
}

import type { CacheKeys } from '../cache/cache-key.ts'
import type { CacheStore } from '../cache/cache-store.ts'

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

interface Sample {
  ms: number
  n: number
}

function parseSample(buf: Buffer | null | undefined): Sample | undefined {
  if (!buf) return undefined
  try {
    const s = JSON.parse(buf.toString('utf8')) as Partial<Sample>
    return typeof s.ms === 'number' && Number.isFinite(s.ms) && s.ms > 0
      ? { ms: s.ms, n: Number(s.n) || 1 }
      : undefined
  } catch {
    return undefined
  }
}

/**
 * Previous run times, per cache key (the last run) and per catalog query (a moving average), kept in the cache store
 * so every Lambda and server shares them and they outlive the entries. The runner polls near the expected completion.
 */
export class RuntimeHistory {
  constructor(
    private readonly store: CacheStore,
    private readonly keys: CacheKeys,
  ) {}

  /** Expected total run time: this key's last run, else the query's average, else undefined. Never throws. */
  async expectedMs(entryKey: string, query: string): Promise<number | undefined> {
    try {
      // Issued together: auto-pipelined into one round trip (and on Cluster, one per node).
      const [byKey, byQuery] = await Promise.all([
        this.store.get(this.keys.runtimeOfKey(entryKey)),
        this.store.get(this.keys.runtimeOfQuery(query)),
      ])
      return parseSample(byKey)?.ms ?? parseSample(byQuery)?.ms
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
      const old = parseSample(prior)
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

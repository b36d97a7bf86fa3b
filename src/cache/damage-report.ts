import { LRUCache } from 'lru-cache'
import type { Logger } from 'pino'

/** The kinds of stored values that are parsed on the way in (and ignored and repaired when they do not parse). */
export type StoredKind =
  | 'entry'
  | 'lease'
  | 'execution record'
  | 'run-time history'
  | 'stamp'
  | 'prewarm lock'
  | 'prewarm report'
  | 'invalidation record'

/** How many recently reported keys are remembered, and for how long: enough to log a hot damaged key once. */
const REMEMBERED_KEYS = 1_024
const REMEMBERED_MS = 10 * 60_000

/**
 * Logs damaged stored values once per key, not once per request: a corrupt hot entry read ten thousand times a
 * second would otherwise flood the log. Bounded (an LRU of recently reported keys, not a set that grows with every
 * key ever damaged); a key damaged again after it was forgotten is reported again.
 */
export class DamageReport {
  private readonly seen = new LRUCache<string, true>({ max: REMEMBERED_KEYS, ttl: REMEMBERED_MS })

  constructor(private readonly logger: Logger) {}

  /**
   * Reports a damaged value under `key`, logged only the first time within the window. Returns whether this was the
   * first report, for repairs that must not be repeated by every concurrent read (re-stamping a stamp field).
   */
  report(kind: StoredKind, key: string, reason: string): boolean {
    const id = `${kind}\u0000${key}`
    if (this.seen.has(id)) return false
    this.seen.set(id, true)
    this.logger.warn({ kind, key, reason }, 'damaged stored value ignored and repaired')
    return true
  }
}

import type { Logger } from 'pino'
import type { CacheKeys } from '../cache/cache-key.ts'
import type { CounterStore } from '../cache/counter-store.ts'
import { ValidationError } from '../errors.ts'
import type { PrewarmSample, ReadSample, TelemetrySink } from './telemetry.ts'

const MINUTE_MS = 60_000
/** How long minutes are kept in the store, and the longest series anyone may ask for. */
export const SERIES_RETAIN_MINUTES = 1_440
/**
 * Upper bounds (ms) of the latency buckets. Percentiles are estimated from them as Prometheus' histogram_quantile
 * does (linear within a bucket), so a p95 is exact to its bucket: 1–2 ms apart near a hit, seconds apart near Athena.
 */
export const LATENCY_BOUNDS_MS = [
  0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000,
] as const

const OUTCOME_FIELD = { HIT: 'hits', STALE: 'stale', MISS: 'misses', BYPASS: 'bypass' } as const

/** One minute of `GET /admin/stats/series`. */
export interface SeriesPoint {
  time: string
  reads: number
  hits: number
  stale: number
  misses: number
  bypass: number
  hitRatio: number | null
  latencyMs: { p50: number; p95: number; p99: number } | null
  scannedBytes: number
  savedBytes: number
}

export interface Series {
  bucketSeconds: number
  points: SeriesPoint[]
}

/** The stored field of each latency bucket (`l<index>`; the last is the overflow bucket). */
const LATENCY_FIELDS = Array.from({ length: LATENCY_BOUNDS_MS.length + 1 }, (_, i) => `l${i}`)

/** The latency bucket field of a duration: the first bound it does not exceed, or the overflow bucket. */
function bucketOf(ms: number): string {
  let i = 0
  while (i < LATENCY_BOUNDS_MS.length && ms > (LATENCY_BOUNDS_MS[i] as number)) i++
  return LATENCY_FIELDS[i] as string
}

/** The q-quantile of bucket counts, linear within its bucket; the overflow bucket answers its lower bound. */
export function quantile(counts: readonly number[], q: number): number {
  const total = counts.reduce((a, b) => a + b, 0)
  if (total === 0) return 0
  const rank = q * total
  let seen = 0
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i] ?? 0
    if (count > 0 && seen + count >= rank) {
      const lower = i === 0 ? 0 : (LATENCY_BOUNDS_MS[i - 1] as number)
      const upper = LATENCY_BOUNDS_MS[i]
      if (upper === undefined) return lower
      return lower + ((upper - lower) * (rank - seen)) / count
    }
    seen += count
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1] as number
}

/** A stored counter as a count: anything but a non-negative safe integer (a damaged or foreign field) is 0. */
function count(value: number | undefined): number {
  return value !== undefined && Number.isSafeInteger(value) && value >= 0 ? value : 0
}

/**
 * Per-minute read figures summed over every process: reads by outcome, a latency histogram, bytes scanned and saved.
 * Recorded in memory and added to one hash per minute in the store on `flush` (every second on the Node server,
 * after each invocation on Lambda); the store keeps a day of minutes. What is in memory is at most the minutes since
 * the last flush.
 */
export class ReadSeries implements TelemetrySink {
  private pending = new Map<number, Record<string, number>>()
  private flushing: Promise<void> | undefined
  private readonly now: () => number
  private readonly timer: NodeJS.Timeout | undefined

  constructor(
    private readonly o: {
      store: CounterStore
      keys: CacheKeys
      logger: Logger
      /** How often minutes are written to the store (0: only on `flush`, as on Lambda). */
      flushIntervalMs: number
      now?: () => number
    },
  ) {
    this.now = o.now ?? Date.now
    if (o.flushIntervalMs > 0) {
      this.timer = setInterval(() => void this.flush(), o.flushIntervalMs)
      this.timer.unref()
    }
  }

  /** Stops the flush timer (what is recorded still goes out with the next `flush`). */
  close(): void {
    if (this.timer) clearInterval(this.timer)
  }

  private minute(): Record<string, number> {
    const m = Math.floor(this.now() / MINUTE_MS)
    let fields = this.pending.get(m)
    if (!fields) {
      fields = {}
      this.pending.set(m, fields)
    }
    return fields
  }

  private add(field: string, by: number): void {
    const fields = this.minute()
    fields[field] = (fields[field] ?? 0) + by
  }

  read(sample: ReadSample): void {
    const fields = this.minute()
    const outcome = OUTCOME_FIELD[sample.outcome]
    fields[outcome] = (fields[outcome] ?? 0) + 1
    const bucket = bucketOf(sample.latencyMs)
    fields[bucket] = (fields[bucket] ?? 0) + 1
    if (sample.savedBytes > 0) fields.saved = (fields.saved ?? 0) + Math.round(sample.savedBytes)
  }

  executionCollected(_query: string, scannedBytes: number): void {
    if (scannedBytes > 0) this.add('scanned', Math.round(scannedBytes))
  }

  response(): void {}
  executionStarted(): void {}
  leaseWait(): void {}
  cacheError(): void {}
  breakerState(): void {}
  prewarmRun(_sample: PrewarmSample): void {}

  /** Adds the minutes recorded since the last flush to the store. A failure is logged and those counts dropped. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => this.flush())
    if (this.pending.size === 0) return Promise.resolve()
    const minutes = this.pending
    this.pending = new Map()
    const now = this.now()
    const flushing = Promise.all(
      [...minutes].map(([m, fields]) =>
        this.o.store.incrementCounters(
          this.o.keys.series(m),
          fields,
          (m + 1) * MINUTE_MS + SERIES_RETAIN_MINUTES * MINUTE_MS - now,
        ),
      ),
    )
      .then(
        () => undefined,
        (err: unknown) => this.o.logger.warn({ err: String(err) }, 'read series not written'),
      )
      .finally(() => {
        this.flushing = undefined
      })
    this.flushing = flushing
    return flushing
  }

  /** The last `minutes` minutes (this one included), oldest first; minutes without reads are zeros. */
  async series(minutes: number): Promise<Series> {
    if (!Number.isSafeInteger(minutes) || minutes < 1 || minutes > SERIES_RETAIN_MINUTES)
      throw new ValidationError(`minutes must be an integer from 1 to ${SERIES_RETAIN_MINUTES}`, [
        { name: 'minutes', message: `must be an integer from 1 to ${SERIES_RETAIN_MINUTES}` },
      ])
    await this.flush()
    const last = Math.floor(this.now() / MINUTE_MS)
    const first = last - minutes + 1
    const stored = await Promise.all(
      Array.from({ length: minutes }, (_, i) => this.o.store.getCounters(this.o.keys.series(first + i))),
    )
    return {
      bucketSeconds: MINUTE_MS / 1000,
      points: stored.map((fields, i) => point(first + i, fields)),
    }
  }
}

function point(minute: number, fields: Record<string, number>): SeriesPoint {
  const hits = count(fields.hits)
  const stale = count(fields.stale)
  const misses = count(fields.misses)
  const bypass = count(fields.bypass)
  const reads = hits + stale + misses + bypass
  const buckets = LATENCY_FIELDS.map((field) => count(fields[field]))
  const timed = buckets.some((c) => c > 0)
  const round = (ms: number) => Math.round(ms * 100) / 100
  return {
    time: new Date(minute * MINUTE_MS).toISOString(),
    reads,
    hits,
    stale,
    misses,
    bypass,
    hitRatio: reads > 0 ? (hits + stale) / reads : null,
    latencyMs: timed
      ? {
          p50: round(quantile(buckets, 0.5)),
          p95: round(quantile(buckets, 0.95)),
          p99: round(quantile(buckets, 0.99)),
        }
      : null,
    scannedBytes: count(fields.scanned),
    savedBytes: count(fields.saved),
  }
}

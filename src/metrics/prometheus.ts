import { Counter, collectDefaultMetrics, Gauge, Histogram, type LabelValues, Registry } from 'prom-client'
import type { BreakerState } from '../cache/circuit-breaker.ts'
import type { PrewarmSample, ReadSample, TelemetrySink } from './telemetry.ts'

/** The figures summed over every process, read from the store at each scrape. */
export interface ClusterCounters {
  hits: number
  stale: number
  misses: number
  bypass: number
  athenaExecutions: number
  dataScannedBytes: number
  dataSavedBytes: number
}

/** Seconds buckets of read latency: sub-millisecond hits up to Athena misses of tens of seconds. */
const READ_BUCKETS_S = [
  0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
]
const WAIT_BUCKETS_S = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half-open']
/** Label children kept for reuse (queries × outcomes of one catalog are far fewer). */
const MAX_CACHED_CHILDREN = 1_000

/** A metric's label children, looked up once per label combination rather than hashed on every event. */
class Children<T> {
  private readonly cache = new Map<string, T>()
  constructor(private readonly make: (labels: LabelValues<string>) => T) {}
  of(key: string, labels: () => Record<string, string>): T {
    const hit = this.cache.get(key)
    if (hit) return hit
    const child = this.make(labels())
    if (this.cache.size < MAX_CACHED_CHILDREN) this.cache.set(key, child)
    return child
  }
}

/**
 * The Node server's figures for Prometheus (`GET /metrics`): per-process counters and histograms labelled by
 * catalog query (never by parameters, so label sets stay as few as the catalog), the process's default metrics, and
 * the counters every process adds to the store (`acp_cluster_*`), read when scraped.
 */
export class PrometheusMetrics implements TelemetrySink {
  readonly registry = new Registry()
  private readonly reads: Children<Counter.Internal>
  private readonly readDuration: Children<Histogram.Internal<string>>
  private readonly saved: Children<Counter.Internal>
  private readonly responses: Children<Counter.Internal>
  private readonly executions: Counter
  private readonly scanned: Counter
  private readonly reused: Counter
  private readonly leaseWaits: Counter
  private readonly leaseWaitSeconds: Histogram
  private readonly cacheErrors: Counter
  private readonly breaker: Gauge
  private readonly prewarmRuns: Counter
  private readonly prewarmEntries: Counter

  constructor(options: { cluster?: () => Promise<ClusterCounters>; defaultMetrics?: boolean } = {}) {
    const registers = [this.registry]
    const reads = new Counter({
      name: 'acp_reads_total',
      help: 'Reads by catalog query and cache outcome (this process)',
      labelNames: ['query', 'outcome'],
      registers,
    })
    const readDuration = new Histogram({
      name: 'acp_read_duration_seconds',
      help: 'Time to answer a read, by catalog query and cache outcome (this process)',
      labelNames: ['query', 'outcome'],
      buckets: READ_BUCKETS_S,
      registers,
    })
    const saved = new Counter({
      name: 'acp_bytes_saved_total',
      help: 'Bytes Athena would have scanned for the reads answered from cache (this process)',
      labelNames: ['query'],
      registers,
    })
    this.reads = new Children((l) => reads.labels(l))
    this.readDuration = new Children((l) => readDuration.labels(l))
    this.saved = new Children((l) => saved.labels(l))
    const responses = new Counter({
      name: 'acp_http_responses_total',
      help: 'HTTP responses by status class (this process)',
      labelNames: ['class'],
      registers,
    })
    this.responses = new Children((l) => responses.labels(l))
    this.executions = new Counter({
      name: 'acp_athena_executions_total',
      help: 'Athena executions this process started',
      labelNames: ['query'],
      registers,
    })
    this.scanned = new Counter({
      name: 'acp_athena_scanned_bytes_total',
      help: 'Bytes Athena scanned for the executions this process collected',
      labelNames: ['query'],
      registers,
    })
    this.reused = new Counter({
      name: 'acp_athena_reused_results_total',
      help: "Executions answered from Athena's result reuse (nothing scanned)",
      labelNames: ['query'],
      registers,
    })
    this.leaseWaits = new Counter({
      name: 'acp_lease_waits_total',
      help: 'Reads that waited on a computation another reader had started',
      labelNames: ['query'],
      registers,
    })
    this.leaseWaitSeconds = new Histogram({
      name: 'acp_lease_wait_seconds',
      help: 'How long reads waited on another reader’s computation',
      buckets: WAIT_BUCKETS_S,
      registers,
    })
    this.cacheErrors = new Counter({
      name: 'acp_cache_errors_total',
      help: 'Cache calls that failed or timed out',
      registers,
    })
    this.breaker = new Gauge({
      name: 'acp_cache_breaker_state',
      help: 'The cache circuit breaker: 1 on its current state',
      labelNames: ['state'],
      registers,
    })
    this.breakerState('closed')
    this.prewarmRuns = new Counter({
      name: 'acp_prewarm_runs_total',
      help: 'Prewarm runs by status (completed, or locked: another run held the lock)',
      labelNames: ['status'],
      registers,
    })
    this.prewarmEntries = new Counter({
      name: 'acp_prewarm_entries_total',
      help: 'Prewarm set entries by what a run did with them',
      labelNames: ['outcome'],
      registers,
    })
    if (options.cluster) this.clusterGauges(options.cluster)
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry })
  }

  /** The text exposition format, and its content type. */
  async scrape(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType }
  }

  read(s: ReadSample): void {
    const key = `${s.query}\u0000${s.outcome}`
    const labels = () => ({ query: s.query, outcome: s.outcome })
    this.reads.of(key, labels).inc()
    this.readDuration.of(key, labels).observe(s.latencyMs / 1000)
    if (s.savedBytes > 0) this.saved.of(s.query, () => ({ query: s.query })).inc(s.savedBytes)
  }

  response(status: number): void {
    const statusClass = `${Math.floor(status / 100)}xx`
    this.responses.of(statusClass, () => ({ class: statusClass })).inc()
  }

  executionStarted(query: string): void {
    this.executions.labels(query).inc()
  }

  executionCollected(query: string, scannedBytes: number, reused: boolean): void {
    this.scanned.labels(query).inc(scannedBytes)
    if (reused) this.reused.labels(query).inc()
  }

  leaseWait(query: string, waitedMs: number): void {
    this.leaseWaits.labels(query).inc()
    this.leaseWaitSeconds.observe(waitedMs / 1000)
  }

  cacheError(): void {
    this.cacheErrors.inc()
  }

  breakerState(state: BreakerState): void {
    for (const s of BREAKER_STATES) this.breaker.labels(s).set(s === state ? 1 : 0)
  }

  prewarmRun(s: PrewarmSample): void {
    this.prewarmRuns.labels(s.status).inc()
    if (s.refreshed > 0) this.prewarmEntries.labels('refreshed').inc(s.refreshed)
    if (s.failed > 0) this.prewarmEntries.labels('failed').inc(s.failed)
    if (s.skipped > 0) this.prewarmEntries.labels('skipped').inc(s.skipped)
  }

  /**
   * Gauges of the counters every process adds to the store: their value is the store's at scrape time. A store that
   * does not answer leaves them out of that scrape (absent, not zero) rather than failing the scrape.
   */
  private clusterGauges(read: () => Promise<ClusterCounters>): void {
    const registers = [this.registry]
    let pending: Promise<ClusterCounters | undefined> | undefined
    // One store read per scrape, shared by the four gauges' collect callbacks.
    const snapshot = () => {
      pending ??= read()
        .catch(() => undefined)
        .finally(() => {
          setImmediate(() => {
            pending = undefined
          })
        })
      return pending
    }
    const gauge = (
      name: string,
      help: string,
      set: (g: Gauge, c: ClusterCounters) => void,
      labelNames: string[] = [],
    ) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        async collect() {
          this.reset()
          const counters = await snapshot()
          if (counters) set(this, counters)
        },
      })
    gauge(
      'acp_cluster_reads_total',
      'Reads by cache outcome, summed over every process (from the store)',
      (g, c) => {
        g.labels('HIT').set(c.hits)
        g.labels('STALE').set(c.stale)
        g.labels('MISS').set(c.misses)
        g.labels('BYPASS').set(c.bypass)
      },
      ['outcome'],
    )
    gauge(
      'acp_cluster_athena_executions_total',
      'Athena executions started by every process (from the store)',
      (g, c) => g.set(c.athenaExecutions),
    )
    gauge(
      'acp_cluster_athena_scanned_bytes_total',
      'Bytes Athena scanned for every process (from the store)',
      (g, c) => g.set(c.dataScannedBytes),
    )
    gauge(
      'acp_cluster_bytes_saved_total',
      'Bytes the reads answered from cache would have scanned, every process (from the store)',
      (g, c) => g.set(c.dataSavedBytes),
    )
  }
}

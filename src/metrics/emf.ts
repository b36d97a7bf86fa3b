import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics'
import type { BreakerState } from '../cache/circuit-breaker.ts'
import type { PrewarmSample, ReadSample, TelemetrySink } from './telemetry.ts'

const OUTCOME_METRIC = {
  HIT: 'ReadHit',
  STALE: 'ReadStale',
  MISS: 'ReadMiss',
  BYPASS: 'ReadBypass',
} as const

/** One query's reads within an invocation, published under the `[service, query]` dimension set. */
interface QueryReads {
  outcomes: Array<keyof typeof OUTCOME_METRIC>
  latencies: number[]
}

/** Queries kept apart within one invocation (an invocation reads one; a bound all the same). */
const MAX_QUERIES_PER_FLUSH = 100

/**
 * The Lambda's figures as CloudWatch Embedded Metric Format log lines, through Powertools for AWS Lambda's Metrics:
 * CloudWatch turns the function's log lines into metrics with no PutMetricData call, no extra latency and no
 * permission beyond writing logs. Recorded during an invocation and published at its end (`flush`): one line with
 * the `[service]` dimension set, and one per query read with `[service, query]` for the read metrics (query names come
 * from the catalog; parameters never become dimensions). Powertools rather than hand-written EMF: it validates names,
 * units, dimension and value limits and splits over-full blobs as CloudWatch requires. Logs stay on pino (the
 * service's one log format on Node and Lambda alike); Powertools' logger would add a second one.
 */
export class EmfMetrics implements TelemetrySink {
  private readonly metrics: Metrics
  private readonly queries = new Map<string, QueryReads>()
  private breakerOpen = false
  private coldStart = true

  constructor(options: { namespace: string; serviceName: string }) {
    this.metrics = new Metrics({ namespace: options.namespace, serviceName: options.serviceName })
  }

  private add(name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number): void {
    this.metrics.addMetric(name, unit, value)
  }

  read(s: ReadSample): void {
    this.add(OUTCOME_METRIC[s.outcome], MetricUnit.Count, 1)
    this.add('ReadLatency', MetricUnit.Milliseconds, s.latencyMs)
    if (s.savedBytes > 0) this.add('BytesSaved', MetricUnit.Bytes, s.savedBytes)
    let reads = this.queries.get(s.query)
    if (!reads) {
      if (this.queries.size >= MAX_QUERIES_PER_FLUSH) return
      reads = { outcomes: [], latencies: [] }
      this.queries.set(s.query, reads)
    }
    reads.outcomes.push(s.outcome)
    reads.latencies.push(s.latencyMs)
  }

  response(status: number): void {
    if (status >= 500) this.add('Responses5xx', MetricUnit.Count, 1)
    else if (status >= 400) this.add('Responses4xx', MetricUnit.Count, 1)
  }

  executionStarted(): void {
    this.add('AthenaExecutions', MetricUnit.Count, 1)
  }

  executionCollected(_query: string, scannedBytes: number, reused: boolean): void {
    this.add('AthenaScannedBytes', MetricUnit.Bytes, scannedBytes)
    if (reused) this.add('AthenaReusedResults', MetricUnit.Count, 1)
  }

  leaseWait(_query: string, waitedMs: number): void {
    this.add('LeaseWaits', MetricUnit.Count, 1)
    this.add('LeaseWaitTime', MetricUnit.Milliseconds, waitedMs)
  }

  cacheError(): void {
    this.add('CacheErrors', MetricUnit.Count, 1)
  }

  breakerState(state: BreakerState): void {
    this.breakerOpen = state === 'open'
  }

  prewarmRun(s: PrewarmSample): void {
    this.add('PrewarmRuns', MetricUnit.Count, 1)
    this.add('PrewarmRefreshed', MetricUnit.Count, s.refreshed)
    this.add('PrewarmFailed', MetricUnit.Count, s.failed)
    this.add('PrewarmSkipped', MetricUnit.Count, s.skipped)
    this.add('PrewarmDuration', MetricUnit.Milliseconds, s.durationMs)
  }

  /**
   * Publishes the invocation's metrics. Every invocation reports CacheBreakerOpen (0 or 1), so the alarm on it sees
   * the breaker close again; the first one also reports Powertools' ColdStart.
   */
  flush(): void {
    if (this.coldStart) {
      this.coldStart = false
      this.metrics.captureColdStartMetric()
    }
    this.add('CacheBreakerOpen', MetricUnit.Count, this.breakerOpen ? 1 : 0)
    this.metrics.publishStoredMetrics()
    for (const [query, reads] of this.queries) {
      this.metrics.addDimension('query', query)
      for (const outcome of reads.outcomes)
        this.metrics.addMetric(OUTCOME_METRIC[outcome], MetricUnit.Count, 1)
      for (const ms of reads.latencies) this.metrics.addMetric('ReadLatency', MetricUnit.Milliseconds, ms)
      this.metrics.publishStoredMetrics()
    }
    this.queries.clear()
  }
}

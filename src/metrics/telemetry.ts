import type { BreakerState } from '../cache/circuit-breaker.ts'

/** How a read was answered (the service's outcomes; see service/usage.ts). */
export type ReadOutcomeName = 'HIT' | 'STALE' | 'MISS' | 'BYPASS'

/** One answered read: the catalog query (never its parameters), how it was answered and how long it took. */
export interface ReadSample {
  query: string
  outcome: ReadOutcomeName
  latencyMs: number
  /** What the answer would have scanned on Athena, for a HIT or STALE answer (0 otherwise). */
  savedBytes: number
}

/** What a finished prewarm run reports to the metrics. */
export interface PrewarmSample {
  status: 'completed' | 'locked'
  refreshed: number
  failed: number
  skipped: number
  durationMs: number
}

/**
 * Where the service's figures go: Prometheus on the Node server, CloudWatch EMF on Lambda, and the per-minute series
 * of the operator page everywhere. Every method is synchronous and in memory (a cache hit pays a few map updates);
 * whatever a sink sends elsewhere goes off the response path, in `flush`.
 */
export interface TelemetrySink {
  read(sample: ReadSample): void
  /** Every HTTP response, by status (cache reads, errors, admin routes). */
  response(status: number): void
  executionStarted(query: string): void
  executionCollected(query: string, scannedBytes: number, reused: boolean): void
  /** A read waited on a computation another reader (or process) had started, for `waitedMs`. */
  leaseWait(query: string, waitedMs: number): void
  cacheError(): void
  breakerState(state: BreakerState): void
  prewarmRun(sample: PrewarmSample): void
  /** Sends what was recorded (Lambda: at the end of each invocation). */
  flush?(): Promise<void> | void
}

/** Hands every event to each sink, in order. */
export class Telemetry implements TelemetrySink {
  constructor(private readonly sinks: readonly TelemetrySink[]) {}

  read(sample: ReadSample): void {
    for (const s of this.sinks) s.read(sample)
  }
  response(status: number): void {
    for (const s of this.sinks) s.response(status)
  }
  executionStarted(query: string): void {
    for (const s of this.sinks) s.executionStarted(query)
  }
  executionCollected(query: string, scannedBytes: number, reused: boolean): void {
    for (const s of this.sinks) s.executionCollected(query, scannedBytes, reused)
  }
  leaseWait(query: string, waitedMs: number): void {
    for (const s of this.sinks) s.leaseWait(query, waitedMs)
  }
  cacheError(): void {
    for (const s of this.sinks) s.cacheError()
  }
  breakerState(state: BreakerState): void {
    for (const s of this.sinks) s.breakerState(state)
  }
  prewarmRun(sample: PrewarmSample): void {
    for (const s of this.sinks) s.prewarmRun(sample)
  }
  async flush(): Promise<void> {
    await Promise.all(this.sinks.map((s) => s.flush?.()))
  }
}

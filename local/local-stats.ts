import type { AthenaOperation } from './athena-operations.ts'

/** Counters for tests and benchmarks (`GET /_local/stats`). */
export interface LocalAthenaStats {
  /** API calls per operation, including throttled and failed ones. */
  calls: Partial<Record<AthenaOperation, number>>
  /** New executions created by StartQueryExecution (idempotent replays excluded). */
  executionsStarted: number
  /** GetQueryExecution calls per execution id. */
  statusCallsByExecution: Record<string, number>
}

/** Mutable counters behind `LocalAthenaStats`. */
export class LocalStats {
  private calls = new Map<AthenaOperation, number>()
  private executionsStarted = 0
  private statusCalls = new Map<string, number>()

  /** Counts one API call. */
  recordCall(operation: AthenaOperation): void {
    this.calls.set(operation, (this.calls.get(operation) ?? 0) + 1)
  }

  /** Counts one new execution. */
  recordExecutionStarted(): void {
    this.executionsStarted++
  }

  /** Counts one GetQueryExecution call for an execution. */
  recordStatusCall(queryExecutionId: string): void {
    this.statusCalls.set(queryExecutionId, (this.statusCalls.get(queryExecutionId) ?? 0) + 1)
  }

  /** A copy of the current counters. */
  snapshot(): LocalAthenaStats {
    return {
      calls: Object.fromEntries(this.calls),
      executionsStarted: this.executionsStarted,
      statusCallsByExecution: Object.fromEntries(this.statusCalls),
    }
  }

  /** Zeroes every counter. */
  reset(): void {
    this.calls.clear()
    this.executionsStarted = 0
    this.statusCalls.clear()
  }
}

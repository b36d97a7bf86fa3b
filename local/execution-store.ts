import { isTerminal, type QueryExecution } from './query-execution.ts'

/** Memory bounds of the store. */
export interface ExecutionStoreLimits {
  /** Executions kept; the oldest finished ones beyond this are forgotten. */
  maxExecutions: number
  /** Result cells (rows × columns) kept across all executions; the oldest results are dropped first. */
  maxResultCells: number
}

const DEFAULT_LIMITS: ExecutionStoreLimits = { maxExecutions: 10_000, maxResultCells: 10_000_000 }

/** In-memory, bounded registry of executions with their idempotency tokens. */
export class ExecutionStore {
  private readonly executions = new Map<string, QueryExecution>()
  private readonly tokens = new Map<string, string>()
  private nextSeq = 1
  private resultCells = 0

  constructor(private readonly limits: ExecutionStoreLimits = DEFAULT_LIMITS) {}

  /** Next submission sequence number. */
  allocateSeq(): number {
    return this.nextSeq++
  }

  /** Registers a new execution (and its client request token). */
  add(execution: QueryExecution): void {
    this.executions.set(execution.id, execution)
    if (execution.clientRequestToken !== undefined)
      this.tokens.set(execution.clientRequestToken, execution.id)
    this.evictExecutions()
  }

  /** The execution with this id, if still known. */
  get(id: string): QueryExecution | undefined {
    return this.executions.get(id)
  }

  /** The execution created with this client request token, if still known. */
  byToken(token: string): QueryExecution | undefined {
    const id = this.tokens.get(token)
    return id === undefined ? undefined : this.executions.get(id)
  }

  /** Accounts for a result attached to an execution, dropping old results beyond the cell budget. */
  noteResult(execution: QueryExecution): void {
    this.resultCells += cellsOf(execution)
    if (this.resultCells <= this.limits.maxResultCells) return
    for (const e of this.executions.values()) {
      if (this.resultCells <= this.limits.maxResultCells) break
      if (e === execution || e.result === undefined) continue
      this.resultCells -= cellsOf(e)
      e.result = undefined
    }
  }

  /** Executions of a work group, newest first, with `seq` below `beforeSeq` when given. */
  list(workGroup: string, beforeSeq?: number): QueryExecution[] {
    const out: QueryExecution[] = []
    for (const e of this.executions.values()) {
      if (e.workGroup === workGroup && (beforeSeq === undefined || e.seq < beforeSeq)) out.push(e)
    }
    return out.sort((a, b) => b.seq - a.seq)
  }

  /** The newest SUCCEEDED execution with this fingerprint that completed at or after `since` and still has rows. */
  findReusable(fingerprint: string, since: number): QueryExecution | undefined {
    let best: QueryExecution | undefined
    for (const e of this.executions.values()) {
      if (e.fingerprint !== fingerprint || e.state !== 'SUCCEEDED' || e.result === undefined) continue
      if ((e.completedAt ?? 0) < since) continue
      if (best === undefined || e.seq > best.seq) best = e
    }
    return best
  }

  /** Every execution not yet finished. */
  active(): QueryExecution[] {
    return [...this.executions.values()].filter((e) => !isTerminal(e.state))
  }

  private evictExecutions(): void {
    if (this.executions.size <= this.limits.maxExecutions) return
    // Map iteration follows insertion order, i.e. oldest first.
    for (const e of this.executions.values()) {
      if (this.executions.size <= this.limits.maxExecutions) break
      if (!isTerminal(e.state)) continue
      this.executions.delete(e.id)
      if (e.clientRequestToken !== undefined && this.tokens.get(e.clientRequestToken) === e.id) {
        this.tokens.delete(e.clientRequestToken)
      }
      if (e.result !== undefined) this.resultCells -= cellsOf(e)
    }
  }
}

function cellsOf(e: QueryExecution): number {
  const result = e.result
  return result === undefined ? 0 : result.rowCount * Math.max(1, result.columns.length)
}

import { setTimeout as sleep } from 'node:timers/promises'
import { type DuckDBPreparedStatement, DuckDBTypeId } from '@duckdb/node-api'
import { columnInfo } from './athena-column-types.ts'
import type { EngineResult, EngineSession } from './duckdb-engine.ts'
import { messageOf, runtimeFailure } from './duckdb-errors.ts'
import type { ExecutionFaults } from './fault-injector.ts'
import type { ExecutionError, QueryExecution, StoredResult } from './query-execution.ts'
import { rendererFor } from './render-value.ts'
import { trinoColumnNames } from './trino-column-names.ts'
import { userError } from './trino-errors.ts'

/** Share of the minimum query time spent QUEUED before the execution turns RUNNING. */
const QUEUED_SHARE = 0.1

/** Athena ErrorType of an injected user error, and of system errors (user errors of queries: trino-errors.ts). */
export const USER_ERROR_TYPE = 1006
export const SYSTEM_ERROR_TYPE = 1000
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/** A statement DuckDB runs: prepared (parsed and bound) at submission on the execution's own session. */
export interface EngineStatement {
  kind: 'engine'
  session: EngineSession
  prepared: DuckDBPreparedStatement
  headerRow: boolean
  /** DuckDB's parse tree of the statement, for Trino-style column names. */
  serializedSql: string | undefined
}

/**
 * What an execution will do, decided at submission: run on DuckDB, answer from the catalog (statements such as
 * SHOW and DESCRIBE, whose result is known at once), or fail (an error Athena reports as a FAILED execution, not
 * at submission). All three go through the same lifecycle, minimum time and result files.
 */
export type PlannedStatement =
  | EngineStatement
  | { kind: 'answer'; result: StoredResult }
  | { kind: 'failure'; error: ExecutionError }

/** Everything StartQueryExecution prepared for the background run. */
export interface RunPlan {
  statement: PlannedStatement
  faults: ExecutionFaults
  /** Earliest time after submission the execution may reach a final state. */
  minQueryMs: number
  /** Writes the result files; awaited before SUCCEEDED, so a client that sees SUCCEEDED finds them. */
  writeResult(result: StoredResult, signal: AbortSignal): Promise<void>
}

type Outcome = { kind: 'succeeded'; result: StoredResult } | { kind: 'failed'; error: ExecutionError }

/**
 * Drives one execution QUEUED → RUNNING → SUCCEEDED | FAILED. Cancellation (StopQueryExecution) sets the
 * final state itself and fires the execution's abort signal; this function then just stops and cleans up.
 */
export async function runExecution(
  e: QueryExecution,
  plan: RunPlan,
  onFinished: (e: QueryExecution) => void,
): Promise<void> {
  const { signal } = e.abort
  const { statement } = plan
  const session = statement.kind === 'engine' ? statement.session : undefined
  const interrupt = () => session?.interrupt()
  signal.addEventListener('abort', interrupt, { once: true })
  try {
    await sleepUntil(e.submittedAt + Math.round(plan.minQueryMs * QUEUED_SHARE), signal)
    e.state = 'RUNNING'
    e.runningAt = Date.now()
    if (plan.faults.delayMs > 0) await sleep(plan.faults.delayMs, undefined, { signal })
    if (plan.faults.hang) await sleep(2 ** 31 - 1, undefined, { signal, ref: false })
    let outcome = plan.faults.fail
      ? failure(plan.faults.fail.category, plan.faults.fail.message)
      : await execute(statement)
    if (signal.aborted) return
    if (outcome.kind === 'succeeded') {
      try {
        await plan.writeResult(outcome.result, signal)
      } catch (err) {
        if (signal.aborted) return
        outcome = failure(1, `Error writing query results to ${e.outputLocation}: ${messageOf(err)}`)
      }
    }
    await sleepUntil(e.submittedAt + plan.minQueryMs, signal)
    e.dataScannedBytes = session?.bytesScanned ?? 0
    e.completedAt = Date.now()
    if (outcome.kind === 'succeeded') {
      e.result = outcome.result
      e.state = 'SUCCEEDED'
    } else {
      e.error = outcome.error
      e.stateChangeReason = outcome.error.message
      e.state = 'FAILED'
    }
    onFinished(e)
  } catch (err) {
    if (signal.aborted) return
    e.error = { category: 1, type: SYSTEM_ERROR_TYPE, message: `Internal error: ${messageOf(err)}` }
    e.stateChangeReason = e.error.message
    e.completedAt = Date.now()
    e.state = 'FAILED'
    onFinished(e)
  } finally {
    signal.removeEventListener('abort', interrupt)
    releaseStatement(statement)
  }
}

/** Frees what a planned statement holds (its DuckDB statement and session); idempotent. */
export function releaseStatement(statement: PlannedStatement): void {
  if (statement.kind !== 'engine') return
  statement.prepared.destroySync()
  statement.session.close()
}

async function execute(statement: PlannedStatement): Promise<Outcome> {
  if (statement.kind === 'answer') return { kind: 'succeeded', result: statement.result }
  if (statement.kind === 'failure') return { kind: 'failed', error: statement.error }
  let raw: EngineResult
  try {
    raw = await statement.session.execute(statement.prepared)
  } catch (err) {
    return { kind: 'failed', error: runtimeFailure(err) }
  }
  if (!sumsFitBigint(raw)) {
    return { kind: 'failed', error: userError('NUMERIC_VALUE_OUT_OF_RANGE', 'bigint addition overflow') }
  }
  return { kind: 'succeeded', result: toStoredResult(raw, statement) }
}

/**
 * DuckDB sums integers into a 128-bit HUGEINT where Trino sums them into a bigint and fails on overflow;
 * such columns are reported as bigint (athena-column-types.ts), so every value must fit one.
 */
function sumsFitBigint(raw: EngineResult): boolean {
  const { reader } = raw
  for (const [column, type] of raw.types.entries()) {
    if (type.typeId !== DuckDBTypeId.HUGEINT) continue
    for (let row = 0; row < reader.currentRowCount; row++) {
      const value = reader.value(column, row)
      if (typeof value === 'bigint' && (value < INT64_MIN || value > INT64_MAX)) return false
    }
  }
  return true
}

// Rows stay in DuckDB's compact columnar chunks and are rendered one page at a time: converting a
// million-row result up front would cost seconds and gigabytes for pages nobody may fetch.
function toStoredResult(raw: EngineResult, plan: EngineStatement): StoredResult {
  const names = plan.headerRow
    ? trinoColumnNames(plan.serializedSql, raw.names)
    : raw.names.map((n) => n.toLowerCase())
  const { reader, types } = raw
  const renderers = types.map(rendererFor)
  return {
    columns: types.map((type, i) => columnInfo(names[i] ?? `_col${i}`, type)),
    rowCount: reader.currentRowCount,
    headerRow: plan.headerRow,
    rows(from, to) {
      const out: (string | null)[][] = []
      for (let row = from; row < Math.min(to, reader.currentRowCount); row++) {
        out.push(renderers.map((render, column) => render(reader.value(column, row))))
      }
      return out
    },
  }
}

function failure(category: 1 | 2, message: string): Outcome {
  return {
    kind: 'failed',
    error: { category, type: category === 1 ? SYSTEM_ERROR_TYPE : USER_ERROR_TYPE, message },
  }
}

async function sleepUntil(deadline: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted()
  // A timer may fire a millisecond before the wall clock reaches its deadline (timers run on the monotonic clock):
  // wait again until it has, so a query never reports less than minQueryMs.
  for (let wait = deadline - Date.now(); wait > 0; wait = deadline - Date.now())
    await sleep(wait, undefined, { signal })
}

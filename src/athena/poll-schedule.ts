/**
 * When to ask Athena for a query's status next. Status calls are rationed (about 100 GetQueryExecution per second
 * per account, shared by every Lambda) and every late poll is latency a dashboard waits, so:
 * - with an expected run time (from the query's history) poll once early as a hedge, then just before and just after
 *   the expected completion, then in small steps; if the query runs far past its expectation, fall back to backoff;
 * - with nothing known, exponential backoff: each interval a fixed fraction of the time already waited (so the
 *   wait overshoots the completion by at most that fraction), between a floor and a cap.
 */
export interface PollPlan {
  /** First poll when nothing is known (Athena rarely finishes sooner). */
  initialDelayMs: number
  /** Longest interval between two polls. */
  maxIntervalMs: number
  /** Shortest interval between two polls. */
  minIntervalMs: number
  /** Interval as a fraction of the time waited so far (backoff growth − 1). */
  growth: number
  /** ± fraction of random spread, so Lambdas that started together do not poll in lock-step. */
  jitter: number
  /** Expected total run time from history, if any. */
  expectedMs?: number
}

export const DEFAULT_POLL_PLAN: Omit<PollPlan, 'expectedMs'> = {
  initialDelayMs: 500,
  maxIntervalMs: 5_000,
  minIntervalMs: 200,
  growth: 0.45,
  jitter: 0.1,
}

/** How long the status call itself takes to come back from Athena, roughly: we aim this much past the estimate. */
const EXPECTED_LEAD_MS = 30

function backoffDelay(elapsedMs: number, attempt: number, plan: PollPlan): number {
  if (attempt === 0) return plan.initialDelayMs
  return Math.min(plan.maxIntervalMs, Math.max(plan.minIntervalMs, elapsedMs * plan.growth))
}

function expectedDelay(
  elapsedMs: number,
  attempt: number,
  expectedMs: number,
  plan: PollPlan,
): number | undefined {
  // Planned looks, as times since the start: a hedge early on (reused results and partition pruning can make a run
  // far faster than the last), one just before the expected completion (runs vary by a few percent), one just after.
  const planned = [
    ...(expectedMs > plan.initialDelayMs * 4 ? [plan.initialDelayMs] : []),
    ...(expectedMs >= 1_000 ? [expectedMs * 0.92] : []),
    expectedMs + EXPECTED_LEAD_MS,
  ]
  const next = planned.find((t) => t > elapsedMs + 1)
  if (next !== undefined) return next - elapsedMs
  if (elapsedMs > expectedMs * 2 + plan.initialDelayMs) return undefined
  // Past the expectation: small steps that grow, starting at 5% of the expected time.
  const overdue = Math.max(0, attempt - planned.length)
  return Math.min(plan.maxIntervalMs, Math.max(100, expectedMs * 0.05) * 1.5 ** overdue)
}

/** Milliseconds to wait before status call number `attempt` (0-based), `elapsedMs` after the query started. */
export function nextPollDelay(
  attempt: number,
  elapsedMs: number,
  plan: PollPlan,
  random: () => number = Math.random,
): number {
  const aimed =
    plan.expectedMs !== undefined && plan.expectedMs > 0
      ? expectedDelay(elapsedMs, attempt, plan.expectedMs, plan)
      : undefined
  if (aimed !== undefined) {
    // Aimed looks get a small, late-only spread: early would miss the completion, wide would defeat the aim.
    return Math.max(1, Math.round(aimed * (1 + Math.min(plan.jitter, 0.02) * random())))
  }
  const spread = 1 + plan.jitter * (2 * random() - 1)
  return Math.max(1, Math.round(backoffDelay(elapsedMs, attempt, plan) * spread))
}

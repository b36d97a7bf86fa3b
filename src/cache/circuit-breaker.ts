import { AcpError } from '../errors.ts'
import { CallDeadline } from './call-deadline.ts'

/**
 * The cache is unusable right now (breaker open, the call failed or did not answer in time). Reads bypass it; what
 * cannot work without it (the execution registry) answers 503.
 */
export class CacheUnavailableError extends AcpError {
  readonly code = 'CACHE_UNAVAILABLE'
}

/** A cache call outlived the call timeout (REDIS_COMMAND_TIMEOUT_MS): the server is stalled or the path to it is. */
export class CacheTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no reply within ${timeoutMs} ms`)
    this.name = 'CacheTimeoutError'
  }
}

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  failureThreshold: number
  /** How long it stays open before one probe call is let through. */
  openMs: number
  /**
   * Longest a call may take from the caller's view (absent: unbounded). A call past it fails and counts as a failure
   * whatever the client library still does with it: a stalled server (SIGSTOP, CLIENT PAUSE, a failover that keeps
   * the socket) must cost a request no more than this.
   */
  callTimeoutMs?: number
  /**
   * Whether an error says the backend is unavailable (default: every error). An error the server itself answered
   * (Redis OOM, READONLY, WRONGTYPE…) does not: the server is reachable and answers quickly, so opening the breaker
   * would only turn hits that still work into engine queries.
   */
  isOutage?: (err: unknown) => boolean
  now?: () => number
  onStateChange?: (state: BreakerState, cause?: unknown) => void
  /** Every failed call (an outage or a server's error reply; not the calls an open breaker refuses). */
  onFailure?: (err: unknown) => void
}

export type BreakerState = 'closed' | 'open' | 'half-open'

type Reject = (err: unknown) => void

/**
 * Failures are counted, and after `failureThreshold` in a row the breaker opens so that requests bypass the cache at
 * once instead of each waiting for a timeout; after `openMs` one probe call is let through and a success closes it
 * again. Hand-written rather than opossum because it sits on the cache-hit path, where opossum's per-call events and
 * rolling statistics cost more than the rest of a hit's bookkeeping together (docs/decisions/005). Calls are bounded
 * by one coarse deadline shared by all of them (call-deadline.ts), not by a timer each.
 */
export class CircuitBreaker {
  private failures = 0
  private openedAt = 0
  private probing = false
  private currentState: BreakerState = 'closed'
  private lastError: string | undefined
  private readonly now: () => number
  private readonly deadline: CallDeadline<Reject> | undefined

  constructor(private readonly options: BreakerOptions) {
    this.now = options.now ?? Date.now
    const timeoutMs = options.callTimeoutMs
    this.deadline =
      timeoutMs !== undefined && timeoutMs > 0
        ? new CallDeadline<Reject>({
            timeoutMs,
            onExpire: (reject) => reject(this.failed(new CacheTimeoutError(timeoutMs))),
          })
        : undefined
  }

  /** Breaker state and the last failure, for /health. */
  status(): { state: BreakerState; lastError: string | undefined } {
    return { state: this.currentState, lastError: this.lastError }
  }

  /** Stops the deadline's interval (calls still in flight are left to settle on their own). */
  close(): void {
    this.deadline?.close()
  }

  private setState(state: BreakerState, cause?: unknown): void {
    if (state === this.currentState) return
    this.currentState = state
    this.options.onStateChange?.(state, cause)
  }

  /** Runs `call` through the breaker; any failure, a call past the deadline or an open breaker is a CacheUnavailableError. */
  run<T>(call: () => Promise<T>): Promise<T> {
    if (this.currentState === 'open') {
      if (this.now() - this.openedAt < this.options.openMs || this.probing) {
        return Promise.reject(
          new CacheUnavailableError(`cache circuit open: ${this.lastError ?? 'recent failures'}`),
        )
      }
      this.probing = true
      this.setState('half-open')
    }
    const deadline = this.deadline
    if (!deadline) return this.unbounded(call)
    // One promise per call, as the async function it replaces had: the deadline adds a list node, not a timer.
    return new Promise<T>((resolve, reject) => {
      const ticket = deadline.enter(reject)
      let pending: Promise<T>
      try {
        pending = call()
      } catch (err) {
        pending = Promise.reject(err)
      }
      pending.then(
        (value) => {
          // Past the deadline the caller has already been answered: a late reply changes nothing.
          if (!deadline.leave(ticket)) return
          this.succeeded()
          resolve(value)
        },
        (err: unknown) => {
          if (deadline.leave(ticket)) reject(this.failed(err))
        },
      )
    })
  }

  private async unbounded<T>(call: () => Promise<T>): Promise<T> {
    let result: T
    try {
      result = await call()
    } catch (err) {
      throw this.failed(err)
    }
    this.succeeded()
    return result
  }

  private succeeded(): void {
    this.failures = 0
    this.probing = false
    this.setState('closed')
  }

  /** Books a failed call and returns what its caller gets. */
  private failed(err: unknown): CacheUnavailableError {
    const message = err instanceof Error ? err.message : String(err)
    this.options.onFailure?.(err)
    if (this.options.isOutage && !this.options.isOutage(err)) {
      // The server answered, with an error: it is reachable, which is all the breaker is about.
      this.succeeded()
      return new CacheUnavailableError(`cache call failed: ${message}`, { cause: err })
    }
    this.lastError = message
    this.probing = false
    if (++this.failures >= this.options.failureThreshold || this.currentState === 'half-open') {
      this.openedAt = this.now()
      this.setState('open', err)
    }
    return new CacheUnavailableError(`cache call failed: ${message}`, { cause: err })
  }
}

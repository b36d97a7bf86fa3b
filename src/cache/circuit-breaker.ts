import { AcpError } from '../errors.ts'

/**
 * The cache is unusable right now (breaker open or the call failed). Reads bypass it; what cannot work without it
 * (the execution registry) answers 503.
 */
export class CacheUnavailableError extends AcpError {
  readonly code = 'CACHE_UNAVAILABLE'
}

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  failureThreshold: number
  /** How long it stays open before one probe call is let through. */
  openMs: number
  now?: () => number
  onStateChange?: (state: BreakerState, cause?: unknown) => void
}

export type BreakerState = 'closed' | 'open' | 'half-open'

/**
 * Failures are counted, and after `failureThreshold` in a row the breaker opens so that requests bypass the cache at
 * once instead of each waiting for a timeout; after `openMs` one probe call is let through and a success closes it
 * again. Hand-written rather than opossum because it sits on the cache-hit path, where opossum's per-call events and
 * rolling statistics cost more than the rest of a hit's bookkeeping together (docs/decisions/005).
 */
export class CircuitBreaker {
  private failures = 0
  private openedAt = 0
  private probing = false
  private currentState: BreakerState = 'closed'
  private lastError: string | undefined
  private readonly now: () => number

  constructor(private readonly options: BreakerOptions) {
    this.now = options.now ?? Date.now
  }

  /** Breaker state and the last failure, for /health. */
  status(): { state: BreakerState; lastError: string | undefined } {
    return { state: this.currentState, lastError: this.lastError }
  }

  private setState(state: BreakerState, cause?: unknown): void {
    if (state === this.currentState) return
    this.currentState = state
    this.options.onStateChange?.(state, cause)
  }

  /** Runs `call` through the breaker; any failure (or an open breaker) is a CacheUnavailableError. */
  async run<T>(call: () => Promise<T>): Promise<T> {
    if (this.currentState === 'open') {
      if (this.now() - this.openedAt < this.options.openMs || this.probing) {
        throw new CacheUnavailableError(`cache circuit open: ${this.lastError ?? 'recent failures'}`)
      }
      this.probing = true
      this.setState('half-open')
    }
    try {
      const result = await call()
      this.failures = 0
      this.probing = false
      this.setState('closed')
      return result
    } catch (err) {
      this.lastError = err instanceof Error ? err.message : String(err)
      this.probing = false
      if (++this.failures >= this.options.failureThreshold || this.currentState === 'half-open') {
        this.openedAt = this.now()
        this.setState('open', err)
      }
      throw new CacheUnavailableError(`cache call failed: ${this.lastError}`)
    }
  }
}

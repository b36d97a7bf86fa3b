import { AcpError } from '../errors.ts'
import type { CacheStore, ScoredMember } from './cache-store.ts'
import type { InvalidationMode } from './generations.ts'

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
 * Every store call goes through here: failures are counted, and after `failureThreshold` in a row the breaker opens
 * so that requests bypass the cache at once instead of each waiting for a timeout; after `openMs` one probe call is
 * let through and a success closes it again. Hand-written rather than opossum because it sits on the cache-hit path,
 * where opossum's per-call events and rolling statistics cost more than the rest of a hit's bookkeeping together.
 */
export class GuardedCacheStore implements CacheStore {
  private failures = 0
  private openedAt = 0
  private probing = false
  private currentState: BreakerState = 'closed'
  private lastError: string | undefined
  private readonly now: () => number

  constructor(
    readonly inner: CacheStore,
    private readonly options: BreakerOptions,
  ) {
    this.now = options.now ?? Date.now
  }

  get kind(): CacheStore['kind'] {
    return this.inner.kind
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

  private async guard<T>(call: () => Promise<T>): Promise<T> {
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

  get(key: string): Promise<Buffer | null> {
    return this.guard(() => this.inner.get(key))
  }
  getMany(keys: readonly string[]): Promise<Array<Buffer | null>> {
    return this.guard(() => this.inner.getMany(keys))
  }
  set(key: string, value: Buffer, ttlMs: number): Promise<void> {
    return this.guard(() => this.inner.set(key, value, ttlMs))
  }
  setIfAbsent(key: string, value: Buffer, ttlMs: number): Promise<boolean> {
    return this.guard(() => this.inner.setIfAbsent(key, value, ttlMs))
  }
  replaceIfEquals(key: string, expected: Buffer, value: Buffer, ttlMs: number): Promise<boolean> {
    return this.guard(() => this.inner.replaceIfEquals(key, expected, value, ttlMs))
  }
  deleteIfEquals(key: string, expected: Buffer): Promise<boolean> {
    return this.guard(() => this.inner.deleteIfEquals(key, expected))
  }
  delete(keys: readonly string[]): Promise<number> {
    return this.guard(() => this.inner.delete(keys))
  }
  getWithFields(
    key: string,
    hashKey: string,
    fields: readonly string[],
  ): Promise<{ value: Buffer | null; fields: Array<string | null> }> {
    return this.guard(() => this.inner.getWithFields(key, hashKey, fields))
  }
  getFields(hashKey: string, fields: readonly string[]): Promise<Array<string | null>> {
    return this.guard(() => this.inner.getFields(hashKey, fields))
  }
  bumpGenerations(hashKeys: readonly string[], mode: InvalidationMode, entryId?: string): Promise<number[]> {
    return this.guard(() => this.inner.bumpGenerations(hashKeys, mode, entryId))
  }
  incrementCounters(hashKey: string, counts: Readonly<Record<string, number>>): Promise<void> {
    return this.guard(() => this.inner.incrementCounters(hashKey, counts))
  }
  getCounters(hashKey: string): Promise<Record<string, number>> {
    return this.guard(() => this.inner.getCounters(hashKey))
  }
  incrementScores(key: string, scores: ReadonlyMap<string, number>, ttlMs: number): Promise<void> {
    return this.guard(() => this.inner.incrementScores(key, scores, ttlMs))
  }
  topScores(keys: readonly string[], count: number): Promise<ScoredMember[]> {
    return this.guard(() => this.inner.topScores(keys, count))
  }
  ping(): Promise<void> {
    return this.guard(() => this.inner.ping())
  }
  close(): Promise<void> {
    return this.inner.close()
  }
}

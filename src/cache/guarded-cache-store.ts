import type { CacheStore } from './cache-store.ts'
import { type BreakerOptions, type BreakerState, CircuitBreaker } from './circuit-breaker.ts'
import type { CounterStore, ScoredMember } from './counter-store.ts'
import type { TimeSpan } from './generations.ts'

export { CacheUnavailableError } from './circuit-breaker.ts'

/**
 * Every call of the read path's store goes through one circuit breaker and its shared deadline (see
 * circuit-breaker.ts): a call fails within the call timeout from its caller's view, whatever the client still does.
 */
export class GuardedCacheStore implements CacheStore {
  readonly breaker: CircuitBreaker

  constructor(
    readonly inner: CacheStore,
    options: BreakerOptions | CircuitBreaker,
  ) {
    this.breaker = options instanceof CircuitBreaker ? options : new CircuitBreaker(options)
    // Pub/sub exists only where the backend offers it.
    const { publish, subscribe } = inner
    if (publish)
      this.publish = (channel, message) => this.breaker.run(() => publish.call(inner, channel, message))
    if (subscribe) this.subscribe = (channel, onMessage) => subscribe.call(inner, channel, onMessage)
  }

  get kind(): CacheStore['kind'] {
    return this.inner.kind
  }

  /** Breaker state and the last failure, for /health. */
  status(): { state: BreakerState; lastError: string | undefined } {
    return this.breaker.status()
  }

  publish?: CacheStore['publish']
  subscribe?: CacheStore['subscribe']

  get(key: string): Promise<Buffer | null> {
    return this.breaker.run(() => this.inner.get(key))
  }
  set(key: string, value: Buffer, ttlMs: number): Promise<void> {
    return this.breaker.run(() => this.inner.set(key, value, ttlMs))
  }
  setIfAbsent(key: string, value: Buffer, ttlMs: number): Promise<boolean> {
    return this.breaker.run(() => this.inner.setIfAbsent(key, value, ttlMs))
  }
  replaceIfEquals(key: string, expected: Buffer, value: Buffer, ttlMs: number): Promise<boolean> {
    return this.breaker.run(() => this.inner.replaceIfEquals(key, expected, value, ttlMs))
  }
  deleteIfEquals(key: string, expected: Buffer): Promise<boolean> {
    return this.breaker.run(() => this.inner.deleteIfEquals(key, expected))
  }
  delete(keys: readonly string[]): Promise<number> {
    return this.breaker.run(() => this.inner.delete(keys))
  }
  getWithStamps(
    key: string,
    hashKey: string,
    fields: readonly string[],
  ): Promise<{ value: Buffer | null; stamps: Array<string | null> }> {
    return this.breaker.run(() => this.inner.getWithStamps(key, hashKey, fields))
  }
  getStamps(hashKey: string, fields: readonly string[]): Promise<Array<string | null>> {
    return this.breaker.run(() => this.inner.getStamps(hashKey, fields))
  }
  writeStamp(
    hashKeys: readonly string[],
    field: string,
    dropPrefixes: readonly string[],
    span?: TimeSpan,
  ): Promise<number[]> {
    return this.breaker.run(() => this.inner.writeStamp(hashKeys, field, dropPrefixes, span))
  }
  ping(): Promise<void> {
    return this.breaker.run(() => this.inner.ping())
  }
  close(): Promise<void> {
    this.breaker.close()
    return this.inner.close()
  }
}

/** The counter store behind the same breaker as the cache (one backend, one view of its health). */
export class GuardedCounterStore implements CounterStore {
  constructor(
    private readonly inner: CounterStore,
    private readonly breaker: CircuitBreaker,
  ) {}

  incrementCounters(
    hashKey: string,
    counts: Readonly<Record<string, number>>,
    ttlMs?: number,
  ): Promise<void> {
    return this.breaker.run(() => this.inner.incrementCounters(hashKey, counts, ttlMs))
  }
  getCounters(hashKey: string): Promise<Record<string, number>> {
    return this.breaker.run(() => this.inner.getCounters(hashKey))
  }
  incrementScores(
    key: string,
    scores: ReadonlyMap<string, number>,
    options: { ttlMs: number; keepTop: number },
  ): Promise<void> {
    return this.breaker.run(() => this.inner.incrementScores(key, scores, options))
  }
  topScores(keys: readonly string[], count: number): Promise<ScoredMember[]> {
    return this.breaker.run(() => this.inner.topScores(keys, count))
  }
  pushRecent(key: string, item: string, keep: number): Promise<void> {
    return this.breaker.run(() => this.inner.pushRecent(key, item, keep))
  }
  recent(key: string, count: number): Promise<string[]> {
    return this.breaker.run(() => this.inner.recent(key, count))
  }
  addToSet(key: string, members: readonly string[], ttlMs: number): Promise<number> {
    return this.breaker.run(() => this.inner.addToSet(key, members, ttlMs))
  }
  takeSet(key: string): Promise<string[]> {
    return this.breaker.run(() => this.inner.takeSet(key))
  }
  raiseCounters(hashKey: string, values: Readonly<Record<string, number>>): Promise<Record<string, number>> {
    return this.breaker.run(() => this.inner.raiseCounters(hashKey, values))
  }
}

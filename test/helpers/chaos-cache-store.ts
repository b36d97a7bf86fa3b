import type { CacheStore } from '../../src/cache/cache-store.ts'
import type { InvalidationMode } from '../../src/cache/generations.ts'

/**
 * Wraps a real store and fails or stalls its calls on demand: the cache-side twin of the local Athena endpoint's
 * fault injection, for breaker and degradation tests.
 */
export class ChaosCacheStore implements CacheStore {
  failing = false
  delayMs = 0
  calls = 0

  constructor(private readonly inner: CacheStore) {}

  get kind(): CacheStore['kind'] {
    return this.inner.kind
  }

  private async chaos<T>(call: () => Promise<T>): Promise<T> {
    this.calls++
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs))
    if (this.failing) throw new Error('chaos: cache unavailable')
    return call()
  }

  get(key: string) {
    return this.chaos(() => this.inner.get(key))
  }
  getMany(keys: readonly string[]) {
    return this.chaos(() => this.inner.getMany(keys))
  }
  set(key: string, value: Buffer, ttlMs: number) {
    return this.chaos(() => this.inner.set(key, value, ttlMs))
  }
  setIfAbsent(key: string, value: Buffer, ttlMs: number) {
    return this.chaos(() => this.inner.setIfAbsent(key, value, ttlMs))
  }
  replaceIfEquals(key: string, expected: Buffer, value: Buffer, ttlMs: number) {
    return this.chaos(() => this.inner.replaceIfEquals(key, expected, value, ttlMs))
  }
  deleteIfEquals(key: string, expected: Buffer) {
    return this.chaos(() => this.inner.deleteIfEquals(key, expected))
  }
  delete(keys: readonly string[]) {
    return this.chaos(() => this.inner.delete(keys))
  }
  getWithFields(key: string, hashKey: string, fields: readonly string[]) {
    return this.chaos(() => this.inner.getWithFields(key, hashKey, fields))
  }
  getFields(hashKey: string, fields: readonly string[]) {
    return this.chaos(() => this.inner.getFields(hashKey, fields))
  }
  bumpGenerations(hashKeys: readonly string[], mode: InvalidationMode, entryId?: string) {
    return this.chaos(() => this.inner.bumpGenerations(hashKeys, mode, entryId))
  }
  incrementCounters(hashKey: string, counts: Readonly<Record<string, number>>) {
    return this.chaos(() => this.inner.incrementCounters(hashKey, counts))
  }
  getCounters(hashKey: string) {
    return this.chaos(() => this.inner.getCounters(hashKey))
  }
  incrementScores(key: string, scores: ReadonlyMap<string, number>, ttlMs: number) {
    return this.chaos(() => this.inner.incrementScores(key, scores, ttlMs))
  }
  topScores(keys: readonly string[], count: number) {
    return this.chaos(() => this.inner.topScores(keys, count))
  }
  ping() {
    return this.chaos(() => this.inner.ping())
  }
  close() {
    return this.inner.close()
  }
}

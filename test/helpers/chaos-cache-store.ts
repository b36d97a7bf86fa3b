import type { CacheStore } from '../../src/cache/cache-store.ts'
import type { TimeSpan } from '../../src/cache/generations.ts'

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
  getWithStamps(key: string, hashKey: string, fields: readonly string[]) {
    return this.chaos(() => this.inner.getWithStamps(key, hashKey, fields))
  }
  getStamps(hashKey: string, fields: readonly string[]) {
    return this.chaos(() => this.inner.getStamps(hashKey, fields))
  }
  writeStamp(hashKeys: readonly string[], field: string, dropPrefixes: readonly string[], span?: TimeSpan) {
    return this.chaos(() => this.inner.writeStamp(hashKeys, field, dropPrefixes, span))
  }
  ping() {
    return this.chaos(() => this.inner.ping())
  }
  close() {
    return this.inner.close()
  }
}

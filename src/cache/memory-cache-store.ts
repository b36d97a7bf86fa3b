import { LRUCache } from 'lru-cache'
import type { CacheStore } from './cache-store.ts'

/** In-process CacheStore bounded by bytes with LRU eviction: the default when no Redis is configured. */
export class MemoryCacheStore implements CacheStore {
  readonly kind = 'memory'
  private readonly lru: LRUCache<string, Buffer>

  constructor(options: { maxBytes: number; now?: () => number }) {
    this.lru = new LRUCache<string, Buffer>({
      maxSize: options.maxBytes,
      // Key bytes count too: many small entries must not exceed the bound through their keys.
      sizeCalculation: (value, key) => value.length + key.length,
      ttlAutopurge: false,
      allowStale: false,
      ...(options.now ? { perf: { now: options.now } } : {}),
    })
  }

  async get(key: string): Promise<Buffer | null> {
    return this.lru.get(key) ?? null
  }

  async getMany(keys: readonly string[]): Promise<Array<Buffer | null>> {
    return keys.map((k) => this.lru.get(k) ?? null)
  }

  async set(key: string, value: Buffer, ttlMs: number): Promise<void> {
    this.lru.set(key, value, { ttl: Math.max(1, Math.ceil(ttlMs)) })
  }

  async setIfAbsent(key: string, value: Buffer, ttlMs: number): Promise<boolean> {
    if (this.lru.has(key)) return false
    await this.set(key, value, ttlMs)
    return true
  }

  async replaceIfEquals(key: string, expected: Buffer, value: Buffer, ttlMs: number): Promise<boolean> {
    const current = this.lru.get(key)
    if (!current?.equals(expected)) return false
    await this.set(key, value, ttlMs)
    return true
  }

  async deleteIfEquals(key: string, expected: Buffer): Promise<boolean> {
    const current = this.lru.get(key)
    return current?.equals(expected) ? this.lru.delete(key) : false
  }

  async delete(keys: readonly string[]): Promise<number> {
    let n = 0
    for (const key of keys) if (this.lru.delete(key)) n++
    return n
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.lru.clear()
  }

  /** Bytes currently held (values plus keys). */
  get sizeBytes(): number {
    return this.lru.calculatedSize
  }
}

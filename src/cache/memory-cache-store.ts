import { LRUCache } from 'lru-cache'
import type { CacheStore } from './cache-store.ts'
import { appendRangeRecord, formatRangeRecords, parseRangeRecords, type TimeSpan } from './generations.ts'

/** In-process CacheStore bounded by bytes with LRU eviction: the default when no Redis is configured. */
export class MemoryCacheStore implements CacheStore {
  readonly kind = 'memory'
  private readonly lru: LRUCache<string, Buffer>
  // Stamp hashes are small bookkeeping that lives outside the LRU, so that result entries can never evict an
  // invalidation stamp. They grow only with catalog queries and single-entry invalidations (see generations.ts).
  private readonly hashes = new Map<string, Map<string, string>>()
  private readonly now: () => number

  constructor(options: { maxBytes: number; now?: () => number }) {
    this.now = options.now ?? Date.now
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

  async getWithStamps(
    key: string,
    hashKey: string,
    fields: readonly string[],
  ): Promise<{ value: Buffer | null; stamps: Array<string | null> }> {
    return { value: this.lru.get(key) ?? null, stamps: await this.getStamps(hashKey, fields) }
  }

  async getStamps(hashKey: string, fields: readonly string[]): Promise<Array<string | null>> {
    const hash = this.hashes.get(hashKey)
    return fields.map((f) => hash?.get(f) ?? null)
  }

  async writeStamp(
    hashKeys: readonly string[],
    field: string,
    dropPrefixes: readonly string[],
    span?: TimeSpan,
  ): Promise<number[]> {
    const now = this.now()
    return hashKeys.map((key) => {
      const hash = this.hashes.get(key) ?? new Map<string, string>()
      this.hashes.set(key, hash)
      const stamp = Math.max(now, Number(hash.get('s') ?? 0) + 1)
      for (const f of [...hash.keys()]) if (dropPrefixes.some((p) => f.startsWith(p))) hash.delete(f)
      if (span) {
        const existing = parseRangeRecords(hash.get(field))
        hash.set(
          field,
          formatRangeRecords(appendRangeRecord(Array.isArray(existing) ? existing : [], { ...span, stamp })),
        )
      } else hash.set(field, String(stamp))
      hash.set('s', String(stamp))
      return stamp
    })
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.lru.clear()
    this.hashes.clear()
  }

  /** Bytes currently held (values plus keys). */
  get sizeBytes(): number {
    return this.lru.calculatedSize
  }
}

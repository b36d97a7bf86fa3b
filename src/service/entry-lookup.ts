import { LRUCache } from 'lru-cache'
import type { Logger } from 'pino'
import type { CacheKeys } from '../cache/cache-key.ts'
import type { CacheStore } from '../cache/cache-store.ts'
import { DamageReport } from '../cache/damage-report.ts'
import { type DecodedEntry, decodeEntry } from '../cache/entry-codec.ts'
import {
  type Generations,
  NO_GENERATIONS,
  parseGenerations,
  parseRangeRecords,
  parseStamp,
  validityOf,
} from '../cache/generations.ts'
import { CacheUnavailableError } from '../cache/guarded-cache-store.ts'
import type { ResolvedQuery } from './read-result.ts'

/** An entry looked up with what the invalidations since its computation make of it. */
export interface Lookup {
  entry: DecodedEntry | null
  /** The store failed: the read bypasses the cache. */
  unusable: boolean
  /** The newest invalidation stamp seen: a computation started now records it. */
  known: number
}

/** An L1 entry: the entry as validated against the stamps read with it. */
interface L1Entry {
  entry: DecodedEntry
  known: number
}

/**
 * An entry as the invalidations since its computation leave it: null when deleted, already stale when expired (its
 * fresh period ends where it began), unchanged otherwise.
 */
export function applyGenerations(entry: DecodedEntry, generations: Generations): DecodedEntry | null {
  switch (validityOf(entry.known, generations)) {
    case 'deleted':
      return null
    case 'expired':
      return { ...entry, freshUntil: Math.min(entry.freshUntil, entry.computedAt) }
    case 'valid':
      return entry
  }
}

/** More than an entry header's worth of other bytes in a body's buffer: a shared socket read. */
const OWN_BUFFER_SLACK_BYTES = 1024

/**
 * The entry with a body buffer of its own. A body decoded from a Redis reply is a view into the socket read it
 * arrived in (up to 64 KiB, shared with other replies): kept, it holds that whole read alive (an L1 entry would pin
 * more than the bytes its bound counts), and writing such views to client sockets measured several µs of CPU per hit
 * more than writing a copy (bench/run.ts, 2 KB gzip hits). Copying the gzip bytes costs well under a µs.
 */
function withOwnBody(entry: DecodedEntry): DecodedEntry {
  const body = entry.gzipBody
  // A large reply arrives in a buffer of its own (its entry's header is all the rest): nothing to free, and copying
  // a 10 MB body on every hit cost a third of such a hit.
  if (body.buffer.byteLength - body.length <= OWN_BUFFER_SLACK_BYTES) return entry
  const own = Buffer.allocUnsafeSlow(body.length)
  body.copy(own)
  return { ...entry, gzipBody: own }
}

export interface EntryLookupOptions {
  store: CacheStore
  keys: CacheKeys
  logger: Logger
  /** The in-process tier in front of the store: entry lifetime and byte bound (absent or 0 = off). */
  l1?: { ttlMs: number; maxBytes: number } | undefined
  now?: (() => number) | undefined
}

/**
 * Finds a read's entry: the in-process L1 tier first, then the store together with the entry's invalidation stamps
 * (one round trip). An entry deleted by a later invalidation is absent; one expired by it is returned already stale.
 */
export class EntryLookup {
  private readonly l1: LRUCache<string, L1Entry> | undefined
  private readonly damage: DamageReport

  constructor(private readonly o: EntryLookupOptions) {
    this.damage = new DamageReport(o.logger)
    const l1 = o.l1
    if (l1 && l1.ttlMs > 0 && l1.maxBytes > 0) {
      this.l1 = new LRUCache<string, L1Entry>({
        maxSize: l1.maxBytes,
        sizeCalculation: (e) => e.entry.gzipBody.length + 256,
        ttl: l1.ttlMs,
        ttlResolution: 0,
        ...(o.now ? { perf: { now: o.now } } : {}),
      })
    }
  }

  /** The entry this process holds in L1 for `key`, if any. No I/O. */
  peekL1(key: string): DecodedEntry | undefined {
    return this.l1?.get(key)?.entry
  }

  /** Remembers an entry validated against stamps up to `known` (a no-op without L1). */
  remember(key: string, entry: DecodedEntry, known: number): void {
    if (!this.l1) return
    this.l1.set(key, { entry: withOwnBody(entry), known })
  }

  /** Drops the in-process tier (an invalidation happened here or was announced by another process). */
  dropL1(): void {
    this.l1?.clear()
  }

  /** L1, then the store with the entry's stamps. A store failure is `unusable`, never an error. */
  async lookup(resolved: ResolvedQuery, options: { skipL1?: boolean } = {}): Promise<Lookup> {
    const { key } = resolved
    const cached = options.skipL1 ? undefined : this.l1?.get(key)
    if (cached) return { entry: cached.entry, unusable: false, known: cached.known }
    let stored: { value: Buffer | null; stamps: Array<string | null> }
    try {
      stored = await this.o.store.getWithStamps(key, resolved.stamps.hashKey, resolved.stamps.fields)
    } catch (err) {
      if (!(err instanceof CacheUnavailableError)) throw err
      return { entry: null, unusable: true, known: 0 }
    }
    this.repairStamps(resolved, stored.stamps)
    const generations = parseGenerations(stored.stamps, resolved.stamps.range)
    const known = generations.latest
    if (!stored.value) return { entry: null, unusable: false, known }
    let decoded: DecodedEntry
    try {
      decoded = decodeEntry(stored.value)
    } catch (err) {
      // A damaged entry is a miss whose computation replaces it. Deleted only while it still holds these bytes
      // (compare-and-delete), so a good entry written meanwhile stays; that also frees the key for a computation
      // that may only store where nothing is (one invalidated while it ran).
      this.damage.report('entry', key, err instanceof Error ? err.message : String(err))
      this.o.store.deleteIfEquals(key, stored.value).catch(() => {})
      return { entry: null, unusable: false, known }
    }
    const entry = applyGenerations(withOwnBody(decoded), generations)
    if (entry) this.remember(key, entry, known)
    return { entry, unusable: false, known }
  }

  /**
   * Forgets an entry found damaged after it was decoded (its body does not inflate to its ETag): out of L1 and out of
   * the store, so the next read computes it again instead of failing on it until it expires. Never throws.
   */
  async discard(key: string, reason: string): Promise<void> {
    this.l1?.delete(key)
    this.damage.report('entry', key, reason)
    await this.o.store.delete([key]).catch(() => 0)
  }

  /**
   * A stamp field holding anything but a stamp is ignored (parseGenerations) and re-stamped once: its lost value was
   * an invalidation at an unknown time, and a stamp of now is the only repair that never lets an entry computed
   * before that invalidation read as valid after it.
   */
  private repairStamps(resolved: ResolvedQuery, stamps: ReadonlyArray<string | null>): void {
    const { hashKey, fields, range } = resolved.stamps
    for (const [i, field] of fields.entries()) {
      const value = stamps[i]
      const garbage =
        range && i >= range.recordsFrom
          ? parseRangeRecords(value) === 'garbage'
          : parseStamp(value) === 'garbage'
      if (!garbage) continue
      if (!this.damage.report('stamp', `${hashKey} ${field}`, 'not a stamp')) continue
      this.o.store.writeStamp([hashKey], field, []).catch(() => {})
    }
  }

  /** The current invalidation stamps of a read's entry (none when the store cannot tell). */
  async generations(resolved: ResolvedQuery): Promise<Generations> {
    try {
      const stamps = await this.o.store.getStamps(resolved.stamps.hashKey, resolved.stamps.fields)
      return parseGenerations(stamps, resolved.stamps.range)
    } catch {
      return NO_GENERATIONS
    }
  }
}

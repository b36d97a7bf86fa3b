/** Freshness of an entry at a moment. */
export type Freshness = 'fresh' | 'stale' | 'expired'

/**
 * What to do with a lookup result:
 * - `serve`: fresh entry, answer from cache.
 * - `serve-stale-and-refresh`: past its TTL but inside the stale window; answer now, refresh once.
 * - `compute`: absent, expired or unusable; run the query.
 */
export type CacheAction =
  | { kind: 'serve'; ttlRemainingMs: number }
  | { kind: 'serve-stale-and-refresh'; staleForMs: number }
  | { kind: 'compute'; reason: 'absent' | 'expired' | 'bypass' }

export interface CachePolicy {
  /** Serve stale entries while one refresh runs (stale-while-revalidate). */
  serveStale: boolean
  /** The client asked us to skip the cache (e.g. an operator's `Cache-Control: no-cache`). */
  bypass?: boolean
}

export interface EntryTimes {
  freshUntil: number
  staleUntil: number
}

/** Freshness of an entry at `now` (ms). */
export function freshnessAt(entry: EntryTimes, now: number): Freshness {
  if (now < entry.freshUntil) return 'fresh'
  if (now < entry.staleUntil) return 'stale'
  return 'expired'
}

/** The cache decision as a pure function of the entry, the time and the policy. */
export function decideCacheAction(entry: EntryTimes | null, now: number, policy: CachePolicy): CacheAction {
  if (policy.bypass) return { kind: 'compute', reason: 'bypass' }
  if (!entry) return { kind: 'compute', reason: 'absent' }
  switch (freshnessAt(entry, now)) {
    case 'fresh':
      return { kind: 'serve', ttlRemainingMs: entry.freshUntil - now }
    case 'stale':
      return policy.serveStale
        ? { kind: 'serve-stale-and-refresh', staleForMs: now - entry.freshUntil }
        : { kind: 'compute', reason: 'expired' }
    case 'expired':
      return { kind: 'compute', reason: 'expired' }
  }
}

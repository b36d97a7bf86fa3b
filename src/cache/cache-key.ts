import { createHash } from 'node:crypto'

/**
 * Bump when the entry format or key derivation changes, so old entries are simply never read again: during a rolling
 * deploy, processes of two versions then keep to their own keys instead of replacing each other's entries.
 */
export const KEY_VERSION = 'v3'

/** Everything that determines a result. Two requests share a cache entry exactly when these are equal. */
export interface QueryIdentity {
  query: string
  sqlHash: string
  database: string
  workgroup: string
  params: Readonly<Record<string, string | number>>
  /** The caller's tenant (tenants.yaml), when it has one: tenants never share an entry. */
  tenant?: string
}

/** Deterministic JSON with sorted keys at every level: key order in the input never changes the key. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  const obj = value as Record<string, unknown>
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort()
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`
}

/** SHA-256 (base64url) of the canonical identity. */
export function identityHash(identity: QueryIdentity): string {
  return createHash('sha256')
    .update(
      canonicalJson({
        q: identity.query,
        s: identity.sqlHash,
        d: identity.database,
        w: identity.workgroup,
        p: identity.params,
        // Only present for a tenant's read: untenanted identities (and their keys) are as they always were.
        ...(identity.tenant !== undefined ? { t: identity.tenant } : {}),
      }),
    )
    .digest('base64url')
}

/** Builds the Redis keys of one deployment: every key starts with `<prefix>:<version>:`. */
export class CacheKeys {
  readonly root: string

  constructor(prefix: string) {
    this.root = `${prefix}:${KEY_VERSION}:`
  }

  /** The key of a result entry. */
  entry(identity: QueryIdentity): string {
    return `${this.root}e:${identityHash(identity)}`
  }

  /** The id of an entry within its key space (the hash part of its key), as generation fields name it. */
  entryId(entryKey: string): string {
    return entryKey.slice(this.root.length + 2)
  }

  /**
   * Invalidation stamps of one catalog query (see generations.ts). Every generation hash carries the hash tag `{g}`:
   * an invalidation spanning several queries is one atomic script, which Redis Cluster only runs within one slot.
   */
  generations(query: string): string {
    return `${this.root}{g}:${query}`
  }

  /** Read counts of one time bucket (popularity); one hash tag so a window's buckets can be unioned on Cluster. */
  popularity(bucket: number): string {
    return `${this.root}{p}:${bucket}`
  }

  /** Counters shared by every process (hits, misses, executions, bytes). */
  get stats(): string {
    return `${this.root}stats`
  }

  /** Per-minute read figures of every process (the operator page's charts), kept for a day. */
  series(minute: number): string {
    return `${this.root}series:${minute}`
  }

  /** The lock that keeps prewarm runs one at a time. */
  get prewarmLock(): string {
    return `${this.root}prewarm:lock`
  }

  /** The last prewarm report. */
  get prewarmLast(): string {
    return `${this.root}prewarm:last`
  }

  /** The most recent invalidations (a list capped at a hundred), newest first, for `/admin/invalidations`. */
  get invalidationLog(): string {
    return `${this.root}invalidation-log`
  }

  /** The debounce window of landed data for one table: held by the process that will invalidate the burst. */
  landingWindow(table: string): string {
    return `${this.root}landing:window:${table}`
  }

  /** The spans of landed data of one table not invalidated yet (a set of `start,end` members). */
  landingPending(table: string): string {
    return `${this.root}landing:pending:${table}`
  }

  /** The end of the newest partition that landed in one table (a hash; it only moves forward). */
  landed(table: string): string {
    return `${this.root}landed:${table}`
  }

  /** What `/health` writes (with a short TTL) to tell a cache that refuses writes (OOM) from a healthy one. */
  get healthProbe(): string {
    return `${this.root}health`
  }

  /** Pub/sub channel announcing invalidations, so every process drops its in-process tier at once. */
  get invalidationChannel(): string {
    return `${this.root}invalidations`
  }

  /**
   * The entry of a result in another body format (CSV, NDJSON), rendered from the same execution as the JSON entry
   * `entryKey` and stamped like it (invalidations reach both through the JSON entry's stamp fields).
   */
  variant(entryKey: string, format: string): string {
    return `${this.root}f:${format}:${entryKey.slice(this.root.length + 2)}`
  }

  /** The lease of one entry's computation. */
  lease(entryKey: string): string {
    return `${this.root}l:${entryKey.slice(this.root.length + 2)}`
  }

  /** An execution this service started, with the query identity it computes (for /executions/{id}). */
  execution(queryExecutionId: string): string {
    return `${this.root}x:${queryExecutionId}`
  }

  /** Run-time history of one entry (survives the entry itself, so a re-computation polls well). */
  runtimeOfKey(entryKey: string): string {
    return `${this.root}rt:k:${entryKey.slice(this.root.length + 2)}`
  }

  /** Run-time history of a catalog query across all its parameter sets. */
  runtimeOfQuery(query: string): string {
    return `${this.root}rt:q:${query}`
  }
}

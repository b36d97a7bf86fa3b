import { LRUCache } from 'lru-cache'
import { type CacheKeys, canonicalJson, type QueryIdentity } from '../cache/cache-key.ts'
import { generationFields } from '../cache/generations.ts'
import type { Catalog } from '../config/catalog.ts'
import { UnknownQueryError } from '../errors.ts'
import { parseParameters, type RawParams } from './parameters.ts'
import type { ResolvedQuery } from './read-result.ts'
import { popularityMember } from './usage.ts'

/** Resolutions remembered per exact query string. */
const MEMO_ENTRIES = 10_000

/** A query string as repeated-value lists, the shape Hono's `c.req.queries()` gives. */
export function parseSearch(search: string): RawParams {
  const out: Record<string, string[]> = {}
  for (const [k, v] of new URLSearchParams(search)) {
    const values = out[k] ?? []
    values.push(v)
    out[k] = values
  }
  return out
}

/**
 * Turns a request (query name + raw parameters) into a validated read: its canonical parameters, its identity
 * (query, SQL hash, database, workgroup, parameters) and the cache key derived from it.
 */
export class RequestResolver {
  // Dashboards repeat the same URLs. Resolution is a pure function of the query name and the query string (the
  // catalog is immutable while running), so successful resolutions are memoised: a hit skips validation and hashing.
  private readonly memo = new LRUCache<string, ResolvedQuery>({ max: MEMO_ENTRIES })

  constructor(
    private readonly o: { catalog: Catalog; keys: CacheKeys; database: string; workgroup: string },
  ) {}

  /** Validates the request and derives its cache key; throws UnknownQueryError / ValidationError. */
  resolve(name: string, raw: RawParams): ResolvedQuery {
    const def = this.o.catalog.queries.get(name)
    if (!def) throw new UnknownQueryError(name)
    const params = parseParameters(def, raw)
    const identity: QueryIdentity = {
      query: def.name,
      sqlHash: def.sqlHash,
      database: def.database ?? this.o.database,
      workgroup: def.workgroup ?? this.o.workgroup,
      params,
    }
    const key = this.o.keys.entry(identity)
    return {
      def,
      params,
      identity,
      key,
      member: popularityMember(def.name, canonicalJson(params)),
      // Derived once here (and memoised with the resolution), not on every lookup.
      stamps: {
        hashKey: this.o.keys.generations(def.name),
        fields: generationFields(this.o.keys.entryId(key)),
      },
    }
  }

  /**
   * `resolve` memoised on the exact query string of the request; `raw` is only evaluated on a memo miss.
   * Errors are not memoised (bad input is rare and must be reported in full every time).
   */
  resolveRequest(name: string, search: string, raw: () => RawParams): ResolvedQuery {
    const memoKey = `${name}?${search}`
    let resolved = this.memo.get(memoKey)
    if (!resolved) {
      resolved = this.resolve(name, raw())
      this.memo.set(memoKey, resolved)
    }
    return resolved
  }

  /** `resolveRequest` on a raw query string, or undefined for invalid input (the full path then reports it). */
  tryResolve(name: string, search: string): ResolvedQuery | undefined {
    try {
      return this.resolveRequest(name, search, () => parseSearch(search))
    } catch {
      return undefined
    }
  }
}

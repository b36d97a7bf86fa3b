/**
 * Invalidation by generation stamps, so that invalidating a whole query (or every query) costs the same whether it
 * has ten entries or a million: nothing is scanned or deleted.
 *
 * Each catalog query has one small hash holding invalidation stamps (Redis-clock milliseconds, strictly increasing
 * per hash): `e` / `d` for "every entry of the query expired / deleted at", `te:<tenant>` / `td:<tenant>` for every
 * entry of one tenant, and `e:<entry>` / `d:<entry>` for single entries. A read fetches the entry and its relevant
 * fields (four, six for a tenant's entry) in one round trip. Every computation records the
 * newest stamp it saw before starting (`known`); its entry is deleted when a delete stamp is newer than that, and
 * stale when an expire stamp is. So a result computed from data older than an invalidation can never be served as
 * fresh after it, even when the computation finishes after the invalidation.
 */

/** Stamps of one entry's query and of the entry itself, as read with the entry. */
export interface Generations {
  /** Newest expire stamp for this entry (query-wide or its own); 0 when none. */
  expiredAt: number
  /** Newest delete stamp for this entry; 0 when none. */
  deletedAt: number
  /** The newest of both: what a computation starting now records as `known`. */
  latest: number
}

export type InvalidationMode = 'expire' | 'delete'

export type EntryValidity = 'valid' | 'expired' | 'deleted'

export const NO_GENERATIONS: Generations = { expiredAt: 0, deletedAt: 0, latest: 0 }

/**
 * The hash fields read with an entry, in expire/delete pairs: query-wide stamps first, then the entry's own, then
 * its tenant's (an entry read by a tenant is that tenant's alone: its identity holds the tenant).
 */
export function generationFields(entryId: string, tenant?: string): string[] {
  const fields = ['e', 'd', `e:${entryId}`, `d:${entryId}`]
  if (tenant !== undefined) fields.push(`te:${tenant}`, `td:${tenant}`)
  return fields
}

/** What the store writes as a stamp: a non-negative integer of milliseconds (`string.format('%d')` in the script). */
const STAMP = /^\d{1,16}$/

/** One stamp field's value: a stamp, absent (null), or `garbage` (anything the store never writes). */
export function parseStamp(value: string | null | undefined): number | null | 'garbage' {
  if (value === null || value === undefined) return null
  return STAMP.test(value) ? Number(value) : 'garbage'
}

/**
 * Stamps from the values of `generationFields`. Missing fields are 0, and so are values that are not stamps: a
 * garbage field must not turn into NaN or Infinity (every entry deleted, `known` unencodable); entry-lookup.ts
 * repairs it.
 */
export function parseGenerations(values: ReadonlyArray<string | null | undefined>): Generations {
  let expiredAt = 0
  let deletedAt = 0
  for (const [i, value] of values.entries()) {
    const v = parseStamp(value)
    if (typeof v !== 'number') continue
    if (i % 2 === 0) expiredAt = Math.max(expiredAt, v)
    else deletedAt = Math.max(deletedAt, v)
  }
  return { expiredAt, deletedAt, latest: Math.max(expiredAt, deletedAt) }
}

/** What the invalidations since a computation started mean for its entry. */
export function validityOf(known: number, generations: Generations): EntryValidity {
  if (generations.deletedAt > known) return 'deleted'
  if (generations.expiredAt > known) return 'expired'
  return 'valid'
}

/** Which stamp-hash field an invalidation writes, and which fields the stamp supersedes. */
export interface StampWrite {
  field: string
  dropPrefixes: string[]
}

/**
 * The one place that says what an invalidation writes (the stores only write stamps): a single entry gets its own
 * field, a tenant's entries their tenant's; a query-wide stamp supersedes the per-entry and per-tenant fields it
 * covers, which are dropped so that the hash only grows with single-entry invalidations between query-wide ones
 * (a query-wide delete covers both kinds, an expire only the expires: a delete newer than it still hides what it
 * names). A tenant's stamp drops nothing: which entry fields are that tenant's cannot be told from their names, and
 * its own field is one per tenant.
 */
export function stampWrite(
  mode: InvalidationMode,
  target: { entryId?: string; tenant?: string } = {},
): StampWrite {
  const field = mode === 'delete' ? 'd' : 'e'
  if (target.entryId) return { field: `${field}:${target.entryId}`, dropPrefixes: [] }
  if (target.tenant) return { field: `t${field}:${target.tenant}`, dropPrefixes: [] }
  return { field, dropPrefixes: mode === 'delete' ? ['e:', 'd:', 'te:', 'td:'] : ['e:', 'te:'] }
}

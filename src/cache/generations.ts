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
 *
 * Range invalidations (new data for some days) are records rather than single stamps: `re` / `rd` (and `tre:<tenant>` /
 * `trd:<tenant>`) hold `start,end,stamp` records separated by `;`, the last RANGE_RECORDS of them. An entry whose
 * query declares a time range reads these two (four) fields too, and a record counts for it only when its
 * half-open span overlaps the entry's: the other entries stay fresh. Still nothing is scanned: a hit reads two more
 * fields whatever the number of entries, and an invalidation appends one record whatever the number of entries.
 * When a field holds RANGE_RECORDS records, its two oldest are merged into one spanning both with the newer stamp:
 * an entry is then invalidated by a wider span than it was, never by a narrower one.
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

/** Range records kept per field; the oldest two are merged beyond it. */
export const RANGE_RECORDS = 64

/** A half-open span of time in epoch milliseconds: [startMs, endMs). */
export interface TimeSpan {
  startMs: number
  endMs: number
}

/** One range invalidation: the span whose data changed, and when. */
export interface RangeRecord extends TimeSpan {
  stamp: number
}

/** An entry's time span and where its range-record fields start in its stamp fields (see generationFields). */
export interface StampRange extends TimeSpan {
  recordsFrom: number
}

/** The span a plain stamp in a record field stands for: all of time (a repaired field invalidates everything). */
const ALL_TIME: TimeSpan = { startMs: 0, endMs: 253_402_300_800_000 }
const RECORDS = /^\d{1,16},\d{1,16},\d{1,16}(;\d{1,16},\d{1,16},\d{1,16})*$/

/** A record field's value: its records, absent (null), or `garbage`. A plain stamp is one record over all time. */
export function parseRangeRecords(value: string | null | undefined): RangeRecord[] | null | 'garbage' {
  if (value === null || value === undefined) return null
  if (STAMP.test(value)) return [{ ...ALL_TIME, stamp: Number(value) }]
  if (!RECORDS.test(value)) return 'garbage'
  return value.split(';').map((r) => {
    const [startMs, endMs, stamp] = r.split(',').map(Number) as [number, number, number]
    return { startMs, endMs, stamp }
  })
}

/** Whether two half-open spans share a moment. */
export function overlaps(a: TimeSpan, b: TimeSpan): boolean {
  return a.startMs < b.endMs && b.startMs < a.endMs
}

/** The record list after appending `record`, the oldest merged while there are more than `max` (what the stores write). */
export function appendRangeRecord(
  existing: RangeRecord[],
  record: RangeRecord,
  max = RANGE_RECORDS,
): RangeRecord[] {
  const out = [...existing, record]
  while (out.length > max) {
    const [a, b] = out as [RangeRecord, RangeRecord]
    out.splice(0, 2, {
      startMs: Math.min(a.startMs, b.startMs),
      endMs: Math.max(a.endMs, b.endMs),
      stamp: Math.max(a.stamp, b.stamp),
    })
  }
  return out
}

/** Records as a field value. */
export function formatRangeRecords(records: readonly RangeRecord[]): string {
  return records.map((r) => `${r.startMs},${r.endMs},${r.stamp}`).join(';')
}

/**
 * The hash fields read with an entry, in expire/delete pairs: query-wide stamps first, then the entry's own, then
 * its tenant's (an entry read by a tenant is that tenant's alone: its identity holds the tenant).
 */
export function generationFields(entryId: string, tenant?: string, ranged = false): string[] {
  const fields = ['e', 'd', `e:${entryId}`, `d:${entryId}`]
  if (tenant !== undefined) fields.push(`te:${tenant}`, `td:${tenant}`)
  if (ranged) {
    fields.push('re', 'rd')
    if (tenant !== undefined) fields.push(`tre:${tenant}`, `trd:${tenant}`)
  }
  return fields
}

/** Where an entry's range-record fields start among generationFields(…, ranged = true). */
export function rangeFieldsFrom(tenant?: string): number {
  return tenant === undefined ? 4 : 6
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
 * repairs it. With `range`, the fields from `range.recordsFrom` on are range records: a record counts for this entry
 * only if its span overlaps the entry's, but every record's stamp counts towards `latest` (a computation starting now
 * has seen them all).
 */
export function parseGenerations(
  values: ReadonlyArray<string | null | undefined>,
  range?: StampRange,
): Generations {
  let expiredAt = 0
  let deletedAt = 0
  let latest = 0
  for (const [i, value] of values.entries()) {
    const expire = i % 2 === 0
    if (range && i >= range.recordsFrom) {
      const records = parseRangeRecords(value)
      if (!Array.isArray(records)) continue
      for (const r of records) {
        latest = Math.max(latest, r.stamp)
        if (!overlaps(r, range)) continue
        if (expire) expiredAt = Math.max(expiredAt, r.stamp)
        else deletedAt = Math.max(deletedAt, r.stamp)
      }
      continue
    }
    const v = parseStamp(value)
    if (typeof v !== 'number') continue
    latest = Math.max(latest, v)
    if (expire) expiredAt = Math.max(expiredAt, v)
    else deletedAt = Math.max(deletedAt, v)
  }
  return { expiredAt, deletedAt, latest }
}

/**
 * What changed for an entry computed from stamps up to `known`: `whole` when a stamp newer than it covers the whole
 * entry (a query-, tenant- or entry-wide one), else the spans of the newer range records that overlap the entry,
 * clipped to it (empty: nothing changed). Incremental refresh recomputes those spans alone.
 */
export function changedSince(
  values: ReadonlyArray<string | null | undefined>,
  range: StampRange,
  known: number,
): { whole: boolean; spans: TimeSpan[] } {
  const spans: TimeSpan[] = []
  for (const [i, value] of values.entries()) {
    if (i >= range.recordsFrom) {
      const records = parseRangeRecords(value)
      if (records === 'garbage') return { whole: true, spans: [] }
      for (const r of records ?? [])
        if (r.stamp > known && overlaps(r, range))
          spans.push({ startMs: Math.max(r.startMs, range.startMs), endMs: Math.min(r.endMs, range.endMs) })
      continue
    }
    const v = parseStamp(value)
    if (v === 'garbage' || (typeof v === 'number' && v > known)) return { whole: true, spans: [] }
  }
  return { whole: false, spans }
}

/** What the invalidations since a computation started mean for its entry. */
export function validityOf(known: number, generations: Generations): EntryValidity {
  if (generations.deletedAt > known) return 'deleted'
  if (generations.expiredAt > known) return 'expired'
  return 'valid'
}

/** Which stamp-hash field an invalidation writes, which fields the stamp supersedes, and the span of a range record. */
export interface StampWrite {
  field: string
  dropPrefixes: string[]
  /** A range invalidation: the field holds records, and this one is appended. */
  span?: TimeSpan
}

/**
 * The one place that says what an invalidation writes (the stores only write stamps): a single entry gets its own
 * field, a tenant's entries their tenant's, a span of time a record in the range field (the tenant's or the
 * query's); a query-wide stamp supersedes the per-entry, per-tenant and range fields it covers, which are dropped so
 * that the hash only grows with single-entry invalidations between query-wide ones (a query-wide delete covers both
 * kinds, an expire only the expires: a delete newer than it still hides what it names). A tenant's stamp drops
 * nothing: which entry fields are that tenant's cannot be told from their names, and its own field is one per tenant.
 */
export function stampWrite(
  mode: InvalidationMode,
  target: { entryId?: string; tenant?: string; span?: TimeSpan } = {},
): StampWrite {
  const field = mode === 'delete' ? 'd' : 'e'
  if (target.entryId) return { field: `${field}:${target.entryId}`, dropPrefixes: [] }
  if (target.span)
    return {
      field: target.tenant ? `tr${field}:${target.tenant}` : `r${field}`,
      dropPrefixes: [],
      span: target.span,
    }
  if (target.tenant) return { field: `t${field}:${target.tenant}`, dropPrefixes: [] }
  return {
    field,
    dropPrefixes:
      mode === 'delete'
        ? ['e:', 'd:', 'te:', 'td:', 're', 'rd', 'tre:', 'trd:']
        : ['e:', 'te:', 're', 'tre:'],
  }
}

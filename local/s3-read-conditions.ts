/** What a GetObject `Range` header asks for, against an object of a known size. */
export type ByteRange =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' }

const SINGLE_RANGE = /^bytes=(\d*)-(\d*)$/

/**
 * Interprets `Range` as S3 does: one `bytes=a-b`, `bytes=a-` or `bytes=-n` range (end inclusive, clipped to the
 * object); a start beyond the object, or a zero-length suffix, is unsatisfiable (416). A header S3 would not
 * honour (several ranges, other units, malformed) is ignored and the whole object is served.
 */
export function parseByteRange(header: string | undefined, size: number): ByteRange {
  if (header === undefined) return { kind: 'full' }
  const match = SINGLE_RANGE.exec(header.trim())
  const first = match?.[1] ?? ''
  const last = match?.[2] ?? ''
  if (!match || (first === '' && last === '')) return { kind: 'full' }
  if (first === '') {
    const suffix = Number(last)
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' }
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(first)
  // `bytes=9-3` is syntactically invalid: ignored, as S3 ignores it.
  if (last !== '' && Number(last) < start) return { kind: 'full' }
  if (start >= size) return { kind: 'unsatisfiable' }
  return { kind: 'partial', start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) }
}

/** What the conditional request headers decide for an object with this ETag and modification time. */
export type Precondition = 'proceed' | 'not-modified' | { failed: 'If-Match' | 'If-Unmodified-Since' }

/** The conditional headers of GetObject/HeadObject, evaluated in RFC 9110's order as S3 does. */
export interface ConditionalHeaders {
  ifMatch?: string | undefined
  ifNoneMatch?: string | undefined
  ifModifiedSince?: string | undefined
  ifUnmodifiedSince?: string | undefined
}

/** Decides a conditional GET/HEAD: 412 when If-Match / If-Unmodified-Since fail, 304 when unchanged. */
export function evaluatePreconditions(
  headers: ConditionalHeaders,
  etag: string,
  lastModifiedMs: number,
): Precondition {
  // HTTP dates have whole seconds: compare at that precision.
  const modifiedSeconds = Math.floor(lastModifiedMs / 1000)
  if (headers.ifMatch !== undefined) {
    if (!etagListMatches(headers.ifMatch, etag)) return { failed: 'If-Match' }
  } else if (headers.ifUnmodifiedSince !== undefined) {
    const since = httpDateSeconds(headers.ifUnmodifiedSince)
    if (since !== undefined && modifiedSeconds > since) return { failed: 'If-Unmodified-Since' }
  }
  if (headers.ifNoneMatch !== undefined) {
    if (etagListMatches(headers.ifNoneMatch, etag)) return 'not-modified'
  } else if (headers.ifModifiedSince !== undefined) {
    const since = httpDateSeconds(headers.ifModifiedSince)
    if (since !== undefined && modifiedSeconds <= since) return 'not-modified'
  }
  return 'proceed'
}

function etagListMatches(list: string, etag: string): boolean {
  return list.split(',').some((candidate) => {
    const tag = candidate.trim().replace(/^W\//, '')
    return tag === '*' || tag === etag || `"${tag}"` === etag
  })
}

function httpDateSeconds(value: string): number | undefined {
  const ms = Date.parse(value)
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000)
}

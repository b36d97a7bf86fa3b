/** An object as ListObjectsV2 reports it. */
export interface ListedObject {
  key: string
  size: number
  mtimeMs: number
  /** Quoted, as S3 sends it. */
  etag: string
}

/** The ListObjectsV2 request parameters that select the page. */
export interface ListQuery {
  prefix: string
  delimiter: string | undefined
  /** 0 … 1000. */
  maxKeys: number
  startAfter: string | undefined
  continuationToken: string | undefined
}

/** One page of a listing. */
export interface ListPage {
  contents: ListedObject[]
  commonPrefixes: string[]
  isTruncated: boolean
  nextContinuationToken: string | undefined
}

/** A continuation token that does not decode to a position (S3 answers InvalidArgument). */
export class InvalidContinuationTokenError extends Error {
  override readonly name = 'InvalidContinuationTokenError'
}

type Position = { kind: 'key' | 'prefix'; value: string }

/** Orders keys as S3 does: by their UTF-8 bytes (not by UTF-16 code units, as `<` on strings would). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
}

/**
 * Selects one ListObjectsV2 page from every object of a bucket (in any order): keys under `prefix`, after
 * `start-after` or the continuation token's position, rolled up into CommonPrefixes at the first `delimiter`
 * after the prefix. Keys and common prefixes both count against `maxKeys`, as on S3.
 */
export function paginateListing(objects: readonly ListedObject[], query: ListQuery): ListPage {
  const after: Position | undefined =
    query.continuationToken !== undefined
      ? decodeContinuationToken(query.continuationToken)
      : query.startAfter !== undefined && query.startAfter !== ''
        ? { kind: 'key', value: query.startAfter }
        : undefined
  const candidates = objects
    .filter((o) => o.key.startsWith(query.prefix) && isAfter(o.key, after))
    .map((o) => ({ o, bytes: Buffer.from(o.key) }))
    .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
    .map(({ o }) => o)

  const page: ListPage = {
    contents: [],
    commonPrefixes: [],
    isTruncated: false,
    nextContinuationToken: undefined,
  }
  let last: Position | undefined
  let count = 0
  for (const o of candidates) {
    const rolledUp = commonPrefixOf(o.key, query.prefix, query.delimiter)
    if (rolledUp !== undefined && last?.kind === 'prefix' && last.value === rolledUp) continue
    if (count === query.maxKeys) {
      // A client looping on IsTruncated needs a token to make progress, and max-keys=0 gives none.
      page.isTruncated = last !== undefined
      break
    }
    if (rolledUp !== undefined) {
      page.commonPrefixes.push(rolledUp)
      last = { kind: 'prefix', value: rolledUp }
    } else {
      page.contents.push(o)
      last = { kind: 'key', value: o.key }
    }
    count++
  }
  if (page.isTruncated && last !== undefined) page.nextContinuationToken = encodeContinuationToken(last)
  return page
}

function commonPrefixOf(key: string, prefix: string, delimiter: string | undefined): string | undefined {
  if (delimiter === undefined || delimiter === '') return undefined
  const at = key.indexOf(delimiter, prefix.length)
  return at < 0 ? undefined : key.slice(0, at + delimiter.length)
}

function isAfter(key: string, after: Position | undefined): boolean {
  if (after === undefined) return true
  // Keys under a common prefix already returned were rolled up into it.
  if (after.kind === 'prefix' && key.startsWith(after.value)) return false
  return compareKeys(key, after.value) > 0
}

// Opaque to clients, as S3's tokens are; it only has to carry where the previous page stopped.
function encodeContinuationToken(position: Position): string {
  return Buffer.from(`${position.kind === 'key' ? 'k' : 'p'}:${position.value}`).toString('base64url')
}

function decodeContinuationToken(token: string): Position {
  const text = /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, 'base64url').toString() : ''
  if (text.startsWith('k:')) return { kind: 'key', value: text.slice(2) }
  if (text.startsWith('p:')) return { kind: 'prefix', value: text.slice(2) }
  throw new InvalidContinuationTokenError('The continuation token provided is incorrect')
}

import { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import type { Context } from 'hono'
import type { DecodedEntry } from '../cache/entry-codec.ts'
import { plainBody } from '../cache/entry-codec.ts'
import type { PlainBodies } from '../cache/plain-bodies.ts'
import type { PendingResult, ReadResult } from '../service/query-service.ts'
import { cachedErrorOf } from '../service/result-writer.ts'
import { API_KEY_HEADER } from './api-key-auth.ts'
import type { CorsHeadersWithoutOrigin } from './cors.ts'
import { contentDisposition, FORMAT_MEDIA_TYPES } from './formats.ts'
import { problemResponse, toProblem } from './problem.ts'

const CACHE_STATUS_NAME = 'athena-cache-proxy'

/** True when the client accepts gzip (and has not refused it with q=0). */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false
  // Fast path for what browsers send ("gzip, deflate, br, zstd"): no parameters to look at.
  if (!header.includes(';')) return header.includes('gzip') || header.includes('*')
  for (const part of header.split(',')) {
    const [coding, ...params] = part.trim().toLowerCase().split(';')
    if (coding !== 'gzip' && coding !== '*') continue
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='))
    return q === undefined || Number(q.slice(2)) > 0
  }
  return false
}

/** RFC 9110 If-None-Match (weak comparison): `*` or any listed tag equal to ours. */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false
  if (ifNoneMatch.trim() === '*') return true
  return ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)
}

function cacheStatus(read: ReadResult, ttlSeconds: number): string {
  switch (read.outcome) {
    case 'HIT':
    case 'STALE':
      // RFC 9211 §2.1: `hit` and `fwd` are exclusive, and a stale answer from the cache is a hit whose ttl (§2.7,
      // remaining freshness in seconds) is negative. The refresh that runs meanwhile is not this response's story.
      return `${CACHE_STATUS_NAME}; hit; ttl=${ttlSeconds}`
    case 'MISS':
      return `${CACHE_STATUS_NAME}; fwd=miss; stored`
    case 'BYPASS':
      return `${CACHE_STATUS_NAME}; fwd=bypass`
  }
}

/** The parts of a result's caching headers that are the same for every response of a deployment; built once. */
export interface ResultHeaderPolicy {
  /** `private, max-age=` when reads need a key, `public, max-age=` when they are open. */
  readonly cacheControlPrefix: string
  readonly vary: string
  /** Headers sent as they are on every result (the Node fast path's copy of what the CORS middleware adds). */
  readonly fixed: Readonly<Record<string, string>> | undefined
  /** The plain body of an entry, for clients that do not accept gzip: whole when small, else inflated as sent. */
  readonly plain: (entry: DecodedEntry) => Buffer | Readable
}

/**
 * Bodies up to this size are inflated whole (and remembered by ETag, plain-bodies.ts); larger ones are inflated as
 * they are sent, so a download for a client without gzip never holds its plain body in memory. gzip's own CRC-32
 * then checks the bytes, at the end of the stream.
 */
export const INFLATE_WHOLE_MAX_BYTES = 1024 * 1024

/** A large entry's plain body, inflated as it is read. */
function inflating(entry: DecodedEntry): Readable {
  const gunzip = createGunzip()
  gunzip.end(entry.gzipBody)
  return gunzip
}

/**
 * The constant caching headers of a deployment. With keys, `private` (RFC 9111 §5.2.2.7) keeps shared caches (CDNs,
 * proxies) from storing one caller's answer — the key travels in a header of our own, not Authorization, so §3.5
 * would not stop them — and `Vary` on the key header (§4.1) keeps a browser's own cache from answering a request
 * with another key, or none, from a response it stored for this key: that request reaches us and gets its 401/403.
 * `cors` is for the Node fast path only, which answers without the CORS middleware (see corsHeadersWithoutOrigin);
 * on the Hono path the middleware adds its headers and its `Vary: Origin` itself.
 */
export function resultHeaderPolicy(options: {
  keyed: boolean
  cors?: CorsHeadersWithoutOrigin | undefined
  /** Inflated bodies remembered by ETag; without it every such hit inflates. */
  plainBodies?: PlainBodies | undefined
}): ResultHeaderPolicy {
  const { plainBodies } = options
  // Accept picks the body format (formats.ts): a JSON answer must not be reused for a CSV request.
  const vary = ['Accept', 'Accept-Encoding']
  if (options.keyed) vary.push(API_KEY_HEADER)
  if (options.cors?.varyOrigin) vary.push('Origin')
  return {
    cacheControlPrefix: options.keyed ? 'private, max-age=' : 'public, max-age=',
    vary: vary.join(', '),
    fixed: options.cors?.headers,
    plain: (entry) =>
      entry.plainLength > INFLATE_WHOLE_MAX_BYTES
        ? inflating(entry)
        : plainBodies
          ? plainBodies.of(entry)
          : plainBody(entry),
  }
}

/** Status, headers and body of a result, independent of any framework (the Hono route and the Node fast path). */
export interface PreparedResult {
  status: 200 | 304
  headers: Record<string, string>
  /** The bytes, or a stream of them (a large plain body); null for a 304. Content-Length is set either way. */
  body: Uint8Array | Readable | null
}

/**
 * Prepares a precomputed entry for the wire: the stored gzip bytes as they are when the client accepts gzip, else
 * inflated JSON. Nothing here parses or re-serializes rows.
 *
 * Freshness follows RFC 9111 §4.2: a client computes the remaining freshness as `max-age − Age`, so `max-age` is
 * the entry's whole lifetime (freshUntil − computedAt; 0 for an entry an invalidation expired) and `Age` the time
 * since it was computed. RFC 5861 windows count from the end of freshness: `stale-while-revalidate` is
 * staleUntil − freshUntil.
 */
export function prepareResult(
  read: ReadResult,
  now: number,
  request: { ifNoneMatch: string | undefined; acceptEncoding: string | undefined },
  policy: ResultHeaderPolicy,
): PreparedResult {
  const { entry, def } = read
  const maxAge = Math.max(0, Math.floor((entry.freshUntil - entry.computedAt) / 1000))
  const staleWindow = Math.max(0, Math.floor((entry.staleUntil - entry.freshUntil) / 1000))
  let age = 0
  // A miss or bypass was computed for this very request: Age 0.
  if (read.outcome === 'HIT' || read.outcome === 'STALE') {
    age = now > entry.computedAt ? Math.floor((now - entry.computedAt) / 1000) : 0
    // §4.2: a response is fresh while max-age > Age. Rounding down could make an answer served stale (up to a
    // second past freshUntil) read as exactly max-age; say stale unambiguously.
    if (now >= entry.freshUntil && age <= maxAge) age = maxAge + 1
  }
  const headers: Record<string, string> = {
    'Content-Type': FORMAT_MEDIA_TYPES[read.format],
    'X-Cache': read.outcome,
    'Cache-Status': cacheStatus(read, maxAge - age),
    ETag: entry.etag,
    'Cache-Control': `${policy.cacheControlPrefix}${maxAge}, stale-while-revalidate=${staleWindow}, stale-if-error=${def.staleIfErrorSeconds}`,
    Age: String(age),
    Vary: policy.vary,
    'Server-Timing':
      read.timings.engineMs === undefined
        ? `cache;dur=${read.timings.cacheMs.toFixed(2)}`
        : `cache;dur=${read.timings.cacheMs.toFixed(2)}, engine;dur=${read.timings.engineMs.toFixed(0)}`,
  }
  if (policy.fixed) Object.assign(headers, policy.fixed)
  const disposition = contentDisposition(read.format, read.query)
  if (disposition) headers['Content-Disposition'] = disposition
  // RFC 9110 §15.4.5: a 304 carries the Cache-Control, ETag and Vary the 200 would have (and Age, Cache-Status, …
  // so a revalidated copy's freshness is updated as the 200's would be, RFC 9111 §4.3.4).
  if (etagMatches(request.ifNoneMatch, entry.etag)) {
    delete headers['Content-Type']
    return { status: 304, headers, body: null }
  }
  if (acceptsGzip(request.acceptEncoding)) {
    headers['Content-Encoding'] = 'gzip'
    headers['Content-Length'] = String(entry.gzipBody.length)
    return { status: 200, headers, body: entry.gzipBody }
  }
  headers['Content-Length'] = String(entry.plainLength)
  return { status: 200, headers, body: policy.plain(entry) }
}

/** Writes a precomputed entry as a Hono response (cached user errors as problem documents). */
export function resultResponse(
  c: Context,
  read: ReadResult,
  now: number,
  policy: ResultHeaderPolicy,
): Response {
  if (read.entry.kind === 'error') return cachedErrorResponse(c, read)
  const prepared = prepareResult(
    read,
    now,
    { ifNoneMatch: c.req.header('if-none-match'), acceptEncoding: c.req.header('accept-encoding') },
    policy,
  )
  // A Response with a plain header object rather than c.body(): on Node, @hono/node-server then writes status,
  // headers and bytes straight to the socket without building a Headers instance (a measurable share of a hit).
  // Buffers from ioredis and zlib are backed by plain ArrayBuffers; the cast only narrows ArrayBufferLike.
  const body =
    prepared.body instanceof Readable
      ? // Node's web streams and the fetch types' ReadableStream are the same object, typed apart.
        (Readable.toWeb(prepared.body) as unknown as ReadableStream<Uint8Array<ArrayBuffer>>)
      : (prepared.body as Uint8Array<ArrayBuffer> | null)
  return new Response(body, {
    status: prepared.status,
    headers: prepared.headers,
  })
}

/**
 * A cached error (a user error, 422, or a result over the limits, 413), served as a HIT: the error the computation
 * threw, mapped as it was then, so the status and problem document are those of the first answer.
 */
function cachedErrorResponse(c: Context, read: ReadResult): Response {
  const { problem: p, headers } = toProblem(cachedErrorOf(read.entry))
  return problemResponse(
    c,
    { ...p, instance: c.req.path },
    { ...headers, 'X-Cache': read.outcome, 'Cache-Status': cacheStatus(read, 0) },
  )
}

/** 202 Accepted for a query still running: where to poll, and when. */
export function pendingResponse(c: Context, pending: PendingResult): Response {
  const statusUrl = `/executions/${pending.executionId}`
  return c.body(JSON.stringify({ executionId: pending.executionId, state: pending.state, statusUrl }), 202, {
    'Content-Type': 'application/json; charset=utf-8',
    Location: statusUrl,
    'Retry-After': '1',
    'Cache-Control': 'no-store',
  })
}

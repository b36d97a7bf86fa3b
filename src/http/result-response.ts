import type { Context } from 'hono'
import type { DecodedEntry } from '../cache/entry-codec.ts'
import { EntryDecodeError, plainBody } from '../cache/entry-codec.ts'
import type { PlainBodies } from '../cache/plain-bodies.ts'
import type { PendingResult, ReadResult } from '../service/query-service.ts'
import { API_KEY_HEADER } from './api-key-auth.ts'
import type { CorsHeadersWithoutOrigin } from './cors.ts'
import { problem, problemResponse } from './problem.ts'

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
  /** The plain JSON body of an entry, for clients that do not accept gzip. */
  readonly plain: (entry: DecodedEntry) => Buffer
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
  const vary = ['Accept-Encoding']
  if (options.keyed) vary.push(API_KEY_HEADER)
  if (options.cors?.varyOrigin) vary.push('Origin')
  return {
    cacheControlPrefix: options.keyed ? 'private, max-age=' : 'public, max-age=',
    vary: vary.join(', '),
    fixed: options.cors?.headers,
    plain: plainBodies ? (entry) => plainBodies.of(entry) : plainBody,
  }
}

/** Status, headers and body of a result, independent of any framework (the Hono route and the Node fast path). */
export interface PreparedResult {
  status: 200 | 304
  headers: Record<string, string>
  body: Uint8Array | null
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
    'Content-Type': 'application/json; charset=utf-8',
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
  // RFC 9110 §15.4.5: a 304 carries the Cache-Control, ETag and Vary the 200 would have (and Age, Cache-Status, …
  // so a revalidated copy's freshness is updated as the 200's would be, RFC 9111 §4.3.4).
  if (etagMatches(request.ifNoneMatch, entry.etag)) {
    delete headers['Content-Type']
    return { status: 304, headers, body: null }
  }
  if (acceptsGzip(request.acceptEncoding)) {
    headers['Content-Encoding'] = 'gzip'
    return { status: 200, headers, body: entry.gzipBody }
  }
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
  return new Response(prepared.body as Uint8Array<ArrayBuffer> | null, {
    status: prepared.status,
    headers: prepared.headers,
  })
}

/** A cached user error: the problem document stored when the engine rejected the query (422), served as a HIT. */
function cachedErrorResponse(c: Context, read: ReadResult): Response {
  let parsed: unknown
  try {
    parsed = JSON.parse(plainBody(read.entry).toString('utf8'))
  } catch (err) {
    if (err instanceof EntryDecodeError) throw err
    parsed = undefined
  }
  // A damaged entry like any other: the request guard answers 500 and discards it (request-guard.ts).
  if (typeof parsed !== 'object' || parsed === null)
    throw new EntryDecodeError('cached error is not a document')
  const stored = parsed as { detail?: unknown; queryExecutionId?: unknown }
  return problemResponse(
    c,
    {
      ...problem(
        422,
        'query-rejected',
        'The query engine rejected the query',
        typeof stored.detail === 'string' ? stored.detail : 'Query failed',
        {
          ...(typeof stored.queryExecutionId === 'string'
            ? { queryExecutionId: stored.queryExecutionId }
            : {}),
        },
      ),
      instance: c.req.path,
    },
    { 'X-Cache': read.outcome, 'Cache-Status': cacheStatus(read, 0) },
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

import type { Context } from 'hono'
import { plainBody } from '../cache/entry-codec.ts'
import type { PendingResult, ReadResult } from '../service/query-service.ts'
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
      return `${CACHE_STATUS_NAME}; hit; ttl=${ttlSeconds}`
    case 'STALE':
      return `${CACHE_STATUS_NAME}; hit; fwd=stale; ttl=${ttlSeconds}`
    case 'MISS':
      return `${CACHE_STATUS_NAME}; fwd=miss; stored`
    case 'BYPASS':
      return `${CACHE_STATUS_NAME}; fwd=bypass`
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
 */
export function prepareResult(
  read: ReadResult,
  now: number,
  request: { ifNoneMatch: string | undefined; acceptEncoding: string | undefined },
): PreparedResult {
  const { entry, def } = read
  const ttlSeconds = Math.max(0, Math.floor((entry.freshUntil - now) / 1000))
  const headers: Record<string, string> = {
    'Content-Type': 'application/json; charset=utf-8',
    'X-Cache': read.outcome,
    'Cache-Status': cacheStatus(read, ttlSeconds),
    ETag: entry.etag,
    'Cache-Control': `max-age=${ttlSeconds}, stale-while-revalidate=${def.staleSeconds}, stale-if-error=${def.staleIfErrorSeconds}`,
    Age: String(Math.max(0, Math.floor((now - entry.computedAt) / 1000))),
    Vary: 'Accept-Encoding',
    'Server-Timing':
      read.timings.engineMs === undefined
        ? `cache;dur=${read.timings.cacheMs.toFixed(2)}`
        : `cache;dur=${read.timings.cacheMs.toFixed(2)}, engine;dur=${read.timings.engineMs.toFixed(0)}`,
  }
  if (etagMatches(request.ifNoneMatch, entry.etag)) {
    delete headers['Content-Type']
    return { status: 304, headers, body: null }
  }
  if (acceptsGzip(request.acceptEncoding)) {
    headers['Content-Encoding'] = 'gzip'
    return { status: 200, headers, body: entry.gzipBody }
  }
  return { status: 200, headers, body: plainBody(entry) }
}

/** Writes a precomputed entry as a Hono response (cached user errors as problem documents). */
export function resultResponse(c: Context, read: ReadResult, now: number): Response {
  if (read.entry.kind === 'error') return cachedErrorResponse(c, read)
  const prepared = prepareResult(read, now, {
    ifNoneMatch: c.req.header('if-none-match'),
    acceptEncoding: c.req.header('accept-encoding'),
  })
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
  const stored = JSON.parse(plainBody(read.entry).toString('utf8')) as {
    detail?: string
    queryExecutionId?: string
  }
  return problemResponse(
    c,
    {
      ...problem(
        422,
        'query-rejected',
        'The query engine rejected the query',
        stored.detail ?? 'Query failed',
        {
          ...(stored.queryExecutionId ? { queryExecutionId: stored.queryExecutionId } : {}),
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

import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { requestGuardOf } from '../app.ts'
import type { Deps } from '../build-deps.ts'
import { EntryDecodeError } from '../cache/entry-codec.ts'
import { errorMessage } from '../errors.ts'
import { API_KEY_HEADER, KeyRing } from '../http/api-key-auth.ts'
import { corsHeadersWithoutOrigin } from '../http/cors.ts'
import { formatParameterOf, negotiateFormat } from '../http/formats.ts'
import { recordResponse } from '../http/read-metrics.ts'
import type { NodeListener } from '../http/request-guard.ts'
import { prepareResult, resultHeaderPolicy } from '../http/result-response.ts'
import { matchQueryRoute } from '../http/routes.ts'
import type { ReadResult } from '../service/query-service.ts'
import type { ResultFormat } from '../service/result-body.ts'

/** An error of zlib's (its codes are `Z_…`). */
export function isZlibError(err: unknown): boolean {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('Z_')
}

/**
 * Node server only: answers a GET for a query whose result is fresh in the cache (the in-process L1 tier, else
 * Redis) straight from node:http, before the request is turned into a fetch Request and routed. Everything else —
 * misses, stale entries, bad input, failed keys, other routes — goes to the Hono app unchanged, so behaviour is the
 * same on both paths (same headers from `prepareResult`, same access-log line); only the per-request framework work
 * is skipped on cache hits. A miss pays one extra cache lookup before the full path, which is nothing beside Athena.
 *
 * Guarded like the app (request-guard.ts): whatever fails here, synchronously (an L1 hit) or later (a store hit), is
 * a 500 problem+json for that request, never an exception that escapes the listener and ends the process.
 */
export function fastHitListener(
  deps: Deps,
  fallback: NodeListener,
): (req: IncomingMessage, res: ServerResponse) => void {
  const guard = requestGuardOf(deps)
  // The same route table and key check as the Hono app: whatever this path does not answer, the app does, alike.
  const readKeys = new KeyRing(deps.apiKeys, deps.tenants)
  const now = deps.now ?? Date.now
  // The app's caching headers, plus what its CORS middleware would add: requests answered here carry no Origin.
  const resultHeaders = resultHeaderPolicy({
    keyed: !readKeys.empty,
    cors: deps.corsOrigin ? corsHeadersWithoutOrigin(deps.corsOrigin) : undefined,
    plainBodies: deps.plainBodies,
  })
  const listener: NodeListener = (req, res) => {
    const url = req.url ?? '/'
    if (req.method !== 'GET') return fallback(req, res)
    // Cross-origin reads take the full path, where the CORS middleware answers for the origin.
    if (deps.corsOrigin && req.headers.origin !== undefined) return fallback(req, res)
    const q = url.indexOf('?')
    const path = q < 0 ? url : url.slice(0, q)
    const name = matchQueryRoute(path)
    if (name === undefined) return fallback(req, res)
    const key = req.headers[API_KEY_HEADER]
    const match = readKeys.identify(typeof key === 'string' ? key : undefined)
    if (match.verdict !== 'ok') return fallback(req, res)
    const t0 = performance.now()
    const respond = (read: ReadResult): void => {
      let prepared: ReturnType<typeof prepareResult>
      try {
        const ifNoneMatch = req.headers['if-none-match']
        prepared = prepareResult(
          read,
          now(),
          {
            ifNoneMatch: Array.isArray(ifNoneMatch) ? ifNoneMatch.join(',') : ifNoneMatch,
            acceptEncoding: req.headers['accept-encoding'],
          },
          resultHeaders,
        )
        res.writeHead(prepared.status, prepared.headers)
      } catch (err) {
        // With the result at hand: a damaged entry is discarded as well as answered.
        guard.failNode(req, res, err, read)
        return
      }
      const { body } = prepared
      const logged = () => {
        const ms = performance.now() - t0
        if (deps.telemetry) recordResponse(deps.telemetry, prepared.status, ms, read)
        deps.accessLog?.record('GET', path, prepared.status, ms, read)
      }
      if (body instanceof Readable) {
        // A large plain body, inflated as the socket takes it; a failure mid-way (a damaged entry) ends the response
        // short of its Content-Length, which every client reports as an error.
        pipeline(body, res).then(logged, (err: unknown) => {
          // zlib's errors mean the stored body is damaged (the entry is discarded); others, a client that left.
          if (isZlibError(err))
            guard.failNode(
              req,
              res,
              new EntryDecodeError(`entry body does not inflate: ${errorMessage(err)}`),
              read,
            )
          else res.destroy()
        })
        return
      }
      res.end(body)
      logged()
    }
    const search = q < 0 ? '' : url.slice(q + 1)
    const json = deps.service.tryResolve(name, search, match.tenant)
    if (!json) return fallback(req, res)
    let format: ResultFormat
    try {
      format = negotiateFormat(formatParameterOf(search), req.headers.accept)
    } catch {
      return fallback(req, res)
    }
    const resolved = deps.service.inFormat(json, format)
    const hot = deps.service.peekL1(resolved)
    if (hot) return respond(hot)
    // Returned, so that the guard also sees what fails after the lookup (in `respond` or in the fallback).
    return deps.service.peek(resolved).then(
      (read) => (read ? respond(read) : fallback(req, res)),
      () => fallback(req, res),
    )
  }
  return guard.node(listener)
}

import type { MiddlewareHandler } from 'hono'
import { cors } from 'hono/cors'

/** The request headers a browser may send (the seed's CORS OPTIONS mock allows the same). */
const CORS_ALLOW_HEADERS = [
  'Content-Type',
  'X-Amz-Date',
  'Authorization',
  'X-Api-Key',
  'X-Amz-Security-Token',
  'X-Amz-User-Agent',
  'X-Amzn-Trace-Id',
  'If-None-Match',
  'Prefer',
]

/** Response headers a page's script may read beyond the CORS-safelisted ones (Cache-Control, Content-Type, …). */
const CORS_EXPOSE_HEADERS = [
  'ETag',
  'X-Cache',
  'Cache-Status',
  'Server-Timing',
  'Age',
  'Location',
  'Retry-After',
]

/** CORS_ORIGIN as the middleware takes it: `*` (any origin) or the list of allowed origins. */
export function allowedOrigins(corsOrigin: string): '*' | readonly string[] {
  const origins = corsOrigin.split(',').map((o) => o.trim())
  return origins.includes('*') ? '*' : origins
}

/**
 * CORS (hono/cors) plus `Timing-Allow-Origin` for the same origins. Without TAO a cross-origin page's Resource
 * Timing entries hide `serverTiming` and report zero transfer and body sizes (W3C Resource Timing, "timing allow
 * check"), which is what a dashboard needs to see whether the cache answered.
 */
export function corsMiddleware(corsOrigin: string): MiddlewareHandler[] {
  const origins = allowedOrigins(corsOrigin)
  return [
    cors({
      origin: origins === '*' ? '*' : [...origins],
      allowMethods: ['GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS'],
      allowHeaders: CORS_ALLOW_HEADERS,
      exposeHeaders: CORS_EXPOSE_HEADERS,
      maxAge: 600,
    }),
    timingAllowOrigin(origins),
  ]
}

/**
 * Sets `Timing-Allow-Origin` before the route runs, as hono/cors sets its headers: Hono merges headers set on
 * `c.res` into whatever response the route, `notFound` or `onError` then makes, so errors carry it too. A listed
 * origin is echoed (hono/cors adds `Vary: Origin` for lists); `*` is sent to everyone.
 */
function timingAllowOrigin(origins: '*' | readonly string[]): MiddlewareHandler {
  if (origins === '*')
    return (c, next) => {
      c.res.headers.set('Timing-Allow-Origin', '*')
      return next()
    }
  return (c, next) => {
    const origin = c.req.header('origin')
    if (origin !== undefined && origins.includes(origin)) c.res.headers.set('Timing-Allow-Origin', origin)
    return next()
  }
}

/** What `corsMiddleware` adds to the response to a request that has no Origin header. */
export interface CorsHeadersWithoutOrigin {
  headers: Readonly<Record<string, string>>
  /** hono/cors appends `Origin` to Vary whenever the allowed origins are a list. */
  varyOrigin: boolean
}

/**
 * The headers `corsMiddleware` gives a response to a request without Origin, for the Node fast path, which answers
 * such requests without the middleware and must send the same headers (test/http/caching-headers.test.ts compares
 * the two paths). `*` answers everyone alike; a list allows no origin here but still exposes headers and varies by
 * Origin, so a browser never reuses this response for a cross-origin fetch.
 */
export function corsHeadersWithoutOrigin(corsOrigin: string): CorsHeadersWithoutOrigin {
  const expose = CORS_EXPOSE_HEADERS.join(',')
  if (allowedOrigins(corsOrigin) === '*')
    return {
      headers: {
        'Access-Control-Allow-Origin': '*',
        'Access-Control-Expose-Headers': expose,
        'Timing-Allow-Origin': '*',
      },
      varyOrigin: false,
    }
  return { headers: { 'Access-Control-Expose-Headers': expose }, varyOrigin: true }
}

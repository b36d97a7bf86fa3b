// Calls to the service, as any front end makes them: fetch, JSON, problem+json (RFC 9457) on failure.
import { adminKey } from './admin-key.ts'

/** The caching headers a result carries (README, "Headers on results"). */
export interface CacheHeaders {
  xCache: string | null
  age: string | null
  serverTiming: string | null
  cacheStatus: string | null
}

export interface ApiResponse<T> {
  status: number
  body: T
  headers: CacheHeaders
  /** From the request's start to its body read, in the page. */
  latencyMs: number
}

/** An answer other than 2xx, with the problem document's title and detail when it had one. */
export class ApiError extends Error {
  override name = 'ApiError'
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
  ) {
    super(`${status} ${title}${detail && detail !== title ? `: ${detail}` : ''}`)
  }

  /** The admin key was missing or refused. */
  get keyRefused(): boolean {
    return this.status === 401 || this.status === 403
  }
}

async function errorOf(res: Response): Promise<ApiError> {
  let title = res.statusText || 'Request failed'
  let detail = ''
  if ((res.headers.get('content-type') ?? '').includes('json')) {
    const body = (await res.json().catch(() => null)) as { title?: unknown; detail?: unknown } | null
    if (typeof body?.title === 'string') title = body.title
    if (typeof body?.detail === 'string') detail = body.detail
  }
  return new ApiError(res.status, title, detail)
}

/**
 * A JSON request. `no-store`: the pages show what the service answered to this request (X-Cache, Age), never an
 * answer the browser's own cache kept.
 */
export async function requestJson<T>(path: string, init: RequestInit = {}): Promise<ApiResponse<T>> {
  const t0 = performance.now()
  const res = await fetch(path, { cache: 'no-store', ...init })
  if (!res.ok) throw await errorOf(res)
  const body = (await res.json()) as T
  return {
    status: res.status,
    body,
    headers: {
      xCache: res.headers.get('x-cache'),
      age: res.headers.get('age'),
      serverTiming: res.headers.get('server-timing'),
      cacheStatus: res.headers.get('cache-status'),
    },
    latencyMs: performance.now() - t0,
  }
}

/** A request with the tab's admin key; without one it fails as the service would, with a 401. */
export async function adminJson<T>(path: string, init: RequestInit = {}): Promise<T> {
  const key = adminKey()
  if (key === undefined) throw new ApiError(401, 'Admin key required', 'No admin key is set in this tab.')
  const headers = new Headers(init.headers)
  headers.set('x-api-key', key)
  if (init.body !== undefined) headers.set('content-type', 'application/json')
  return (await requestJson<T>(path, { ...init, headers })).body
}

/** One catalog query's parameters as the service lists them (`GET /queries`). */
export interface CatalogQuery {
  name: string
  description: string
  parameters: Array<{ name: string; type: string; required: boolean; default?: string; values?: string[] }>
  ttlSeconds: number
}

/** A query result (README, "A result"). */
export interface QueryResult {
  columns: Array<{ name: string; type: string }>
  rows: Array<Record<string, unknown>>
  meta: { query: string; parameters: Record<string, unknown>; rowCount: number; computedAt?: string }
}

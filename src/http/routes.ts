/**
 * The read routes, in one table that both the Hono app (src/app.ts) and the Node server's fast path for cache hits
 * (src/entry/fast-hit.ts) are built from, so that they cannot disagree on what a path reads.
 */
export type QueryRoute =
  /** A fixed path that reads one catalog query (the seed's `/analytics`). */
  | { kind: 'fixed'; path: string; query: string }
  /** `<prefix><name>`: any catalog query by name. */
  | { kind: 'named'; prefix: string }

export const QUERY_ROUTES: readonly QueryRoute[] = [
  { kind: 'fixed', path: '/analytics', query: 'analytics' },
  { kind: 'named', prefix: '/queries/' },
]

/** What a catalog query may be named (the catalog enforces the same). */
export const QUERY_NAME = /^[a-z][a-z0-9_]{0,63}$/

/** The route in Hono's pattern syntax. */
export function honoPath(route: QueryRoute): string {
  return route.kind === 'fixed' ? route.path : `${route.prefix}:name`
}

/** The paths the read key guards: every read route, and the catalog listing. */
export const READ_KEY_PATHS: readonly string[] = [
  '/queries',
  ...QUERY_ROUTES.map((r) => (r.kind === 'fixed' ? r.path : `${r.prefix}*`)),
]

/** The catalog query a request path reads, or undefined when the path is not a read route (or names no query). */
export function matchQueryRoute(path: string): string | undefined {
  for (const route of QUERY_ROUTES) {
    if (route.kind === 'fixed') {
      if (path === route.path) return route.query
    } else if (path.startsWith(route.prefix)) {
      const name = path.slice(route.prefix.length)
      return QUERY_NAME.test(name) ? name : undefined
    }
  }
  return undefined
}

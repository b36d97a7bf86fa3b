import { createHash, timingSafeEqual } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import { ForbiddenError, UnauthorizedError } from '../errors.ts'

export interface ApiKeyAuthOptions {
  /** Accepted keys; empty = open. */
  keys: readonly string[]
  header?: string
}

/** SHA-256 of a key: equal-length inputs for constant-time comparison. */
export const digest = (s: string) => createHash('sha256').update(s).digest()

/** True when `candidate` equals one of `keys`, in time independent of where (or whether) they differ. */
export function matchesKey(candidate: string, keyDigests: readonly Buffer[]): boolean {
  // Hashing first gives equal-length inputs for timingSafeEqual; every key is compared, no early exit.
  const c = digest(candidate)
  let found = false
  for (const k of keyDigests) found = timingSafeEqual(c, k) || found
  return found
}

/**
 * Requires `x-api-key` to hold one of the configured keys: 401 when missing, 403 when wrong. With no keys configured
 * the routes are open, or closed (403, saying which setting opens them) when `closedWhenEmpty` names it.
 */
export function apiKeyAuth(
  options: ApiKeyAuthOptions & { closedWhenEmpty?: string; keyLabel?: string },
): MiddlewareHandler {
  const header = options.header ?? 'x-api-key'
  const label = options.keyLabel ?? 'API key'
  const keyDigests = options.keys.map(digest)
  return async (c, next) => {
    if (keyDigests.length === 0) {
      if (options.closedWhenEmpty === undefined) return next()
      throw new ForbiddenError(`Admin routes are disabled: set ${options.closedWhenEmpty} to enable them`)
    }
    const key = c.req.header(header)
    if (!key) throw new UnauthorizedError(`Send your ${label} in the ${header} header`)
    if (!matchesKey(key, keyDigests)) throw new ForbiddenError(`The ${label} is not valid`)
    return next()
  }
}

/** Admin routes: keys from ADMIN_API_KEYS; with none configured they are closed (403) and say why. */
export function adminKeyAuth(options: { keys: readonly string[] }): MiddlewareHandler {
  return apiKeyAuth({ keys: options.keys, closedWhenEmpty: 'ADMIN_API_KEYS', keyLabel: 'admin key' })
}

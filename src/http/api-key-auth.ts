import { createHash, timingSafeEqual } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import { ForbiddenError, UnauthorizedError } from '../errors.ts'

export interface ApiKeyAuthOptions {
  /** Accepted keys (or a ring built from them); empty = open. */
  keys: readonly string[] | KeyRing
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

export type KeyVerdict = 'ok' | 'missing' | 'wrong'

/** The header that carries a key. */
export const API_KEY_HEADER = 'x-api-key'

/**
 * A set of accepted keys and the one check of a presented key against it, shared by the Hono middleware and the Node
 * fast path so that both decide alike. Keys are held as SHA-256 digests and compared in constant time.
 */
export class KeyRing {
  private readonly digests: readonly Buffer[]

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest)
  }

  /** True when no key is configured (the routes are open, or closed, as the caller decides). */
  get empty(): boolean {
    return this.digests.length === 0
  }

  /** The verdict on a presented key (`ok` for any key when the ring is empty). */
  check(presented: string | undefined): KeyVerdict {
    if (this.digests.length === 0) return 'ok'
    if (!presented) return 'missing'
    return matchesKey(presented, this.digests) ? 'ok' : 'wrong'
  }
}

/**
 * Requires `x-api-key` to hold one of the configured keys: 401 when missing, 403 when wrong. With no keys configured
 * the routes are open, or closed (403, saying which setting opens them) when `closedWhenEmpty` names it.
 */
export function apiKeyAuth(
  options: ApiKeyAuthOptions & { closedWhenEmpty?: string; keyLabel?: string },
): MiddlewareHandler {
  const header = options.header ?? API_KEY_HEADER
  const label = options.keyLabel ?? 'API key'
  const ring = options.keys instanceof KeyRing ? options.keys : new KeyRing(options.keys)
  return async (c, next) => {
    if (ring.empty && options.closedWhenEmpty !== undefined)
      throw new ForbiddenError(`Admin routes are disabled: set ${options.closedWhenEmpty} to enable them`)
    switch (ring.check(c.req.header(header))) {
      case 'ok':
        return next()
      case 'missing':
        throw new UnauthorizedError(`Send your ${label} in the ${header} header`)
      case 'wrong':
        throw new ForbiddenError(`The ${label} is not valid`)
    }
  }
}

/** Admin routes: keys from ADMIN_API_KEYS; with none configured they are closed (403) and say why. */
export function adminKeyAuth(options: { keys: readonly string[] }): MiddlewareHandler {
  return apiKeyAuth({ keys: options.keys, closedWhenEmpty: 'ADMIN_API_KEYS', keyLabel: 'admin key' })
}

import { createHash, timingSafeEqual } from 'node:crypto'
import type { Context, MiddlewareHandler } from 'hono'
import type { TenantDef, Tenants } from '../config/tenants.ts'
import { ForbiddenError, UnauthorizedError } from '../errors.ts'
import type { AppEnv } from './app-env.ts'

export interface ApiKeyAuthOptions {
  /** Accepted keys (or a ring built from them); empty = open. */
  keys: readonly string[] | KeyRing
  header?: string
}

/** SHA-256 of a key: equal-length inputs for constant-time comparison. */
export const digest = (s: string) => createHash('sha256').update(s).digest()

export type KeyVerdict = 'ok' | 'missing' | 'wrong'

/** Up to this many keys every digest is compared on each request; past it they are looked up by digest. */
const SCAN_ALL_UP_TO = 8

/** A verdict, and the tenant whose key was presented (none for API_KEYS keys and open routes). */
export interface KeyMatch {
  verdict: KeyVerdict
  tenant?: TenantDef
}

/** The header that carries a key. */
export const API_KEY_HEADER = 'x-api-key'

/**
 * A set of accepted keys and the one check of a presented key against it, shared by the Hono middleware and the Node
 * fast path so that both decide alike. Keys are held as SHA-256 digests and compared in constant time.
 */
export class KeyRing {
  private readonly entries: ReadonlyArray<{ digest: Buffer; tenant?: TenantDef }>
  /** The same entries by hex digest, once there are more than a few (see identify). */
  private readonly byDigest: ReadonlyMap<string, { digest: Buffer; tenant?: TenantDef }> | undefined

  /** `keys` in plain text (API_KEYS), and the tenants' keys as the digests tenants.yaml holds. */
  constructor(keys: readonly string[], tenants?: Tenants) {
    const entries: Array<{ digest: Buffer; tenant?: TenantDef }> = keys.map((k) => ({ digest: digest(k) }))
    for (const tenant of tenants?.byId.values() ?? [])
      for (const d of tenant.keyDigests) entries.push({ digest: d, tenant })
    this.entries = entries
    this.byDigest =
      entries.length > SCAN_ALL_UP_TO ? new Map(entries.map((e) => [e.digest.toString('hex'), e])) : undefined
  }

  /** True when no key is configured (the routes are open, or closed, as the caller decides). */
  get empty(): boolean {
    return this.entries.length === 0
  }

  /** The verdict on a presented key (`ok` for any key when the ring is empty). */
  check(presented: string | undefined): KeyVerdict {
    return this.identify(presented).verdict
  }

  /**
   * The verdict and the key's tenant. Every digest is compared, in constant time, with no early exit: how long it
   * takes says nothing of which key (or tenant) matched, or how nearly.
   */
  identify(presented: string | undefined): KeyMatch {
    if (this.entries.length === 0) return { verdict: 'ok' }
    if (!presented) return { verdict: 'missing' }
    const c = digest(presented)
    let match: { tenant?: TenantDef } | undefined
    if (this.byDigest) {
      // Many keys (one or more per tenant): comparing them all cost a hit 20 µs at 100 tenants. The lookup is by the
      // SHA-256 of the presented key, so its timing can only tell an attacker about digests, which reveal nothing of
      // the keys; the match is still confirmed in constant time.
      const found = this.byDigest.get(c.toString('hex'))
      if (found && timingSafeEqual(c, found.digest)) match = found
    } else for (const entry of this.entries) if (timingSafeEqual(c, entry.digest) && !match) match = entry
    if (!match) return { verdict: 'wrong' }
    return match.tenant ? { verdict: 'ok', tenant: match.tenant } : { verdict: 'ok' }
  }
}

/**
 * Names the request's tenant from something other than its key (the Lambda entry point: an API Gateway authorizer's
 * context); undefined = the request names none, and its key decides.
 */
export type TenantFromRequest = (c: Context<AppEnv>) => string | undefined

export interface ReadKeyAuthOptions {
  /** Consulted before the key: a tenant it names needs no key (whoever supplies it has authenticated the caller). */
  tenantFromRequest?: TenantFromRequest | undefined
  /** The tenants a name may name (tenants.yaml); a name not among them is a 403. */
  tenants?: Tenants | undefined
}

/**
 * Read routes: like apiKeyAuth, and the key's tenant (if any) is set as the request's `tenant` for the handlers,
 * which bind its values and key its entries apart. With `tenantFromRequest`, a tenant it names comes first and no key
 * is asked for; an unknown name is refused (403), never read untenanted.
 */
export function readKeyAuth(ring: KeyRing, options: ReadKeyAuthOptions = {}): MiddlewareHandler<AppEnv> {
  const { tenantFromRequest, tenants } = options
  return async (c, next) => {
    const named = tenantFromRequest?.(c)
    if (named !== undefined) {
      const tenant = tenants?.byId.get(named)
      if (!tenant) throw new ForbiddenError('The tenant named by the authorizer is not known')
      c.set('tenant', tenant)
      return next()
    }
    const match = ring.identify(c.req.header(API_KEY_HEADER))
    switch (match.verdict) {
      case 'ok':
        c.set('tenant', match.tenant)
        return next()
      case 'missing':
        throw new UnauthorizedError(`Send your API key in the ${API_KEY_HEADER} header`)
      case 'wrong':
        throw new ForbiddenError('The API key is not valid')
    }
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

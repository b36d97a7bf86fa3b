import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KeyRing } from '../../src/http/api-key-auth.ts'
import { matchQueryRoute, READ_KEY_PATHS } from '../../src/http/routes.ts'
import { type Stack, startStack } from '../helpers/stack.ts'

describe('matchQueryRoute: the one table of read routes', () => {
  it.each([
    ['/analytics', 'analytics'],
    ['/queries/analytics', 'analytics'],
    ['/queries/top_pages', 'top_pages'],
    ['/queries/by_country', 'by_country'],
    ['/queries/unknown_query', 'unknown_query'],
    ['/queries/', undefined],
    ['/queries', undefined],
    ['/queries/Analytics', undefined],
    ['/queries/a/b', undefined],
    ['/queries/%61nalytics', undefined],
    ['/analytics/', undefined],
    ['/analyticsx', undefined],
    ['/health', undefined],
    [`/queries/${'a'.repeat(65)}`, undefined],
  ])('%s → %s', (path, query) => {
    expect(matchQueryRoute(path)).toBe(query)
  })

  it('guards the catalog listing and every read route with the read key', () => {
    expect(READ_KEY_PATHS).toEqual(['/queries', '/analytics', '/queries/*'])
  })
})

describe('KeyRing: the one key check', () => {
  it('is open when empty, else missing / wrong / ok', () => {
    expect(new KeyRing([]).empty).toBe(true)
    expect(new KeyRing([]).check(undefined)).toBe('ok')
    const ring = new KeyRing(['read-key-one', 'read-key-two'])
    expect(ring.empty).toBe(false)
    expect(ring.check(undefined)).toBe('missing')
    expect(ring.check('')).toBe('missing')
    expect(ring.check('read-key-one')).toBe('ok')
    expect(ring.check('read-key-two')).toBe('ok')
    expect(ring.check('read-key-one ')).toBe('wrong')
    expect(ring.check('read-key')).toBe('wrong')
  })
})

describe('the Hono app and the route table agree on every path', () => {
  let s: Stack
  beforeAll(async () => {
    s = await startStack({ cache: 'memory', env: { API_KEYS: 'read-key-one' } })
  })
  afterAll(async () => {
    await s.close()
  })

  // With parameters that fail validation, a path the table maps to a query must reach that query's parameter check
  // (400), or the unknown-query 404; a path it does not map must never reach a read. The read key guards everything
  // under the read routes, so nothing there is revealed without it.
  const paths: Array<[path: string, withoutKey: number, withKey: RegExp]> = [
    ['/analytics', 401, /:invalid-parameters$/],
    ['/queries/analytics', 401, /:invalid-parameters$/],
    ['/queries/top_pages', 401, /:invalid-parameters$/],
    ['/queries/unknown_query', 401, /:unknown-query$/],
    ['/queries/Analytics', 401, /:unknown-query$|:not-found$/],
    ['/queries/a/b', 401, /:not-found$/],
    ['/analytics/', 404, /:not-found$/],
    ['/analyticsx', 404, /:not-found$/],
    ['/nothing', 404, /:not-found$/],
  ]

  it.each(paths)('%s', async (path, withoutKey, withKey) => {
    const query = matchQueryRoute(path)
    const noKey = await s.app.request(`${path}?bad_parameter=1`)
    expect(noKey.status).toBe(withoutKey)
    const res = await s.app.request(`${path}?bad_parameter=1`, { headers: { 'x-api-key': 'read-key-one' } })
    const body = (await res.json()) as { type: string }
    expect(body.type).toMatch(withKey)
    // A path the table does not map never reaches a query's parameter check.
    if (query === undefined) expect(body.type).not.toMatch(/:invalid-parameters$/)
    else expect(body.type).toMatch(/:invalid-parameters$|:unknown-query$/)
  })
})

// Property tests of the cache identity under tenancy (fast-check): whatever the tenants, their values and the
// parameters, two reads share an entry exactly when they are the same tenant's read of the same thing.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CacheKeys, type QueryIdentity } from '../../src/cache/cache-key.ts'
import { parseCatalog } from '../../src/config/catalog.ts'
import type { TenantDef, Tenants } from '../../src/config/tenants.ts'
import { ValidationError } from '../../src/errors.ts'
import { RequestResolver } from '../../src/service/request-resolver.ts'

const COUNTRIES = ['US', 'GB', 'DE', 'IN', 'FR'] as const

const catalog = parseCatalog(
  {
    queries: {
      bound: {
        ttlSeconds: 60,
        parameters: {
          country: { type: 'enum', values: [...COUNTRIES], from: 'tenant' },
          start: { type: 'date', required: true },
        },
        sql: 'SELECT * FROM t WHERE country = :country AND dt >= :start',
      },
      open: {
        ttlSeconds: 60,
        parameters: { start: { type: 'date', required: true } },
        sql: 'SELECT * FROM t WHERE dt >= :start',
      },
    },
  },
  'queries.yaml',
)
const keys = new CacheKeys('prop')

/** Up to six tenants with distinct ids and any countries (several may share one). */
const tenantsArb = fc
  .uniqueArray(fc.stringMatching(/^[a-z][a-z0-9_-]{0,8}$/), { minLength: 1, maxLength: 6 })
  .chain((ids) =>
    fc.tuple(
      fc.constant(ids),
      fc.array(fc.constantFrom(...COUNTRIES), { minLength: ids.length, maxLength: ids.length }),
    ),
  )
  .map(
    ([ids, countries]): Tenants => ({
      byId: new Map(
        ids.map((id, i): [string, TenantDef] => [
          id,
          { id, keyDigests: [], parameters: { country: countries[i] as string }, queries: undefined },
        ]),
      ),
    }),
  )
const dateArb = fc
  .integer({ min: 0, max: 365 })
  .map((d) => new Date(Date.UTC(2024, 0, 1) + d * 86_400_000).toISOString().slice(0, 10))

describe('cache identity with tenants (property-based)', () => {
  it('two reads share an entry exactly when they are the same tenant (or both untenanted) reading the same thing', () => {
    fc.assert(
      fc.property(
        tenantsArb,
        fc.nat(),
        fc.nat(),
        fc.boolean(),
        fc.boolean(),
        dateArb,
        dateArb,
        fc.constantFrom('bound', 'open'),
        (tenants, i, j, aNone, bNone, startA, startB, query) => {
          const resolver = new RequestResolver({ catalog, keys, database: 'db', workgroup: 'wg', tenants })
          const list = [...tenants.byId.values()]
          const a = aNone && query === 'open' ? undefined : list[i % list.length]
          const b = bNone && query === 'open' ? undefined : list[j % list.length]
          const ra = resolver.resolve(query, { start: startA }, a)
          const rb = resolver.resolve(query, { start: startB }, b)
          const same = a?.id === b?.id && startA === startB
          expect(ra.key === rb.key).toBe(same)
          // A tenant-bound value is always the tenant's own.
          if (query === 'bound') expect(ra.params.country).toBe(a?.parameters.country)
          // The memoised path agrees with the direct one, per tenant.
          expect(resolver.resolveRequest(query, `start=${startA}`, () => ({ start: startA }), a).key).toBe(
            ra.key,
          )
        },
      ),
      { numRuns: 500 },
    )
  })

  it('no request can choose a tenant-bound value, in any form', () => {
    fc.assert(
      fc.property(tenantsArb, fc.string({ maxLength: 12 }), dateArb, (tenants, value, start) => {
        const resolver = new RequestResolver({ catalog, keys, database: 'db', workgroup: 'wg', tenants })
        const tenant = [...tenants.byId.values()][0]
        for (const raw of [
          { start, country: value },
          { start, country: [value] },
          { start, country: [value, value] },
        ])
          expect(() => resolver.resolve('bound', raw, tenant)).toThrow(ValidationError)
      }),
      { numRuns: 200 },
    )
  })

  it('identity keys are equal exactly when identities are (key order never matters)', () => {
    const identityArb = fc.record({
      query: fc.constantFrom('a', 'b'),
      sqlHash: fc.constantFrom('h1', 'h2'),
      database: fc.constant('db'),
      workgroup: fc.constant('wg'),
      params: fc.dictionary(
        fc.constantFrom('x', 'y', 'z'),
        fc.oneof(fc.constantFrom('1', '2'), fc.constantFrom(1, 2)),
      ),
      tenant: fc.option(fc.constantFrom('t1', 't2'), { nil: undefined }),
    })
    fc.assert(
      fc.property(identityArb, identityArb, (x, y) => {
        const clean = (i: typeof x): QueryIdentity => ({
          ...i,
          params: Object.fromEntries(Object.entries(i.params).reverse()),
          ...(i.tenant === undefined ? { tenant: undefined } : {}),
        })
        const { tenant: tx, ...restX } = x
        const { tenant: ty, ...restY } = y
        const equal =
          tx === ty &&
          JSON.stringify(restX, Object.keys(restX).sort()) ===
            JSON.stringify(restY, Object.keys(restY).sort()) &&
          JSON.stringify(Object.entries(x.params).sort()) === JSON.stringify(Object.entries(y.params).sort())
        expect(keys.entry(clean(x)) === keys.entry(y)).toBe(equal)
      }),
      { numRuns: 1000 },
    )
  })
})

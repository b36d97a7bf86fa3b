import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type Stack, startStack } from '../helpers/stack.ts'

const ADMIN = 'admin-key-for-tests'
const READ = 'read-key-for-tests'
const A = '/analytics?measure=pageviews&start=2024-01-01'
const B = '/analytics?measure=sessions&start=2024-01-01'
const PAGES = '/queries/top_pages?measure=pageviews&start=2024-01-01'

interface Read {
  status: number
  cache: string | null
  executionId: string
  body: string
}

async function read(s: Stack, path: string): Promise<Read> {
  const res = await s.app.request(path, { headers: { 'x-api-key': READ } })
  const body = await res.text()
  const meta =
    res.status === 200 ? (JSON.parse(body) as { meta: { queryExecutionId: string } }).meta : undefined
  return {
    status: res.status,
    cache: res.headers.get('x-cache'),
    executionId: meta?.queryExecutionId ?? '',
    body,
  }
}

function invalidate(s: Stack, body: unknown, key: string | null = ADMIN): Promise<Response> {
  return Promise.resolve(
    s.app.request('/cache/invalidate', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { 'x-api-key': key } : {}) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    }),
  )
}

/** Waits until the background refresh of a STALE answer has stored its entry (the next read is a HIT). */
async function untilHit(s: Stack, path: string): Promise<Read> {
  const giveUp = Date.now() + 5_000
  for (;;) {
    const r = await read(s, path)
    if (r.cache === 'HIT' || Date.now() > giveUp) return r
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('POST /cache/invalidate (real Redis, local Athena)', () => {
  let s: Stack
  beforeAll(async () => {
    s = await startStack({ env: { API_KEYS: READ, ADMIN_API_KEYS: ADMIN } })
  })
  afterAll(async () => {
    await s.close()
  })
  beforeEach(async () => {
    // Every test starts from the same cache: A, B and PAGES computed and fresh.
    await invalidate(s, { all: true, mode: 'delete' })
    for (const path of [A, B, PAGES]) expect((await read(s, path)).cache).toBe('MISS')
  })

  it('needs an admin key: none → 401, a read key → 403, the admin key → 200', async () => {
    expect((await invalidate(s, { all: true }, null)).status).toBe(401)
    const withReadKey = await invalidate(s, { all: true }, READ)
    expect(withReadKey.status).toBe(403)
    expect(withReadKey.headers.get('content-type')).toBe('application/problem+json')
    expect((await invalidate(s, { all: true })).status).toBe(200)
  })

  it('one entry, expire: that entry is served STALE once and refreshed; the others stay HIT', async () => {
    const before = await read(s, A)
    const res = await invalidate(s, {
      query: 'analytics',
      parameters: { measure: 'pageviews', start: '2024-01-01' },
    })
    expect(res.status).toBe(200)
    const body = (await res.json()) as Record<string, unknown>
    expect(body).toMatchObject({
      scope: 'entry',
      mode: 'expire',
      queries: ['analytics'],
      entry: {
        query: 'analytics',
        parameters: { measure: 'pageviews', start: '2024-01-01', end: '2024-02-01' },
      },
      rewarm: null,
    })
    expect(Date.parse(body.invalidatedAt as string)).toBeGreaterThan(Date.now() - 60_000)
    const stale = await read(s, A)
    expect(stale.cache).toBe('STALE')
    expect(stale.executionId).toBe(before.executionId)
    expect((await read(s, B)).cache).toBe('HIT')
    expect((await read(s, PAGES)).cache).toBe('HIT')
    const refreshed = await untilHit(s, A)
    expect(refreshed.cache).toBe('HIT')
    expect(refreshed.executionId).not.toBe(before.executionId)
  })

  it('one entry, delete: the next read is a MISS with a new execution; the others stay HIT', async () => {
    const before = await read(s, A)
    const started = s.local.stats().executionsStarted
    const res = await invalidate(s, {
      query: 'analytics',
      parameters: { measure: 'pageviews', start: '2024-01-01', period: 'day' },
      mode: 'delete',
    })
    expect(res.status).toBe(200)
    const miss = await read(s, A)
    expect(miss.cache).toBe('MISS')
    expect(miss.executionId).not.toBe(before.executionId)
    expect((await read(s, B)).cache).toBe('HIT')
    expect(s.local.stats().executionsStarted - started).toBe(1)
  })

  it('a whole query, expire: all its entries turn STALE, other queries stay HIT', async () => {
    const res = await invalidate(s, { query: 'analytics' })
    expect(await res.json()).toMatchObject({ scope: 'query', mode: 'expire', queries: ['analytics'] })
    expect((await read(s, A)).cache).toBe('STALE')
    expect((await read(s, B)).cache).toBe('STALE')
    expect((await read(s, PAGES)).cache).toBe('HIT')
  })

  it('tags: every query with the tag, and only those', async () => {
    const res = await invalidate(s, { tags: ['pages'], mode: 'delete' })
    expect(await res.json()).toMatchObject({ scope: 'tags', mode: 'delete', queries: ['top_pages'] })
    expect((await read(s, PAGES)).cache).toBe('MISS')
    expect((await read(s, A)).cache).toBe('HIT')
    const both = await invalidate(s, { tags: ['analytics'] })
    expect(((await both.json()) as { queries: string[] }).queries.sort()).toEqual([
      'analytics',
      'by_country',
      'country_daily',
      'events',
      'top_pages',
    ])
    expect((await read(s, A)).cache).toBe('STALE')
  })

  it('all, delete: every entry is a MISS next', async () => {
    const res = await invalidate(s, { all: true, mode: 'delete' })
    expect(((await res.json()) as { scope: string }).scope).toBe('all')
    for (const path of [A, B, PAGES]) expect((await read(s, path)).cache).toBe('MISS')
  })

  it('rejects bad bodies with problem+json naming the problem', async () => {
    const cases: Array<[unknown, number, RegExp]> = [
      [{}, 400, /exactly one of/],
      ['{not json', 400, /not valid JSON/],
      [{ query: 'analytics', tags: ['analytics'] }, 400, /exactly one of/],
      [{ parameters: { measure: 'x' }, all: true }, 400, /needs .{0,2}query/],
      [{ all: true, mode: 'purge' }, 400, /mode/],
      [{ all: false }, 400, /all/],
      [{ all: true, extra: 1 }, 400, /extra/],
      [{ query: 'nope' }, 404, /nope/],
      [{ tags: ['nope'] }, 400, /known tags: analytics, export, geo, pages, tenant/],
      [{ query: 'analytics', parameters: { measure: 'pageviews' } }, 400, /start/],
    ]
    for (const [body, status, pattern] of cases) {
      const res = await invalidate(s, body)
      expect(res.status, JSON.stringify(body)).toBe(status)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      expect(JSON.stringify(await res.json()), JSON.stringify(body)).toMatch(pattern)
    }
  })

  it('invalidation costs one store call whatever the number of entries', async () => {
    const calls: string[] = []
    const store = s.deps.store.inner
    const original = store.writeStamp.bind(store)
    store.writeStamp = (keys, field, dropPrefixes) => {
      calls.push(keys.join(','))
      return original(keys, field, dropPrefixes)
    }
    try {
      for (let i = 0; i < 20; i++)
        await read(
          s,
          `/analytics?measure=pageviews&start=2024-01-${String(i + 1).padStart(2, '0')}&end=2024-02-01`,
        )
      await invalidate(s, { query: 'analytics' })
      expect(calls).toHaveLength(1)
    } finally {
      store.writeStamp = original
    }
  })
})

describe('invalidation racing computations', () => {
  let s: Stack
  beforeAll(async () => {
    s = await startStack({ env: { ADMIN_API_KEYS: ADMIN }, minQueryMs: 700 })
  })
  afterAll(async () => {
    await s.close()
  })

  it('a result computed before a delete is never served as fresh after it; a read after it runs anew', async () => {
    const path = '/analytics?measure=signups&start=2024-02-01'
    const started = s.local.stats().executionsStarted
    const first = read(s, path) // computing: holds the lease for ~700 ms
    await new Promise((r) => setTimeout(r, 250))
    expect((await invalidate(s, { query: 'analytics', mode: 'delete' })).status).toBe(200)
    const second = read(s, path) // must not attach to the computation that predates the invalidation
    const [a, b] = await Promise.all([first, second])
    expect(a.cache).toBe('MISS')
    expect(b.cache).toBe('MISS')
    expect(b.executionId).not.toBe(a.executionId)
    expect(s.local.stats().executionsStarted - started).toBe(2)
    const after = await read(s, path)
    expect(after.cache).toBe('HIT')
    expect(after.executionId).toBe(b.executionId)
  })

  it('a computation finishing after an expire stores its result as stale, never fresh', async () => {
    const path = '/analytics?measure=revenue&start=2024-03-01'
    const first = read(s, path)
    await new Promise((r) => setTimeout(r, 250))
    await invalidate(s, { query: 'analytics', parameters: { measure: 'revenue', start: '2024-03-01' } })
    const a = await first
    expect(a.cache).toBe('MISS')
    const next = await read(s, path)
    expect(next.cache).toBe('STALE')
    expect(next.executionId).toBe(a.executionId)
  })

  it('Athena result reuse is used for a plain recomputation but not right after an invalidation', async () => {
    const path = '/queries/top_pages?measure=pageviews&start=2024-04-01'
    const { key } = s.deps.service.resolve('top_pages', { measure: 'pageviews', start: '2024-04-01' })
    const reused = async () => (await s.deps.usage.snapshot()).process.athenaReusedResults
    expect((await read(s, path)).cache).toBe('MISS')
    // Control: the entry gone without an invalidation (evicted, expired) → Athena may reuse its result.
    await s.deps.store.delete([key])
    const before = await reused()
    expect((await read(s, path)).cache).toBe('MISS')
    expect(await reused()).toBe(before + 1)
    // After an invalidation the data changed: a reused result would be the old one.
    await invalidate(s, { query: 'top_pages', mode: 'delete' })
    expect((await read(s, path)).cache).toBe('MISS')
    expect(await reused()).toBe(before + 1)
  })
})

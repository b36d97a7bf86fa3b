import { gunzipSync } from 'node:zlib'
import { BatchGetQueryExecutionCommand, ListQueryExecutionsCommand } from '@aws-sdk/client-athena'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Stack, startStack } from '../helpers/stack.ts'

const Q = '/analytics?measure=pageviews&start=2024-01-01'

interface ResultBody {
  columns: Array<{ name: string; type: string }>
  rows: Array<Record<string, unknown>>
  meta: Record<string, unknown>
}

interface ProblemBody {
  type: string
  title: string
  status: number
  detail: string
  errors?: Array<{ name: string; message: string }>
}

async function problemOf(res: Response, status: number): Promise<ProblemBody> {
  expect(res.status).toBe(status)
  expect(res.headers.get('content-type')).toBe('application/problem+json')
  const body = (await res.json()) as ProblemBody
  expect(body).toMatchObject({ status, type: expect.stringMatching(/^urn:athena-cache-proxy:problem:/) })
  expect(body.title.length).toBeGreaterThan(0)
  expect(body.detail.length).toBeGreaterThan(0)
  return body
}

describe('HTTP contract (app.request, real Redis, local Athena through the AWS SDK)', () => {
  let s: Stack
  beforeAll(async () => {
    s = await startStack()
  })
  afterAll(async () => {
    await s.close()
  })

  it('answers a MISS, then a HIT with the same bytes, and runs the engine once', async () => {
    const before = s.local.stats().executionsStarted
    const miss = await s.app.request(Q)
    expect(miss.status).toBe(200)
    expect(miss.headers.get('x-cache')).toBe('MISS')
    expect(miss.headers.get('cache-status')).toBe('athena-cache-proxy; fwd=miss; stored')
    expect(miss.headers.get('server-timing')).toMatch(/^cache;dur=[\d.]+, engine;dur=\d+$/)
    const missBody = await miss.text()
    const hit = await s.app.request(Q)
    expect(hit.headers.get('x-cache')).toBe('HIT')
    expect(hit.headers.get('cache-status')).toMatch(/^athena-cache-proxy; hit; ttl=\d+$/)
    expect(hit.headers.get('server-timing')).toMatch(/^cache;dur=[\d.]+$/)
    expect(await hit.text()).toBe(missBody)
    expect(hit.headers.get('etag')).toBe(miss.headers.get('etag'))
    expect(s.local.stats().executionsStarted - before).toBe(1)
  })

  it('returns the documented result shape with typed values', async () => {
    const res = await s.app.request(Q)
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
    const body = (await res.json()) as ResultBody
    expect(body.columns).toEqual([
      { name: 'period_start', type: 'timestamp' },
      { name: 'total', type: 'double' },
      { name: 'events', type: 'bigint' },
    ])
    expect(body.rows).toHaveLength(31)
    expect(body.rows[0]).toEqual({
      period_start: '2024-01-01T00:00:00.000Z',
      total: expect.any(Number),
      events: expect.any(Number),
    })
    expect(body.rows.map((r) => r.period_start)).toEqual(
      Array.from({ length: 31 }, (_, i) => `2024-01-${String(i + 1).padStart(2, '0')}T00:00:00.000Z`),
    )
    expect(body.meta).toEqual({
      query: 'analytics',
      parameters: { end: '2024-02-01', measure: 'pageviews', period: 'day', start: '2024-01-01' },
      rowCount: 31,
      queryExecutionId: expect.any(String),
      dataScannedBytes: expect.any(Number),
      computedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      expiresAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
    })
    expect(body.meta.dataScannedBytes as number).toBeGreaterThan(0)
    expect(Date.parse(body.meta.expiresAt as string) - Date.parse(body.meta.computedAt as string)).toBe(
      43_200_000,
    )
  })

  it('GET /analytics is the same resource as GET /queries/analytics (same key, same body)', async () => {
    const a = await s.app.request(`${Q}&period=day`)
    const b = await s.app.request('/queries/analytics?start=2024-01-01&end=2024-02-01&measure=pageviews')
    expect(b.headers.get('x-cache')).toBe('HIT')
    expect(await b.text()).toBe(await a.text())
  })

  it('sets ETag, Cache-Control, Age and answers If-None-Match with 304 and no body', async () => {
    const res = await s.app.request(Q)
    const etag = res.headers.get('etag') as string
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{22}"$/)
    // max-age is the whole TTL; Age says how much of it is gone (RFC 9111 §4.2.3)
    expect(res.headers.get('cache-control')).toBe(
      'public, max-age=43200, stale-while-revalidate=86400, stale-if-error=86400',
    )
    expect(Number(res.headers.get('age'))).toBeGreaterThanOrEqual(0)
    const notModified = await s.app.request(Q, { headers: { 'If-None-Match': `"other", ${etag}` } })
    expect(notModified.status).toBe(304)
    expect(await notModified.text()).toBe('')
    expect(notModified.headers.get('etag')).toBe(etag)
    const changed = await s.app.request(Q, { headers: { 'If-None-Match': '"stale-tag"' } })
    expect(changed.status).toBe(200)
  })

  it('sends the stored gzip bytes to gzip clients and plain JSON to others; both decode to the same JSON', async () => {
    const gz = await s.app.request(Q, { headers: { 'Accept-Encoding': 'gzip, deflate, br' } })
    expect(gz.headers.get('content-encoding')).toBe('gzip')
    expect(gz.headers.get('vary')).toBe('Accept, Accept-Encoding')
    const gzBytes = Buffer.from(await gz.arrayBuffer())
    expect(gzBytes[0]).toBe(0x1f)
    const plain = await s.app.request(Q)
    expect(plain.headers.get('content-encoding')).toBeNull()
    expect(plain.headers.get('vary')).toBe('Accept, Accept-Encoding')
    const refused = await s.app.request(Q, { headers: { 'Accept-Encoding': 'gzip;q=0, identity' } })
    expect(refused.headers.get('content-encoding')).toBeNull()
    const plainText = await plain.text()
    expect(JSON.parse(gunzipSync(gzBytes).toString('utf8'))).toEqual(JSON.parse(plainText))
    expect(await refused.text()).toBe(plainText)
  })

  it('different parameters are different entries', async () => {
    const week = (await (await s.app.request(`${Q}&period=week`)).json()) as ResultBody
    const month = (await (await s.app.request(`${Q}&period=month`)).json()) as ResultBody
    expect(week.meta.parameters).toMatchObject({ period: 'week' })
    expect(month.rows).toHaveLength(1)
    expect(week.rows.length).toBeGreaterThan(month.rows.length)
    const sumOf = (b: ResultBody) => b.rows.reduce((n, r) => n + (r.events as number), 0)
    // same data, different buckets: event totals over the exact month agree
    const day = (await (await s.app.request(Q)).json()) as ResultBody
    expect(sumOf(month)).toBe(sumOf(day))
  })

  it('lists the catalog', async () => {
    const res = await s.app.request('/queries')
    const body = (await res.json()) as { queries: Array<Record<string, unknown>> }
    const analytics = body.queries.find((q) => q.name === 'analytics')
    expect(analytics).toEqual({
      name: 'analytics',
      description: expect.any(String),
      parameters: [
        {
          name: 'measure',
          type: 'enum',
          required: true,
          values: ['pageviews', 'sessions', 'signups', 'revenue'],
        },
        {
          name: 'period',
          type: 'enum',
          required: false,
          default: 'day',
          values: ['hour', 'day', 'week', 'month'],
        },
        { name: 'start', type: 'date', required: true },
        { name: 'end', type: 'date', required: false, default: 'start + 31 days' },
      ],
      ttlSeconds: 43200,
    })
    expect(body.queries.map((q) => q.name).sort()).toEqual([
      'analytics',
      'by_country',
      'country_daily',
      'events',
      'top_pages',
    ])
  })

  it('reports health', async () => {
    const res = await s.app.request('/health')
    expect(await res.json()).toEqual({ status: 'ok', cache: 'redis', engine: 'local' })
  })

  it('serves an OpenAPI 3 document describing every query', async () => {
    const doc = (await (await s.app.request('/openapi.json')).json()) as {
      openapi: string
      paths: Record<string, { get: { parameters: Array<{ name: string; in: string; required: boolean }> } }>
    }
    expect(doc.openapi).toMatch(/^3\./)
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/analytics',
        '/queries',
        '/queries/analytics',
        '/queries/top_pages',
        '/health',
      ]),
    )
    expect(doc.paths['/analytics']?.get.parameters.map((p) => `${p.name}:${p.required}`)).toEqual([
      'measure:true',
      'period:false',
      'start:true',
      'end:false',
      'format:false',
      'Prefer:false',
    ])
    expect(Object.keys(doc.paths)).toContain('/executions/{id}')
  })

  describe('errors are problem+json, never 500', () => {
    it('400 names each bad parameter', async () => {
      const body = await problemOf(await s.app.request('/analytics?period=year&start=2024-13-01&x=1'), 400)
      expect(body.errors?.map((e) => e.name).sort()).toEqual(['measure', 'period', 'start', 'x'])
    })

    it('404 for an unknown query and an unknown route', async () => {
      expect((await problemOf(await s.app.request('/queries/nope'), 404)).detail).toContain("'nope'")
      await problemOf(await s.app.request('/definitely/not/here'), 404)
    })

    it('405 for a write to a query', async () => {
      const res = await s.app.request('/queries/analytics', { method: 'POST' })
      await problemOf(res, 405)
      expect(res.headers.get('allow')).toBe('GET, HEAD')
    })

    it('422 when the engine rejects the query as a user error, 502 for a system failure', async () => {
      s.local.faults.add({
        kind: 'fail',
        category: 2,
        message: 'COLUMN_NOT_FOUND: injected',
        match: 'sum(value)',
        times: 1,
      })
      const user = await problemOf(await s.app.request('/analytics?measure=signups&start=2024-02-01'), 422)
      expect(user.detail).toContain('COLUMN_NOT_FOUND: injected')
      s.local.faults.add({
        kind: 'fail',
        category: 1,
        message: 'INTERNAL_ERROR: injected',
        match: 'sum(value)',
        times: 1,
      })
      const system = await problemOf(await s.app.request('/analytics?measure=signups&start=2024-02-02'), 502)
      expect(system.detail).toContain('INTERNAL_ERROR: injected')
      s.local.faults.clear()
    })

    it('503 with Retry-After when Athena keeps throttling', async () => {
      s.local.faults.add({ kind: 'throttle', operation: 'StartQueryExecution', times: 10 })
      const res = await s.app.request('/analytics?measure=signups&start=2024-02-03')
      await problemOf(res, 503)
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0)
      s.local.faults.clear()
    })
  })

  it('never passes user text to the engine except as bound parameters', async () => {
    const nasty = ["x' OR '1'='1", 'pageviews; DROP TABLE analytics', '😀', "'; --", 'a'.repeat(5000)]
    const before = s.local.stats().executionsStarted
    for (const measure of nasty) {
      const res = await s.app.request(`/analytics?start=2024-01-01&measure=${encodeURIComponent(measure)}`)
      expect(res.status).toBe(400)
    }
    for (const start of ["2024-01-01' OR 1=1 --", '2024-01-01T00:00:00Z', '2024-1-1']) {
      expect(
        (await s.app.request(`/analytics?measure=pageviews&start=${encodeURIComponent(start)}`)).status,
      ).toBe(400)
    }
    expect(
      (await s.app.request('/analytics?measure=pageviews&start=2024-01-01&start=2024-01-02')).status,
    ).toBe(400)
    expect(s.local.stats().executionsStarted).toBe(before)
    // Everything the engine ever received: catalog SQL text with `?` placeholders, and quoted literals.
    const ids = await s.deps.athena.send(new ListQueryExecutionsCommand({ MaxResults: 50 }))
    const executions = await s.deps.athena.send(
      new BatchGetQueryExecutionCommand({ QueryExecutionIds: ids.QueryExecutionIds ?? [] }),
    )
    expect(executions.QueryExecutions?.length).toBeGreaterThan(0)
    for (const e of executions.QueryExecutions ?? []) {
      expect(e.Query).toMatch(/measure = \?/)
      for (const p of e.ExecutionParameters ?? []) expect(p).toMatch(/^'[a-z0-9_-]*'$|^\d+$/)
    }
  })
})

describe('API keys', () => {
  let s: Stack
  beforeAll(async () => {
    s = await startStack({ env: { API_KEYS: 'reader-key-0001,reader-key-0002' } })
  })
  afterAll(async () => {
    await s.close()
  })

  it('401 without a key, 403 with a wrong one, 200 with either valid key', async () => {
    const missing = await problemOf(await s.app.request(Q), 401)
    expect(missing.detail).toContain('x-api-key')
    await problemOf(await s.app.request(Q, { headers: { 'x-api-key': 'reader-key-0003' } }), 403)
    await problemOf(await s.app.request('/queries', { headers: { 'x-api-key': 'nope' } }), 403)
    expect((await s.app.request(Q, { headers: { 'x-api-key': 'reader-key-0001' } })).status).toBe(200)
    expect((await s.app.request(Q, { headers: { 'x-api-key': 'reader-key-0002' } })).status).toBe(200)
  })

  it('keeps /health and /openapi.json open', async () => {
    expect((await s.app.request('/health')).status).toBe(200)
    expect((await s.app.request('/openapi.json')).status).toBe(200)
  })
})

describe('limits and timeouts', () => {
  it('413 when a result exceeds MAX_RESULT_ROWS, never a silent truncation', async () => {
    const s = await startStack({ env: { MAX_RESULT_ROWS: '10' } })
    try {
      const body = await problemOf(await s.app.request(Q), 413)
      expect(body.detail).toContain('MAX_RESULT_ROWS')
    } finally {
      await s.close()
    }
  })

  it('504 when the query outlives QUERY_TIMEOUT_MS, and the query is stopped', async () => {
    const s = await startStack({ env: { QUERY_TIMEOUT_MS: '800' } })
    try {
      s.local.faults.add({ kind: 'hang', match: 'sum(value)' })
      const body = await problemOf(await s.app.request(Q), 504)
      expect(body.detail).toMatch(/did not finish within \d+ ms/)
      const ids = await s.deps.athena.send(new ListQueryExecutionsCommand({}))
      const [latest] =
        (
          await s.deps.athena.send(
            new BatchGetQueryExecutionCommand({ QueryExecutionIds: ids.QueryExecutionIds ?? [] }),
          )
        ).QueryExecutions ?? []
      expect(latest?.Status?.State).toBe('CANCELLED')
    } finally {
      await s.close()
    }
  })

  it('works with the memory store too', async () => {
    const s = await startStack({ cache: 'memory' })
    try {
      expect((await s.app.request(Q)).headers.get('x-cache')).toBe('MISS')
      expect((await s.app.request(Q)).headers.get('x-cache')).toBe('HIT')
      expect(await (await s.app.request('/health')).json()).toMatchObject({ cache: 'memory' })
    } finally {
      await s.close()
    }
  })
})

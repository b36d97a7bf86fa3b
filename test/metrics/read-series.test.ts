import { copyFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { startEmbeddedStack } from '../../local/embedded-stack.ts'
import { loadSettings } from '../../src/config/settings.ts'
import { SERVER_DEFAULTS } from '../../src/entry/server.ts'
import { LATENCY_BOUNDS_MS, quantile, type Series } from '../../src/metrics/read-series.ts'
import { parsePrometheusText, prometheusParserMissing, sampleValue } from '../helpers/prometheus-parser.ts'
import { testRedis } from '../helpers/redis-client.ts'
import { type Stack, startStack } from '../helpers/stack.ts'

const ADMIN = 'series-admin-key'
const MINUTE = 60_000
/** 10:00:30 UTC: reads land in the 10:00 minute. */
const T0 = Date.parse('2024-03-15T10:00:30Z')

describe('quantile of latency buckets (linear within a bucket, as histogram_quantile)', () => {
  const buckets = (counts: Record<number, number>) =>
    Array.from({ length: LATENCY_BOUNDS_MS.length + 1 }, (_, i) => counts[i] ?? 0)

  it('interpolates inside the bucket holding the rank', () => {
    // 10 reads in (0.5, 1] ms: the median is halfway through it, the 90th percentile nine tenths.
    expect(quantile(buckets({ 2: 10 }), 0.5)).toBeCloseTo(0.75, 10)
    expect(quantile(buckets({ 2: 10 }), 0.9)).toBeCloseTo(0.95, 10)
    // 90 fast reads and 10 in (500, 1000] ms: p50 is fast, p95 halfway through the slow bucket.
    expect(quantile(buckets({ 0: 90, 11: 10 }), 0.5)).toBeCloseTo(0.25 * (50 / 90), 10)
    expect(quantile(buckets({ 0: 90, 11: 10 }), 0.95)).toBeCloseTo(750, 10)
  })

  it('answers the last bound for the overflow bucket and 0 for no reads', () => {
    expect(quantile(buckets({ [LATENCY_BOUNDS_MS.length]: 3 }), 0.99)).toBe(30_000)
    expect(quantile(buckets({}), 0.5)).toBe(0)
  })
})

describe('GET /admin/stats/series: per-minute figures of every process (real Redis, fake clock)', () => {
  let a: Stack
  let b: Stack
  let clock = T0

  beforeAll(async () => {
    a = await startStack({ env: { ADMIN_API_KEYS: ADMIN }, now: () => clock })
    b = await startStack({
      env: { ADMIN_API_KEYS: ADMIN, CACHE_PREFIX: a.redis.prefix },
      now: () => clock,
    })
  })
  afterAll(async () => {
    await b?.close()
    await a?.close()
  })

  const read = async (s: Stack, path: string) => {
    const res = await s.app.request(path)
    const body = await res.text()
    expect(res.status).toBe(200)
    return { cache: res.headers.get('x-cache'), body }
  }
  const series = (query = '') =>
    a.app.request(`/admin/stats/series${query}`, { headers: { 'x-api-key': ADMIN } })

  it('sums reads by outcome, latency percentiles and bytes per minute, over processes; empty minutes are zeros', async () => {
    const path = '/analytics?measure=signups&period=month&start=2024-01-01'
    const miss = await read(a, path)
    expect(miss.cache).toBe('MISS')
    const scanned = (JSON.parse(miss.body) as { meta: { dataScannedBytes: number } }).meta.dataScannedBytes
    for (let i = 0; i < 3; i++) expect((await read(a, path)).cache).toBe('HIT')
    expect((await read(b, path)).cache).toBe('HIT')
    clock = T0 + 2 * MINUTE
    expect((await read(b, path)).cache).toBe('HIT')
    // b's minutes reach the store on its flush (every second, or at the end of a Lambda invocation).
    await b.deps.series.flush()

    const res = await series('?minutes=4')
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
    const body = (await res.json()) as Series
    expect(body.bucketSeconds).toBe(60)
    expect(body.points.map((p) => p.time)).toEqual([
      '2024-03-15T09:59:00.000Z',
      '2024-03-15T10:00:00.000Z',
      '2024-03-15T10:01:00.000Z',
      '2024-03-15T10:02:00.000Z',
    ])
    const [before, first, empty, last] = body.points
    expect(before).toEqual({
      time: '2024-03-15T09:59:00.000Z',
      reads: 0,
      hits: 0,
      stale: 0,
      misses: 0,
      bypass: 0,
      hitRatio: null,
      latencyMs: null,
      scannedBytes: 0,
      savedBytes: 0,
    })
    expect(first).toMatchObject({ reads: 5, hits: 4, misses: 1, stale: 0, bypass: 0, hitRatio: 0.8 })
    expect(first?.scannedBytes).toBe(scanned)
    expect(first?.savedBytes).toBe(4 * scanned)
    // Four hits and one miss that ran a query: the median is a hit's, the 99th percentile the miss's.
    expect(first?.latencyMs?.p50).toBeLessThan(first?.latencyMs?.p99 ?? 0)
    expect(empty?.reads).toBe(0)
    expect(last).toMatchObject({ reads: 1, hits: 1, hitRatio: 1, savedBytes: scanned })
  })

  it('reads a damaged or foreign stored field as zero, not as a failure', async () => {
    const minute = Math.floor(clock / MINUTE)
    await a.redis.redis.hset(a.deps.keys.series(minute), 'hits', 'garbage', 'misses', '-4', 'l3', '1e400')
    const res = await series('?minutes=1')
    expect(res.status).toBe(200)
    const [point] = ((await res.json()) as Series).points
    // The minute's real fields (a hit, its bytes) are still read; the damaged ones count nothing.
    expect(point).toMatchObject({ hits: 0, misses: 0, reads: 0, hitRatio: null })
    expect(point?.savedBytes).toBeGreaterThan(0)
  })

  it('refuses a bad minutes parameter with a problem naming it, and needs the admin key', async () => {
    for (const bad of ['0', '1441', 'abc', '-5', '1.5', '60&minutes=60']) {
      const res = await series(`?minutes=${bad}`)
      expect(res.status, bad).toBe(400)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      const problem = (await res.json()) as { errors?: Array<{ name: string }> }
      expect(problem.errors?.[0]?.name, bad).toBe('minutes')
    }
    expect((await a.app.request('/admin/stats/series')).status).toBe(401)
  })
})

describe.skipIf(prometheusParserMissing() !== undefined)(
  'METRICS_PORT: /metrics on a port of its own, without a key',
  () => {
    let redis: Awaited<ReturnType<typeof testRedis>>
    let configDir: string

    beforeAll(async () => {
      redis = await testRedis()
      configDir = await mkdtemp(join(tmpdir(), 'acp-metrics-port-'))
      await copyFile('wrangler-free-config/queries.yaml', join(configDir, 'queries.yaml'))
    })
    afterAll(async () => {
      await redis.cleanup()
      await rm(configDir, { recursive: true, force: true })
    })

    it('serves the scrape there, and only there without a key', async () => {
      const server = await startEmbeddedStack(
        await loadSettings(
          {
            REDIS_URL: redis.url,
            CACHE_PREFIX: redis.prefix,
            DATA_DIR: inject('dataDir'),
            CONFIG_DIR: configDir,
            HOST: '127.0.0.1',
            PORT: '0',
            METRICS_PORT: '0',
            ADMIN_API_KEYS: ADMIN,
            PREWARM_SCHEDULES: 'off',
            LOG_LEVEL: 'silent',
            LOCAL_ATHENA_MIN_QUERY_MS: '0',
          },
          SERVER_DEFAULTS,
        ),
      )
      try {
        const metricsUrl = server.metricsUrl ?? ''
        expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
        expect(new URL(metricsUrl).port).not.toBe(String(server.port))
        // Read twice through the Node fast path (the second read is answered before the framework runs).
        const path = '/queries/top_pages?measure=sessions&start=2024-03-10'
        expect((await fetch(`${server.url}${path}`)).headers.get('x-cache')).toBe('MISS')
        expect((await fetch(`${server.url}${path}`)).headers.get('x-cache')).toBe('HIT')
        const scrape = await fetch(metricsUrl)
        expect(scrape.status).toBe(200)
        const families = await parsePrometheusText(await scrape.text())
        expect(sampleValue(families, 'acp_reads_total', { query: 'top_pages', outcome: 'HIT' })).toBe(1)
        expect(sampleValue(families, 'acp_reads_total', { query: 'top_pages', outcome: 'MISS' })).toBe(1)
        expect((await fetch(metricsUrl.replace('/metrics', '/health'))).status).toBe(404)
        // On the API's port it stays behind the admin key.
        expect((await fetch(`${server.url}/metrics`)).status).toBe(401)
      } finally {
        await server.close()
      }
      await expect(fetch(server.metricsUrl ?? '')).rejects.toThrow()
    })
  },
)

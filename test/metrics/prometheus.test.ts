import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type PromFamily,
  parsePrometheusText,
  prometheusParserMissing,
  sampleValue,
} from '../helpers/prometheus-parser.ts'
import { type Stack, startStack } from '../helpers/stack.ts'

const ADMIN = 'metrics-admin-key'
const READ = 'metrics-read-key'
const ANALYTICS = '/analytics?measure=sessions&period=week&start=2024-02-05'
const TOP_PAGES = '/queries/top_pages?measure=pageviews&start=2024-03-01'

const missing = prometheusParserMissing()
if (missing) console.warn(`test/metrics/prometheus skipped: ${missing}`)

describe.skipIf(missing !== undefined)(
  'GET /metrics: Prometheus text format, per process and summed over processes (real Redis)',
  () => {
    let a: Stack
    let b: Stack

    beforeAll(async () => {
      a = await startStack({ env: { API_KEYS: READ, ADMIN_API_KEYS: ADMIN } })
      // A second process of the same deployment: the same cache prefix, its own registry.
      b = await startStack({ env: { API_KEYS: READ, ADMIN_API_KEYS: ADMIN, CACHE_PREFIX: a.redis.prefix } })
    })
    afterAll(async () => {
      await b?.close()
      await a?.close()
    })

    const get = async (s: Stack, path: string, key = READ) => {
      const res = await s.app.request(path, { headers: { 'x-api-key': key } })
      const text = await res.text()
      return { res, text }
    }
    const scrape = async (s: Stack) => {
      const { res, text } = await get(s, '/metrics', ADMIN)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
      return parsePrometheusText(text)
    }

    it('is behind the admin key', async () => {
      expect((await a.app.request('/metrics')).status).toBe(401)
      const withReadKey = await get(a, '/metrics')
      expect(withReadKey.res.status).toBe(403)
      expect(withReadKey.res.headers.get('content-type')).toBe('application/problem+json')
    })

    it('counts reads by query and outcome, Athena executions and bytes, responses, and the process', async () => {
      const miss = await get(a, ANALYTICS)
      expect(miss.res.headers.get('x-cache')).toBe('MISS')
      const scanned = (JSON.parse(miss.text) as { meta: { dataScannedBytes: number } }).meta.dataScannedBytes
      expect(scanned).toBeGreaterThan(0)
      expect((await get(a, ANALYTICS)).res.headers.get('x-cache')).toBe('HIT')
      expect((await get(a, ANALYTICS)).res.headers.get('x-cache')).toBe('HIT')
      expect((await get(a, TOP_PAGES)).res.headers.get('x-cache')).toBe('MISS')
      expect((await get(a, '/queries/no_such_query')).res.status).toBe(404)

      const m = await scrape(a)
      expect(sampleValue(m, 'acp_reads_total', { query: 'analytics', outcome: 'MISS' })).toBe(1)
      expect(sampleValue(m, 'acp_reads_total', { query: 'analytics', outcome: 'HIT' })).toBe(2)
      expect(sampleValue(m, 'acp_reads_total', { query: 'top_pages', outcome: 'MISS' })).toBe(1)
      expect(sampleValue(m, 'acp_reads_total', { query: 'top_pages', outcome: 'HIT' })).toBeUndefined()
      expect(sampleValue(m, 'acp_athena_executions_total', { query: 'analytics' })).toBe(1)
      expect(sampleValue(m, 'acp_athena_scanned_bytes_total', { query: 'analytics' })).toBe(scanned)
      expect(sampleValue(m, 'acp_bytes_saved_total', { query: 'analytics' })).toBe(2 * scanned)
      expect(sampleValue(m, 'acp_http_responses_total', { class: '2xx' })).toBe(4)
      expect(sampleValue(m, 'acp_http_responses_total', { class: '4xx' })).toBeGreaterThanOrEqual(1)
      expect(sampleValue(m, 'acp_cache_breaker_state', { state: 'closed' })).toBe(1)
      expect(sampleValue(m, 'acp_cache_breaker_state', { state: 'open' })).toBe(0)

      const histogram = m.find((f) => f.name === 'acp_read_duration_seconds')
      expect(histogram?.type).toBe('histogram')
      const hit = { query: 'analytics', outcome: 'HIT' }
      expect(sampleValue(m, 'acp_read_duration_seconds_count', hit)).toBe(2)
      expect(sampleValue(m, 'acp_read_duration_seconds_bucket', { ...hit, le: '+Inf' })).toBe(2)
      const hitSeconds = sampleValue(m, 'acp_read_duration_seconds_sum', hit) ?? 0
      expect(hitSeconds).toBeGreaterThan(0)
      // A miss ran a query: slower than both hits together.
      const missSeconds = sampleValue(m, 'acp_read_duration_seconds_sum', {
        query: 'analytics',
        outcome: 'MISS',
      })
      expect(missSeconds).toBeGreaterThan(hitSeconds)

      // The process's default metrics.
      for (const name of [
        'process_cpu_user_seconds_total',
        'nodejs_heap_size_used_bytes',
        'nodejs_eventloop_lag_seconds',
      ])
        expect(
          m.some((f: PromFamily) => f.samples.some((s) => s.name === name)),
          name,
        ).toBe(true)
    })

    it('sums the global figures over every process through the store, and keeps latency per process', async () => {
      expect((await get(b, ANALYTICS)).res.headers.get('x-cache')).toBe('HIT')
      const [ma, mb] = [await scrape(a), await scrape(b)]
      // Per process: b's registry saw one read, a's three.
      expect(sampleValue(mb, 'acp_reads_total', { query: 'analytics', outcome: 'HIT' })).toBe(1)
      expect(sampleValue(ma, 'acp_reads_total', { query: 'analytics', outcome: 'HIT' })).toBe(2)
      // Summed over both (scraping flushes nothing: /admin/stats flushes this process, so read it first from each).
      await a.deps.usage.flush()
      await b.deps.usage.flush()
      const [ca, cb] = [await scrape(a), await scrape(b)]
      for (const m of [ca, cb]) {
        expect(sampleValue(m, 'acp_cluster_reads_total', { outcome: 'HIT' })).toBe(3)
        expect(sampleValue(m, 'acp_cluster_reads_total', { outcome: 'MISS' })).toBe(2)
        expect(sampleValue(m, 'acp_cluster_athena_executions_total')).toBe(2)
      }
      const stats = (await (
        await a.app.request('/admin/stats', { headers: { 'x-api-key': ADMIN } })
      ).json()) as { dataSavedBytes: number; dataScannedBytes: number }
      expect(sampleValue(ca, 'acp_cluster_bytes_saved_total')).toBe(stats.dataSavedBytes)
      expect(sampleValue(ca, 'acp_cluster_athena_scanned_bytes_total')).toBe(stats.dataScannedBytes)
      expect(stats.dataSavedBytes).toBeGreaterThan(0)
    })
  },
)

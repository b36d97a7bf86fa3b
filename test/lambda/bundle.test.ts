import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { gunzipSync } from 'node:zlib'
import { unzipSync } from 'fflate'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { type LocalAthena, startLocalAthena } from '../../local/athena-server.ts'
import { deployedLambdaEnv } from '../helpers/lambda-env.ts'
import { invokeLambda, streamedHttp } from '../helpers/lambda-invoke.ts'
import { runNode } from '../helpers/processes.ts'
import { testRedis } from '../helpers/redis-client.ts'

const READ_KEY = 'bundle-read-key'
const ADMIN_KEY = 'bundle-admin-key'
const ORIGIN = 'https://dashboards.example.com'

/** An API Gateway REST API (v1, Lambda proxy integration) event, as the service sends it. */
function restEvent(options: {
  method: string
  path: string
  resource?: string
  query?: Record<string, string>
  headers?: Record<string, string>
}): Record<string, unknown> {
  const headers: Record<string, string> = {
    Host: 'abc123.execute-api.eu-west-2.amazonaws.com',
    ...options.headers,
  }
  const query = options.query ?? null
  const resource = options.resource ?? options.path
  return {
    resource,
    path: options.path,
    httpMethod: options.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: query,
    multiValueQueryStringParameters: query
      ? Object.fromEntries(Object.entries(query).map(([k, v]) => [k, [v]]))
      : null,
    pathParameters: resource === '/{proxy+}' ? { proxy: options.path.slice(1) } : null,
    stageVariables: null,
    requestContext: {
      resourceId: 'a1b2c3',
      resourcePath: resource,
      httpMethod: options.method,
      extendedRequestId: 'Xyz123=',
      requestTime: '25/Nov/2026:01:00:00 +0000',
      path: `/default${options.path}`,
      accountId: '123456789012',
      protocol: 'HTTP/1.1',
      stage: 'default',
      domainPrefix: 'abc123',
      requestTimeEpoch: 1795568400000,
      requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      identity: {
        sourceIp: '203.0.113.7',
        userAgent: 'dashboard/1.0',
        apiKey: headers['x-api-key'] ?? null,
        apiKeyId: headers['x-api-key'] ? 'k3y1d' : null,
      },
      domainName: 'abc123.execute-api.eu-west-2.amazonaws.com',
      apiId: 'abc123',
    },
    body: null,
    isBase64Encoded: false,
  }
}

interface ProxyResult {
  statusCode: number
  headers: Record<string, string>
  multiValueHeaders?: Record<string, string[]>
  body: string
  isBase64Encoded: boolean
}

const header = (r: ProxyResult, name: string): string | undefined =>
  Object.entries(r.headers ?? {}).find(([k]) => k.toLowerCase() === name)?.[1] ??
  Object.entries(r.multiValueHeaders ?? {}).find(([k]) => k.toLowerCase() === name)?.[1]?.[0]

describe('the built Lambda bundle (dist/lambda.zip) with real API Gateway and Scheduler events', () => {
  let local: LocalAthena
  let redis: Awaited<ReturnType<typeof testRedis>>
  let buildOutput: string

  beforeAll(async () => {
    const built = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/build.ts'], {
      encoding: 'utf8',
    })
    buildOutput = built.stdout
    redis = await testRedis()
    local = await startLocalAthena({ dataDir: inject('dataDir'), port: 0, minQueryMs: 0 })
  }, 60_000)
  afterAll(async () => {
    await local?.close()
    await redis?.cleanup()
  })

  it('is a zip whose index.mjs exports handler and streamingHandler, with the configuration and without dev-only code', async () => {
    expect(buildOutput).toMatch(/dist\/lambda\.zip \d+ KiB/)
    expect(buildOutput).toMatch(/handlers index\.handler, index\.streamingHandler/)
    const entries = unzipSync(new Uint8Array(await readFile('dist/lambda.zip')))
    expect(Object.keys(entries).sort()).toEqual([
      'index.mjs',
      'wrangler-free-config/landing.yaml',
      'wrangler-free-config/prewarm.yaml',
      'wrangler-free-config/queries.yaml',
      'wrangler-free-config/schedules.yaml',
    ])
    const source = Buffer.from(entries['index.mjs'] as Uint8Array).toString('utf8')
    expect(source).toMatch(/export\s*\{[^}]*\bhandler\b/)
    expect(source).toMatch(/export\s*\{[^}]*\bstreamingHandler\b/)
    // Identifiers of the local endpoints and DuckDB (esbuild keeps exported and string names even when minifying).
    for (const devOnly of [
      '@duckdb',
      'DuckDBInstance',
      'local athena: listening',
      '/_local/',
      'ScheduleGroup',
    ])
      expect(source.includes(devOnly), devOnly).toBe(false)
    // Imported here, outside the runtime (the SDK leaves an empty awslambda global): both load, the streaming one
    // untagged.
    const { handler, streamingHandler } = (await import(
      pathToFileURL(resolve('dist/lambda/index.mjs')).href
    )) as {
      handler: unknown
      streamingHandler: unknown
    }
    expect(typeof handler).toBe('function')
    expect(typeof streamingHandler).toBe('function')
  })

  it('streams from the bundle: the runtime sees a streaming handler, which answers requests and operations', async () => {
    const analytics = restEvent({
      method: 'GET',
      path: '/analytics',
      query: { measure: 'pageviews', period: 'day', start: '2024-01-01' },
      headers: { 'x-api-key': READ_KEY, 'Accept-Encoding': 'gzip' },
    })
    const { exports, results } = await invokeLambda(
      [
        { handler: 'handler', event: analytics },
        { handler: 'streamingHandler', event: analytics },
        { handler: 'streamingHandler', event: { action: 'invalidate', query: 'analytics', mode: 'expire' } },
      ],
      {
        LAMBDA_MODULE: 'dist/lambda/index.mjs',
        ...deployedLambdaEnv({
          athenaEndpoint: local.endpoint,
          redisUrl: redis.url,
          // A cache of its own: the other tests expect a first MISS and no invalidation of theirs.
          prefix: `${redis.prefix}:stream`,
          apiKeys: READ_KEY,
        }),
        POLL_INITIAL_DELAY_MS: '20',
        LOG_LEVEL: 'silent',
      },
    )
    // With the runtime's global in place when the module loads, streamingHandler carries streamifyResponse's tag.
    expect(exports).toMatchObject({ handler: 'function', streamingHandler: 'streaming function' })
    const buffered = results[0]?.returned as ProxyResult
    const streamed = streamedHttp(results[1])
    expect(streamed.statusCode).toBe(200)
    expect(streamed.ended).toBe(true)
    expect(streamed.headers['content-encoding']).toBe('gzip')
    expect(streamed.headers.etag).toBe(header(buffered, 'etag'))
    expect(streamed.body.equals(Buffer.from(buffered.body, 'base64'))).toBe(true)
    expect(JSON.parse(gunzipSync(streamed.body).toString('utf8')).rows).toHaveLength(31)
    const invalidate = results[2]?.streamed
    expect(invalidate?.prelude).toBeNull()
    expect(JSON.parse(Buffer.from(invalidate?.bodyBase64 ?? '', 'base64').toString('utf8'))).toMatchObject({
      ok: true,
      result: { scope: 'query', mode: 'expire', queries: ['analytics'] },
    })
  }, 60_000)

  it('answers REST v1 events, the Scheduler prewarm event and an invalidate event', async () => {
    const analytics = (
      headers: Record<string, string>,
      query = { measure: 'pageviews', period: 'day', start: '2024-01-01' },
    ) => restEvent({ method: 'GET', path: '/analytics', query, headers })
    const events = [
      analytics({ 'x-api-key': READ_KEY }), // MISS
      analytics({ 'x-api-key': READ_KEY, 'Accept-Encoding': 'gzip, deflate, br' }), // HIT, gzip
      analytics({}), // no key
      restEvent({
        method: 'OPTIONS',
        path: '/queries/top_pages',
        resource: '/{proxy+}',
        headers: {
          Origin: ORIGIN,
          'Access-Control-Request-Method': 'GET',
          'Access-Control-Request-Headers': 'x-api-key',
        },
      }), // preflight
      // A second warm container, after an If-None-Match read with the ETag of the first MISS:
      analytics(
        { 'x-api-key': READ_KEY },
        { measure: 'pageviews', period: 'fortnight', start: '2024-01-01' },
      ),
      { action: 'prewarm', schedule: 'every-15-minutes', scheduledTime: '2024-03-31T06:00:00Z' },
      { action: 'invalidate', query: 'analytics', mode: 'expire' },
      analytics({ 'x-api-key': READ_KEY, Origin: ORIGIN }), // STALE after the invalidation, with CORS
    ]
    const env = {
      LAMBDA_MODULE: 'dist/lambda/index.mjs',
      ...deployedLambdaEnv({
        athenaEndpoint: local.endpoint,
        redisUrl: redis.url,
        prefix: redis.prefix,
        apiKeys: READ_KEY,
      }),
      ADMIN_API_KEYS: ADMIN_KEY,
      CORS_ORIGIN: ORIGIN,
      POLL_INITIAL_DELAY_MS: '20',
      LOG_LEVEL: 'silent',
    }
    const run = async (list: unknown[]) => {
      const r = await runNode(['--import', 'tsx', 'test/helpers/lambda-runner.ts', JSON.stringify(list)], env)
      expect(r.code, r.stderr).toBe(0)
      const line = r.stdout.split('\n').find((l) => l.startsWith('RESULTS '))
      expect(line, r.stdout + r.stderr).toBeDefined()
      return (JSON.parse((line as string).slice(8)) as Array<{ returned?: unknown; threw?: string }>).map(
        (o) => {
          expect(o.threw).toBeUndefined()
          return o.returned
        },
      )
    }
    const first = await run(events.slice(0, 4))
    const [miss, gzip, noKey, preflight] = first as ProxyResult[]
    if (!miss || !gzip || !noKey || !preflight) throw new Error('missing results')

    expect(miss.statusCode).toBe(200)
    expect(header(miss, 'x-cache')).toBe('MISS')
    expect(miss.isBase64Encoded).toBe(false)
    const body = JSON.parse(miss.body) as { rows: unknown[]; meta: { query: string; parameters: unknown } }
    expect(body.meta).toMatchObject({
      query: 'analytics',
      parameters: { measure: 'pageviews', period: 'day', start: '2024-01-01', end: '2024-02-01' },
    })
    expect(body.rows).toHaveLength(31)

    expect(gzip.statusCode).toBe(200)
    expect(header(gzip, 'x-cache')).toBe('HIT')
    expect(header(gzip, 'content-encoding')).toBe('gzip')
    expect(gzip.isBase64Encoded).toBe(true)
    expect(gunzipSync(Buffer.from(gzip.body, 'base64')).toString('utf8')).toBe(miss.body)

    expect(noKey.statusCode).toBe(401)
    expect(header(noKey, 'content-type')).toBe('application/problem+json')

    expect(preflight.statusCode).toBe(204)
    expect(header(preflight, 'access-control-allow-origin')).toBe(ORIGIN)
    expect(header(preflight, 'access-control-allow-methods')).toMatch(/GET/)
    expect(header(preflight, 'access-control-allow-headers')?.toLowerCase()).toMatch(/x-api-key/)

    const etag = header(miss, 'etag') as string
    const conditional = analytics({ 'x-api-key': READ_KEY, 'If-None-Match': etag })
    const second = await run([conditional, ...events.slice(4)])
    const [notModified, badParam, prewarm, invalidate, stale] = second as [
      ProxyResult,
      ProxyResult,
      { ok: boolean; result: Record<string, unknown> },
      { ok: boolean; result: Record<string, unknown> },
      ProxyResult,
    ]
    expect(notModified.statusCode).toBe(304)
    expect(notModified.body).toBe('')
    expect(header(notModified, 'etag')).toBe(etag)

    expect(badParam.statusCode).toBe(400)
    expect(header(badParam, 'content-type')).toBe('application/problem+json')
    expect(JSON.parse(badParam.body)).toMatchObject({
      status: 400,
      errors: [{ name: 'period', message: expect.stringMatching(/hour, day, week, month/) }],
    })

    expect(prewarm.ok).toBe(true)
    expect(prewarm.result).toMatchObject({
      status: 'completed',
      trigger: 'schedule',
      schedule: 'every-15-minutes',
      scheduledTime: '2024-03-31T06:00:00.000Z',
      failed: 0,
    })
    expect(prewarm.result.considered as number).toBeGreaterThanOrEqual(5)

    expect(invalidate).toMatchObject({
      ok: true,
      result: { scope: 'query', mode: 'expire', queries: ['analytics'] },
    })

    expect(stale.statusCode).toBe(200)
    expect(header(stale, 'x-cache')).toBe('STALE')
    expect(header(stale, 'access-control-allow-origin')).toBe(ORIGIN)
  }, 60_000)

  it('publishes CloudWatch EMF lines per invocation: reads by outcome and query, Athena bytes, responses, prewarm', async () => {
    const read = (headers: Record<string, string> = { 'x-api-key': READ_KEY }) =>
      restEvent({
        method: 'GET',
        path: '/analytics',
        query: { measure: 'signups', period: 'week', start: '2024-02-01' },
        headers,
      })
    const r = await runNode(
      [
        '--import',
        'tsx',
        'test/helpers/lambda-runner.ts',
        JSON.stringify([
          read(), // MISS: one execution
          read(), // HIT
          read({}), // 401: no key
          { action: 'prewarm', schedule: 'every-15-minutes', scheduledTime: '2024-03-31T06:00:00Z' },
        ]),
      ],
      {
        LAMBDA_MODULE: 'dist/lambda/index.mjs',
        ...deployedLambdaEnv({
          athenaEndpoint: local.endpoint,
          redisUrl: redis.url,
          prefix: `${redis.prefix}:emf`,
          apiKeys: READ_KEY,
        }),
        METRICS_NAMESPACE: 'AcpTest/Emf',
        POWERTOOLS_SERVICE_NAME: 'acp-emf-test',
        // What the Lambda runtime sets for an on-demand container (Powertools counts its first invocation as cold).
        AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
        POLL_INITIAL_DELAY_MS: '20',
        LOG_LEVEL: 'silent',
      },
    )
    expect(r.code, r.stderr).toBe(0)
    interface Blob {
      _aws: {
        Timestamp: number
        CloudWatchMetrics: Array<{
          Namespace: string
          Dimensions: string[][]
          Metrics: Array<{ Name: string; Unit: string }>
        }>
      }
      [field: string]: unknown
    }
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('{"_aws"'))
    const blobs = lines.map((l) => JSON.parse(l) as Blob)
    const results = JSON.parse(
      (r.stdout.split('\n').find((l) => l.startsWith('RESULTS ')) ?? '').slice('RESULTS '.length),
    ) as Array<{ returned: ProxyResult | { ok: boolean; result: { refreshed: number; failed: number } } }>
    const miss = results[0]?.returned as ProxyResult
    expect(header(miss, 'x-cache')).toBe('MISS')
    const scanned = (JSON.parse(miss.body) as { meta: { dataScannedBytes: number } }).meta.dataScannedBytes
    expect(scanned).toBeGreaterThan(0)
    const prewarm = results[3]?.returned as { ok: boolean; result: { refreshed: number; failed: number } }
    expect(prewarm.ok).toBe(true)

    for (const b of blobs) {
      expect(b._aws.CloudWatchMetrics[0]?.Namespace).toBe('AcpTest/Emf')
      expect(b.service).toBe('acp-emf-test')
    }
    const names = (b: Blob) => b._aws.CloudWatchMetrics[0]?.Metrics.map((m) => m.Name) ?? []
    const dims = (b: Blob) => b._aws.CloudWatchMetrics[0]?.Dimensions
    const unit = (b: Blob, name: string) =>
      b._aws.CloudWatchMetrics[0]?.Metrics.find((m) => m.Name === name)?.Unit
    // The invocations' service-level blobs, in order (each carries CacheBreakerOpen); the cold start is its own.
    const service = blobs.filter((b) => names(b).includes('CacheBreakerOpen'))
    expect(service).toHaveLength(4)
    for (const b of service) {
      expect(dims(b)).toEqual([['service']])
      expect(b.CacheBreakerOpen).toBe(0)
    }
    const [first, second, third, fourth] = service as [Blob, Blob, Blob, Blob]
    expect(first).toMatchObject({ ReadMiss: 1, AthenaExecutions: 1, AthenaScannedBytes: scanned })
    expect(first.ReadLatency).toBeGreaterThan(0)
    expect(unit(first, 'ReadLatency')).toBe('Milliseconds')
    expect(unit(first, 'AthenaScannedBytes')).toBe('Bytes')
    expect(names(first)).not.toContain('ReadHit')
    expect(second).toMatchObject({ ReadHit: 1, BytesSaved: scanned })
    expect(names(second)).not.toContain('AthenaExecutions')
    expect(third).toMatchObject({ Responses4xx: 1 })
    expect(names(third)).not.toContain('ReadLatency')
    expect(fourth).toMatchObject({
      PrewarmRuns: 1,
      PrewarmRefreshed: prewarm.result.refreshed,
      PrewarmFailed: prewarm.result.failed,
    })
    expect(fourth.PrewarmDuration).toBeGreaterThanOrEqual(0)
    // Per query: the read metrics again under [service, query], never with parameters.
    const perQuery = blobs.filter((b) => 'query' in b)
    expect(perQuery.map((b) => [b.query, dims(b), b.ReadMiss ?? 0, b.ReadHit ?? 0])).toEqual([
      ['analytics', [['service', 'query']], 1, 0],
      ['analytics', [['service', 'query']], 0, 1],
    ])
    for (const b of perQuery)
      expect(names(b).sort()).toEqual([b.ReadMiss ? 'ReadMiss' : 'ReadHit', 'ReadLatency'].sort())
    expect(blobs.filter((b) => names(b).includes('ColdStart'))).toHaveLength(1)
  }, 60_000)

  it('refuses to start without what a deployment must give it', async () => {
    const r = await runNode(
      [
        '--import',
        'tsx',
        'test/helpers/lambda-runner.ts',
        JSON.stringify([restEvent({ method: 'GET', path: '/health' })]),
      ],
      {
        LAMBDA_MODULE: 'dist/lambda/index.mjs',
        QUERY_ENGINE: 'athena',
        REDIS_URL: undefined,
        CACHE_PREFIX: undefined,
      },
    )
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/"threw":"Invalid configuration:\\n {2}REDIS_URL: required here/)
  })
})

// The streaming handler (`index.streamingHandler`) against the buffered one (`index.handler`), both from
// src/entry/lambda.ts in one process per test (test/helpers/lambda-runner.ts, with the runtime's `awslambda` global
// emulated by test/helpers/lambda-stream-runtime.ts): for every event the same answer, streamed behind an HTTP prelude
// for requests and as bare JSON for operations; and the buffered handler's 413 where a body passes Lambda's 6 MB.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { type LocalAthena, startLocalAthena } from '../../local/athena-server.ts'
import { BUFFERED_RESPONSE_LIMIT_BYTES } from '../../src/entry/lambda-events.ts'
import { deployedLambdaEnv } from '../helpers/lambda-env.ts'
import {
  type Invocation,
  invokeLambda,
  type ProxyResult,
  restEvent,
  resultBody,
  resultHeader,
  streamedHttp,
} from '../helpers/lambda-invoke.ts'
import { testRedis } from '../helpers/redis-client.ts'

const ORIGIN = 'https://dashboards.example.com'

// Test only: rows of about 1 KB, as many as asked, so that one request can pass Lambda's buffered payload limit.
// `range(n) AS t(i)` is DuckDB (the local engine); Athena would spell it UNNEST(sequence(…)).
const CATALOG = `
queries:
  padded_rows:
    description: Rows of about a kilobyte each.
    ttlSeconds: 3600
    staleSeconds: 3600
    parameters:
      rows: { type: integer, min: 1, max: 10000, default: 5 }
    sql: |
      SELECT i, repeat('x', 1000) AS pad FROM range(10000) AS t(i) WHERE i < :rows ORDER BY i
`

const withoutTimes = (value: unknown): unknown =>
  JSON.parse(JSON.stringify(value), (key, v: unknown) => (key === 'invalidatedAt' ? undefined : v))

const both = (event: unknown): Invocation[] => [
  { handler: 'handler', event },
  { handler: 'streamingHandler', event },
]

describe('the streaming Lambda handler, and the buffered one at its payload limit', () => {
  let local: LocalAthena
  let redis: Awaited<ReturnType<typeof testRedis>>
  let configDir: string

  beforeAll(async () => {
    redis = await testRedis()
    local = await startLocalAthena({ dataDir: inject('dataDir'), port: 0, minQueryMs: 0 })
    configDir = await mkdtemp(join(tmpdir(), 'acp-lambda-stream-'))
    await writeFile(join(configDir, 'queries.yaml'), CATALOG)
  })
  afterAll(async () => {
    await local?.close()
    await redis?.cleanup()
    if (configDir) await rm(configDir, { recursive: true, force: true })
  })

  const invoke = async (invocations: Invocation[], extraEnv: Record<string, string> = {}) => {
    const { results } = await invokeLambda(invocations, {
      ...deployedLambdaEnv({
        athenaEndpoint: local.endpoint,
        redisUrl: redis.url,
        prefix: redis.prefix,
        apiKeys: '',
      }),
      CONFIG_DIR: configDir,
      POLL_INITIAL_DELAY_MS: '20',
      LOG_LEVEL: 'silent',
      LAMBDA_MODULE: undefined,
      ...extraEnv,
    })
    return results
  }

  it('streams a query result with the buffered answer: status, caching headers, body bytes (identity and gzip)', async () => {
    const read = (headers: Record<string, string> = {}, method = 'GET') =>
      restEvent({ method, path: '/queries/padded_rows', query: { rows: '5' }, headers })
    const gzip = { 'Accept-Encoding': 'gzip, deflate, br' }
    const results = await invoke([
      ...both(read()),
      ...both(read(gzip)),
      { handler: 'streamingHandler', event: read(gzip, 'HEAD') },
    ])
    const [plainBuffered, plainStreamed, gzipBuffered, gzipStreamed, head] = [
      results[0]?.returned as ProxyResult,
      streamedHttp(results[1]),
      results[2]?.returned as ProxyResult,
      streamedHttp(results[3]),
      streamedHttp(results[4]),
    ]
    expect(plainBuffered.statusCode).toBe(200)
    expect(resultHeader(plainBuffered, 'x-cache')).toBe('MISS')
    for (const [buffered, streamed] of [
      [plainBuffered, plainStreamed],
      [gzipBuffered, gzipStreamed],
    ] as const) {
      expect(streamed.statusCode).toBe(200)
      expect(streamed.ended).toBe(true)
      expect(streamed.headers['x-cache']).toBe('HIT')
      for (const name of ['etag', 'cache-control', 'content-type', 'content-encoding', 'vary'])
        expect(streamed.headers[name], name).toBe(resultHeader(buffered, name))
      expect(streamed.body.equals(resultBody(buffered))).toBe(true)
      expect(streamed.cookies).toEqual([])
    }
    expect(plainStreamed.headers['content-encoding']).toBeUndefined()
    expect(gzipStreamed.headers['content-encoding']).toBe('gzip')
    expect(gunzipSync(gzipStreamed.body).equals(plainStreamed.body)).toBe(true)
    const body = JSON.parse(plainStreamed.body.toString('utf8')) as { rows: unknown[] }
    expect(body.rows).toHaveLength(5)

    // HEAD: the GET's status and headers behind the prelude, no body, and the stream ended.
    expect(head.statusCode).toBe(200)
    expect(head.headers.etag).toBe(resultHeader(gzipBuffered, 'etag'))
    expect(head.body.length).toBe(0)
    expect(head.ended).toBe(true)
  })

  it('streams the problems the buffered handler answers: unknown query, bad parameter, malformed events', async () => {
    const events = [
      restEvent({ method: 'GET', path: '/queries/no_such_query' }),
      restEvent({ method: 'GET', path: '/queries/padded_rows', query: { rows: '0' } }),
      restEvent({ method: 'GET', path: '/queries/padded_rows', body: '{"rows":1}' }),
      // A header value a fetch Request refuses: the adapter's own refusal, answered as a problem.
      restEvent({ method: 'GET', path: '/health', headers: { 'x-bad': 'a\nb' } }),
    ]
    const results = await invoke(events.flatMap(both))
    const statuses: number[] = []
    for (let i = 0; i < events.length; i++) {
      const buffered = results[2 * i]?.returned as ProxyResult
      const streamed = streamedHttp(results[2 * i + 1])
      statuses.push(streamed.statusCode)
      expect(streamed.ended, `event ${i}`).toBe(true)
      expect(streamed.statusCode, `event ${i}`).toBe(buffered.statusCode)
      expect(streamed.headers['content-type'], `event ${i}`).toBe('application/problem+json')
      expect(streamed.headers['content-type']).toBe(resultHeader(buffered, 'content-type'))
      expect(JSON.parse(streamed.body.toString('utf8')), `event ${i}`).toEqual(JSON.parse(buffered.body))
    }
    expect(statuses).toEqual([404, 400, 400, 400])
    const detail = (i: number) =>
      JSON.parse(streamedHttp(results[i]).body.toString('utf8')) as { detail: string }
    expect(detail(5).detail).toMatch(/GET request carries no body/)
    expect(detail(7).detail).toMatch(/could not be read as an HTTP request/)
  })

  it('answers operation and invalid events with the OperationResult JSON and no prelude', async () => {
    const events = [
      { action: 'invalidate', query: 'padded_rows', mode: 'expire' },
      { action: 'explode' },
      { foo: 'bar' },
      42,
    ]
    const results = await invoke(events.flatMap(both))
    for (let i = 0; i < events.length; i++) {
      const buffered = results[2 * i]?.returned
      const streamed = results[2 * i + 1]?.streamed
      expect(streamed?.threw, `event ${i}`).toBeUndefined()
      expect(streamed?.ended, `event ${i}`).toBe(true)
      expect(streamed?.prelude, `event ${i}`).toBeNull()
      expect(streamed?.contentType, `event ${i}`).toBe('application/json')
      const answer = JSON.parse(Buffer.from(streamed?.bodyBase64 ?? '', 'base64').toString('utf8'))
      // Each invalidation has its own time; everything else is the same answer.
      expect(withoutTimes(answer), `event ${i}`).toEqual(withoutTimes(buffered))
    }
    expect(results[0]?.returned).toMatchObject({
      ok: true,
      result: { scope: 'query', mode: 'expire', queries: ['padded_rows'] },
    })
    expect(results[2]?.returned).toMatchObject({ ok: false, error: { code: 'VALIDATION' } })
    expect(results[6]?.returned).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/a number/) },
    })
  })

  it('a container that cannot start: the streaming handler rejects, leaving the stream to the runtime to fail', async () => {
    const results = await invoke(
      [{ handler: 'streamingHandler', event: restEvent({ method: 'GET', path: '/health' }) }],
      { REDIS_URL: '' },
    )
    const streamed = results[0]?.streamed
    // As `handler` throws: the runtime ends the stream with error trailers, so the invocation counts as failed.
    expect(streamed?.threw).toMatch(/Invalid configuration:\n {2}REDIS_URL/)
    expect(streamed?.ended).toBe(false)
    expect(streamed?.bodyBase64).toBe('')
  })

  it('over 6 MB: the buffered handler answers 413 with the CORS headers, gzip still fits, the stream has it all', async () => {
    const read = (headers: Record<string, string>) =>
      restEvent({
        method: 'GET',
        path: '/queries/padded_rows',
        query: { rows: '7000' },
        headers: { Origin: ORIGIN, ...headers },
      })
    const results = await invoke(
      [
        { handler: 'handler', event: read({}) },
        { handler: 'handler', event: read({ 'Accept-Encoding': 'gzip' }) },
        { handler: 'streamingHandler', event: read({}) },
      ],
      { CORS_ORIGIN: ORIGIN },
    )
    const tooLarge = results[0]?.returned as ProxyResult
    expect(tooLarge.statusCode).toBe(413)
    expect(resultHeader(tooLarge, 'content-type')).toBe('application/problem+json')
    expect(resultHeader(tooLarge, 'access-control-allow-origin')).toBe(ORIGIN)
    const p = JSON.parse(tooLarge.body) as Record<string, unknown>
    expect(p).toMatchObject({
      type: 'urn:athena-cache-proxy:problem:response-too-large',
      status: 413,
      instance: '/queries/padded_rows',
      limitBytes: BUFFERED_RESPONSE_LIMIT_BYTES,
    })
    expect(p.responseBytes as number).toBeGreaterThan(BUFFERED_RESPONSE_LIMIT_BYTES)
    expect(p.detail).toMatch(new RegExp(`${p.responseBytes} bytes.*${BUFFERED_RESPONSE_LIMIT_BYTES} bytes`))
    expect(p.detail).toMatch(/Accept-Encoding: gzip/)
    expect(p.detail).toMatch(/streaming/)

    const gzipped = results[1]?.returned as ProxyResult
    expect(gzipped.statusCode).toBe(200)
    expect(resultHeader(gzipped, 'content-encoding')).toBe('gzip')
    expect(JSON.stringify(gzipped).length).toBeLessThan(BUFFERED_RESPONSE_LIMIT_BYTES)

    const streamed = streamedHttp(results[2])
    expect(streamed.statusCode).toBe(200)
    expect(streamed.ended).toBe(true)
    expect(streamed.headers['access-control-allow-origin']).toBe(ORIGIN)
    expect(streamed.body.length).toBeGreaterThan(BUFFERED_RESPONSE_LIMIT_BYTES)
    expect(streamed.body.equals(gunzipSync(resultBody(gzipped)))).toBe(true)
    expect((JSON.parse(streamed.body.toString('utf8')) as { rows: unknown[] }).rows).toHaveLength(7000)
  })
})

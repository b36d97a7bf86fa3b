// 100k rows with the defaults on Lambda (the shipped catalog's `events` query, no limit raised): streamed through
// `index.streamingHandler` in JSON, CSV and NDJSON, identity and gzip; through the buffered `index.handler` with gzip,
// and its 413 (never a 502) without. The same source module as deployed, one process per test
// (test/helpers/lambda-runner.ts, the runtime's `awslambda` global emulated).
import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { type LocalAthena, startLocalAthena } from '../../local/athena-server.ts'
import { deployedLambdaEnv } from '../helpers/lambda-env.ts'
import {
  invokeLambda,
  type ProxyResult,
  restEvent,
  resultBody,
  resultHeader,
  streamedHttp,
} from '../helpers/lambda-invoke.ts'
import { testRedis } from '../helpers/redis-client.ts'

/** About 100k rows of the test data (200k rows over 91 days). */
const QUERY = { start: '2024-01-01', end: '2024-02-19' }

describe('100k rows on Lambda with the default limits', () => {
  let local: LocalAthena
  let redis: Awaited<ReturnType<typeof testRedis>>
  beforeAll(async () => {
    redis = await testRedis()
    local = await startLocalAthena({ dataDir: inject('dataDir'), port: 0, minQueryMs: 0 })
  })
  afterAll(async () => {
    await local?.close()
    await redis?.cleanup()
  })

  it('streams JSON, CSV and NDJSON; buffered, gzip fits and identity is a 413 problem', async () => {
    const event = (headers: Record<string, string>, format?: string) =>
      restEvent({
        method: 'GET',
        path: '/queries/events',
        query: { ...QUERY, ...(format ? { format } : {}) },
        headers,
      })
    const gzip = { 'Accept-Encoding': 'gzip' }
    const { results } = await invokeLambda(
      [
        { handler: 'streamingHandler', event: event(gzip) },
        { handler: 'streamingHandler', event: event(gzip, 'csv') },
        { handler: 'streamingHandler', event: event({}, 'ndjson') },
        { handler: 'handler', event: event(gzip) },
        { handler: 'handler', event: event({}) },
      ],
      {
        ...deployedLambdaEnv({
          athenaEndpoint: local.endpoint,
          redisUrl: redis.url,
          prefix: redis.prefix,
          apiKeys: '',
        }),
        POLL_INITIAL_DELAY_MS: '20',
        LOG_LEVEL: 'silent',
        LAMBDA_MODULE: undefined,
      },
    )
    const json = streamedHttp(results[0])
    expect(json.statusCode).toBe(200)
    expect(json.headers['content-encoding']).toBe('gzip')
    const body = JSON.parse(gunzipSync(json.body).toString()) as {
      rows: unknown[]
      meta: { rowCount: number }
    }
    expect(body.meta.rowCount).toBeGreaterThanOrEqual(100_000)
    expect(body.rows).toHaveLength(body.meta.rowCount)

    const csv = streamedHttp(results[1])
    expect(csv.statusCode).toBe(200)
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8; header=present')
    expect(gunzipSync(csv.body).toString().split('\r\n').length - 2).toBe(body.meta.rowCount)

    const ndjson = streamedHttp(results[2])
    expect(ndjson.headers['content-type']).toBe('application/x-ndjson')
    expect(ndjson.headers['content-encoding']).toBeUndefined()
    // Well past the buffered 6 MB: only the stream can carry it.
    expect(ndjson.body.length).toBeGreaterThan(6 * 1024 * 1024)
    const lines = ndjson.body.toString().split('\n')
    expect(lines.length - 1).toBe(body.meta.rowCount)
    expect(JSON.parse(lines[0] ?? '')).toEqual(body.rows[0])

    const buffered = (results[3] as { returned: ProxyResult }).returned
    expect(buffered.statusCode).toBe(200)
    expect(resultBody(buffered).equals(json.body)).toBe(true)
    const tooLarge = (results[4] as { returned: ProxyResult }).returned
    expect(tooLarge.statusCode).toBe(413)
    expect(resultHeader(tooLarge, 'content-type')).toBe('application/problem+json')
    expect(JSON.parse(resultBody(tooLarge).toString())).toMatchObject({ status: 413 })
  }, 120_000)
})

// Malformed invocations of the real Lambda handler (src/entry/lambda.ts, in a process of its own through
// test/helpers/lambda-runner.ts): each is answered — problem+json for a request, {ok: false} for anything else —
// and none throws.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { type LocalAthena, startLocalAthena } from '../../local/athena-server.ts'
import { deployedLambdaEnv } from '../helpers/lambda-env.ts'
import { runNode } from '../helpers/processes.ts'
import { testRedis } from '../helpers/redis-client.ts'

const ADMIN_KEY = 'events-admin-key'

/** An API Gateway REST API (v1) proxy event. */
function restEvent(options: {
  method: string
  path: string
  headers?: Record<string, string>
  body?: string | null
  isBase64Encoded?: boolean
}): Record<string, unknown> {
  const headers = { Host: 'abc123.execute-api.eu-west-2.amazonaws.com', ...options.headers }
  return {
    resource: options.path,
    path: options.path,
    httpMethod: options.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    requestContext: {
      resourcePath: options.path,
      httpMethod: options.method,
      path: `/default${options.path}`,
      stage: 'default',
      requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      identity: { sourceIp: '203.0.113.7' },
      domainName: 'abc123.execute-api.eu-west-2.amazonaws.com',
      apiId: 'abc123',
    },
    body: options.body ?? null,
    isBase64Encoded: options.isBase64Encoded ?? false,
  }
}

/** An API Gateway HTTP API (v2) event. */
function httpApiEvent(options: { method: string; path: string; body?: string }): Record<string, unknown> {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: options.path,
    rawQueryString: '',
    headers: { host: 'abc123.execute-api.eu-west-2.amazonaws.com' },
    requestContext: {
      http: { method: options.method, path: options.path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7' },
      domainName: 'abc123.execute-api.eu-west-2.amazonaws.com',
      requestId: 'r1',
      stage: '$default',
    },
    body: options.body,
    isBase64Encoded: false,
  }
}

interface ProxyResult {
  statusCode: number
  headers?: Record<string, string>
  multiValueHeaders?: Record<string, string[]>
  body: string
}

const header = (r: ProxyResult, name: string): string | undefined =>
  Object.entries(r.headers ?? {}).find(([k]) => k.toLowerCase() === name)?.[1] ??
  Object.entries(r.multiValueHeaders ?? {}).find(([k]) => k.toLowerCase() === name)?.[1]?.[0]

describe('the Lambda handler with malformed events', () => {
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

  async function invoke(events: unknown[]): Promise<unknown[]> {
    const env = {
      ...deployedLambdaEnv({
        athenaEndpoint: local.endpoint,
        redisUrl: redis.url,
        prefix: redis.prefix,
        apiKeys: '',
      }),
      ADMIN_API_KEYS: ADMIN_KEY,
      LOG_LEVEL: 'silent',
      LAMBDA_MODULE: undefined,
    }
    const r = await runNode(['--import', 'tsx', 'test/helpers/lambda-runner.ts', JSON.stringify(events)], env)
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

  it('non-HTTP events that are not operations: {ok: false}, never a throw', async () => {
    const results = await invoke([42, null, 'prewarm', [], true, { foo: 'bar' }, { action: 'explode' }])
    for (const result of results)
      expect(result).toMatchObject({ ok: false, error: { code: 'VALIDATION', message: expect.any(String) } })
    expect((results[0] as { error: { message: string } }).error.message).toMatch(/a number/)
    expect((results[1] as { error: { message: string } }).error.message).toMatch(/null/)
  }, 60_000)

  it('malformed requests: a problem+json each, and the container still answers after them', async () => {
    const events = [
      restEvent({ method: 'GET', path: '/analytics', body: '{"measure":"pageviews"}' }),
      restEvent({
        method: 'POST',
        path: '/cache/invalidate',
        headers: { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' },
        body: '%%% not base64 %%%',
        isBase64Encoded: true,
      }),
      httpApiEvent({ method: 'GET', path: '/health', body: 'x' }),
      restEvent({ method: 'HEAD', path: '/health', body: 'x' }),
      // A header value a fetch Request refuses (the adapter's own bare "Invalid request" before this change).
      restEvent({ method: 'GET', path: '/health', headers: { 'x-bad': 'a\nb' } }),
      restEvent({ method: 'GET', path: '/health' }),
    ]
    const results = (await invoke(events)) as ProxyResult[]
    const health = results.pop()
    for (const [i, result] of results.entries()) {
      expect(result.statusCode, `event ${i}`).toBe(400)
      expect(header(result, 'content-type'), `event ${i}`).toBe('application/problem+json')
      expect(JSON.parse(result.body), `event ${i}`).toMatchObject({
        status: 400,
        type: 'urn:athena-cache-proxy:problem:malformed-request',
        detail: expect.any(String),
      })
    }
    expect(JSON.parse(results[0]?.body ?? '{}').detail).toMatch(/GET request carries no body/)
    expect(JSON.parse(results[1]?.body ?? '{}').detail).toMatch(/base64/)
    expect(health?.statusCode).toBe(200)
  }, 60_000)
})

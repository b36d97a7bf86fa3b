// Tenants named by an API Gateway Lambda authorizer (TENANT_AUTHORIZER_FIELD): real REST (v1) and HTTP API (v2)
// events through both Lambda handlers (src/entry/lambda.ts in a process of its own: test/helpers/lambda-runner.ts),
// the local Athena through the AWS SDK and a real Redis. The authorizer's tenant reads its own rows with no key; an
// unknown one is a 403; without the field (or without the variable) the key decides, as it always did. The Node
// server's app, built without the Lambda entry point's hook, ignores an event however it reaches it.
import { rm } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { type LocalAthena, startLocalAthena } from '../../local/athena-server.ts'
import { loadConfig } from '../../src/config/load-config.ts'
import { authorizerTenantName } from '../../src/entry/lambda-authorizer.ts'
import { ConfigError } from '../../src/errors.ts'
import { deployedLambdaEnv } from '../helpers/lambda-env.ts'
import {
  httpApiEvent,
  type InvocationResult,
  invokeLambda,
  type ProxyResult,
  restEvent,
  resultBody,
  resultHeader,
  streamedHttp,
} from '../helpers/lambda-invoke.ts'
import { testRedis } from '../helpers/redis-client.ts'
import { type Stack, startStack } from '../helpers/stack.ts'
import { TENANT_COUNTRY, TENANT_KEYS, tenantConfigDir } from '../helpers/tenant-config.ts'

const FIELD = 'tenantId'
const PATH = '/queries/country_daily'
const QUERY = { start: '2024-01-01' }

type Event = Record<string, unknown>

/** A REST API (v1) read; `authorizer` is the context a Lambda authorizer returned (flat, beside principalId). */
function rest(authorizer: Record<string, unknown> | undefined, headers: Record<string, string> = {}): Event {
  const event = restEvent({ method: 'GET', path: PATH, query: QUERY, headers })
  if (!authorizer) return event
  return { ...event, requestContext: { ...(event.requestContext as object), authorizer } }
}

/** An HTTP API (v2) read; `lambda` is the authorizer's context (`requestContext.authorizer.lambda`). */
function http(
  lambda: Record<string, unknown> | null | undefined,
  headers: Record<string, string> = {},
): Event {
  const event = httpApiEvent({ method: 'GET', path: PATH, query: QUERY, headers })
  if (lambda === undefined) return event
  return { ...event, requestContext: { ...(event.requestContext as object), authorizer: { lambda } } }
}

const key = (tenant: keyof typeof TENANT_KEYS) => ({ 'x-api-key': TENANT_KEYS[tenant] })

interface Answer {
  status: number
  headers: Record<string, string | undefined>
  body: string
}

/** The buffered result and the streamed one in one shape. */
function answerOf(result: InvocationResult | undefined, streamed: boolean): Answer {
  if (streamed) {
    const s = streamedHttp(result)
    return { status: s.statusCode, headers: s.headers, body: s.body.toString('utf8') }
  }
  const r = result?.returned as ProxyResult
  expect(r, JSON.stringify(result)).toBeDefined()
  const headers: Record<string, string | undefined> = {}
  for (const name of ['content-type', 'cache-control', 'vary']) headers[name] = resultHeader(r, name)
  return { status: r.statusCode, headers, body: resultBody(r).toString('utf8') }
}

/** What a case expects: a country's rows, or a problem's status. */
type Expected = { country: string } | { status: 401 | 403 }

function check(answer: Answer, expected: Expected, label: string): void {
  if ('country' in expected) {
    expect(answer.status, `${label}: ${answer.body}`).toBe(200)
    expect(answer.headers['cache-control'], label).toMatch(/^private/)
    const body = JSON.parse(answer.body) as { rows: Array<{ country: string }> }
    expect(body.rows.length, label).toBeGreaterThan(0)
    expect(new Set(body.rows.map((r) => r.country)), label).toEqual(new Set([expected.country]))
  } else {
    expect(answer.status, `${label}: ${answer.body}`).toBe(expected.status)
    expect(answer.headers['content-type'], label).toMatch(/^application\/problem\+json/)
  }
}

describe('tenants from a Lambda authorizer, through both handlers', () => {
  let local: LocalAthena
  let redis: Awaited<ReturnType<typeof testRedis>>
  let configDir: string

  beforeAll(async () => {
    redis = await testRedis()
    local = await startLocalAthena({ dataDir: inject('dataDir'), port: 0, minQueryMs: 0 })
    configDir = await tenantConfigDir()
  })
  afterAll(async () => {
    await local?.close()
    await redis?.cleanup()
    if (configDir) await rm(configDir, { recursive: true, force: true })
  })

  /** Every case through `handler` then `streamingHandler`, in one warm container; each answer checked. */
  async function run(cases: Array<[string, Event, Expected]>, extraEnv: Record<string, string>) {
    const { results } = await invokeLambda(
      cases.flatMap(([, event]) => [
        { handler: 'handler' as const, event },
        { handler: 'streamingHandler' as const, event },
      ]),
      {
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
      },
    )
    expect(results).toHaveLength(cases.length * 2)
    cases.forEach(([label, , expected], i) => {
      check(answerOf(results[2 * i], false), expected, `${label} (buffered)`)
      check(answerOf(results[2 * i + 1], true), expected, `${label} (streamed)`)
    })
  }

  it('with TENANT_AUTHORIZER_FIELD: the authorizer’s tenant reads its own rows without a key; unknown = 403; absent = the key decides', async () => {
    const US = { country: TENANT_COUNTRY.acme }
    const DE = { country: TENANT_COUNTRY.globex }
    await run(
      [
        ['REST acme', rest({ principalId: 'user-1', integrationLatency: 3, [FIELD]: 'acme' }), US],
        ['REST globex', rest({ principalId: 'user-2', [FIELD]: 'globex' }), DE],
        ['HTTP API acme', http({ [FIELD]: 'acme' }), US],
        ['HTTP API globex', http({ [FIELD]: 'globex' }), DE],
        ['REST unknown tenant', rest({ [FIELD]: 'umbrella' }), { status: 403 }],
        ['HTTP API unknown tenant', http({ [FIELD]: 'umbrella' }), { status: 403 }],
        ['REST empty tenant', rest({ [FIELD]: '' }), { status: 403 }],
        [
          'HTTP API unknown tenant with a valid key',
          http({ [FIELD]: 'umbrella' }, key('acme')),
          { status: 403 },
        ],
        // The authorizer comes first: API Gateway authenticated this caller as acme, whatever key it also sends.
        ['REST acme with globex’s key', rest({ [FIELD]: 'acme' }, key('globex')), US],
        ['REST authorizer without the field, no key', rest({ principalId: 'user-1' }), { status: 401 }],
        ['REST no authorizer, no key', rest(undefined), { status: 401 }],
        ['REST no authorizer, globex’s key', rest(undefined, key('globex')), DE],
        ['HTTP API null context, no key', http(null), { status: 401 }],
        ['HTTP API no authorizer, acme’s key', http(undefined, key('acme')), US],
      ],
      { TENANT_AUTHORIZER_FIELD: FIELD },
    )
  })

  it('without TENANT_AUTHORIZER_FIELD: an authorizer’s tenant is ignored and the key decides', async () => {
    await run(
      [
        ['REST acme, no key', rest({ [FIELD]: 'acme' }), { status: 401 }],
        ['HTTP API acme, no key', http({ [FIELD]: 'acme' }), { status: 401 }],
        ['REST acme with globex’s key', rest({ [FIELD]: 'acme' }, key('globex')), { country: 'DE' }],
        ['HTTP API acme with globex’s key', http({ [FIELD]: 'acme' }, key('globex')), { country: 'DE' }],
      ],
      {},
    )
  })
})

describe('the Node server’s app ignores an authorizer’s context', () => {
  let s: Stack
  let configDir: string
  beforeAll(async () => {
    configDir = await tenantConfigDir()
    s = await startStack({ env: { CONFIG_DIR: configDir, TENANT_AUTHORIZER_FIELD: FIELD } })
  })
  afterAll(async () => {
    await s?.close()
    if (configDir) await rm(configDir, { recursive: true, force: true })
  })

  it('an event in the env (as the Lambda adapter would pass it) names no tenant: the key is still required', async () => {
    const url = `${PATH}?start=2024-01-01`
    const env = { event: rest({ [FIELD]: 'acme' }) }
    expect((await s.app.request(url, {}, env)).status).toBe(401)
    const res = await s.app.request(url, { headers: key('globex') }, env)
    expect(res.status).toBe(200)
    const body = (await res.json()) as { rows: Array<{ country: string }> }
    expect(new Set(body.rows.map((r) => r.country))).toEqual(new Set(['DE']))
  })
})

describe('authorizerTenantName: where each event carries the authorizer’s context', () => {
  const cases: Array<[string, unknown, string | undefined]> = [
    ['REST v1', { httpMethod: 'GET', requestContext: { authorizer: { [FIELD]: 'acme' } } }, 'acme'],
    [
      'HTTP API v2',
      { version: '2.0', requestContext: { authorizer: { lambda: { [FIELD]: 'acme' } } } },
      'acme',
    ],
    // v2 keeps the context under `lambda`: a field beside it (JWT or IAM authorizers) is not the Lambda authorizer's.
    [
      'HTTP API v2, field beside lambda',
      { version: '2.0', requestContext: { authorizer: { [FIELD]: 'acme' } } },
      undefined,
    ],
    [
      'HTTP API v2, IAM',
      { version: '2.0', requestContext: { authorizer: { iam: { userId: 'x' } } } },
      undefined,
    ],
    ['REST v1, no authorizer', { httpMethod: 'GET', requestContext: {} }, undefined],
    [
      'REST v1, null value',
      { httpMethod: 'GET', requestContext: { authorizer: { [FIELD]: null } } },
      undefined,
    ],
    ['REST v1, number', { httpMethod: 'GET', requestContext: { authorizer: { [FIELD]: 42 } } }, '42'],
    [
      'REST v1, object',
      { httpMethod: 'GET', requestContext: { authorizer: { [FIELD]: { id: 'acme' } } } },
      '{"id":"acme"}',
    ],
    ['no requestContext', { httpMethod: 'GET' }, undefined],
    ['not an event', 'acme', undefined],
  ]
  it.each(cases)('%s', (_, event, expected) => {
    expect(authorizerTenantName(event, FIELD)).toBe(expected)
  })
})

describe('TENANT_AUTHORIZER_FIELD', () => {
  it('is off when unset or empty, a context key when set, and a ConfigError when not a key', () => {
    expect(loadConfig({}).tenantAuthorizerField).toBeUndefined()
    expect(loadConfig({ TENANT_AUTHORIZER_FIELD: '' }).tenantAuthorizerField).toBeUndefined()
    expect(loadConfig({ TENANT_AUTHORIZER_FIELD: 'tenant_id' }).tenantAuthorizerField).toBe('tenant_id')
    expect(() => loadConfig({ TENANT_AUTHORIZER_FIELD: 'tenant id' })).toThrow(ConfigError)
    expect(() => loadConfig({ TENANT_AUTHORIZER_FIELD: 'tenant id' })).toThrow(/TENANT_AUTHORIZER_FIELD/)
  })
})

import { expect } from 'vitest'
import type { StreamedInvocation } from './lambda-stream-runtime.ts'
import { runNode } from './processes.ts'

/** One invocation for lambda-runner.ts: which exported handler, with which event. */
export interface Invocation {
  handler: 'handler' | 'streamingHandler'
  event: unknown
}

export type InvocationResult = { returned?: unknown; threw?: string; streamed?: StreamedInvocation }

/**
 * Runs the invocations in order in one fresh process (one warm container: lambda-runner.ts) and returns what each
 * gave, and the module's exports (`{name: "function" | "streaming function" | …}`).
 */
export async function invokeLambda(
  invocations: Invocation[],
  env: Record<string, string | undefined>,
): Promise<{ results: InvocationResult[]; exports: Record<string, string> }> {
  const r = await runNode(
    ['--import', 'tsx', 'test/helpers/lambda-runner.ts', '--invocations', JSON.stringify(invocations)],
    env,
  )
  expect(r.code, r.stderr).toBe(0)
  const line = (prefix: string): string => {
    const found = r.stdout.split('\n').find((l) => l.startsWith(prefix))
    expect(found, r.stdout.slice(0, 2000) + r.stderr).toBeDefined()
    return (found ?? '').slice(prefix.length)
  }
  return {
    results: JSON.parse(line('RESULTS ')) as InvocationResult[],
    exports: JSON.parse(line('EXPORTS ')) as Record<string, string>,
  }
}

/** A streamed HTTP answer: the prelude's metadata (header names lower-cased) and the body. */
export interface StreamedHttp {
  statusCode: number
  headers: Record<string, string>
  cookies: string[]
  body: Buffer
  ended: boolean
}

/** Parses a streamed invocation's HTTP prelude (`{statusCode, headers, cookies}`); fails the test without one. */
export function streamedHttp(result: InvocationResult | undefined): StreamedHttp {
  const streamed = result?.streamed
  expect(streamed, JSON.stringify(result)).toBeDefined()
  expect(streamed?.threw).toBeUndefined()
  expect(streamed?.contentType).toBe('application/vnd.awslambda.http-integration-response')
  const metadata = JSON.parse(streamed?.prelude ?? 'null') as {
    statusCode: number
    headers: Record<string, string>
    cookies: string[]
  }
  return {
    statusCode: metadata.statusCode,
    headers: Object.fromEntries(Object.entries(metadata.headers).map(([k, v]) => [k.toLowerCase(), v])),
    cookies: metadata.cookies,
    body: Buffer.from(streamed?.bodyBase64 ?? '', 'base64'),
    ended: streamed?.ended ?? false,
  }
}

/** A buffered API Gateway / ALB result. */
export interface ProxyResult {
  statusCode: number
  headers?: Record<string, string>
  multiValueHeaders?: Record<string, string[]>
  body: string
  isBase64Encoded?: boolean
}

/** A header of a buffered result, by lower-case name (from `headers` or `multiValueHeaders`). */
export const resultHeader = (r: ProxyResult, name: string): string | undefined =>
  Object.entries(r.headers ?? {}).find(([k]) => k.toLowerCase() === name)?.[1] ??
  Object.entries(r.multiValueHeaders ?? {}).find(([k]) => k.toLowerCase() === name)?.[1]?.[0]

/** A buffered result's body bytes (base64-decoded when the result says so). */
export const resultBody = (r: ProxyResult): Buffer =>
  Buffer.from(r.body, r.isBase64Encoded ? 'base64' : 'utf8')

/** An API Gateway REST API (v1, Lambda proxy integration) event, with multi-value headers as the service sends. */
export function restEvent(options: {
  method: string
  path: string
  query?: Record<string, string>
  headers?: Record<string, string>
  body?: string | null
}): Record<string, unknown> {
  const headers = { Host: 'abc123.execute-api.eu-west-2.amazonaws.com', ...options.headers }
  const query = options.query ?? null
  return {
    resource: options.path,
    path: options.path,
    httpMethod: options.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: query,
    multiValueQueryStringParameters: query
      ? Object.fromEntries(Object.entries(query).map(([k, v]) => [k, [v]]))
      : null,
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
    isBase64Encoded: false,
  }
}

/** An API Gateway HTTP API (v2, payload format 2.0) event. */
export function httpApiEvent(options: {
  method: string
  path: string
  query?: Record<string, string>
  headers?: Record<string, string>
}): Record<string, unknown> {
  const query = options.query ?? {}
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: options.path,
    rawQueryString: new URLSearchParams(query).toString(),
    headers: {
      host: 'abc123.execute-api.eu-west-2.amazonaws.com',
      ...Object.fromEntries(Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
    },
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    requestContext: {
      http: { method: options.method, path: options.path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7' },
      domainName: 'abc123.execute-api.eu-west-2.amazonaws.com',
      requestId: 'r1',
      stage: '$default',
    },
    isBase64Encoded: false,
  }
}

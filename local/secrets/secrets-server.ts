import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import { Hono } from 'hono'
import type { Logger } from 'pino'
import {
  LocalSecretsService,
  SECRETS_OPERATIONS,
  SecretsApiError,
  type SecretsOperation,
} from './local-secrets-service.ts'

export interface LocalSecretsOptions {
  /** 0 (default) picks a free port. */
  port?: number
  /** Defaults to 127.0.0.1. */
  host?: string
  /** Region in the ARNs (default us-east-1). */
  region?: string
  /** Parameter or secret names that answer AccessDeniedException, as if IAM did not allow them. */
  deny?: readonly string[]
  logger?: Logger
}

export interface LocalSecrets {
  /** e.g. `http://127.0.0.1:43123`, for `new SSMClient({ endpoint })` and `new SecretsManagerClient({ endpoint })`. */
  endpoint: string
  port: number
  service: LocalSecretsService
  close(): Promise<void>
}

function isOperation(target: string): target is SecretsOperation {
  return (SECRETS_OPERATIONS as readonly string[]).includes(target)
}

function awsJson(status: number, payload: unknown, requestId: string, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify(payload), {
    status,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-RequestId': requestId, ...headers },
  })
}

/**
 * The awsJson1_1 endpoint of SSM Parameter Store and Secrets Manager on one path (`POST /`; the X-Amz-Target says
 * which service), so unmodified SSMClient and SecretsManagerClient work against it, plus `/_local/health`.
 */
export function createLocalSecretsApp(service: LocalSecretsService, logger?: Logger): Hono {
  const app = new Hono()
  app.post('/', async (c) => {
    const requestId = randomUUID()
    const target = c.req.header('x-amz-target') ?? ''
    try {
      if (!isOperation(target))
        throw new SecretsApiError(
          'UnknownOperationException',
          `Unknown operation: ${target || '(no X-Amz-Target)'}`,
        )
      const text = await c.req.text()
      let body: unknown = {}
      if (text.trim() !== '') {
        try {
          body = JSON.parse(text)
        } catch {
          throw new SecretsApiError('SerializationException', 'Request body is not valid JSON')
        }
      }
      return awsJson(200, service.call(target, body), requestId)
    } catch (err) {
      if (err instanceof SecretsApiError)
        return awsJson(err.status, { __type: err.type, Message: err.message }, requestId, {
          'x-amzn-ErrorType': err.type,
        })
      logger?.warn({ err, target }, 'local secrets: internal error')
      return awsJson(500, { __type: 'InternalServerError', Message: String(err) }, requestId, {
        'x-amzn-ErrorType': 'InternalServerError',
      })
    }
  })
  app.get('/_local/health', (c) => c.json({ ok: true }))
  return app
}

/** Starts the local SSM Parameter Store + Secrets Manager endpoint (in memory; nothing survives a restart). */
export async function startLocalSecrets(options: LocalSecretsOptions = {}): Promise<LocalSecrets> {
  const service = new LocalSecretsService(options.region ?? 'us-east-1')
  for (const name of options.deny ?? []) service.deny(name)
  const app = createLocalSecretsApp(service, options.logger)
  const host = options.host ?? '127.0.0.1'
  const server = createAdaptorServer({ fetch: app.fetch })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  options.logger?.info({ endpoint }, 'local secrets: listening')
  let closing: Promise<void> | undefined
  return {
    endpoint,
    port,
    service,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        // SDK clients keep connections alive; without this close() would wait for them to time out.
        if ('closeAllConnections' in server) server.closeAllConnections()
      })
      return closing
    },
  }
}

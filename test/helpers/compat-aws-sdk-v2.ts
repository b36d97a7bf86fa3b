import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

// The SDK prints its end-of-support notice on a timer started when it loads; this flag, set before the SDK itself
// is loaded, is the documented way to silence it (lib/maintenance_mode_message.js).
;(require('aws-sdk/lib/maintenance_mode_message.js') as { suppress: boolean }).suppress = true

/** The AWS SDK for JavaScript v2 (`aws-sdk`), loaded with its maintenance notice silenced. */
export const AWS = require('aws-sdk') as typeof import('aws-sdk')

/** Client options of an application pointing SDK v2 at the local endpoint (one port for Athena and S3). */
export function v2Options(endpoint: string) {
  return {
    endpoint,
    region: 'us-east-1',
    credentials: new AWS.Credentials({ accessKeyId: 'local', secretAccessKey: 'local' }),
    // The local S3 serves path-style buckets only.
    s3ForcePathStyle: true,
    maxRetries: 2,
  }
}

/** An SDK v2 Athena client for the endpoint. */
export function v2Athena(endpoint: string): InstanceType<typeof AWS.Athena> {
  return new AWS.Athena({ apiVersion: '2017-05-18', ...v2Options(endpoint) })
}

/** An SDK v2 S3 client for the endpoint. */
export function v2S3(endpoint: string): InstanceType<typeof AWS.S3> {
  return new AWS.S3({ apiVersion: '2006-03-01', ...v2Options(endpoint) })
}

/**
 * What a library taking "the `aws` object" (SDK v2) receives: the SDK's Athena and S3 classes bound to the endpoint,
 * so the library's own `new aws.Athena(…)` reaches the local endpoint without changing the SDK's global config.
 */
export function v2ScopedAws(endpoint: string) {
  const options = v2Options(endpoint)
  return {
    config: { credentials: options.credentials },
    Athena: bindOptions(AWS.Athena, options),
    S3: bindOptions(AWS.S3, options),
  }
}

/**
 * The service class with the endpoint's options merged into every construction. A Proxy rather than a subclass: the
 * SDK v2 constructors build another class's instance and cannot be extended with `class … extends`.
 */
function bindOptions<C extends new (config?: object) => object>(Service: C, options: object): C {
  return new Proxy(Service, {
    construct: (target, args: unknown[]) => new target({ ...(args[0] as object | undefined), ...options }),
  })
}

/** The `code` and HTTP status of an SDK v2 service error. */
export function v2ErrorCode(err: unknown): { code: unknown; statusCode: unknown; message: unknown } {
  const e = err as { code?: unknown; statusCode?: unknown; message?: unknown }
  return { code: e.code, statusCode: e.statusCode, message: e.message }
}

// The `awslambda` global of the Lambda Node.js runtime (aws-lambda-nodejs-runtime-interface-client: defined in
// src/UserFunction.js `_loadUserApp` before the handler module is loaded; HttpResponseStream in
// src/HttpResponseStream.js, the response stream in src/ResponseStream.js). The runtime's own typings are all `any`,
// and the runtime's members exist only inside the runtime. Outside it the global may still exist, empty: the AWS SDK's
// @aws/lambda-invoke-store runs `globalThis.awslambda = globalThis.awslambda || {}` when it loads (to keep its
// InvokeStore there). Hence `Partial<…> | undefined`: check the member, not the object.
import type { Writable } from 'node:stream'
import type { LambdaContext } from 'hono/aws-lambda'

/**
 * The response stream a streaming handler receives. Not a Writable instance: a plain object with Writable's methods
 * bound to the runtime's http.ClientRequest to the Runtime API. Its `end()` takes no chunk (RIC passes the first
 * argument on as is, so a chunk given to `end` skips the prelude): write, then end.
 */
export interface ResponseStream extends Writable {
  /** Before the first write only; throws after it. */
  setContentType(contentType: string): void
}

/** The JSON prelude of `application/vnd.awslambda.http-integration-response` (API Gateway, function URLs). */
export interface HttpResponseMetadata {
  statusCode: number
  headers: Record<string, string>
  /** `Set-Cookie` values, apart from the headers. */
  cookies: string[]
}

/** A handler the runtime invokes with a response stream (`awslambda.streamifyResponse`). */
export type StreamingHandler = (
  event: unknown,
  responseStream: ResponseStream,
  context: LambdaContext,
) => Promise<void>

/** What the runtime puts in `globalThis.awslambda`. */
export interface AwsLambdaRuntime {
  /** Tags the handler (a symbol property) so that the runtime invokes it with a response stream; returns it. */
  streamifyResponse<H extends StreamingHandler>(handler: H, options?: { highWaterMark?: number }): H
  HttpResponseStream: {
    /**
     * Sets the stream's content type to the HTTP integration type and arranges for `JSON.stringify(metadata)` and 8
     * NUL bytes to be written before the first chunk (on the first `write`); returns the same stream.
     */
    from(responseStream: ResponseStream, metadata: HttpResponseMetadata): ResponseStream
  }
}

declare global {
  var awslambda: Partial<AwsLambdaRuntime> | undefined
}

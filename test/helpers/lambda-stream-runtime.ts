// The Lambda Node.js runtime's response streaming, as far as a handler can see it, for processes that are not the
// runtime. Matched to aws-lambda-nodejs-runtime-interface-client (commit da5777a, read for this):
// - src/UserFunction.js `_loadUserApp`: `globalThis.awslambda = { streamifyResponse, HttpResponseStream }`, set before
//   the handler module is loaded; streamifyResponse tags the handler with Symbol.for('aws.lambda.runtime.handler.
//   streaming') = 'response' and returns that same function.
// - src/HttpResponseStream.js `from(stream, prelude)`: setContentType('application/vnd.awslambda.http-integration-
//   response'), then on the first write() (not before, and never on end()) JSON.stringify(prelude) and 8 NUL bytes.
// - src/ResponseStream.js: the stream is the http.ClientRequest to the Runtime API; write() JSON-stringifies chunks
//   that are not strings or bytes and runs the prelude hook on the first call; setContentType throws once written;
//   `end` passes on its first argument only; the content type defaults to application/octet-stream.
// - src/Runtime.js `handleOnceStreaming`: a handler that rejects is failed (error trailers, then end); one that
//   resolves without having ended its stream leaves the invocation waiting for the response until it times out.
import { Writable } from 'node:stream'
import type { LambdaContext } from 'hono/aws-lambda'
import type { AwsLambdaRuntime, ResponseStream, StreamingHandler } from '../../src/entry/awslambda.d.ts'

export const HTTP_INTEGRATION_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response'
const DEFAULT_CONTENT_TYPE = 'application/octet-stream'
const DELIMITER_LEN = 8
const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming')
const STREAM_RESPONSE = 'response'

type WriteCallback = (error: Error | null | undefined) => void

/**
 * The response stream of one invocation, collecting what the handler writes. Its buffer (16 KiB, a socket's default)
 * drains one chunk per event-loop turn, as a socket would, so a handler that ignores backpressure shows it.
 */
export class CollectingResponseStream extends Writable implements ResponseStream {
  contentType = DEFAULT_CONTENT_TYPE
  /** Set by HttpResponseStream.from: writes the prelude before the first chunk. */
  onBeforeFirstWrite: ((write: (chunk: string | Uint8Array) => void) => void) | undefined
  /** The error the runtime failed the invocation with (error trailers), if it did. */
  failure: unknown
  /** The most bytes ever waiting in this stream's buffer. */
  peakBufferedBytes = 0
  /** Bytes that have left the buffer (sent, for the runtime's socket). */
  receivedBytes = 0
  private written = false
  private readonly chunks: Buffer[] = []

  constructor() {
    super({ highWaterMark: 16 * 1024 })
    // The runtime's ClientRequest always has an 'error' listener; without one a failed write would end the process.
    this.on('error', () => {})
  }

  setContentType(contentType: string): void {
    if (this.written) throw new Error('Cannot set content-type, too late.')
    this.contentType = contentType
  }

  override write(
    chunk: unknown,
    encoding?: BufferEncoding | WriteCallback,
    callback?: WriteCallback,
  ): boolean {
    const data =
      typeof chunk === 'string' || Buffer.isBuffer(chunk) || chunk instanceof Uint8Array
        ? chunk
        : JSON.stringify(chunk)
    if (!this.written && this.onBeforeFirstWrite) this.onBeforeFirstWrite((c) => super.write(c))
    this.written = true
    const ok =
      typeof encoding === 'function'
        ? super.write(data, encoding)
        : encoding === undefined
          ? super.write(data, callback)
          : super.write(data, encoding, callback)
    this.peakBufferedBytes = Math.max(this.peakBufferedBytes, this.writableLength)
    return ok
  }

  /** As the runtime's: only the first argument is passed on (a chunk given here bypasses the prelude hook). */
  override end(first?: unknown): this {
    return super.end(first)
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: WriteCallback): void {
    this.chunks.push(chunk)
    this.receivedBytes += chunk.length
    setImmediate(() => callback(null))
  }

  /** What the runtime does with a handler that rejected: error trailers, then the end of the request. */
  fail(err: unknown): void {
    this.failure = err
    if (!this.writableEnded) super.end()
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks)
  }
}

/** Installs `globalThis.awslambda` as the runtime defines it; to be called before the handler module is imported. */
export function installLambdaStreamRuntime(): void {
  const runtime: AwsLambdaRuntime = {
    streamifyResponse: (handler) => Object.assign(handler, { [HANDLER_STREAMING]: STREAM_RESPONSE }),
    HttpResponseStream: {
      from(stream, prelude) {
        if (!(stream instanceof CollectingResponseStream))
          throw new TypeError('HttpResponseStream.from expects the response stream of the invocation')
        stream.setContentType(HTTP_INTEGRATION_CONTENT_TYPE)
        // JSON.stringify escapes NUL, so the 8 NUL bytes after it cannot occur within it.
        const metadataPrelude = JSON.stringify(prelude)
        stream.onBeforeFirstWrite = (write) => {
          write(metadataPrelude)
          write(new Uint8Array(DELIMITER_LEN))
        }
        return stream
      },
    },
  }
  globalThis.awslambda = runtime
}

/** Whether a handler carries the tag that makes the runtime invoke it with a response stream. */
export function isStreamingHandler(handler: unknown): boolean {
  return (
    typeof handler === 'function' &&
    (handler as unknown as Record<symbol, unknown>)[HANDLER_STREAMING] === STREAM_RESPONSE
  )
}

/** One streamed invocation as a client of the Runtime API would have received it. */
export interface StreamedInvocation {
  contentType: string
  /** The JSON text before the 8 NUL bytes, for the HTTP integration content type; null otherwise. */
  prelude: string | null
  /** The bytes after the prelude (all of them without one). */
  bodyBase64: string
  /** Whether the handler itself had ended the stream when its promise settled. */
  ended: boolean
  /** The handler's rejection, which the runtime reports with error trailers. */
  threw?: string
}

/** How long a resolved handler's unended stream is given before the invocation counts as hung. */
const HUNG_AFTER_MS = 1_000

/** Invokes a streaming handler as the runtime does and collects its answer. */
export async function invokeStreaming(
  handler: StreamingHandler,
  event: unknown,
  context: LambdaContext,
): Promise<StreamedInvocation> {
  const out = new CollectingResponseStream()
  let threw: string | undefined
  try {
    await handler(event, out, context)
  } catch (err) {
    threw = err instanceof Error ? err.message : String(err)
  }
  // The runtime waits for the stream's end after the handler resolves: an end that comes a little later still counts.
  if (threw === undefined && !out.writableEnded) await finished(out, HUNG_AFTER_MS)
  const ended = out.writableEnded
  if (threw !== undefined) out.fail(threw)
  if (out.writableEnded) await finished(out, HUNG_AFTER_MS)
  const bytes = out.bytes()
  let prelude: string | null = null
  let body = bytes
  if (out.contentType === HTTP_INTEGRATION_CONTENT_TYPE) {
    const at = bytes.indexOf(Buffer.alloc(DELIMITER_LEN))
    prelude = bytes.subarray(0, at < 0 ? bytes.length : at).toString('utf8')
    body = at < 0 ? Buffer.alloc(0) : bytes.subarray(at + DELIMITER_LEN)
  }
  return {
    contentType: out.contentType,
    prelude,
    bodyBase64: body.toString('base64'),
    ended,
    ...(threw === undefined ? {} : { threw }),
  }
}

function finished(out: Writable, timeoutMs: number): Promise<void> {
  if (out.writableFinished) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs)
    out.once('finish', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}

import type { Writable } from 'node:stream'
import type { ProblemAnswer } from '../http/request-guard.ts'
import type { AwsLambdaRuntime, HttpResponseMetadata, ResponseStream } from './awslambda.d.ts'

// Why not Hono's `streamHandle` (hono/aws-lambda): its piping does respect backpressure (stream/promises pipeline
// from the body's reader awaits 'drain'), but everything around it is wrong for us:
// - any failure is answered by writing "Internal Server Error" into the stream: before the prelude, that is a body
//   with no status for API Gateway to read; after it, those bytes are appended to a body already under way (200,
//   perhaps gzip) and the stream is ended normally, so a cut-off answer looks complete and the invocation counts as a
//   success;
// - pipeline destroys the runtime's stream on failure (its connection to the Runtime API, before the runtime can
//   send the error trailers), and never cancels the body's reader when the stream is what failed, so a Node-stream-
//   backed body (Readable.toWeb) stays open;
// - it cannot give our answers to an event it cannot turn into a Request (the buffered handler's problem+json).
// So the request is read and the app called as the buffered adapter does (lambda.ts), and the answer is written here.
// HEAD: Hono's app.fetch answers it with the GET's status and headers and a null body (streamResponse writes the
// prelude and nothing else, as streamHandle does); the GET's body is dropped there without being cancelled, harmless
// for our in-memory bodies but worth knowing should a route ever answer with a Node stream.

/** The runtime's `awslambda.HttpResponseStream`; only the Lambda runtime defines it. */
function httpResponseStream(): AwsLambdaRuntime['HttpResponseStream'] {
  const responses = globalThis.awslambda?.HttpResponseStream
  if (!responses) throw new Error('streamingHandler needs the Lambda runtime (awslambda.HttpResponseStream)')
  return responses
}

/** A status and headers as the prelude carries them: `Set-Cookie` values apart, as API Gateway wants them. */
export function preludeOf(status: number, headers: Headers | Record<string, string>): HttpResponseMetadata {
  const metadata: HttpResponseMetadata = { statusCode: status, headers: {}, cookies: [] }
  const add = (value: string, name: string) => {
    if (name.toLowerCase() === 'set-cookie') metadata.cookies.push(value)
    else metadata.headers[name] = value
  }
  // Headers yields each Set-Cookie on its own (never joined with commas, which a cookie's Expires contains).
  if (headers instanceof Headers) headers.forEach(add)
  else for (const [name, value] of Object.entries(headers)) add(value, name)
  return metadata
}

/** Writes a whole answer (a problem document) behind its prelude and ends the stream. */
export function writeAnswer(out: ResponseStream, answer: ProblemAnswer): void {
  const stream = httpResponseStream().from(out, preludeOf(answer.status, answer.headers))
  stream.write(answer.body)
  stream.end()
}

/**
 * Streams a Response: the prelude, then the body chunk by chunk as the stream drains. A body that fails before its
 * first chunk is answered as the buffered handler would (`failedEarly`: nothing has been sent, so the status can
 * still change); one that fails later rejects, with the body's source cancelled and the stream left to the runtime
 * (see `pipeBody`).
 */
export async function streamResponse(
  res: Response,
  out: ResponseStream,
  failedEarly: (err: unknown) => ProblemAnswer,
): Promise<void> {
  const responses = httpResponseStream()
  const reader = res.body?.getReader()
  let first: ReadableStreamReadResult<Uint8Array> | undefined
  try {
    first = await reader?.read()
  } catch (err) {
    writeAnswer(out, failedEarly(err))
    return
  }
  const stream = responses.from(out, preludeOf(res.status, res.headers))
  // The runtime writes the prelude on the first write(), never on end(): an empty body (HEAD, 304) still writes.
  const writable = stream.write(first?.done === false ? first.value : '')
  if (reader && first?.done === false) await pipeBody(reader, stream, writable)
  stream.end()
}

/**
 * Copies the rest of a body to the stream one chunk at a time, reading the next chunk only once the stream has
 * drained (`write` returned false: wait for 'drain'), so a body is never held whole here whatever its size; a source
 * with backpressure of its own (Readable.toWeb, whose queue is bounded by the Node stream's highWaterMark in Node 20)
 * is then read no faster than Lambda sends.
 *
 * On failure the source is cancelled (which destroys a Node stream behind it) and the error thrown, the stream left
 * as it is: the handler rejects, and the runtime ends the stream with its error trailers
 * (Lambda-Runtime-Function-Error-Type/-Body), so the client sees a cut-off response and the invocation counts as an
 * error. Ending the stream here first would make the runtime's trailers too late, and the truncated body a success.
 */
export async function pipeBody(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  out: Writable,
  writable = true,
): Promise<void> {
  try {
    if (!writable) await drained(out)
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return
      if (!out.write(value)) await drained(out)
    }
  } catch (err) {
    await reader.cancel(err).catch(() => {})
    throw err
  }
}

/** Resolves on the stream's next 'drain'; rejects if it errors or closes first (nothing would ever drain it). */
function drained(out: Writable): Promise<void> {
  if (out.destroyed) return Promise.reject(new Error('the response stream was destroyed'))
  return new Promise((resolve, reject) => {
    const settle = (err?: Error) => {
      out.off('drain', onDrain)
      out.off('error', onError)
      out.off('close', onClose)
      if (err) reject(err)
      else resolve()
    }
    const onDrain = () => settle()
    const onError = (err: Error) => settle(err)
    const onClose = () => settle(new Error('the response stream closed before the body was written'))
    out.on('drain', onDrain)
    out.on('error', onError)
    out.on('close', onClose)
  })
}

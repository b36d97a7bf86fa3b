// How the streaming handler writes a Response (src/entry/lambda-stream.ts), in process with the runtime's `awslambda`
// emulated (test/helpers/lambda-stream-runtime.ts): bodies backed by Node streams (Readable.toWeb) are read no faster
// than the response stream drains, and a failure on either side closes the other instead of leaving it open.
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pipeBody, streamResponse } from '../../src/entry/lambda-stream.ts'
import {
  CollectingResponseStream,
  HTTP_INTEGRATION_CONTENT_TYPE,
  installLambdaStreamRuntime,
} from '../helpers/lambda-stream-runtime.ts'

const CHUNK_BYTES = 64 * 1024

/** A Node stream of `chunks` chunks of 64 KiB, made only when read; `failAfter` chunks, then an error. */
function source(chunks: number, options: { failAfter?: number; onRead?: () => void } = {}) {
  let made = 0
  const stream = new Readable({
    highWaterMark: CHUNK_BYTES,
    read() {
      options.onRead?.()
      if (made === options.failAfter) {
        this.destroy(new Error('source failed'))
        return
      }
      if (made === chunks) {
        this.push(null)
        return
      }
      this.push(Buffer.alloc(CHUNK_BYTES, made % 251))
      made++
    },
  })
  return { stream, made: () => made }
}

const prelude = (bytes: Buffer) => {
  const at = bytes.indexOf(Buffer.alloc(8))
  return { metadata: JSON.parse(bytes.subarray(0, at).toString('utf8')), body: bytes.subarray(at + 8) }
}

describe('streaming a Response to the Lambda response stream', () => {
  beforeAll(() => installLambdaStreamRuntime())
  afterAll(() => {
    globalThis.awslambda = undefined
  })

  it('reads a Node-stream-backed body only as fast as the response stream drains', async () => {
    const chunks = 160 // 10 MiB
    const out = new CollectingResponseStream()
    let peakAheadBytes = 0
    const src = source(chunks, {
      onRead: () => {
        peakAheadBytes = Math.max(peakAheadBytes, src.made() * CHUNK_BYTES - out.receivedBytes)
      },
    })
    const body = Readable.toWeb(src.stream) as ReadableStream<Uint8Array>
    await streamResponse(
      new Response(body, { status: 200, headers: { 'content-type': 'application/json' } }),
      out,
      () => {
        throw new Error('no early failure expected')
      },
    )
    await new Promise((resolve) => out.once('finish', resolve))

    const { metadata, body: received } = prelude(out.bytes())
    expect(out.contentType).toBe(HTTP_INTEGRATION_CONTENT_TYPE)
    expect(metadata).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      cookies: [],
    })
    expect(received.length).toBe(chunks * CHUNK_BYTES)
    expect(received[CHUNK_BYTES * 100]).toBe(100 % 251)
    // Ahead of what was sent: the web stream's queue, the Node stream's buffer and the response stream's, each about
    // one highWaterMark — not the 10 MiB a reader that ignored 'drain' would have pulled in.
    expect(peakAheadBytes).toBeLessThanOrEqual(8 * CHUNK_BYTES)
    expect(out.peakBufferedBytes).toBeLessThanOrEqual(2 * CHUNK_BYTES)
  })

  it('a body that fails midway: rejects, the stream left for the runtime to fail (not ended as if complete)', async () => {
    const out = new CollectingResponseStream()
    const src = source(100, { failAfter: 5 })
    const reader = (Readable.toWeb(src.stream) as ReadableStream<Uint8Array>).getReader()
    await expect(pipeBody(reader, out)).rejects.toThrow('source failed')
    expect(out.writableEnded).toBe(false)
  })

  it('a response stream that breaks midway: rejects, and the Node stream behind the body is destroyed', async () => {
    const out = new CollectingResponseStream()
    const src = source(1_000)
    const reader = (Readable.toWeb(src.stream) as ReadableStream<Uint8Array>).getReader()
    const piping = pipeBody(reader, out)
    setTimeout(() => out.destroy(new Error('connection reset')), 5)
    await expect(piping).rejects.toThrow(/connection reset|closed/)
    await new Promise((resolve) => setImmediate(resolve))
    expect(src.stream.destroyed).toBe(true)
    expect(src.made()).toBeLessThan(1_000)
  })

  it('a body that fails before its first byte gets the early answer, prelude and all, and the stream ends', async () => {
    const out = new CollectingResponseStream()
    const failing = new ReadableStream<Uint8Array>({
      pull: () => Promise.reject(new Error('source failed')),
    })
    await streamResponse(new Response(failing, { status: 200 }), out, () => ({
      status: 500,
      headers: { 'Content-Type': 'application/problem+json' },
      body: '{"status":500}',
    }))
    expect(out.writableEnded).toBe(true)
    await new Promise((resolve) => out.once('finish', resolve))
    const { metadata, body } = prelude(out.bytes())
    expect(metadata).toEqual({
      statusCode: 500,
      headers: { 'Content-Type': 'application/problem+json' },
      cookies: [],
    })
    expect(body.toString('utf8')).toBe('{"status":500}')
  })

  it('a Response without a body (HEAD, 304) still writes its prelude, and cookies go apart from the headers', async () => {
    const out = new CollectingResponseStream()
    const headers = new Headers({ etag: '"abc"' })
    headers.append('set-cookie', 'a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT')
    headers.append('set-cookie', 'b=2')
    await streamResponse(new Response(null, { status: 304, headers }), out, () => {
      throw new Error('no early failure expected')
    })
    expect(out.writableEnded).toBe(true)
    await new Promise((resolve) => out.once('finish', resolve))
    const { metadata, body } = prelude(out.bytes())
    expect(metadata).toEqual({
      statusCode: 304,
      headers: { etag: '"abc"' },
      cookies: ['a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT', 'b=2'],
    })
    expect(body.length).toBe(0)
  })
})

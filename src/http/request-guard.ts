import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import { EntryDecodeError } from '../cache/entry-codec.ts'
import type { ReadResult } from '../service/query-service.ts'
import { type Problem, problem, toProblem } from './problem.ts'

/** A failed request's answer, independent of any framework: what both HTTP paths (and Lambda) send. */
export interface ProblemAnswer {
  status: number
  headers: Record<string, string>
  body: string
}

/** A node:http listener that may finish asynchronously (the guard catches what its promise rejects with). */
export type NodeListener = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>

const PROBLEM_HEADERS = { 'Content-Type': 'application/problem+json', 'Cache-Control': 'no-store' }

/** A problem document as an answer: the body, its content type and no-store. */
export function problemAnswer(p: Problem, headers: Record<string, string> = {}): ProblemAnswer {
  return { status: p.status, headers: { ...PROBLEM_HEADERS, ...headers }, body: JSON.stringify(p) }
}

/**
 * The one place where an error becomes the answer to the request that raised it, shared by the Hono app (its
 * `onError`) and the Node fast path, which runs before the framework: typed errors map to their problem
 * (problem.ts); anything else is a 500 problem+json for that request only, logged — never an exception that escapes
 * a listener and ends the process. An entry found damaged while it was being served (it decoded, but its body does
 * not inflate to its ETag) is also discarded, so that the next read computes it instead of failing on it too.
 */
export class RequestGuard {
  constructor(
    private readonly o: {
      logger: Logger
      /** Forgets a damaged entry (QueryService.discardDamaged). */
      discardDamaged?: (key: string, reason: string) => Promise<void>
    },
  ) {}

  /** The answer to a request that failed with `err`; `read` is the result it was answering with, if any. */
  answer(err: unknown, instance: string | undefined, read?: ReadResult): ProblemAnswer {
    const { problem: p, headers } = toProblem(err)
    if (p.status >= 500) this.o.logger.error({ err, path: instance }, 'request failed')
    if (read && err instanceof EntryDecodeError)
      this.o.discardDamaged?.(read.key, err.message).catch(() => {})
    if (instance !== undefined) p.instance = instance
    return problemAnswer(p, headers)
  }

  /**
   * Answers a failed node:http request: the problem when nothing was sent yet; once the headers are out, the
   * status can no longer change, so the socket is destroyed and the client sees a broken response, not a wrong one.
   */
  failNode(req: IncomingMessage, res: ServerResponse, err: unknown, read?: ReadResult): void {
    try {
      const url = req.url ?? '/'
      const q = url.indexOf('?')
      const answer = this.answer(err, q < 0 ? url : url.slice(0, q), read)
      if (res.headersSent || res.writableEnded) {
        res.destroy()
        return
      }
      res.writeHead(answer.status, {
        ...answer.headers,
        'Content-Length': String(Buffer.byteLength(answer.body)),
      })
      res.end(answer.body)
    } catch {
      // Nothing can be answered any more (the guard itself must never throw from a listener).
      res.destroy()
    }
  }

  /**
   * The Node adapter's `errorHandler`: a request it could not turn into a fetch Request (RequestError: a bad Host
   * header, a backslash in the path) is a 400 problem, anything else the guard's answer, not the adapter's empty
   * 400/500.
   */
  adapterError(err: unknown): Response {
    // By name: importing @hono/node-server here would pull the Node adapter into the Lambda bundle.
    const answer =
      err instanceof Error && err.name === 'RequestError'
        ? problemAnswer(problem(400, 'malformed-request', 'Malformed request', err.message))
        : this.answer(err, undefined)
    return new Response(answer.body, { status: answer.status, headers: answer.headers })
  }

  /** Wraps a node:http listener: whatever it throws, synchronously or through its promise, answers that request. */
  node(listener: NodeListener): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => {
      let pending: void | Promise<void>
      try {
        pending = listener(req, res)
      } catch (err) {
        this.failNode(req, res, err)
        return
      }
      pending?.catch((err: unknown) => this.failNode(req, res, err))
    }
  }
}

const CLIENT_ERRORS: Record<string, { status: number; slug: string; title: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, slug: 'header-too-large', title: 'Request header fields too large' },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: 413, slug: 'content-too-large', title: 'Content too large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, slug: 'request-timeout', title: 'Request timeout' },
}
const MALFORMED = { status: 400, slug: 'malformed-request', title: 'Malformed request' }

/**
 * node:http's `clientError`: a request its parser rejects (a malformed request line, a 20 KB header) never reaches
 * a listener, and Node's own answer is a bare status line. This one is a problem+json like every other error, with
 * the same statuses Node picks (431 for oversized headers, 408 for a timeout, else 400).
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  // The socket is gone, or a response on it is already under way (keep-alive): nothing can be answered.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage
  if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy()
    return
  }
  const meta = (err.code && CLIENT_ERRORS[err.code]) || MALFORMED
  const body = JSON.stringify(
    problem(meta.status, meta.slug, meta.title, 'The request could not be parsed as HTTP/1.1'),
  )
  socket.end(
    `HTTP/1.1 ${meta.status} ${STATUS_CODES[meta.status] ?? ''}\r\n` +
      'Content-Type: application/problem+json\r\nCache-Control: no-store\r\nConnection: close\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  )
}

import type { MiddlewareHandler } from 'hono'
import { type Logger, pino } from 'pino'
import type { ReadResult } from '../service/query-service.ts'
import type { AppEnv } from './app-env.ts'

const round2 = (ms: number) => Math.round(ms * 100) / 100

interface LineSink {
  write(line: string): void
}

/** Longest a request line waits in the buffer before it is written. */
const FLUSH_INTERVAL_MS = 50
/** A buffer this large is written at once. */
const FLUSH_BYTES = 64 * 1024

/**
 * One structured log line per request: route, status, cache outcome, key, duration.
 *
 * Access lines skip pino's generic serializer (about 5 µs a line) and are handed to pino's destination in batches
 * (every 50 ms or 64 KiB) instead of one write each: at tens of thousands of cache hits a second, a write per line
 * (an fs request, a thread hand-off, a callback, garbage) was the largest cost of a hit. The format is that of every
 * other pino line (level, time, name, msg), so log tooling sees one stream. On Lambda (`sync`) lines go out at once.
 */
export class AccessLog {
  private readonly stream: LineSink
  private readonly name: string
  private readonly enabled: boolean
  private pending = ''
  private timer: ReturnType<typeof setTimeout> | undefined
  private lastMs = 0
  private lastIso = ''

  constructor(
    logger: Logger,
    private readonly options: { sync: boolean },
  ) {
    const stream = (logger as unknown as Record<symbol, LineSink | undefined>)[pino.symbols.streamSym]
    if (!stream) throw new Error('logger has no destination stream')
    this.stream = stream
    this.enabled = logger.isLevelEnabled('info')
    this.name = JSON.stringify((logger.bindings() as { name?: string }).name ?? 'athena-cache-proxy')
  }

  /** Writes buffered lines now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    if (!this.pending) return
    const chunk = this.pending
    this.pending = ''
    this.stream.write(chunk)
  }

  /** The Hono middleware that records each request. */
  middleware(): MiddlewareHandler<AppEnv> {
    if (!this.enabled) return (_c, next) => next()
    return async (c, next) => {
      const t0 = performance.now()
      await next()
      this.record(c.req.method, c.req.path, c.res.status, performance.now() - t0, c.get('read'))
    }
  }

  /** Records one request (also used by the Node server's fast path for in-process hits). */
  record(
    method: string,
    path: string,
    status: number,
    durationMs: number,
    read: ReadResult | undefined,
  ): void {
    if (!this.enabled) return
    let line = `{"level":"info","time":"${this.isoNow()}","name":${this.name},"method":"${method}","path":${JSON.stringify(path)},"status":${status},"durationMs":${round2(durationMs)}`
    if (read) {
      line += `,"cache":"${read.outcome}","query":"${read.query}","key":"${read.key}","cacheMs":${round2(read.timings.cacheMs)}`
      // Tenant ids are tenants.yaml identifiers ([a-z0-9_-]): written as they are, like the query name.
      if (read.tenant !== undefined) line += `,"tenant":"${read.tenant}"`
      if (read.timings.engineMs !== undefined) line += `,"engineMs":${Math.round(read.timings.engineMs)}`
    }
    this.add(`${line},"msg":"request"}\n`)
  }

  private add(line: string): void {
    if (this.options.sync) {
      this.stream.write(line)
      return
    }
    this.pending += line
    if (this.pending.length >= FLUSH_BYTES) this.flush()
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), FLUSH_INTERVAL_MS)
      this.timer.unref()
    }
  }

  /** Requests in the same millisecond share one formatted timestamp. */
  private isoNow(): string {
    const ms = Date.now()
    if (ms !== this.lastMs) {
      this.lastMs = ms
      this.lastIso = new Date(ms).toISOString()
    }
    return this.lastIso
  }
}

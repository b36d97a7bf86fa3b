// Shared by the fault tests and `bench/faults.ts`: constant load on a server while a fault is injected, the answers
// it got, and a catalog with a query whose entries go past their stale window within a second (stale-if-error).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse, stringify } from 'yaml'

/** One answer (or client-side failure) of a load loop; times in ms since the epoch. */
export interface Answer {
  loop: number
  path: string
  sentAt: number
  doneAt: number
  status: number
  xCache: string | null
  contentType: string | null
  retryAfter: string | null
  /** The client gave up or the connection failed (status 0). */
  error?: string
}

export interface Load {
  readonly answers: Answer[]
  /** Stops every loop after its current request and resolves with every answer. */
  stop(): Promise<Answer[]>
}

/**
 * `connections` loops, each sending its next request as soon as the previous one is answered. `pathOf(loop, i)` is
 * the i-th path of a loop. Requests the client abandons after `clientTimeoutMs` count as errors (status 0).
 */
export function startLoad(
  baseUrl: string,
  options: {
    connections: number
    pathOf: (loop: number, i: number) => string
    clientTimeoutMs?: number
    headers?: Record<string, string>
  },
): Load {
  const answers: Answer[] = []
  let running = true
  const loops = Array.from({ length: options.connections }, async (_, loop) => {
    for (let i = 0; running; i++) {
      const path = options.pathOf(loop, i)
      const sentAt = Date.now()
      try {
        const res = await fetch(`${baseUrl}${path}`, {
          headers: { 'accept-encoding': 'gzip', ...options.headers },
          signal: AbortSignal.timeout(options.clientTimeoutMs ?? 15_000),
        })
        await res.arrayBuffer()
        answers.push({
          loop,
          path,
          sentAt,
          doneAt: Date.now(),
          status: res.status,
          xCache: res.headers.get('x-cache'),
          contentType: res.headers.get('content-type'),
          retryAfter: res.headers.get('retry-after'),
        })
      } catch (err) {
        answers.push({
          loop,
          path,
          sentAt,
          doneAt: Date.now(),
          status: 0,
          xCache: null,
          contentType: null,
          retryAfter: null,
          error: (err as Error).message,
        })
      }
    }
  })
  return {
    answers,
    async stop() {
      running = false
      await Promise.all(loops)
      return answers
    },
  }
}

/** The p-th percentile (nearest rank) of some numbers; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number
}

/** How often each value occurs. */
export function countBy(values: ReadonlyArray<string | number | null>): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const v of values) counts[String(v)] = (counts[String(v)] ?? 0) + 1
  return counts
}

/** Latency of an answer (ms). */
export const latencyOf = (a: Answer): number => a.doneAt - a.sentAt

/** The name of the query `withShortLivedQuery` adds. */
export const SHORT_LIVED_QUERY = 'analytics_short'

/**
 * A configuration directory with the shipped catalog plus `analytics_short`: `analytics` with a 1-second TTL, no
 * stale window and an hour of stale-if-error, so that a second after it was computed a read of it must compute again
 * and may fall back to the old entry only when that fails. Remove it with the returned function.
 */
export async function withShortLivedQuery(): Promise<{ configDir: string; remove(): Promise<void> }> {
  const configDir = await mkdtemp(join(tmpdir(), 'acp-faults-'))
  const catalog = parse(await readFile('wrangler-free-config/queries.yaml', 'utf8')) as {
    queries: Record<string, Record<string, unknown>>
  }
  const analytics = catalog.queries.analytics
  if (!analytics) throw new Error('the shipped catalog has no analytics query')
  catalog.queries[SHORT_LIVED_QUERY] = {
    ...analytics,
    description: 'analytics, expiring after a second (fault tests)',
    ttlSeconds: 1,
    staleSeconds: 0,
    staleIfErrorSeconds: 3_600,
    resultReuseMinutes: 0,
    tags: ['faults'],
  }
  await writeFile(join(configDir, 'queries.yaml'), stringify(catalog))
  return { configDir, remove: () => rm(configDir, { recursive: true, force: true }) }
}

import type { CacheStore } from './cache-store.ts'
import type { BreakerState } from './circuit-breaker.ts'

/** What `/health` reports about the cache. */
export interface CacheHealthReport {
  status: 'ok' | 'degraded'
  reason?: string
}

export interface CacheHealthOptions {
  store: CacheStore & { status?: () => { state: BreakerState; lastError: string | undefined } }
  /** Longest the check takes: past it the cache is reported as not answering. */
  timeoutMs: number
  /**
   * A key the check writes with a short TTL, so that a cache that answers reads but refuses writes (Redis OOM under
   * noeviction, a replica left read-only by a failover) is reported; absent: reads only.
   */
  probeKey?: string
}

/** Lifetime of the probe key: long enough to outlive a check, short enough never to matter. */
const PROBE_TTL_MS = 60_000

/**
 * The cache's health, for `/health`: a ping and a probe write at once, bounded by its own deadline (a stalled cache
 * must not stall the health check that is meant to report it), plus the circuit breaker's state.
 */
export class CacheHealth {
  constructor(private readonly o: CacheHealthOptions) {}

  async check(): Promise<CacheHealthReport> {
    const { store, probeKey, timeoutMs } = this.o
    const checks = Promise.all([
      store.ping().then(
        () => undefined,
        (err: unknown) => `cache unreachable: ${messageOf(err)}`,
      ),
      probeKey === undefined
        ? undefined
        : store.set(probeKey, Buffer.from(String(Date.now())), PROBE_TTL_MS).then(
            () => undefined,
            (err: unknown) => `cache writes failing: ${messageOf(err)}`,
          ),
    ])
    let timer: ReturnType<typeof setTimeout> | undefined
    let reasons: Array<string | undefined>
    try {
      reasons = await Promise.race([
        checks,
        new Promise<string[]>((resolve) => {
          timer = setTimeout(() => resolve([`cache did not answer within ${timeoutMs} ms`]), timeoutMs)
        }),
      ])
    } finally {
      clearTimeout(timer)
    }
    let reason = reasons.find((r) => r !== undefined)
    const breaker = store.status?.()
    if (!reason && breaker && breaker.state !== 'closed')
      reason = `cache circuit ${breaker.state}: ${breaker.lastError}`
    return reason ? { status: 'degraded', reason } : { status: 'ok' }
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

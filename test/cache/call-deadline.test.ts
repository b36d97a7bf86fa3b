import { describe, expect, it } from 'vitest'
import { CacheHealth } from '../../src/cache/cache-health.ts'
import type { CacheStore } from '../../src/cache/cache-store.ts'
import { CallDeadline } from '../../src/cache/call-deadline.ts'
import { CacheUnavailableError, CircuitBreaker } from '../../src/cache/circuit-breaker.ts'
import { GuardedCacheStore } from '../../src/cache/guarded-cache-store.ts'
import { MemoryCacheStore } from '../../src/cache/memory-cache-store.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A store whose calls never settle while `stalled` (a SIGSTOPped server keeping its socket), and fail `writes`. */
class StallingStore extends MemoryCacheStore {
  stalled = false
  writeError: Error | undefined
  calls = 0
  private readonly parked: Array<() => void> = []

  constructor() {
    super({ maxBytes: 1024 * 1024 })
  }

  private gate<T>(call: () => Promise<T>): Promise<T> {
    this.calls++
    if (!this.stalled) return call()
    return new Promise<void>((resolve) => this.parked.push(resolve)).then(call)
  }

  /** The server answers again: parked calls complete (late). */
  resume(): void {
    this.stalled = false
    for (const release of this.parked.splice(0)) release()
  }

  override get(key: string) {
    return this.gate(() => super.get(key))
  }
  override set(key: string, value: Buffer, ttlMs: number) {
    return this.gate(() => {
      if (this.writeError) return Promise.reject(this.writeError)
      return super.set(key, value, ttlMs)
    })
  }
  override ping() {
    return this.gate(() => super.ping())
  }
}

describe('CallDeadline', () => {
  it('expires calls after 80–100 % of the timeout, in order, and only those still in flight', async () => {
    const expired: Array<{ id: number; atMs: number }> = []
    const t0 = performance.now()
    const deadline = new CallDeadline<number>({
      timeoutMs: 200,
      onExpire: (id) => expired.push({ id, atMs: performance.now() - t0 }),
    })
    const a = deadline.enter(1)
    const b = deadline.enter(2)
    await sleep(50)
    const c = deadline.enter(3)
    expect(deadline.leave(b)).toBe(true) // settled in time: never expires
    await sleep(400)
    expect(expired.map((e) => e.id)).toEqual([1, 3])
    for (const e of expired.slice(0, 1)) {
      expect(e.atMs).toBeGreaterThanOrEqual(150)
      expect(e.atMs).toBeLessThanOrEqual(260) // 200 ms + timer lateness on a loaded machine
    }
    expect(deadline.leave(a)).toBe(false) // expired: its late reply is void
    expect(deadline.leave(c)).toBe(false)
    expect(deadline.size).toBe(0)
    deadline.close()
  })

  it('runs its interval only while calls are in flight', async () => {
    const deadline = new CallDeadline<number>({ timeoutMs: 100, onExpire: () => {} })
    const t = deadline.enter(1)
    deadline.leave(t)
    await sleep(30) // the next tick finds nothing in flight and stops the interval
    expect((deadline as unknown as { timer: unknown }).timer).toBeUndefined()
    deadline.close()
  })
})

describe('CircuitBreaker with a call deadline (a stalled cache)', () => {
  function setup(timeoutMs = 100) {
    const inner = new StallingStore()
    const breaker = new CircuitBreaker({
      failureThreshold: 3,
      openMs: 300,
      callTimeoutMs: timeoutMs,
      isOutage: (err) => !(err instanceof Error && err.name === 'ReplyError'),
    })
    return { inner, breaker, store: new GuardedCacheStore(inner, breaker) }
  }

  it('fails each call within the timeout, opens, then fails fast without touching the stalled store', async () => {
    const { inner, store } = setup()
    await store.set('k', Buffer.from('v'), 60_000)
    inner.stalled = true
    const t0 = performance.now()
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => store.get('k')))
    const elapsed = performance.now() - t0
    expect(results.every((r) => r.status === 'rejected' && r.reason instanceof CacheUnavailableError)).toBe(
      true,
    )
    expect((results[0] as PromiseRejectedResult).reason.message).toMatch(/no reply within 100 ms/)
    expect(elapsed).toBeLessThan(180)
    expect(store.status().state).toBe('open')
    const calls = inner.calls
    await expect(store.get('k')).rejects.toThrow(/circuit open/)
    expect(inner.calls).toBe(calls)
    // The late replies after the resume do not close the breaker: only a probe does.
    inner.resume()
    await sleep(10)
    expect(store.status().state).toBe('open')
    await sleep(320)
    expect((await store.get('k'))?.toString()).toBe('v')
    expect(store.status().state).toBe('closed')
    await store.close()
  })

  it('a probe into a still-stalled store fails within the timeout and re-opens', async () => {
    const { inner, store } = setup()
    inner.stalled = true
    await Promise.allSettled(Array.from({ length: 3 }, () => store.get('k')))
    await sleep(320)
    const t0 = performance.now()
    await expect(store.get('k')).rejects.toThrow(/no reply/)
    expect(performance.now() - t0).toBeLessThan(180)
    expect(store.status().state).toBe('open')
    inner.resume()
    await store.close()
  })

  it('an error the server answered (OOM) fails the call but does not open the breaker', async () => {
    const { inner, store } = setup()
    inner.writeError = Object.assign(new Error("OOM command not allowed when used memory > 'maxmemory'."), {
      name: 'ReplyError',
    })
    for (let i = 0; i < 10; i++) await expect(store.set('k', Buffer.from('v'), 1_000)).rejects.toThrow(/OOM/)
    expect(store.status().state).toBe('closed')
    await expect(store.get('k')).resolves.toBeNull()
    await store.close()
  })
})

describe('CacheHealth', () => {
  it('reports a stalled cache within its own deadline', async () => {
    const inner = new StallingStore()
    const store = new GuardedCacheStore(inner, { failureThreshold: 3, openMs: 1_000, callTimeoutMs: 5_000 })
    const health = new CacheHealth({ store, timeoutMs: 150, probeKey: 'health' })
    inner.stalled = true
    const t0 = performance.now()
    const report = await health.check()
    expect(performance.now() - t0).toBeLessThan(300)
    expect(report).toEqual({ status: 'degraded', reason: 'cache did not answer within 150 ms' })
    inner.resume()
    await store.close()
  })

  it('reports failing writes (OOM) although pings answer', async () => {
    const inner = new StallingStore()
    const store: CacheStore = new GuardedCacheStore(inner, { failureThreshold: 3, openMs: 1_000 })
    const health = new CacheHealth({ store, timeoutMs: 500, probeKey: 'health' })
    expect(await health.check()).toEqual({ status: 'ok' })
    inner.writeError = new Error('OOM command not allowed')
    const report = await health.check()
    expect(report.status).toBe('degraded')
    expect(report.reason).toMatch(/^cache writes failing: .*OOM/)
    await store.close()
  })
})

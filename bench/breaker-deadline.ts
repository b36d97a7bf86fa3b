// `npx tsx bench/breaker-deadline.ts`: what bounding every cache call costs a hit. Compares the circuit breaker
// without a call deadline (as before), with the shared coarse deadline (call-deadline.ts), and with a timer armed
// and cleared per call (what ioredis's commandTimeout does): (a) on calls that resolve at once, the pure overhead in
// ns per call and GC time per million calls; (b) on the real hit path's store call (GET + HMGET, one round trip,
// auto-pipelined) against a spawned redis-server at 50 concurrent callers, in calls/s and this process's CPU time
// per call. About 45 s.
import { PerformanceObserver } from 'node:perf_hooks'
import { Redis } from 'ioredis'
import { CacheUnavailableError, CircuitBreaker } from '../src/cache/circuit-breaker.ts'
import { GuardedCacheStore } from '../src/cache/guarded-cache-store.ts'
import { RedisCacheStore } from '../src/cache/redis-cache-store.ts'
import { spawnRedisServer } from '../test/helpers/redis-server.ts'

const TIMEOUT_MS = 500
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)

type Variant = 'none' | 'deadline' | 'timer-per-call'
const VARIANTS: Variant[] = ['none', 'deadline', 'timer-per-call']

/** A breaker whose calls are bounded as `variant` says. */
function breakerFor(variant: Variant): { run<T>(call: () => Promise<T>): Promise<T>; close(): void } {
  const options = { failureThreshold: 3, openMs: 1_000 }
  if (variant === 'deadline') return new CircuitBreaker({ ...options, callTimeoutMs: TIMEOUT_MS })
  const breaker = new CircuitBreaker(options)
  if (variant === 'none') return breaker
  return {
    run<T>(call: () => Promise<T>): Promise<T> {
      return breaker.run(
        () =>
          new Promise<T>((resolve, reject) => {
            const timer = setTimeout(() => reject(new CacheUnavailableError('timeout')), TIMEOUT_MS)
            call().then(
              (v) => {
                clearTimeout(timer)
                resolve(v)
              },
              (e: unknown) => {
                clearTimeout(timer)
                reject(e)
              },
            )
          }),
      )
    },
    close: () => breaker.close(),
  }
}

let gcMs = 0
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration
}).observe({ entryTypes: ['gc'] })

async function pureOverhead(
  variant: Variant,
  calls: number,
): Promise<{ nsPerCall: number; gcMsPerMillion: number }> {
  const breaker = breakerFor(variant)
  const value = Promise.resolve(1)
  const call = () => value
  const batch = 1_000
  const gc0 = gcMs
  const t0 = process.hrtime.bigint()
  for (let done = 0; done < calls; done += batch) {
    const pending: Array<Promise<number>> = new Array(batch)
    for (let i = 0; i < batch; i++) pending[i] = breaker.run(call)
    await Promise.all(pending)
  }
  const ns = Number(process.hrtime.bigint() - t0)
  breaker.close()
  // Only microtasks ran: the GC observer's entries are delivered once the event loop turns.
  await new Promise((r) => setTimeout(r, 20))
  return { nsPerCall: Math.round(ns / calls), gcMsPerMillion: Math.round(((gcMs - gc0) * 1e6) / calls) }
}

async function redisHits(
  variant: Variant,
  url: string,
  seconds: number,
): Promise<{ opsPerS: number; cpuNsPerCall: number }> {
  // As the service connects (build-deps.ts): no offline queue, so connected before the first call.
  const client = new Redis(url, { enableAutoPipelining: true, enableOfflineQueue: false, lazyConnect: true })
  client.on('error', (err: Error) => process.stderr.write(`redis: ${err.message}\n`))
  await client.connect()
  const inner = new RedisCacheStore(client)
  const breaker = breakerFor(variant)
  // GuardedCacheStore takes a CircuitBreaker; the per-call-timer variant wraps one, so its calls go through `run`.
  const store =
    breaker instanceof CircuitBreaker
      ? new GuardedCacheStore(inner, breaker)
      : {
          getWithStamps: (k: string, h: string, f: string[]) =>
            breaker.run(() => inner.getWithStamps(k, h, f)),
        }
  await client.set('bench:e', Buffer.alloc(2048, 7))
  let ops = 0
  let running = true
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const loops = Array.from({ length: 50 }, async () => {
    while (running) {
      await store.getWithStamps('bench:e', 'bench:{g}:q', ['e', 'd', 'e:x', 'd:x'])
      ops++
    }
  })
  await new Promise((r) => setTimeout(r, seconds * 1000))
  running = false
  await Promise.all(loops)
  const elapsed = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  breaker.close()
  client.disconnect()
  // This process's CPU per call (user + system): independent of how busy the rest of the machine is.
  return {
    opsPerS: Math.round(ops / elapsed),
    cpuNsPerCall: Math.round(((cpu.user + cpu.system) * 1000) / ops),
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

async function main(): Promise<void> {
  const pure: Record<Variant, Array<{ nsPerCall: number; gcMsPerMillion: number }>> = {
    none: [],
    deadline: [],
    'timer-per-call': [],
  }
  for (const v of VARIANTS) await pureOverhead(v, 200_000) // warm-up (JIT)
  for (let r = 0; r < ROUNDS; r++) for (const v of VARIANTS) pure[v].push(await pureOverhead(v, 2_000_000))
  process.stdout.write('(a) calls that resolve at once, 2M per run, median of runs:\n')
  for (const v of VARIANTS)
    process.stdout.write(
      `  ${v.padEnd(15)} ${median(pure[v].map((x) => x.nsPerCall))} ns/call, GC ${median(pure[v].map((x) => x.gcMsPerMillion))} ms per 1M calls\n`,
    )
  const redis = await spawnRedisServer()
  try {
    const hits: Record<Variant, Array<{ opsPerS: number; cpuNsPerCall: number }>> = {
      none: [],
      deadline: [],
      'timer-per-call': [],
    }
    for (let r = 0; r < ROUNDS; r++) for (const v of VARIANTS) hits[v].push(await redisHits(v, redis.url, 2))
    process.stdout.write(
      '(b) GET + HMGET on redis-server, 50 concurrent callers, 2 s per run, median of runs:\n',
    )
    for (const v of VARIANTS)
      process.stdout.write(
        `  ${v.padEnd(15)} ${median(hits[v].map((x) => x.opsPerS))} calls/s, ${median(hits[v].map((x) => x.cpuNsPerCall))} ns CPU per call\n`,
      )
  } finally {
    await redis.stop()
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack}\n`)
  process.exitCode = 1
})

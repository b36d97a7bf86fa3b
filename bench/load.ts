// Shared by the benchmarks: one measured autocannon run (after a warm-up) and the median of several.
import { readFileSync } from 'node:fs'
import autocannon from 'autocannon'

export interface LoadResult {
  rps: number
  p50: number
  p99: number
  non2xx: number
  errors: number
  bytesPerRequest: number
  /** Server CPU time per request (µs), when the server's pid is given and /proc exists. */
  cpuMicrosPerRequest?: number
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); undefined elsewhere. */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
    return (Number(fields[11]) + Number(fields[12])) / 100 // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return undefined
  }
}

/**
 * A 2 s warm-up (JIT, connection pools), then one measured run. Besides req/s (which the load generator's own core
 * can cap), the server's CPU per request: the capacity figure that does not depend on the load generator.
 */
export async function load(
  url: string,
  options: { connections: number; durationS: number; headers?: Record<string, string>; pid?: number },
): Promise<LoadResult> {
  const headers = options.headers ?? { 'accept-encoding': 'gzip' }
  await autocannon({ url, connections: options.connections, duration: 2, headers })
  const cpu0 = cpuSeconds(options.pid)
  const r = await autocannon({ url, connections: options.connections, duration: options.durationS, headers })
  const cpu1 = cpuSeconds(options.pid)
  return {
    rps: Math.round(r.requests.average),
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
    bytesPerRequest: Math.round(r.throughput.total / Math.max(1, r.requests.total)),
    ...(cpu0 !== undefined && cpu1 !== undefined && r.requests.total > 0
      ? { cpuMicrosPerRequest: Math.round(((cpu1 - cpu0) * 1e6) / r.requests.total) }
      : {}),
  }
}

/** The run with the median request rate. */
export function median(results: LoadResult[]): LoadResult {
  return [...results].sort((x, y) => x.rps - y.rps)[Math.floor(results.length / 2)] as LoadResult
}

// `npx tsx bench/invalidation.ts`: how long an invalidation takes with 10 and with 100,000 entries of the query
// (target: within 2×), range invalidations included, and what a hit's lookup (the entry and its stamps, range records
// included, in one round trip) costs with 10 and 100,000 entries and a full range field (64 records). Entries are written straight into a Redis of the benchmark's own; each invalidation form is
// timed ROUNDS times per size and the median and p99 are reported. A spot check verifies that the entries really
// read as stale / absent afterwards. Results go to stdout and .bench/invalidation.json.
import { mkdir, writeFile } from 'node:fs/promises'
import { Redis } from 'ioredis'
import { buildDeps, type Deps } from '../src/build-deps.ts'
import { encodeEntry } from '../src/cache/entry-codec.ts'
import { loadSettings } from '../src/config/settings.ts'
import { createLogger } from '../src/logger.ts'
import { type InvalidateRequest, parseInvalidateRequest } from '../src/service/invalidation.ts'
import { spawnRedisServer } from '../test/helpers/redis-server.ts'
import { distinctAnalyticsParams } from './distinct-params.ts'

const SIZES = [10, 100_000]
const ROUNDS = Number(process.env.ROUNDS ?? 200)
const BODY = Buffer.from(JSON.stringify({ columns: [], rows: [{ total: 1 }], meta: {} }))

/** Two more entries: one overlapping the benchmark's range invalidation (2000-01-02), one years after it. */
const IN_RANGE = { measure: 'revenue', period: 'month', start: '2000-01-02', end: '2000-01-05' }
const LATER = { measure: 'revenue', period: 'month', start: '2010-06-01' }

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number
}

/** A fresh stored entry, as a computation that saw stamps up to `known` would have written it. */
function freshEntry(known: number): Buffer {
  const now = Date.now()
  return encodeEntry(
    {
      kind: 'result',
      computedAt: now,
      freshUntil: now + 3_600_000,
      staleUntil: now + 7_200_000,
      dataScannedBytes: 1_000,
      engineMs: 1_000,
      rowCount: 1,
      queryExecutionId: 'bench',
      known,
    },
    BODY,
  )
}

/** Writes `n` fresh entries of `analytics` (distinct parameters), as a computation would have stored them. */
async function populate(deps: Deps, redis: Redis, n: number): Promise<string[]> {
  const keys: string[] = []
  const entry = freshEntry(0)
  for (let i = 0; i < n; i += 1_000) {
    const pipeline = redis.pipeline()
    for (let j = i; j < Math.min(n, i + 1_000); j++) {
      const { key } = deps.service.resolve('analytics', distinctAnalyticsParams(j))
      keys.push(key)
      pipeline.set(key, entry, 'PX', 3_600_000)
    }
    await pipeline.exec()
  }
  return keys
}

async function time(deps: Deps, request: InvalidateRequest): Promise<{ medianMs: number; p99Ms: number }> {
  const samples: number[] = []
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now()
    await deps.operations.invalidate(request)
    samples.push(performance.now() - t0)
  }
  samples.sort((a, b) => a - b)
  return { medianMs: percentile(samples, 50), p99Ms: percentile(samples, 99) }
}

async function main(): Promise<void> {
  const server = await spawnRedisServer()
  const redis = new Redis(server.url)
  const forms: Array<[string, InvalidateRequest]> = [
    ['query, expire', { query: 'analytics', mode: 'expire', rewarm: false }],
    ['query, delete', { query: 'analytics', mode: 'delete', rewarm: false }],
    ['tags, expire', { tags: ['analytics'], mode: 'expire', rewarm: false }],
    ['all, delete', { all: true, mode: 'delete', rewarm: false }],
    [
      'tags, range expire',
      parseInvalidateRequest({ tags: ['analytics'], range: { start: '2000-01-02', end: '2000-01-03' } }),
    ],
    [
      'one entry, expire',
      {
        query: 'analytics',
        parameters: distinctAnalyticsParams(1),
        mode: 'expire',
        rewarm: false,
      },
    ],
  ]
  const results: Record<string, Record<string, { medianMs: number; p99Ms: number }>> = {}
  const checks: Record<string, string> = {}
  for (const size of SIZES) {
    const config = await loadSettings(
      { REDIS_URL: server.url, CACHE_PREFIX: `bench-inv-${size}`, LOG_LEVEL: 'warn', QUERY_ENGINE: 'athena' },
      { defaultEngine: 'athena' },
    )
    const deps = await buildDeps(config, {
      logger: createLogger({ level: 'warn', sync: true }),
      usageFlushMs: 0,
    })
    const keys = await populate(deps, redis, size)
    // Spot check that the stamps are real: the last entry written is fresh, and stale after one query-wide expire.
    const last = deps.service.resolve('analytics', distinctAnalyticsParams(size - 1))
    const before = (await deps.service.inspect(last)).entry
    await deps.operations.invalidate({ query: 'analytics', mode: 'expire', rewarm: false })
    const after = (await deps.service.inspect(last)).entry
    checks[String(size)] =
      before && before.freshUntil > Date.now() && after && after.freshUntil <= Date.now()
        ? `fresh before, stale after (${keys.length} entries)`
        : 'NOT INVALIDATED'
    // A range reaches only the entries it overlaps: of two entries computed after every stamp so far, the one of
    // 2000-01-02 goes stale, the one years later stays fresh.
    const inRange = deps.service.resolve('analytics', IN_RANGE)
    const later = deps.service.resolve('analytics', LATER)
    const { known } = await deps.service.inspect(later)
    await redis.set(inRange.key, freshEntry(known), 'PX', 3_600_000)
    await redis.set(later.key, freshEntry(known), 'PX', 3_600_000)
    await deps.operations.invalidate(
      parseInvalidateRequest({ tags: ['analytics'], range: { start: '2000-01-02', end: '2000-01-03' } }),
    )
    const inRangeEntry = (await deps.service.inspect(inRange)).entry
    const laterEntry = (await deps.service.inspect(later)).entry
    checks[`${size} range`] =
      inRangeEntry &&
      inRangeEntry.freshUntil <= Date.now() &&
      laterEntry &&
      laterEntry.freshUntil > Date.now()
        ? 'overlapping entry stale, later entry fresh'
        : 'RANGE NOT APPLIED AS EXPECTED'
    // Warm-up: scripts loaded, connections open, code compiled.
    for (let i = 0; i < 200; i++) await deps.operations.invalidate(forms[0]?.[1] as InvalidateRequest)
    for (const [name, request] of forms) {
      results[name] ??= {}
      ;(results[name] as Record<string, { medianMs: number; p99Ms: number }>)[String(size)] = await time(
        deps,
        request,
      )
    }
    // A hit's lookup: the entry with its stamps (two of them range fields of 64 records), decoded and judged.
    const lookups: number[] = []
    for (let i = 0; i < ROUNDS * 5; i++) {
      const t0 = performance.now()
      await deps.service.inspect(later)
      lookups.push(performance.now() - t0)
    }
    lookups.sort((a, b) => a - b)
    results['hit lookup (64 range records)'] ??= {}
    ;(results['hit lookup (64 range records)'] as Record<string, { medianMs: number; p99Ms: number }>)[
      String(size)
    ] = { medianMs: percentile(lookups, 50), p99Ms: percentile(lookups, 99) }
    await deps.close()
  }
  process.stdout.write(`invalidation time, median (p99) of ${ROUNDS} calls\n`)
  process.stdout.write(
    `${'form'.padEnd(20)}${SIZES.map((s) => `${s} entries`.padStart(22)).join('')}   ratio\n`,
  )
  const ratios: Record<string, number> = {}
  for (const [name, bySize] of Object.entries(results)) {
    const cells = SIZES.map((s) => {
      const r = bySize[String(s)] as { medianMs: number; p99Ms: number }
      return `${r.medianMs.toFixed(3)} ms (${r.p99Ms.toFixed(3)})`.padStart(22)
    })
    const ratio =
      (bySize[String(SIZES[1])]?.medianMs ?? Number.NaN) / (bySize[String(SIZES[0])]?.medianMs ?? Number.NaN)
    ratios[name] = ratio
    process.stdout.write(`${name.padEnd(20)}${cells.join('')}   ${ratio.toFixed(2)}×\n`)
  }
  process.stdout.write(`checks: ${JSON.stringify(checks)}\n`)
  await mkdir('.bench', { recursive: true })
  await writeFile(
    '.bench/invalidation.json',
    `${JSON.stringify({ rounds: ROUNDS, results, ratios, checks }, null, 2)}\n`,
  )
  redis.disconnect()
  await server.stop()
}

await main()

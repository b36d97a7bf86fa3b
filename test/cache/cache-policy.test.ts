import { describe, expect, it } from 'vitest'
import { type CacheAction, decideCacheAction, freshnessAt } from '../../src/cache/cache-policy.ts'

const entry = { freshUntil: 1_000, staleUntil: 2_000 }

describe('decideCacheAction', () => {
  const table: Array<
    [string, typeof entry | null, number, { serveStale: boolean; bypass?: boolean }, CacheAction]
  > = [
    ['absent', null, 500, { serveStale: true }, { kind: 'compute', reason: 'absent' }],
    ['fresh', entry, 400, { serveStale: true }, { kind: 'serve', ttlRemainingMs: 600 }],
    ['last fresh ms', entry, 999, { serveStale: true }, { kind: 'serve', ttlRemainingMs: 1 }],
    [
      'first stale ms',
      entry,
      1_000,
      { serveStale: true },
      { kind: 'serve-stale-and-refresh', staleForMs: 0 },
    ],
    ['stale', entry, 1_500, { serveStale: true }, { kind: 'serve-stale-and-refresh', staleForMs: 500 }],
    ['stale, no SWR', entry, 1_500, { serveStale: false }, { kind: 'compute', reason: 'expired' }],
    ['expired', entry, 2_000, { serveStale: true }, { kind: 'compute', reason: 'expired' }],
    ['long expired', entry, 9_999, { serveStale: true }, { kind: 'compute', reason: 'expired' }],
    [
      'bypass beats fresh',
      entry,
      400,
      { serveStale: true, bypass: true },
      { kind: 'compute', reason: 'bypass' },
    ],
  ]
  it.each(table)('%s', (_name, e, now, policy, expected) => {
    expect(decideCacheAction(e, now, policy)).toEqual(expected)
  })

  it('freshnessAt classifies the three windows', () => {
    expect([0, 999, 1000, 1999, 2000].map((t) => freshnessAt(entry, t))).toEqual([
      'fresh',
      'fresh',
      'stale',
      'stale',
      'expired',
    ])
  })
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Stack, startStack } from '../helpers/stack.ts'

const ADMIN = 'closed-admin-key'
const HOUR = 3_600_000
const JAN = '/analytics?measure=signups&period=week&start=2024-01-01&end=2024-02-01'
const LAST_WEEK = '/analytics?measure=signups&period=day&start=2024-03-25&end=2024-04-01'

describe('closed windows: results that end before the landed data stay fresh longer (real Redis, local Athena)', () => {
  let s: Stack

  beforeAll(async () => {
    s = await startStack({ env: { ADMIN_API_KEYS: ADMIN } })
  })
  afterAll(async () => {
    await s.close()
  })

  /** The read's freshness in hours (meta.expiresAt − meta.computedAt) and its Cache-Control. */
  const freshHours = async (path: string) => {
    const res = await s.app.request(path)
    expect(res.status).toBe(200)
    const { meta } = (await res.json()) as { meta: { computedAt: string; expiresAt: string } }
    return {
      hours: Math.round((Date.parse(meta.expiresAt) - Date.parse(meta.computedAt)) / HOUR),
      cacheControl: res.headers.get('cache-control'),
    }
  }
  const recompute = async () => {
    const res = await s.app.request('/cache/invalidate', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': ADMIN },
      body: JSON.stringify({ query: 'analytics', mode: 'delete' }),
    })
    expect(res.status).toBe(200)
  }

  it('uses the query TTL while nothing has landed, the closed TTL once data landed past the range and its grace', async () => {
    // Nothing landed yet: every result is open (12 h).
    expect((await freshHours(JAN)).hours).toBe(12)
    // The analytics table has landed up to 2024-04-01 (what landing.ts records for each landed partition).
    await s.redis.redis.hset(
      s.deps.keys.landed('analytics'),
      'until',
      String(Date.parse('2024-04-01T00:00:00Z')),
    )
    await recompute()
    const closed = await freshHours(JAN)
    expect(closed.hours).toBe(7 * 24)
    expect(closed.cacheControl).toMatch(/max-age=604800\b/)
    // The last week ends inside the 48 h late-data grace: still open.
    expect((await freshHours(LAST_WEEK)).hours).toBe(12)
    // Two more days landed: the grace has passed for it too.
    await s.redis.redis.hset(
      s.deps.keys.landed('analytics'),
      'until',
      String(Date.parse('2024-04-03T00:00:00Z')),
    )
    await recompute()
    expect((await freshHours(LAST_WEEK)).hours).toBe(7 * 24)
  })

  it('a damaged landed mark counts as nothing landed (open), never as a failure', async () => {
    await s.redis.redis.hset(s.deps.keys.landed('analytics'), 'until', 'garbage')
    await recompute()
    expect((await freshHours(JAN)).hours).toBe(12)
  })
})

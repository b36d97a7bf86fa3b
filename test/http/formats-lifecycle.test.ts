// The format entries across the JSON entry's life: an execution gone from the engine (restart), a cached 413, the
// async 202, and a stale JSON entry. Real Redis, the local Athena and its S3 API through the AWS SDK.
import { afterAll, describe, expect, inject, it } from 'vitest'
import { type LocalAthena, startLocalAthena } from '../../local/athena-server.ts'
import { type Stack, startStack } from '../helpers/stack.ts'

const SMALL = '/queries/top_pages?measure=pageviews&start=2024-01-01'

describe('format entries across the JSON entry’s life', () => {
  const stacks: Stack[] = []
  const extra: LocalAthena[] = []
  afterAll(async () => {
    for (const s of stacks) await s.close().catch(() => {})
    for (const l of extra) await l.close().catch(() => {})
  })

  it('an execution the engine no longer knows: the query runs again, once, and both entries come from it', async () => {
    const s = await startStack()
    stacks.push(s)
    const json = await s.app.request(SMALL)
    expect(json.status).toBe(200)
    const port = Number(new URL(s.local.endpoint).port)
    // The engine restarts: every execution id it gave is unknown now.
    await s.local.close()
    const restarted = await startLocalAthena({ dataDir: inject('dataDir'), port, minQueryMs: 0 })
    extra.push(restarted)
    const csv = await s.app.request(`${SMALL}&format=csv`)
    expect(csv.status).toBe(200)
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8; header=present')
    expect((await csv.text()).split('\r\n')[0]).toBe('page,total,events')
    expect(restarted.stats().executionsStarted).toBe(1)
    // The JSON entry is the new execution's too: no further query for either format.
    const again = await s.app.request(SMALL)
    expect(again.headers.get('x-cache')).toBe('HIT')
    const csvAgain = await s.app.request(`${SMALL}&format=csv`)
    expect(csvAgain.headers.get('x-cache')).toBe('HIT')
    expect(restarted.stats().executionsStarted).toBe(1)
  })

  it('a result over MAX_RESULT_ROWS is a 413 in every format, cached: no second query', async () => {
    const s = await startStack({ env: { MAX_RESULT_ROWS: '100' } })
    stacks.push(s)
    const path = '/queries/events?start=2024-01-02'
    for (const format of ['csv', 'ndjson', 'json', 'csv']) {
      const res = await s.app.request(`${path}&format=${format}`)
      expect(res.status, format).toBe(413)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      expect(((await res.json()) as { detail: string }).detail).toContain('MAX_RESULT_ROWS')
    }
    expect(s.local.stats().executionsStarted).toBe(1)
  })

  it('Prefer: respond-async answers a format read 202 with the execution, and the format once it is done', async () => {
    const s = await startStack({ minQueryMs: 400 })
    stacks.push(s)
    const path = '/queries/by_country?measure=sessions&start=2024-01-01&format=ndjson'
    const pending = await s.app.request(path, { headers: { prefer: 'respond-async' } })
    expect(pending.status).toBe(202)
    const { statusUrl } = (await pending.json()) as { statusUrl: string }
    expect(statusUrl).toMatch(/^\/executions\//)
    await new Promise((r) => setTimeout(r, 900))
    const done = await s.app.request(path)
    expect(done.status).toBe(200)
    expect(done.headers.get('content-type')).toBe('application/x-ndjson')
    expect((await done.text()).trim().split('\n').length).toBeGreaterThan(1)
    expect(s.local.stats().executionsStarted).toBe(1)
  })

  it('a stale JSON entry: the format entry of the same execution is served stale, then rendered from the refresh', async () => {
    let clock = Date.now()
    const s = await startStack({ now: () => clock })
    stacks.push(s)
    const path = '/queries/top_pages?measure=signups&start=2024-01-01'
    await (await s.app.request(path)).arrayBuffer()
    const fresh = await s.app.request(`${path}&format=csv`)
    expect(fresh.headers.get('x-cache')).toBe('MISS')
    await fresh.arrayBuffer()
    // Past the TTL (43,200 s), inside the stale window.
    clock += 43_201_000
    const stale = await s.app.request(`${path}&format=csv`)
    expect(stale.headers.get('x-cache')).toBe('STALE')
    await stale.arrayBuffer()
    // The refresh runs in the background (Node server mode); then the CSV follows the new execution.
    for (let i = 0; i < 100 && s.local.stats().executionsStarted < 2; i++)
      await new Promise((r) => setTimeout(r, 20))
    await new Promise((r) => setTimeout(r, 200))
    const after = await s.app.request(`${path}&format=csv`)
    expect(after.status).toBe(200)
    // Rendered again: the JSON entry now holds the refresh's execution.
    expect(after.headers.get('x-cache')).toBe('MISS')
    expect(s.local.stats().executionsStarted).toBe(2)
    const json = await s.app.request(path)
    expect(json.headers.get('x-cache')).toBe('HIT')
  })
})

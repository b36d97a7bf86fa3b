import { randomUUID } from 'node:crypto'
import {
  BatchGetQueryExecutionCommand,
  GetQueryResultsCommand,
  ListQueryExecutionsCommand,
} from '@aws-sdk/client-athena'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { type LocalAthena, startLocalAthena } from '../../local/athena-server.ts'
import { Leases } from '../../src/cache/lease.ts'
import { type Stack, startStack } from '../helpers/stack.ts'

interface ProblemBody {
  type: string
  title: string
  status: number
  detail: string
  instance?: string
  errors?: Array<{ name: string; message: string }>
}

const stacks: Stack[] = []
const engines: LocalAthena[] = []
afterEach(async () => {
  await Promise.all(stacks.splice(0).map((s) => s.close()))
  await Promise.all(engines.splice(0).map((e) => e.close()))
})

async function stack(env: Record<string, string> = {}): Promise<Stack> {
  const s = await startStack({ env })
  stacks.push(s)
  return s
}

async function until(predicate: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('MAX_RESULT_BYTES means the body as sent', () => {
  const PATH = '/analytics?measure=signups&start=2024-03-01'

  it('413 for a body over the limit whose raw values are under it; cached, so 5 requests run 1 execution', async () => {
    // The body and Athena's raw values of this read, with no limit in the way.
    const free = await stack()
    const res = await free.app.request(PATH)
    expect(res.status).toBe(200)
    const body = Buffer.from(await res.arrayBuffer())
    const { meta } = JSON.parse(body.toString('utf8')) as { meta: { queryExecutionId: string } }
    const page = await free.deps.athena.send(
      new GetQueryResultsCommand({ QueryExecutionId: meta.queryExecutionId }),
    )
    // What the old check counted: each value's length + 4, header row excluded.
    let raw = 0
    for (const row of (page.ResultSet?.Rows ?? []).slice(1))
      for (const d of row.Data ?? []) raw += (d.VarCharValue?.length ?? 0) + 4
    expect(page.NextToken).toBeUndefined()
    const limit = body.length - 16
    expect(raw).toBeLessThan(limit)

    const s = await stack({ MAX_RESULT_BYTES: String(limit), ERROR_TTL_SECONDS: '30' })
    const before = s.local.stats().executionsStarted
    const answers: Array<{ status: number; cache: string | null; body: ProblemBody }> = []
    for (let i = 0; i < 5; i++) {
      const r = await s.app.request(PATH)
      expect(r.headers.get('content-type')).toBe('application/problem+json')
      answers.push({
        status: r.status,
        cache: r.headers.get('x-cache'),
        body: (await r.json()) as ProblemBody,
      })
    }
    expect(answers.map((a) => a.status)).toEqual([413, 413, 413, 413, 413])
    expect(answers.slice(1).map((a) => a.cache)).toEqual(['HIT', 'HIT', 'HIT', 'HIT'])
    // The cached answer is the first one: same status, same problem document.
    for (const a of answers) expect(a.body).toEqual(answers[0]?.body)
    expect(answers[0]?.body).toMatchObject({
      status: 413,
      type: 'urn:athena-cache-proxy:problem:result-too-large',
      instance: '/analytics',
    })
    expect(answers[0]?.body.detail).toContain('MAX_RESULT_BYTES')
    expect(s.local.stats().executionsStarted - before).toBe(1)

    // A little over the body: served.
    const roomy = await stack({ MAX_RESULT_BYTES: String(body.length + 16) })
    expect((await roomy.app.request(PATH)).status).toBe(200)
  })

  it('an over-limit result found by /executions/{id} is cached the same way', async () => {
    const s = await stack({ MAX_RESULT_ROWS: '3', SYNC_DEADLINE_MS: '100' })
    s.local.setMinQueryMs(600)
    const path = '/analytics?measure=sessions&start=2024-03-03'
    const accepted = await s.app.request(path, { headers: { prefer: 'respond-async' } })
    expect(accepted.status).toBe(202)
    const { executionId } = (await accepted.json()) as { executionId: string }
    let polled: Response | undefined
    await until(async () => {
      polled = await s.app.request(`/executions/${executionId}`)
      return polled.status !== 202
    })
    expect(polled?.status).toBe(413)
    const again = await s.app.request(path)
    expect(again.status).toBe(413)
    expect(again.headers.get('x-cache')).toBe('HIT')
  })
})

describe('an execution the engine no longer knows is gone, not a user error', () => {
  it('engine restarted under a 202: /executions/{id} is 502 (not 422) and the read is computed anew', async () => {
    const s = await stack({
      SYNC_DEADLINE_MS: '300',
      POLL_INITIAL_DELAY_MS: '2000',
      POLL_MAX_INTERVAL_MS: '2000',
    })
    s.local.faults.add({ kind: 'hang', match: 'approx_distinct' })
    const path = '/queries/by_country?measure=sessions&start=2024-03-05'
    const first = await s.app.request(path)
    expect(first.status).toBe(202)
    const { executionId } = (await first.json()) as { executionId: string }
    // The engine restarts on the same address, with no memory of its executions (and no fault).
    const { port } = s.local
    await s.local.close()
    engines.push(await startLocalAthena({ dataDir: inject('dataDir'), port, minQueryMs: 0 }))
    const polled = await s.app.request(`/executions/${executionId}`)
    const problem = (await polled.json()) as ProblemBody
    expect(polled.status).toBe(502)
    expect(problem.type).toBe('urn:athena-cache-proxy:problem:engine-unavailable')
    expect(problem.detail).toContain(executionId)
    let last: Response | undefined
    await until(async () => {
      last = await s.app.request(path)
      // 202: running; 504 engine-timeout: the start itself took longer than the 300 ms deadline (a loaded machine),
      // and the computation goes on. Both say "ask again".
      if (last.status === 504) {
        expect(((await last.json()) as ProblemBody).type).toBe(
          'urn:athena-cache-proxy:problem:engine-timeout',
        )
        return false
      }
      return last.status !== 202
    })
    expect(last?.status).toBe(200)
  })

  it('a lease naming an execution the engine never had: the read starts a new one (1 execution, 200)', async () => {
    const s = await stack()
    const path = '/queries/by_country?measure=revenue&start=2024-03-07'
    const resolved = s.deps.service.resolve('by_country', { measure: 'revenue', start: '2024-03-07' })
    const leases = new Leases(s.deps.store, { startTtlMs: 30_000, runTtlMs: 600_000 })
    const taken = await leases.acquire(s.deps.keys.lease(resolved.key))
    if (!taken.acquired) throw new Error('lease expected to be free')
    const forgotten = randomUUID()
    await leases.recordExecution(taken.lease, forgotten)
    const before = s.local.stats().executionsStarted
    const res = await s.app.request(path)
    expect(res.status).toBe(200)
    const { meta } = (await res.json()) as { meta: { queryExecutionId: string } }
    expect(meta.queryExecutionId).not.toBe(forgotten)
    expect(s.local.stats().executionsStarted - before).toBe(1)
  })
})

describe('years 0000–0099 are taken as written', () => {
  it('start=0024-01-01 is year 24 all the way to the engine, and 1924 is another key', async () => {
    const s = await stack()
    const read = async (start: string) => {
      const res = await s.app.request(`/analytics?measure=pageviews&start=${start}`)
      expect(res.status).toBe(200)
      const body = (await res.json()) as {
        meta: { parameters: Record<string, string>; queryExecutionId: string }
      }
      return { cache: res.headers.get('x-cache'), body }
    }
    const early = await read('0024-01-01')
    expect(early.cache).toBe('MISS')
    expect(early.body.meta.parameters).toMatchObject({ start: '0024-01-01', end: '0024-02-01' })
    const later = await read('1924-01-01')
    expect(later.cache).toBe('MISS')
    expect(later.body.meta.parameters).toMatchObject({ start: '1924-01-01', end: '1924-02-01' })
    expect((await read('0024-01-01')).cache).toBe('HIT')
    expect((await read('1924-01-01')).cache).toBe('HIT')
    const got = await s.deps.athena.send(
      new BatchGetQueryExecutionCommand({ QueryExecutionIds: [early.body.meta.queryExecutionId] }),
    )
    expect(got.QueryExecutions?.[0]?.ExecutionParameters).toEqual([
      "'pageviews'",
      "'0024-01-01'",
      "'0024-02-01'",
    ])
  })
})

describe('the measure is an enum', () => {
  it('an unknown measure is a 400 naming the allowed values, and starts nothing', async () => {
    const s = await stack()
    const before = s.local.stats().executionsStarted
    const res = await s.app.request('/analytics?measure=bounces&start=2024-01-01')
    expect(res.status).toBe(400)
    const body = (await res.json()) as ProblemBody
    expect(body.errors).toEqual([
      { name: 'measure', message: 'must be one of pageviews, sessions, signups, revenue' },
    ])
    expect(s.local.stats().executionsStarted).toBe(before)
    const listed = await s.deps.athena.send(new ListQueryExecutionsCommand({}))
    expect(listed.QueryExecutionIds ?? []).toHaveLength(0)
  })
})

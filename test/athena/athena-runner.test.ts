import { randomUUID } from 'node:crypto'
import { AthenaClient, StopQueryExecutionCommand } from '@aws-sdk/client-athena'
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest'
import { type LocalAthena, startLocalAthena } from '../../local/athena-server.ts'
import { AthenaRunner, type QueryRequest } from '../../src/athena/athena-runner.ts'
import {
  EngineThrottledError,
  QueryCancelledError,
  QueryFailedError,
  QueryTimeoutError,
  ResultTooLargeError,
} from '../../src/errors.ts'

let local: LocalAthena
let client: AthenaClient

function runner(overrides: Partial<ConstructorParameters<typeof AthenaRunner>[0]> = {}): AthenaRunner {
  return new AthenaRunner({
    client,
    catalog: 'AwsDataCatalog',
    outputLocation: 's3://results/test/',
    maxRows: 100_000,
    maxResultBytes: 64 * 1024 * 1024,
    poll: { initialDelayMs: 20, minIntervalMs: 10, maxIntervalMs: 200 },
    ...overrides,
  })
}

function request(sql: string, executionParameters: string[] = []): QueryRequest {
  return {
    sql,
    executionParameters,
    database: 'analytics',
    workgroup: 'primary',
    clientRequestToken: randomUUID().replaceAll('-', '').padEnd(40, '0'),
  }
}

const soon = () => ({ deadline: Date.now() + 30_000 })

beforeAll(async () => {
  local = await startLocalAthena({ dataDir: inject('dataDir'), port: 0, minQueryMs: 0 })
  client = new AthenaClient({
    endpoint: local.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 2,
  })
})
afterAll(async () => {
  client.destroy()
  await local.close()
})
beforeEach(() => {
  local.faults.clear()
  local.setMinQueryMs(0)
})

describe('AthenaRunner against the local endpoint (real AthenaClient)', () => {
  it('reads every page: 2,600 rows over 3 pages, header row dropped, types converted', async () => {
    const result = await runner().run(
      request(
        "SELECT i AS n, CAST(i AS varchar) AS s, i * 0.5 AS half, DATE '2024-01-01' + CAST(i % 30 AS integer) AS d FROM range(2600) t(i) ORDER BY i",
      ),
      soon(),
    )
    expect(result.rows).toHaveLength(2600)
    expect(result.columns.map((c) => `${c.name}:${c.type}`)).toEqual([
      'n:bigint',
      's:varchar',
      'half:decimal',
      'd:date',
    ])
    expect(result.rows[0]).toEqual({ n: 0, s: '0', half: '0.0', d: '2024-01-01' })
    expect(result.rows[2599]).toEqual({ n: 2599, s: '2599', half: '1299.5', d: '2024-01-20' })
    expect(result.rows.map((r) => r.n)).toEqual(Array.from({ length: 2600 }, (_, i) => i))
    expect(local.stats().calls.GetQueryResults).toBeGreaterThanOrEqual(3)
  })

  it('binds execution parameters', async () => {
    const result = await runner().run(
      request('SELECT count(*) AS events FROM analytics WHERE measure = ? AND dt >= ? AND dt < ?', [
        "'signups'",
        "'2024-01-01'",
        "'2024-01-08'",
      ]),
      soon(),
    )
    expect(result.rows).toHaveLength(1)
    expect(result.rows[0]?.events).toBeGreaterThan(0)
    expect(result.stats.dataScannedBytes).toBeGreaterThan(0)
  })

  it('FAILED (user error) → QueryFailedError with category 2', async () => {
    const err = await runner()
      .run(request("SELECT CAST('abc' AS integer) AS x"), soon())
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(QueryFailedError)
    expect((err as QueryFailedError).isUserError).toBe(true)
    expect((err as QueryFailedError).details.queryExecutionId).toMatch(/.+/)
  })

  it('FAILED (system error) → QueryFailedError with category 1', async () => {
    local.faults.add({
      kind: 'fail',
      category: 1,
      message: 'INTERNAL_ERROR_QUERY_ENGINE',
      match: 'SELECT 42',
    })
    const err = await runner()
      .run(request('SELECT 42 AS x'), soon())
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(QueryFailedError)
    expect((err as QueryFailedError).isUserError).toBe(false)
    expect((err as QueryFailedError).message).toContain('INTERNAL_ERROR_QUERY_ENGINE')
  })

  it('a query rejected at start (bad SQL) → QueryFailedError, user error', async () => {
    const err = await runner()
      .run(request('SELEKT nonsense'), soon())
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(QueryFailedError)
    expect((err as QueryFailedError).isUserError).toBe(true)
  })

  it('CANCELLED by someone else → QueryCancelledError', async () => {
    local.faults.add({ kind: 'hang', match: 'SELECT 7' })
    const r = runner()
    const id = await r.start(request('SELECT 7 AS x'))
    setTimeout(() => void client.send(new StopQueryExecutionCommand({ QueryExecutionId: id })), 100)
    await expect(r.waitForCompletion(id, soon())).rejects.toBeInstanceOf(QueryCancelledError)
  })

  it('deadline → QueryTimeoutError, and the query is stopped', async () => {
    local.faults.add({ kind: 'hang', match: 'SELECT 8' })
    const r = runner()
    const id = await r.start(request('SELECT 8 AS x'))
    const t0 = Date.now()
    const err = await r.waitForCompletion(id, { deadline: Date.now() + 300 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(QueryTimeoutError)
    expect(Date.now() - t0).toBeLessThan(1_500)
    const state = (await r.describe(id)).Status?.State
    expect(state).toBe('CANCELLED')
  })

  it('an AbortSignal ends the wait early', async () => {
    local.faults.add({ kind: 'hang', match: 'SELECT 9' })
    const r = runner()
    const id = await r.start(request('SELECT 9 AS x'))
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 100)
    const t0 = Date.now()
    await expect(
      r.waitForCompletion(id, { deadline: Date.now() + 30_000, signal: controller.signal }),
    ).rejects.toThrow()
    expect(Date.now() - t0).toBeLessThan(2_000)
    await r.stop(id)
  })

  it('the same ClientRequestToken never starts a second query', async () => {
    const r = runner()
    const req = request('SELECT 1 AS one')
    const before = local.stats().executionsStarted
    const [a, b] = await Promise.all([r.start(req), r.start(req)])
    expect(a).toBe(b)
    expect(local.stats().executionsStarted - before).toBe(1)
  })

  it('persistent throttling → EngineThrottledError after the bounded retries', async () => {
    local.faults.add({ kind: 'throttle', operation: 'StartQueryExecution', times: 5 })
    await expect(runner().run(request('SELECT 2 AS x'), soon())).rejects.toBeInstanceOf(EngineThrottledError)
  })

  it('a throttled call that succeeds on retry is invisible', async () => {
    local.faults.add({ kind: 'throttle', operation: 'StartQueryExecution', times: 1 })
    const result = await runner().run(request('SELECT 3 AS x'), soon())
    expect(result.rows).toEqual([{ x: 3 }])
  })

  it('row and byte limits are errors, never truncation', async () => {
    await expect(
      runner({ maxRows: 999 }).run(request('SELECT * FROM range(1000) t(i)'), soon()),
    ).rejects.toBeInstanceOf(ResultTooLargeError)
    await expect(
      runner({ maxResultBytes: 10_000 }).run(
        request("SELECT repeat('x', 100) AS s FROM range(200) t(i)"),
        soon(),
      ),
    ).rejects.toBeInstanceOf(ResultTooLargeError)
    const exact = await runner({ maxRows: 1000 }).run(request('SELECT * FROM range(1000) t(i)'), soon())
    expect(exact.rows).toHaveLength(1000)
  })

  it('polls near the expected completion: few status calls with history', async () => {
    local.setMinQueryMs(600)
    const r = runner({ poll: { initialDelayMs: 100, minIntervalMs: 50, maxIntervalMs: 1_000 } })
    const first = await r.run(request('SELECT 4 AS x'), soon())
    const second = await r.run(request('SELECT 5 AS x'), { ...soon(), expectedMs: first.stats.totalMs })
    expect(first.stats.totalMs).toBeGreaterThanOrEqual(600)
    expect(second.stats.statusCalls).toBeLessThanOrEqual(4)
    expect(local.stats().statusCallsByExecution[second.stats.queryExecutionId]).toBe(second.stats.statusCalls)
  })
})

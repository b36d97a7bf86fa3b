import {
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startLocalAthena } from '../../local/athena-server.ts'
import {
  type LocalAthenaFixture,
  localAthenaClient,
  startLocalAthenaFixture,
} from '../helpers/local-athena-fixture.ts'

let f: LocalAthenaFixture

beforeAll(async () => {
  f = await startLocalAthenaFixture()
})

afterEach(() => {
  f.local.faults.clear()
  f.local.setMinQueryMs(0)
})

afterAll(async () => {
  await f?.close()
})

const state = async (id: string) =>
  (await f.client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))).QueryExecution?.Status?.State

describe('failures', () => {
  it('a runtime error ends FAILED with a user-error AthenaError', async () => {
    const e = await f.wait(await f.start("SELECT CAST(x AS INTEGER) FROM (VALUES ('12'), ('abc')) t(x)"))
    expect(e.Status?.State).toBe('FAILED')
    expect(e.Status?.StateChangeReason).toMatch(/^INVALID_CAST_ARGUMENT: .*abc/)
    expect(e.Status?.AthenaError).toEqual({
      ErrorCategory: 2,
      // Athena's ErrorType for INVALID_CAST_ARGUMENT.
      ErrorType: 1100,
      Retryable: false,
      ErrorMessage: e.Status?.StateChangeReason,
    })
    expect(e.Status?.CompletionDateTime).toBeInstanceOf(Date)
  })

  it('an injected fault fails only the matching query, as a system error', async () => {
    f.local.faults.add({
      kind: 'fail',
      category: 1,
      message: 'INTERNAL_ERROR: injected',
      match: '/count\\(\\*\\)/i',
      times: 1,
    })
    const other = await f.wait(await f.start('SELECT 1'))
    expect(other.Status?.State).toBe('SUCCEEDED')
    const failed = await f.wait(await f.start('SELECT COUNT(*) FROM analytics'))
    expect(failed.Status?.State).toBe('FAILED')
    expect(failed.Status?.AthenaError).toMatchObject({
      ErrorCategory: 1,
      ErrorMessage: 'INTERNAL_ERROR: injected',
    })
    expect(f.local.faults.list()).toHaveLength(0)
    expect((await f.wait(await f.start('SELECT COUNT(*) FROM analytics'))).Status?.State).toBe('SUCCEEDED')
  })
})

describe('cancellation', () => {
  it('StopQueryExecution cancels a hanging query', async () => {
    f.local.faults.add({ kind: 'hang', match: 'hang-me' })
    const id = await f.start("SELECT 'hang-me'")
    await new Promise((r) => setTimeout(r, 50))
    expect(await state(id)).toBe('RUNNING')
    await f.client.send(new StopQueryExecutionCommand({ QueryExecutionId: id }))
    const e = await f.wait(id)
    expect(e.Status?.State).toBe('CANCELLED')
    expect(e.Status?.StateChangeReason).toBe('Query was cancelled by user')
    expect(e.Status?.AthenaError).toBeUndefined()
    // Stopping a finished query is a successful no-op.
    await f.client.send(new StopQueryExecutionCommand({ QueryExecutionId: id }))
    expect(await state(id)).toBe('CANCELLED')
  })

  it('interrupts a query DuckDB is still running', { timeout: 20_000 }, async () => {
    // A private endpoint: its close() waits for its runs, so a query that kept running would show.
    const local = await startLocalAthena({ dataDir: f.dataDir })
    const client = localAthenaClient(local.endpoint)
    try {
      const heavy = 'SELECT count(*) FROM range(20000000000) a(x) WHERE x % 7 = 3'
      const { QueryExecutionId: id } = await client.send(
        new StartQueryExecutionCommand({ QueryString: heavy }),
      )
      await new Promise((r) => setTimeout(r, 150))
      const status = async () =>
        (await client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))).QueryExecution?.Status
      expect((await status())?.State).toBe('RUNNING')
      await client.send(new StopQueryExecutionCommand({ QueryExecutionId: id }))
      expect((await status())?.State).toBe('CANCELLED')
    } finally {
      client.destroy()
      const t0 = Date.now()
      await local.close()
      expect(Date.now() - t0).toBeLessThan(3_000)
    }
  })

  it('stopping a finished query leaves it SUCCEEDED', async () => {
    const id = await f.start('SELECT 1')
    await f.wait(id)
    await f.client.send(new StopQueryExecutionCommand({ QueryExecutionId: id }))
    expect(await state(id)).toBe('SUCCEEDED')
  })
})

describe('timing', () => {
  it('honours minQueryMs: QUEUED, then RUNNING, never SUCCEEDED early', async () => {
    f.local.setMinQueryMs(400)
    const t0 = Date.now()
    const id = await f.start('SELECT 1')
    expect(await state(id)).toBe('QUEUED')
    await new Promise((r) => setTimeout(r, 150))
    expect(await state(id)).toBe('RUNNING')
    const e = await f.wait(id)
    expect(e.Status?.State).toBe('SUCCEEDED')
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400)
    const stats = e.Statistics
    expect(stats?.TotalExecutionTimeInMillis).toBeGreaterThanOrEqual(400)
    expect(stats?.QueryQueueTimeInMillis).toBeGreaterThanOrEqual(35)
    expect(stats?.EngineExecutionTimeInMillis).toBeGreaterThanOrEqual(300)
  })

  it('a slow fault adds engine time', async () => {
    f.local.faults.add({ kind: 'slow', delayMs: 300, match: 'slow-one', times: 1 })
    const e = await f.wait(await f.start("SELECT 'slow-one'"))
    expect(e.Status?.State).toBe('SUCCEEDED')
    expect(e.Statistics?.EngineExecutionTimeInMillis).toBeGreaterThanOrEqual(300)
  })

  it('runs several queries at once', async () => {
    f.local.faults.add({ kind: 'slow', delayMs: 300, match: 'parallel' })
    const t0 = Date.now()
    const ids = await Promise.all([1, 2, 3, 4].map((i) => f.start(`SELECT ${i} AS parallel`)))
    const done = await Promise.all(ids.map((id) => f.wait(id)))
    expect(done.map((e) => e.Status?.State)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED'])
    expect(Date.now() - t0).toBeLessThan(1_100)
  })
})

describe('result reuse', () => {
  const reuse = { ResultReuseByAgeConfiguration: { Enabled: true, MaxAgeInMinutes: 60 } }
  const sql =
    "SELECT measure, sum(value) AS total FROM analytics WHERE dt = '2024-02-01' GROUP BY measure ORDER BY measure"

  it('reuses a recent identical execution: at once, same rows, nothing scanned', async () => {
    const first = await f.query(sql, { ResultReuseConfiguration: reuse })
    expect(first.execution.Statistics?.ResultReuseInformation?.ReusedPreviousResult).toBe(false)
    expect(first.execution.Statistics?.DataScannedInBytes).toBeGreaterThan(0)
    f.local.setMinQueryMs(5_000)
    const id = await f.start(sql, { ResultReuseConfiguration: reuse })
    const e = (await f.client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))).QueryExecution
    expect(e?.Status?.State).toBe('SUCCEEDED')
    expect(e?.Statistics?.ResultReuseInformation?.ReusedPreviousResult).toBe(true)
    expect(e?.Statistics?.DataScannedInBytes).toBe(0)
    expect(e?.ResultReuseConfiguration).toEqual(reuse)
    const rows = await f.client.send(new GetQueryResultsCommand({ QueryExecutionId: id }))
    expect(rows.ResultSet?.Rows?.map((r) => r.Data?.map((d) => d.VarCharValue))).toEqual(first.values)
  })

  it('does not reuse across parameters, databases or when disabled', async () => {
    const base = await f.query('SELECT count(*) FROM analytics WHERE measure = ?', {
      ResultReuseConfiguration: reuse,
      ExecutionParameters: ["'sessions'"],
    })
    expect(base.execution.Statistics?.ResultReuseInformation?.ReusedPreviousResult).toBe(false)
    const otherParam = await f.query('SELECT count(*) FROM analytics WHERE measure = ?', {
      ResultReuseConfiguration: reuse,
      ExecutionParameters: ["'signups'"],
    })
    expect(otherParam.execution.Statistics?.ResultReuseInformation?.ReusedPreviousResult).toBe(false)
    const disabled = await f.query('SELECT count(*) FROM analytics WHERE measure = ?', {
      ResultReuseConfiguration: { ResultReuseByAgeConfiguration: { Enabled: false } },
      ExecutionParameters: ["'sessions'"],
    })
    expect(disabled.execution.Statistics?.ResultReuseInformation?.ReusedPreviousResult).toBe(false)
    const again = await f.query('SELECT count(*) FROM analytics WHERE measure = ?', {
      ResultReuseConfiguration: reuse,
      ExecutionParameters: ["'sessions'"],
    })
    expect(again.execution.Statistics?.ResultReuseInformation?.ReusedPreviousResult).toBe(true)
    expect(again.values).toEqual(base.values)
  })
})

describe('stats and control routes', () => {
  it('counts calls, executions and status polls per execution', async () => {
    f.local.resetStats()
    const id = await f.start('SELECT 1')
    await f.wait(id)
    await f.client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))
    const stats = f.local.stats()
    expect(stats.executionsStarted).toBe(1)
    expect(stats.calls.StartQueryExecution).toBe(1)
    const polls = stats.statusCallsByExecution[id] ?? 0
    expect(polls).toBeGreaterThanOrEqual(2)
    expect(stats.calls.GetQueryExecution).toBe(polls)
    const overHttp = (await (await fetch(`${f.local.endpoint}/_local/stats`)).json()) as typeof stats
    expect(overHttp).toEqual(stats)
    await fetch(`${f.local.endpoint}/_local/stats/reset`, { method: 'POST' })
    expect(f.local.stats()).toEqual({ calls: {}, executionsStarted: 0, statusCallsByExecution: {} })
  })

  it('adds and clears faults and sets minQueryMs over HTTP', async () => {
    const post = (route: string, body: unknown) =>
      fetch(`${f.local.endpoint}${route}`, { method: 'POST', body: JSON.stringify(body) })
    const added = await post('/_local/faults', {
      add: { kind: 'fail', message: 'via http', match: 'over-http' },
    })
    expect(added.status).toBe(200)
    expect(await added.json()).toHaveProperty('id')
    const failed = await f.wait(await f.start("SELECT 'over-http'"))
    expect(failed.Status?.AthenaError).toMatchObject({ ErrorCategory: 2, ErrorMessage: 'via http' })
    expect((await post('/_local/faults', { add: { kind: 'explode' } })).status).toBe(400)
    expect((await post('/_local/faults', { add: { kind: 'fail', match: '/(/' } })).status).toBe(400)
    await post('/_local/faults', { clear: true })
    expect(f.local.faults.list()).toEqual([])
    expect((await f.wait(await f.start("SELECT 'over-http'"))).Status?.State).toBe('SUCCEEDED')
    const config = await post('/_local/config', { minQueryMs: 250 })
    expect(await config.json()).toEqual({ minQueryMs: 250, requestLatencyMs: 0 })
    const t0 = Date.now()
    await f.wait(await f.start('SELECT 2'))
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250)
  })
})

// Prewarm end to end, with the shipped configuration (wrangler-free-config: 5 configured sets in prewarm.yaml, the
// `every-15-minutes` schedule): the `acp prewarm` CLI (direct and --url), the local EventBridge Scheduler embedded
// in `acp serve`, and the source Lambda handler in a process of its own. One `acp local-athena` process serves all;
// every part works under a key prefix of its own, so each starts with an empty cache.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { StatsReport } from '../../src/prewarm/operations.ts'
import type { PrewarmReport } from '../../src/prewarm/prewarm-job.ts'
import {
  type LocalAthenaProcess,
  localControl,
  localStats,
  type NodeRun,
  runAcp,
  runNode,
  type ServeProcess,
  serveEnv,
  startLocalAthenaProcess,
  startServeProcess,
  stopAllChildren,
  waitUntil,
} from '../helpers/processes.ts'
import { testRedis } from '../helpers/redis-client.ts'

const ADMIN = 'admin-key-e2e-prewarm'
const DAY_MS = 86_400_000
/** The configured sets of wrangler-free-config/prewarm.yaml, in file order. */
const CONFIGURED = ['analytics', 'analytics', 'analytics', 'top_pages', 'by_country']

let athena: LocalAthenaProcess
let shared: Awaited<ReturnType<typeof testRedis>>

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10)

/** The environment of a direct-mode CLI run (or the Lambda handler) on its own key space. */
function directEnv(prefix: string): Record<string, string> {
  return {
    REDIS_URL: shared.url,
    CACHE_PREFIX: prefix,
    QUERY_ENGINE: 'local',
    ATHENA_ENDPOINT: athena.endpoint,
    POLL_INITIAL_DELAY_MS: '20',
    POLL_MAX_INTERVAL_MS: '100',
    LOG_LEVEL: 'warn',
  }
}

function report(run: NodeRun): PrewarmReport {
  // --json: stdout holds the report and nothing else (human lines and logs belong on stderr).
  expect(run.stdout.trim().split('\n'), 'stdout of --json: one JSON document').toHaveLength(1)
  return JSON.parse(run.stdout) as PrewarmReport
}

async function executions(): Promise<number> {
  return (await localStats(athena.endpoint)).executionsStarted
}

async function stats(server: ServeProcess): Promise<StatsReport> {
  const res = await fetch(`${server.url}/admin/stats`, { headers: { 'x-api-key': ADMIN } })
  expect(res.status).toBe(200)
  return (await res.json()) as StatsReport
}

/** The path of the configured top_pages set of a run (`{measure: pageviews, start: -7d, end: today}`). */
function topPagesPath(r: PrewarmReport): string {
  const item = r.items.find((i) => i.query === 'top_pages')
  const p = item?.parameters as Record<string, string | number>
  return `/queries/top_pages?measure=${p.measure}&start=${p.start}&end=${p.end}`
}

beforeAll(async () => {
  shared = await testRedis()
  athena = await startLocalAthenaProcess({ dataDir: inject('dataDir'), minQueryMs: 0 })
})

afterAll(async () => {
  await stopAllChildren()
  await shared?.cleanup()
})

describe('acp prewarm, direct mode (REDIS_URL)', () => {
  it('refreshes every configured set of a fresh key space, then finds them all fresh', async () => {
    const env = directEnv(`${shared.prefix}:cli`)
    const before = await executions()
    const first = await runAcp(['prewarm', '--json', '--no-progress'], env)
    expect(first.code, first.stderr).toBe(0)
    const r1 = report(first)
    expect(r1).toMatchObject({
      status: 'completed',
      trigger: 'cli',
      considered: CONFIGURED.length,
      refreshed: CONFIGURED.length,
      skippedFresh: 0,
      skippedBudget: 0,
      failed: 0,
    })
    expect(r1.refreshed).toBe(r1.considered)
    expect(r1.dataScannedBytes).toBeGreaterThan(0)
    expect(r1.items.map((i) => [i.query, i.source, i.action, i.reason])).toEqual(
      CONFIGURED.map((q) => [q, 'configured', 'refreshed', 'missing']),
    )
    expect(r1.items.every((i) => i.queryExecutionId && Date.parse(i.freshUntil ?? '') > Date.now())).toBe(
      true,
    )
    // Relative dates resolved against the run's date: { measure: pageviews, period: day, start: -30d, end: today }.
    const today = Date.parse(`${r1.startedAt.slice(0, 10)}T00:00:00Z`)
    expect(r1.items[0]?.parameters).toEqual({
      measure: 'pageviews',
      period: 'day',
      start: day(today - 30 * DAY_MS),
      end: day(today),
    })
    expect(await executions()).toBe(before + CONFIGURED.length)
    expect(first.stderr).toMatch(
      new RegExp(
        `considered 5, refreshed 5, fresh 0, skipped 0, failed 0; ${r1.dataScannedBytes} bytes scanned`,
      ),
    )

    const second = await runAcp(['prewarm', '--json', '--no-progress'], env)
    expect(second.code, second.stderr).toBe(0)
    const r2 = report(second)
    expect(r2).toMatchObject({ status: 'completed', considered: 5, refreshed: 0, skippedFresh: 5, failed: 0 })
    expect(r2.items.map((i) => i.action)).toEqual(Array(5).fill('fresh'))
    expect(r2.items.map((i) => i.freshUntil)).toEqual(r1.items.map((i) => i.freshUntil))
    expect(await executions()).toBe(before + CONFIGURED.length)
  })

  it('exits 1 when an item failed (the others are still refreshed), and on an unknown schedule', async () => {
    // by_country's SQL is the only one with approx_distinct: its executions fail (a system error).
    const fault = (await localControl(athena.endpoint, '/_local/faults', {
      add: { kind: 'fail', category: 1, message: 'injected engine failure', match: 'approx_distinct' },
    })) as { id: string }
    try {
      const [failing, unknown] = await Promise.all([
        runAcp(['prewarm', '--json', '--no-progress'], directEnv(`${shared.prefix}:fail`)),
        runAcp(['prewarm', '--schedule', 'nope', '--json'], directEnv(`${shared.prefix}:nope`)),
      ])
      expect(failing.code, failing.stderr).toBe(1)
      const r = report(failing)
      expect(r).toMatchObject({ status: 'completed', considered: 5, refreshed: 4, failed: 1 })
      expect(r.items.find((i) => i.query === 'by_country')).toMatchObject({
        action: 'failed',
        error: expect.stringContaining('injected engine failure'),
      })
      expect(failing.stderr).toMatch(/^failed +by_country .*injected engine failure/m)
      expect(unknown.code).toBe(1)
      expect(unknown.stderr).toMatch(
        /^acp: No schedule named 'nope' in schedules\.yaml \(known: every-15-minutes, morning-dashboards\)$/m,
      )
      expect(unknown.stdout).toBe('')
    } finally {
      await localControl(athena.endpoint, '/_local/faults', { remove: fault.id })
    }
  })
})

describe('acp serve: the embedded local Scheduler, and acp prewarm --url', () => {
  let scheduled: ServeProcess
  let unscheduled: ServeProcess
  /** PREWARM_SCHEDULES=false: must mean what `off` means (it once meant "on", as did any value but `off`). */
  let disabled: ServeProcess
  let startedAt: number

  beforeAll(async () => {
    const env = (prefix: string, extra: Record<string, string>) =>
      serveEnv({
        redisUrl: shared.url,
        prefix,
        athenaEndpoint: athena.endpoint,
        dataDir: inject('dataDir'),
        extra: {
          // The local engine (its embedded Scheduler) on the shared endpoint, no external Scheduler.
          QUERY_ENGINE: 'local',
          SCHEDULER_ENDPOINT: '',
          ADMIN_API_KEYS: ADMIN,
          LOG_LEVEL: 'warn',
          POLL_INITIAL_DELAY_MS: '20',
          POLL_MAX_INTERVAL_MS: '100',
          ...extra,
        },
      })
    startedAt = Date.now()
    ;[scheduled, unscheduled, disabled] = await Promise.all([
      startServeProcess(env(`${shared.prefix}:sched`, { PREWARM_SCHEDULES: '' }), { name: 'scheduled' }),
      startServeProcess(env(`${shared.prefix}:off`, { PREWARM_SCHEDULES: 'off' }), { name: 'unscheduled' }),
      startServeProcess(env(`${shared.prefix}:false`, { PREWARM_SCHEDULES: 'false' }), { name: 'disabled' }),
    ])
  })

  afterAll(async () => {
    await Promise.all([scheduled?.stop(), unscheduled?.stop(), disabled?.stop()])
  })

  it('the every-15-minutes schedule fires a prewarm soon after start-up', async () => {
    let last: PrewarmReport | null = null
    await waitUntil(
      async () => {
        last = (await stats(scheduled)).lastPrewarm
        return last?.trigger === 'schedule'
      },
      { timeoutMs: 15_000, what: 'a scheduled prewarm run', child: scheduled, intervalMs: 200 },
    )
    const r = last as unknown as PrewarmReport
    console.log(`embedded scheduler: prewarm finished ${Date.now() - startedAt} ms after start-up began`)
    expect(r).toMatchObject({
      status: 'completed',
      trigger: 'schedule',
      schedule: 'every-15-minutes',
      considered: 5,
      refreshed: 5,
      failed: 0,
    })
    // A rate schedule without StartDate fires at its creation minute, with that minute as scheduled time.
    const scheduledMs = Date.parse(r.scheduledTime ?? '')
    expect(scheduledMs % 60_000).toBe(0)
    expect(scheduledMs).toBeGreaterThan(startedAt - 60_000)
    expect(scheduledMs).toBeLessThanOrEqual(Date.now())
    // Entries must stay fresh until the next run (15 minutes later) plus the margin.
    expect(Date.parse(r.refreshBefore)).toBeGreaterThanOrEqual(scheduledMs + 15 * 60_000)
    const read = await fetch(`${scheduled.url}${topPagesPath(r)}`)
    expect(read.status).toBe(200)
    expect(read.headers.get('x-cache')).toBe('HIT')
    // Nothing of it may run during the next tests (they count executions on the shared endpoint).
    await scheduled.stop()
  })

  it('PREWARM_SCHEDULES=off and =false: no run, nothing computed', async () => {
    // They have been up as long as the scheduled one, which fired and finished by now; give them a few more ticks.
    await new Promise((r) => setTimeout(r, 2_500))
    for (const server of [unscheduled, disabled]) {
      const s = await stats(server)
      expect(s.lastPrewarm, server.name).toBeNull()
      expect(s.athenaExecutions, server.name).toBe(0)
      expect(s.process.athenaExecutions, server.name).toBe(0)
    }
    await disabled.stop()
  })

  it('acp prewarm --url runs on the server (trigger admin) and the server reports it', async () => {
    const before = await executions()
    const [run, wrongKey] = await Promise.all([
      runAcp(
        [
          'prewarm',
          '--json',
          '--schedule',
          'every-15-minutes',
          '--url',
          unscheduled.url,
          '--admin-key',
          ADMIN,
        ],
        {},
      ),
      runAcp(['prewarm', '--json', '--url', unscheduled.url, '--admin-key', 'not-the-admin-key'], {}),
    ])
    expect(run.code, run.stderr).toBe(0)
    const r = report(run)
    expect(r).toMatchObject({
      status: 'completed',
      trigger: 'admin',
      schedule: 'every-15-minutes',
      considered: 5,
      refreshed: 5,
      failed: 0,
    })
    expect(r.refreshed).toBe(r.considered)
    expect(run.stderr).toContain('considered 5, refreshed 5, fresh 0, skipped 0, failed 0;')
    expect(await executions()).toBe(before + 5)
    const s = await stats(unscheduled)
    expect(s.lastPrewarm).toMatchObject({ trigger: 'admin', startedAt: r.startedAt, refreshed: 5 })
    expect(s.athenaExecutions).toBe(5)
    const read = await fetch(`${unscheduled.url}${topPagesPath(r)}`)
    expect(read.headers.get('x-cache')).toBe('HIT')
    expect(wrongKey.code).toBe(1)
    expect(wrongKey.stderr).toMatch(/^acp: POST \/admin\/prewarm answered 403/m)
    expect(wrongKey.stdout).toBe('')
  })
})

describe('the source Lambda handler (src/entry/lambda.ts) in a process of its own', () => {
  type Outcome = { returned: unknown } | { threw: string }
  type OperationResult =
    | { ok: true; result: Record<string, unknown> }
    | { ok: false; error: { code: string; message: string; details?: unknown } }

  it('prewarm and invalidate events, API Gateway reads, and bad events answered (not thrown)', async () => {
    const scheduledTime = `${new Date().toISOString().slice(0, 16)}:00Z`
    const today = Date.parse(`${scheduledTime.slice(0, 10)}T00:00:00Z`)
    const pages = {
      rawQueryString: `measure=pageviews&start=${day(today - 7 * DAY_MS)}&end=${day(today)}`,
      rawPath: '/queries/top_pages',
    }
    const httpGet = {
      version: '2.0',
      routeKey: '$default',
      ...pages,
      headers: { host: 'example.execute-api.us-east-1.amazonaws.com' },
      requestContext: { http: { method: 'GET', path: pages.rawPath, sourceIp: '127.0.0.1' } },
      isBase64Encoded: false,
    }
    const events = [
      { action: 'prewarm', schedule: 'every-15-minutes', scheduledTime },
      httpGet,
      { action: 'invalidate', query: 'top_pages', mode: 'delete' },
      httpGet,
      { action: 'invalidate', tags: ['geo'], rewarm: true },
      { action: 'resize' },
      { action: 'invalidate', query: 'analytics', tags: ['analytics'] },
      { action: 'invalidate', all: true, mode: 'purge' },
      { action: 'invalidate', query: 'nope' },
      { action: 'prewarm', scheduledTime: 'yesterday' },
      { action: 'prewarm', schedule: 5 },
    ]
    const run = await runNode(['--import', 'tsx', 'test/helpers/lambda-runner.ts', JSON.stringify(events)], {
      ...directEnv(`${shared.prefix}:lambda`),
      // Everything a deployed Lambda must be given (LAMBDA_REQUIRED_ENV).
      ATHENA_WORKGROUP: 'primary',
      ATHENA_DATABASE: 'analytics',
      CONFIG_DIR: './wrangler-free-config',
      LOG_LEVEL: 'silent',
    })
    expect(run.code, run.stderr).toBe(0)
    const line = run.stdout.split('\n').find((l) => l.startsWith('RESULTS '))
    expect(line, run.stdout + run.stderr).toBeDefined()
    const outcomes = JSON.parse((line as string).slice('RESULTS '.length)) as Outcome[]
    expect(outcomes.filter((o) => 'threw' in o)).toEqual([])
    const [
      prewarm,
      hit,
      invalidated,
      miss,
      rewarmed,
      unknownAction,
      twoTargets,
      badMode,
      unknownQuery,
      badTime,
      badSchedule,
    ] = outcomes.map((o) => (o as { returned: unknown }).returned) as [
      OperationResult,
      { statusCode: number; headers: Record<string, string> },
      OperationResult,
      { statusCode: number; headers: Record<string, string> },
      OperationResult,
      ...OperationResult[],
    ]

    expect(prewarm).toMatchObject({
      ok: true,
      result: {
        status: 'completed',
        trigger: 'schedule',
        schedule: 'every-15-minutes',
        scheduledTime: scheduledTime.replace('Z', '.000Z'),
        considered: 5,
        refreshed: 5,
        failed: 0,
      },
    })
    expect(hit.statusCode).toBe(200)
    expect(hit.headers['x-cache']).toBe('HIT')
    expect(invalidated).toMatchObject({
      ok: true,
      result: { scope: 'query', mode: 'delete', queries: ['top_pages'], rewarm: null },
    })
    expect(miss.statusCode).toBe(200)
    expect(miss.headers['x-cache']).toBe('MISS')
    // Rewarm: the by_country set (tag geo) was expired, then refreshed in the same invocation.
    expect(rewarmed).toMatchObject({
      ok: true,
      result: {
        scope: 'tags',
        mode: 'expire',
        queries: ['by_country'],
        rewarm: { status: 'completed', trigger: 'rewarm', considered: 1, refreshed: 1, failed: 0 },
      },
    })
    expect((rewarmed as unknown as { result: { rewarm: PrewarmReport } }).result.rewarm.items).toMatchObject([
      { query: 'by_country', action: 'refreshed', reason: 'stale' },
    ])

    expect(unknownAction).toEqual({
      ok: false,
      error: {
        code: 'VALIDATION',
        message: "Unknown action 'resize' (expected prewarm or invalidate)",
        details: [{ name: 'action', message: 'must be prewarm or invalidate' }],
      },
    })
    expect(twoTargets).toMatchObject({
      ok: false,
      error: {
        code: 'VALIDATION',
        message: 'Invalid invalidation request',
        details: [{ name: 'body', message: expect.stringMatching(/exactly one of/) }],
      },
    })
    expect(badMode).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION', details: [{ name: 'mode' }] },
    })
    expect(unknownQuery).toEqual({
      ok: false,
      error: { code: 'UNKNOWN_QUERY', message: "No query named 'nope' in the catalog" },
    })
    expect(badTime).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION', message: expect.stringMatching(/scheduledTime 'yesterday'/) },
    })
    expect(badSchedule).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION', message: 'Invalid prewarm event', details: [{ name: 'schedule' }] },
    })
  })
})

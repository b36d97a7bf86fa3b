// Every entry point loads its configuration through the one loader, so each fails the same way on the same bad
// configuration: before it starts anything, with the variable, or the file and the entry, named. Real processes:
// `acp` through bin/acp.js, the Lambda handler through test/helpers/lambda-runner.ts.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runAcp, runNode } from '../helpers/processes.ts'

let dir: string
/** A configuration directory whose schedule names a query the catalog does not have. */
let schedulesFile: string

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'acp-entry-'))
  await writeFile(
    path.join(dir, 'queries.yaml'),
    'queries:\n  orders:\n    ttlSeconds: 60\n    tags: [sales]\n    sql: SELECT 1\n',
  )
  schedulesFile = path.join(dir, 'schedules.yaml')
  await writeFile(
    schedulesFile,
    'schedules:\n  nightly:\n    expression: rate(1 day)\n    queries: [order]\n',
  )
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

// No Redis, no engine: each must fail on its configuration before it connects to anything.
const BASE = { REDIS_URL: undefined, QUERY_ENGINE: 'athena', LOG_LEVEL: 'silent', PORT: '0' }
const BAD_SCHEDULE = /schedules\.yaml: schedule 'nightly', queries: not in the catalog .*: order$/m

describe('entry points reject bad configuration through the one loader', () => {
  it.concurrent.each([
    [
      'acp serve',
      { PREWARM_SCHEDULES: 'maybe' },
      ['serve'],
      /PREWARM_SCHEDULES: 'maybe' is not a boolean: use true\/false, 1\/0, yes\/no or on\/off/,
    ],
    ['acp serve', { REDIS_CLUSTER: 'si' }, ['serve'], /REDIS_CLUSTER: 'si' is not a boolean/],
    ['acp serve', { CONFIG_DIR: 'DIR' }, ['serve'], BAD_SCHEDULE],
    ['acp catalog --config-dir', {}, ['catalog', '--config-dir', 'DIR'], BAD_SCHEDULE],
    ['acp schedules sync', { CONFIG_DIR: 'DIR' }, ['schedules', 'sync', '--dry-run'], BAD_SCHEDULE],
  ] as const)('%s with %j', async (_name, env, args, message) => {
    const withDir = (v: string) => (v === 'DIR' ? dir : v)
    const run = await runAcp(
      args.map(withDir),
      { ...BASE, ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, withDir(v)])) },
      { timeoutMs: 60_000 },
    )
    expect(run.code, run.stderr).toBe(1)
    expect(run.stderr).toMatch(/^acp: /)
    expect(run.stderr).toMatch(message)
  })

  it('the Lambda handler', async () => {
    const run = await runNode(
      ['--import', 'tsx', 'test/helpers/lambda-runner.ts', JSON.stringify([{ action: 'prewarm' }])],
      {
        ...BASE,
        REDIS_URL: 'redis://127.0.0.1:1',
        ATHENA_WORKGROUP: 'primary',
        ATHENA_DATABASE: 'analytics',
        CACHE_PREFIX: 'entry-points',
        CONFIG_DIR: dir,
      },
      { timeoutMs: 60_000 },
    )
    const line = run.stdout.split('\n').find((l) => l.startsWith('RESULTS '))
    expect(line, run.stderr).toBeDefined()
    const [outcome] = JSON.parse((line ?? '').slice('RESULTS '.length)) as Array<{ threw?: string }>
    expect(outcome?.threw).toMatch(BAD_SCHEDULE)
    expect(outcome?.threw).toContain(schedulesFile)
  })
})

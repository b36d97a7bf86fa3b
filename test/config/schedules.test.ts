import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadCatalog } from '../../src/config/catalog.ts'
import { loadConfig, requireSyncTargets } from '../../src/config/load-config.ts'
import { checkScheduleCoverage, loadSchedules, scheduleInput } from '../../src/config/schedules.ts'
import { ConfigError } from '../../src/errors.ts'

const SHIPPED = 'wrangler-free-config'
const dirs: string[] = []

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })))
})

async function configDir(yaml: string | undefined): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'acp-schedules-'))
  dirs.push(dir)
  if (yaml !== undefined) await writeFile(path.join(dir, 'schedules.yaml'), yaml)
  return dir
}

async function loadError(yaml: string): Promise<{ error: ConfigError; file: string }> {
  const dir = await configDir(yaml)
  const file = path.join(dir, 'schedules.yaml')
  try {
    await loadSchedules(dir)
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return { error: err as ConfigError, file }
  }
  throw new Error('expected loadSchedules to fail')
}

describe('loadSchedules', () => {
  it('loads the shipped schedules with their defaults', async () => {
    expect(await loadSchedules(SHIPPED)).toEqual([
      {
        name: 'every-15-minutes',
        expression: 'rate(15 minutes)',
        timezone: 'UTC',
        flexibleWindowMinutes: 0,
        description: 'Keeps every catalog query warm around the clock.',
        enabled: true,
        queries: [],
        tags: [],
      },
      {
        name: 'morning-dashboards',
        expression: 'cron(45 5 ? * MON-FRI *)',
        timezone: 'Europe/Berlin',
        flexibleWindowMinutes: 10,
        description: 'Warms the analytics dashboards before the Berlin office opens (Monday to Friday).',
        enabled: true,
        queries: [],
        tags: ['analytics'],
      },
    ])
  })

  it('the shipped schedules only name queries and tags of the shipped catalog', async () => {
    const schedules = await loadSchedules(SHIPPED)
    expect(() => checkScheduleCoverage(schedules, catalog, 'schedules.yaml')).not.toThrow()
  })

  it('a missing file or an empty one means no schedules', async () => {
    expect(await loadSchedules(await configDir(undefined))).toEqual([])
    expect(await loadSchedules(await configDir('# nothing yet\n'))).toEqual([])
    expect(await loadSchedules(await configDir('schedules:\n'))).toEqual([])
  })

  it('reads every field', async () => {
    const dir = await configDir(
      [
        'schedules:',
        '  year-end.report_1:',
        '    expression: at(2026-12-31T23:00:00)',
        '    timezone: America/New_York',
        '    flexibleWindowMinutes: 1440',
        '    description: once',
        '    enabled: false',
        '    queries: [by_country]',
        '    tags: [geo, pages]',
      ].join('\n'),
    )
    expect(await loadSchedules(dir)).toEqual([
      {
        name: 'year-end.report_1',
        expression: 'at(2026-12-31T23:00:00)',
        timezone: 'America/New_York',
        flexibleWindowMinutes: 1440,
        description: 'once',
        enabled: false,
        queries: ['by_country'],
        tags: ['geo', 'pages'],
      },
    ])
  })

  it.each([
    [
      'a bad expression',
      'nightly:\n    expression: rate(1 hours)',
      /schedule 'nightly', expression: .*singular 'hour'/,
    ],
    [
      'a cron without ?',
      'nightly:\n    expression: cron(0 3 * * * *)',
      /schedule 'nightly', expression: .*'\?'/,
    ],
    ['a missing expression', 'nightly:\n    timezone: UTC', /schedule 'nightly', expression: /],
    [
      'an unknown zone',
      'nightly:\n    expression: rate(1 hour)\n    timezone: Europe/Atlantis',
      /schedule 'nightly', timezone: 'Europe\/Atlantis' is not an IANA/,
    ],
    [
      'a too-wide window',
      'nightly:\n    expression: rate(1 hour)\n    flexibleWindowMinutes: 1441',
      /schedule 'nightly', flexibleWindowMinutes: /,
    ],
    [
      'a fractional window',
      'nightly:\n    expression: rate(1 hour)\n    flexibleWindowMinutes: 2.5',
      /schedule 'nightly', flexibleWindowMinutes: /,
    ],
    [
      'a misspelt field',
      'nightly:\n    expression: rate(1 hour)\n    timeZone: UTC',
      /schedule 'nightly', timeZone: unknown field$/,
    ],
    [
      'a bad tag',
      'nightly:\n    expression: rate(1 hour)\n    tags: [Analytics]',
      /schedule 'nightly', tags\.0: /,
    ],
    [
      'a bad name',
      'night ly:\n    expression: rate(1 hour)',
      /schedule 'night ly', name: 1–64 letters, digits/,
    ],
    ['a too-long name', `${'n'.repeat(65)}:\n    expression: rate(1 hour)`, /schedule 'n{65}', name: /],
    [
      'a non-boolean enabled',
      'nightly:\n    expression: rate(1 hour)\n    enabled: "no"',
      /schedule 'nightly', enabled: /,
    ],
  ])('rejects %s, naming the file, the schedule and the field', async (_, body, message) => {
    const { error, file } = await loadError(`schedules:\n  ${body}\n`)
    expect(error.message.startsWith(`${file}: `)).toBe(true)
    expect(error.message).toMatch(message)
  })

  it('rejects unknown top-level keys, duplicate names and broken YAML', async () => {
    expect((await loadError('schedule:\n  a:\n    expression: rate(1 hour)\n')).error.message).toMatch(
      /schedules\.yaml: schedule: unknown key \(expected 'schedules'\)$/,
    )
    expect(
      (
        await loadError(
          'schedules:\n  a:\n    expression: rate(1 hour)\n  a:\n    expression: rate(2 hours)\n',
        )
      ).error.message,
    ).toMatch(/schedules\.yaml: not valid YAML .*unique/i)
    expect((await loadError('schedules: [\n')).error.message).toMatch(/schedules\.yaml: not valid YAML/)
  })
})

const catalog = await loadCatalog(SHIPPED)

describe('checkScheduleCoverage', () => {
  const base = {
    expression: 'rate(1 hour)',
    timezone: 'UTC',
    flexibleWindowMinutes: 0,
    description: '',
    enabled: true,
  }

  it('rejects queries and tags the catalog does not have', () => {
    const file = 'conf/schedules.yaml'
    expect(() =>
      checkScheduleCoverage(
        [{ ...base, name: 'x', queries: ['top_pages', 'topPages'], tags: [] }],
        catalog,
        file,
      ),
    ).toThrow(/^conf\/schedules\.yaml: schedule 'x', queries: not in the catalog .*: topPages$/)
    expect(() =>
      checkScheduleCoverage([{ ...base, name: 'y', queries: [], tags: ['geo', 'sales'] }], catalog, file),
    ).toThrow(/^conf\/schedules\.yaml: schedule 'y', tags: no query in the catalog .* has sales$/)
  })
})

describe('scheduleInput', () => {
  it('is the prewarm event with the scheduled-time placeholder', () => {
    expect(scheduleInput('morning-dashboards')).toBe(
      '{"action":"prewarm","schedule":"morning-dashboards","scheduledTime":"<aws.scheduler.scheduled-time>"}',
    )
  })
})

describe('loadConfig: the scheduler variables', () => {
  const scheduler = (env: Record<string, string>) => loadConfig(env).scheduler
  const target = 'arn:aws:lambda:eu-central-1:123456789012:function:acp'
  const role = 'arn:aws:iam::123456789012:role/acp-scheduler'

  it('applies defaults and treats empty strings as unset', () => {
    expect(scheduler({ SCHEDULER_ENDPOINT: '', PREWARM_TARGET_ARN: '' })).toEqual({
      endpoint: undefined,
      region: 'us-east-1',
      targetArn: undefined,
      roleArn: undefined,
      groupName: 'acp-prewarm',
    })
  })

  it('parses every variable', () => {
    expect(
      scheduler({
        SCHEDULER_ENDPOINT: 'http://127.0.0.1:4567',
        PREWARM_TARGET_ARN: target,
        SCHEDULER_ROLE_ARN: role,
        AWS_REGION: 'eu-central-1',
        CACHE_PREFIX: 'dash',
      }),
    ).toEqual({
      endpoint: 'http://127.0.0.1:4567',
      region: 'eu-central-1',
      targetArn: target,
      roleArn: role,
      groupName: 'dash-prewarm',
    })
  })

  it('derives a valid group name from a namespaced prefix, and SCHEDULE_GROUP overrides it', () => {
    expect(scheduler({ CACHE_PREFIX: 'team:dash' }).groupName).toBe('team-dash-prewarm')
    expect(scheduler({ CACHE_PREFIX: 'x', SCHEDULE_GROUP: 'dashboards' }).groupName).toBe('dashboards')
  })

  it.each([
    [{ SCHEDULER_ENDPOINT: 'not a url' }, /SCHEDULER_ENDPOINT: /],
    [{ PREWARM_TARGET_ARN: 'acp' }, /PREWARM_TARGET_ARN: must be an ARN/],
    [{ SCHEDULER_ROLE_ARN: target }, /SCHEDULER_ROLE_ARN: must be an IAM role ARN/],
    [{ SCHEDULE_GROUP: 'a:b' }, /SCHEDULE_GROUP: 'a:b' is not a valid group name/],
  ])('rejects %j', (env, message) => {
    expect(() => scheduler(env)).toThrow(ConfigError)
    expect(() => scheduler(env)).toThrow(message)
  })

  it('requireSyncTargets names what a sync is missing', () => {
    expect(() => requireSyncTargets(scheduler({ SCHEDULER_ROLE_ARN: role }))).toThrow(
      /^Syncing schedules needs PREWARM_TARGET_ARN \(the ARN of the Lambda the schedules invoke\)$/,
    )
    expect(() => requireSyncTargets(scheduler({}))).toThrow(/PREWARM_TARGET_ARN .* and SCHEDULER_ROLE_ARN/)
    expect(requireSyncTargets(scheduler({ PREWARM_TARGET_ARN: target, SCHEDULER_ROLE_ARN: role }))).toEqual({
      targetArn: target,
      roleArn: role,
    })
  })
})

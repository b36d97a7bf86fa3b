import {
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  CreateScheduleGroupCommand,
  DeleteScheduleCommand,
  GetScheduleCommand,
  GetScheduleGroupCommand,
  type GetScheduleOutput,
  ListSchedulesCommand,
  ResourceNotFoundException,
  SchedulerClient,
  ThrottlingException,
} from '@aws-sdk/client-scheduler'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LocalScheduler, startLocalScheduler } from '../../local/scheduler/scheduler-server.ts'
import { loadSchedules, type ScheduleDef, scheduleInput } from '../../src/config/schedules.ts'
import {
  type DesiredSchedule,
  desiredSchedules,
  planScheduleSync,
  type SyncChange,
  syncSchedules,
} from '../../src/prewarm/schedule-sync.ts'

const T0 = Date.parse('2026-01-09T12:00:00Z')
const TARGET = 'arn:aws:lambda:us-east-1:000000000000:function:acp'
const ROLE = 'arn:aws:iam::000000000000:role/acp-scheduler'

function def(name: string, overrides: Partial<ScheduleDef> = {}): ScheduleDef {
  return {
    name,
    expression: 'rate(15 minutes)',
    timezone: 'UTC',
    flexibleWindowMinutes: 0,
    description: '',
    enabled: true,
    queries: [],
    tags: [],
    ...overrides,
  }
}

describe('planScheduleSync', () => {
  const [desired] = desiredSchedules([def('a', { description: 'warm', flexibleWindowMinutes: 5 })], {
    targetArn: TARGET,
    roleArn: ROLE,
  }) as [DesiredSchedule]
  /** What the service answers for `desired`, with its defaults left out. */
  const echoed: GetScheduleOutput = {
    Name: 'a',
    ScheduleExpression: 'rate(15 minutes)',
    FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 5 },
    Description: 'warm',
    Target: { Arn: TARGET, RoleArn: ROLE, Input: scheduleInput('a') },
  }

  it('builds the service form of a definition', () => {
    expect(desired).toEqual({
      name: 'a',
      expression: 'rate(15 minutes)',
      timezone: 'UTC',
      flexibleWindowMinutes: 5,
      description: 'warm',
      state: 'ENABLED',
      targetArn: TARGET,
      roleArn: ROLE,
      input: '{"action":"prewarm","schedule":"a","scheduledTime":"<aws.scheduler.scheduled-time>"}',
    })
  })

  it('counts the service defaults as unset', () => {
    expect(planScheduleSync([desired], [echoed]).unchanged).toEqual(['a'])
    const explicit = {
      ...echoed,
      ScheduleExpressionTimezone: 'UTC',
      State: 'ENABLED',
      ActionAfterCompletion: 'NONE',
    }
    expect(planScheduleSync([desired], [explicit as GetScheduleOutput]).unchanged).toEqual(['a'])
  })

  it.each<[string, Partial<GetScheduleOutput>, string[]]>([
    ['expression', { ScheduleExpression: 'rate(5 minutes)' }, ['expression']],
    ['timezone', { ScheduleExpressionTimezone: 'Europe/Berlin' }, ['timezone']],
    ['window off', { FlexibleTimeWindow: { Mode: 'OFF' } }, ['flexible window']],
    [
      'window size',
      { FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 6 } },
      ['flexible window'],
    ],
    ['state', { State: 'DISABLED' }, ['state']],
    ['description', { Description: undefined }, ['description']],
    ['target', { Target: { Arn: `${TARGET}-2`, RoleArn: ROLE, Input: scheduleInput('a') } }, ['target']],
    ['role and input', { Target: { Arn: TARGET, RoleArn: `${ROLE}-2`, Input: '{}' } }, ['role', 'input']],
    [
      'settings sync never sends',
      { EndDate: new Date(T0), ActionAfterCompletion: 'DELETE' },
      ['end date', 'action after completion'],
    ],
    [
      'several',
      { ScheduleExpression: 'rate(1 hour)', ScheduleExpressionTimezone: 'Asia/Tokyo' },
      ['expression', 'timezone'],
    ],
  ])('plans an update when the %s differs', (_, actual, changes) => {
    const plan = planScheduleSync([desired], [{ ...echoed, ...actual }])
    expect(plan.update).toEqual([{ desired, changes }])
    expect(plan.create).toEqual([])
    expect(plan.delete).toEqual([])
    expect(plan.unchanged).toEqual([])
  })

  it('plans creates for missing names and deletes for extra ones', () => {
    const [b] = desiredSchedules([def('b')], { targetArn: TARGET, roleArn: ROLE })
    const plan = planScheduleSync(
      [desired, b as DesiredSchedule],
      [{ ...echoed, Name: 'zeta' }, echoed, { ...echoed, Name: 'alpha' }],
    )
    expect(plan).toEqual({ create: [b], update: [], delete: ['alpha', 'zeta'], unchanged: ['a'] })
  })
})

describe('syncSchedules against the local endpoint', () => {
  let local: LocalScheduler
  let client: SchedulerClient
  let other: SchedulerClient

  const newClient = () =>
    new SchedulerClient({
      endpoint: local.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 5,
    })

  beforeAll(async () => {
    local = await startLocalScheduler({ invoke: async () => 'ok', now: () => T0, tickMs: 0 })
    client = newClient()
    // A second writer, for races and for checking state behind the sync's back.
    other = newClient()
  })

  afterAll(async () => {
    client?.destroy()
    other?.destroy()
    await local?.close()
  })

  const sync = (
    groupName: string,
    schedules: ScheduleDef[],
    extra: { dryRun?: boolean; pageSize?: number } = {},
  ) =>
    syncSchedules({
      client,
      groupName,
      targetArn: TARGET,
      roleArn: ROLE,
      schedules,
      dryRun: extra.dryRun ?? false,
      ...(extra.pageSize !== undefined ? { pageSize: extra.pageSize } : {}),
    })

  const namesIn = async (groupName: string) =>
    ((await other.send(new ListSchedulesCommand({ GroupName: groupName }))).Schedules ?? []).map(
      (s) => s.Name,
    )

  const manual = (name: string, groupName: string, input: Partial<CreateScheduleCommandInput> = {}) =>
    other.send(
      new CreateScheduleCommand({
        Name: name,
        GroupName: groupName,
        ScheduleExpression: 'rate(1 hour)',
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: { Arn: TARGET, RoleArn: ROLE, Input: '{}' },
        ...input,
      }),
    )

  it('creates the group and the shipped schedules, then a second run changes nothing', async () => {
    const shipped = await loadSchedules('wrangler-free-config')
    const changes: SyncChange[] = []
    const first = await syncSchedules({
      client,
      groupName: 'acp-prewarm',
      targetArn: TARGET,
      roleArn: ROLE,
      schedules: shipped,
      dryRun: false,
      onChange: (c) => changes.push(c),
    })
    expect(first).toEqual({
      groupName: 'acp-prewarm',
      dryRun: false,
      created: ['every-15-minutes', 'morning-dashboards'],
      updated: [],
      deleted: [],
      unchanged: [],
      failed: [],
    })
    expect(changes).toEqual([
      { kind: 'create', name: 'every-15-minutes' },
      { kind: 'create', name: 'morning-dashboards' },
    ])
    const morning = await other.send(
      new GetScheduleCommand({ Name: 'morning-dashboards', GroupName: 'acp-prewarm' }),
    )
    expect(morning).toMatchObject({
      ScheduleExpression: 'cron(45 5 ? * MON-FRI *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 10 },
      State: 'ENABLED',
      Description: 'Warms the analytics dashboards before the Berlin office opens (Monday to Friday).',
      Target: { Arn: TARGET, RoleArn: ROLE, Input: scheduleInput('morning-dashboards') },
    })

    const second = await sync('acp-prewarm', shipped)
    expect(second).toEqual({
      groupName: 'acp-prewarm',
      dryRun: false,
      created: [],
      updated: [],
      deleted: [],
      unchanged: ['every-15-minutes', 'morning-dashboards'],
      failed: [],
    })
  })

  it('the synced schedules fire the prewarm Input with the scheduled time filled in', async () => {
    const fired = await local.fireDue(Date.parse('2026-01-12T04:45:00Z'))
    const morning = fired.filter((f) => f.scheduleName === 'morning-dashboards')
    expect(morning.map((f) => f.payload)).toEqual([
      { action: 'prewarm', schedule: 'morning-dashboards', scheduledTime: '2026-01-12T04:45:00Z' },
    ])
    expect(fired.filter((f) => f.scheduleName === 'every-15-minutes').length).toBeGreaterThan(0)
  })

  it('updates a changed schedule with the whole definition and reports what changed', async () => {
    await sync('upd-prewarm', [def('a', { description: 'first' }), def('b')])
    const report = await sync('upd-prewarm', [
      def('a', { expression: 'cron(0 6 * * ? *)', timezone: 'Europe/Berlin' }),
      def('b', { enabled: false, flexibleWindowMinutes: 15 }),
    ])
    expect(report.updated).toEqual([
      { name: 'a', changes: ['expression', 'timezone', 'description'] },
      { name: 'b', changes: ['flexible window', 'state'] },
    ])
    expect(report.created).toEqual([])
    const a = await other.send(new GetScheduleCommand({ Name: 'a', GroupName: 'upd-prewarm' }))
    expect(a.ScheduleExpression).toBe('cron(0 6 * * ? *)')
    expect(a.ScheduleExpressionTimezone).toBe('Europe/Berlin')
    expect(a.Description).toBeUndefined()
    const b = await other.send(new GetScheduleCommand({ Name: 'b', GroupName: 'upd-prewarm' }))
    expect(b.State).toBe('DISABLED')
    expect(b.FlexibleTimeWindow).toEqual({ Mode: 'FLEXIBLE', MaximumWindowInMinutes: 15 })
    expect(
      (
        await sync('upd-prewarm', [
          def('a', { expression: 'cron(0 6 * * ? *)', timezone: 'Europe/Berlin' }),
          def('b', { enabled: false, flexibleWindowMinutes: 15 }),
        ])
      ).unchanged,
    ).toEqual(['a', 'b'])
  })

  it('deletes extras in its group (across pages) and leaves other groups alone', async () => {
    await other.send(new CreateScheduleGroupCommand({ Name: 'del-prewarm' }))
    await other.send(new CreateScheduleGroupCommand({ Name: 'someone-else' }))
    for (const name of ['keep', 'stray-1', 'stray-2', 'stray-3', 'stray-4']) await manual(name, 'del-prewarm')
    await manual('stray-1', 'someone-else')
    await manual('stray-1', 'default')

    const report = await sync('del-prewarm', [def('keep', { expression: 'rate(1 hour)' })], { pageSize: 2 })
    expect(report.deleted).toEqual(['stray-1', 'stray-2', 'stray-3', 'stray-4'])
    expect(report.updated).toEqual([{ name: 'keep', changes: ['input'] }])
    expect(await namesIn('del-prewarm')).toEqual(['keep'])
    expect(await namesIn('someone-else')).toEqual(['stray-1'])
    expect(await namesIn('default')).toEqual(['stray-1'])
  })

  it('a dry run reports the plan and changes nothing, not even the group', async () => {
    const fresh = await sync('dry-prewarm', [def('a'), def('b')], { dryRun: true })
    expect(fresh).toEqual({
      groupName: 'dry-prewarm',
      dryRun: true,
      created: ['a', 'b'],
      updated: [],
      deleted: [],
      unchanged: [],
      failed: [],
    })
    const missing = await other
      .send(new GetScheduleGroupCommand({ Name: 'dry-prewarm' }))
      .catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(ResourceNotFoundException)

    await sync('dry-prewarm', [def('a'), def('b')])
    await manual('extra', 'dry-prewarm')
    const plan = await sync('dry-prewarm', [def('a', { expression: 'rate(2 hours)' }), def('b'), def('c')], {
      dryRun: true,
    })
    expect(plan).toMatchObject({
      created: ['c'],
      updated: [{ name: 'a', changes: ['expression'] }],
      deleted: ['extra'],
      unchanged: ['b'],
      failed: [],
    })
    expect(await namesIn('dry-prewarm')).toEqual(['a', 'b', 'extra'])
    const a = await other.send(new GetScheduleCommand({ Name: 'a', GroupName: 'dry-prewarm' }))
    expect(a.ScheduleExpression).toBe('rate(15 minutes)')
  })

  it('reports a schedule the service rejects with its message and goes on with the others', async () => {
    const report = await sync('bad-prewarm', [
      def('good-1'),
      def('bad', { expression: 'cron(0 12 * * * *)' }),
      def('bad-zone', { timezone: 'Mars/Olympus' }),
      def('good-2'),
    ])
    expect(report.created).toEqual(['good-1', 'good-2'])
    expect(report.failed).toEqual([
      {
        name: 'bad',
        error:
          "ValidationException: Invalid schedule expression 'cron(0 12 * * * *)': exactly one of day-of-month and day-of-week must be '?'",
      },
      { name: 'bad-zone', error: 'ValidationException: Invalid ScheduleExpressionTimezone: Mars/Olympus' },
    ])
    expect(await namesIn('bad-prewarm')).toEqual(['good-1', 'good-2'])
  })

  it('resolves races with another writer to the desired state', async () => {
    const byName = (input: Record<string, unknown>) => ({
      Name: input.Name as string,
      GroupName: input.GroupName as string,
    })
    // Another writer acts right before one of our writes (injected through the SDK's middleware stack).
    let racer = installRacer(client, {
      'CreateScheduleGroupCommand:race-new-prewarm': (input) =>
        other.send(new CreateScheduleGroupCommand({ Name: input.Name as string })),
      'CreateScheduleCommand:n': (input) => manual('n', input.GroupName as string),
    })
    try {
      const inNewGroup = await sync('race-new-prewarm', [def('n')])
      expect(inNewGroup).toMatchObject({
        created: [],
        updated: [{ name: 'n', changes: ['created concurrently, replaced'] }],
        failed: [],
      })
    } finally {
      racer.remove()
    }

    await sync('race-prewarm', [def('deleted-before-update'), def('stale', { description: 'x' })])
    await manual('extra', 'race-prewarm')
    racer = installRacer(client, {
      'CreateScheduleCommand:created-elsewhere': (input) =>
        manual('created-elsewhere', input.GroupName as string),
      'UpdateScheduleCommand:deleted-before-update': (input) =>
        other.send(new DeleteScheduleCommand(byName(input))),
      'DeleteScheduleCommand:extra': (input) => other.send(new DeleteScheduleCommand(byName(input))),
    })
    const desired = [
      def('created-elsewhere'),
      def('deleted-before-update', { expression: 'rate(2 hours)' }),
      def('stale'),
    ]
    try {
      const report = await sync('race-prewarm', desired)
      // Create met ConflictException → replaced; update met ResourceNotFoundException → created; a delete of a
      // vanished schedule is done.
      expect(report).toMatchObject({
        created: ['deleted-before-update'],
        updated: [
          { name: 'created-elsewhere', changes: ['created concurrently, replaced'] },
          { name: 'stale', changes: ['description'] },
        ],
        deleted: ['extra'],
        unchanged: [],
        failed: [],
      })
      expect(racer.ran()).toEqual([
        'CreateScheduleCommand:created-elsewhere',
        'UpdateScheduleCommand:deleted-before-update',
        'DeleteScheduleCommand:extra',
      ])
    } finally {
      racer.remove()
    }
    expect(await namesIn('race-prewarm')).toEqual(['created-elsewhere', 'deleted-before-update', 'stale'])
    const created = await other.send(
      new GetScheduleCommand({ Name: 'created-elsewhere', GroupName: 'race-prewarm' }),
    )
    expect(created.ScheduleExpression).toBe('rate(15 minutes)')
    expect(created.Target?.Input).toBe(scheduleInput('created-elsewhere'))
    const recreated = await other.send(
      new GetScheduleCommand({ Name: 'deleted-before-update', GroupName: 'race-prewarm' }),
    )
    expect(recreated.ScheduleExpression).toBe('rate(2 hours)')
    expect((await sync('race-prewarm', desired)).unchanged).toEqual([
      'created-elsewhere',
      'deleted-before-update',
      'stale',
    ])
  })

  it('rides out throttling through the SDK retries', async () => {
    local.throttleNext(2)
    const report = await sync('throttled-prewarm', [def('a')])
    expect(report).toMatchObject({ created: ['a'], failed: [] })
    local.throttleNext(1)
    expect((await sync('throttled-prewarm', [def('a')])).unchanged).toEqual(['a'])
    // Without retries the same throttling surfaces: the retries above are what carried the sync through.
    const noRetries = new SchedulerClient({
      endpoint: local.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    })
    try {
      local.throttleNext(1)
      const err = await syncSchedules({
        client: noRetries,
        groupName: 'throttled-prewarm',
        targetArn: TARGET,
        roleArn: ROLE,
        schedules: [def('a')],
        dryRun: false,
      }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ThrottlingException)
    } finally {
      noRetries.destroy()
    }
  })
})

type Racer = (input: Record<string, unknown>) => Promise<unknown>

/**
 * Runs another writer's action right before the client sends `<Command>:<Name>` for the first time: a race at
 * an exact point, made with the SDK's own middleware stack rather than by replacing any of our code.
 */
function installRacer(
  client: SchedulerClient,
  racers: Record<string, Racer>,
): { remove(): void; ran(): string[] } {
  const pending = new Map(Object.entries(racers))
  const ran: string[] = []
  const name = 'test-racer'
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>
      const key = `${context.commandName ?? ''}:${String(input.Name)}`
      const racer = pending.get(key)
      if (racer) {
        pending.delete(key)
        ran.push(key)
        await racer(input)
      }
      return next(args)
    },
    { step: 'initialize', name },
  )
  return { remove: () => client.middlewareStack.remove(name), ran: () => ran }
}

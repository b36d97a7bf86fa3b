import {
  ConflictException,
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  CreateScheduleGroupCommand,
  DeleteScheduleCommand,
  DeleteScheduleGroupCommand,
  GetScheduleCommand,
  GetScheduleGroupCommand,
  ListScheduleGroupsCommand,
  ListSchedulesCommand,
  type ListSchedulesCommandInput,
  paginateListSchedules,
  ResourceNotFoundException,
  SchedulerClient,
  ThrottlingException,
  UpdateScheduleCommand,
  ValidationException,
} from '@aws-sdk/client-scheduler'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type FiredInvocation,
  type InvokeInfo,
  type LocalScheduler,
  startLocalScheduler,
} from '../../local/scheduler/scheduler-server.ts'
import { rejection } from '../helpers/rejection.ts'

const T0 = Date.parse('2026-01-09T12:00:00Z') // a Friday
const TARGET = 'arn:aws:lambda:us-east-1:000000000000:function:acp'
const ROLE = 'arn:aws:iam::000000000000:role/acp-scheduler'

function clientFor(endpoint: string, maxAttempts?: number): SchedulerClient {
  return new SchedulerClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
  })
}

function schedule(name: string, input: Partial<CreateScheduleCommandInput> = {}): CreateScheduleCommandInput {
  return {
    Name: name,
    ScheduleExpression: 'rate(15 minutes)',
    FlexibleTimeWindow: { Mode: 'OFF' },
    Target: { Arn: TARGET, RoleArn: ROLE, Input: '{"action":"prewarm"}' },
    ...input,
  }
}

async function expectServiceError(
  fn: () => Promise<unknown>,
  type: typeof ValidationException | typeof ConflictException | typeof ResourceNotFoundException,
  status: number,
  message: RegExp,
): Promise<void> {
  const err = await rejection(fn)
  expect(err).toBeInstanceOf(type)
  const e = err as ValidationException
  expect(e.$metadata.httpStatusCode).toBe(status)
  expect(e.message).toMatch(message)
}

describe('the API, through the real SchedulerClient', () => {
  let clock = T0
  let local: LocalScheduler
  let client: SchedulerClient

  beforeAll(async () => {
    // Group deletions complete at once here; the DELETING window is tested in local-scheduler-groups.test.ts.
    local = await startLocalScheduler({
      invoke: async () => 'ok',
      now: () => clock,
      tickMs: 0,
      groupDeletionMs: 0,
    })
    client = clientFor(local.endpoint)
  })

  afterAll(async () => {
    client?.destroy()
    await local?.close()
  })

  it('creates a schedule and answers GetSchedule with every member', async () => {
    const out = await client.send(
      new CreateScheduleCommand(
        schedule('full', {
          ScheduleExpression: 'cron(45 5 ? * MON-FRI *)',
          ScheduleExpressionTimezone: 'Europe/Berlin',
          FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 10 },
          Description: 'morning',
          State: 'DISABLED',
          StartDate: new Date(T0 + 3_600_000),
          EndDate: new Date(T0 + 86_400_000),
          ActionAfterCompletion: 'DELETE',
          Target: {
            Arn: TARGET,
            RoleArn: ROLE,
            Input: '{"a":1}',
            RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 600 },
          },
        }),
      ),
    )
    expect(out.ScheduleArn).toBe('arn:aws:scheduler:us-east-1:000000000000:schedule/default/full')
    const got = await client.send(new GetScheduleCommand({ Name: 'full' }))
    const { $metadata, ...members } = got
    expect($metadata.httpStatusCode).toBe(200)
    expect(members).toEqual({
      Arn: 'arn:aws:scheduler:us-east-1:000000000000:schedule/default/full',
      GroupName: 'default',
      Name: 'full',
      ScheduleExpression: 'cron(45 5 ? * MON-FRI *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 10 },
      Description: 'morning',
      State: 'DISABLED',
      StartDate: new Date(T0 + 3_600_000),
      EndDate: new Date(T0 + 86_400_000),
      CreationDate: new Date(T0),
      LastModificationDate: new Date(T0),
      ActionAfterCompletion: 'DELETE',
      Target: {
        Arn: TARGET,
        RoleArn: ROLE,
        Input: '{"a":1}',
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 600 },
      },
    })
  })

  it('applies the service defaults to a minimal schedule', async () => {
    await client.send(new CreateScheduleCommand(schedule('minimal')))
    const got = await client.send(new GetScheduleCommand({ Name: 'minimal', GroupName: 'default' }))
    expect(got.State).toBe('ENABLED')
    expect(got.ActionAfterCompletion).toBe('NONE')
    expect(got.GroupName).toBe('default')
    expect(got.Description).toBeUndefined()
    expect(got.ScheduleExpressionTimezone).toBeUndefined()
    expect(got.StartDate).toBeUndefined()
  })

  it('UpdateSchedule replaces the whole schedule', async () => {
    await client.send(
      new CreateScheduleCommand(schedule('replaced', { Description: 'old', State: 'DISABLED' })),
    )
    clock = T0 + 60_000
    const out = await client.send(
      new UpdateScheduleCommand({ ...schedule('replaced'), ScheduleExpression: 'rate(1 hour)' }),
    )
    expect(out.ScheduleArn).toBe('arn:aws:scheduler:us-east-1:000000000000:schedule/default/replaced')
    const got = await client.send(new GetScheduleCommand({ Name: 'replaced' }))
    expect(got.ScheduleExpression).toBe('rate(1 hour)')
    expect(got.Description).toBeUndefined()
    expect(got.State).toBe('ENABLED')
    expect(got.CreationDate).toEqual(new Date(T0))
    expect(got.LastModificationDate).toEqual(new Date(T0 + 60_000))
    await expectServiceError(
      () => client.send(new UpdateScheduleCommand(schedule('never-created'))),
      ResourceNotFoundException,
      404,
      /^Schedule never-created does not exist\.$/,
    )
  })

  it('deletes a schedule; a second delete and a get answer ResourceNotFoundException', async () => {
    await client.send(new CreateScheduleCommand(schedule('doomed')))
    const out = await client.send(new DeleteScheduleCommand({ Name: 'doomed' }))
    expect(out.$metadata.httpStatusCode).toBe(200)
    await expectServiceError(
      () => client.send(new GetScheduleCommand({ Name: 'doomed' })),
      ResourceNotFoundException,
      404,
      /^Schedule doomed does not exist\.$/,
    )
    await expectServiceError(
      () => client.send(new DeleteScheduleCommand({ Name: 'doomed' })),
      ResourceNotFoundException,
      404,
      /doomed does not exist/,
    )
  })

  it('answers ConflictException for a duplicate name in a group, and allows it in another group', async () => {
    await client.send(new CreateScheduleCommand(schedule('twice')))
    await expectServiceError(
      () => client.send(new CreateScheduleCommand(schedule('twice'))),
      ConflictException,
      409,
      /^Schedule twice already exists\.$/,
    )
    await client.send(new CreateScheduleGroupCommand({ Name: 'other' }))
    const out = await client.send(new CreateScheduleCommand(schedule('twice', { GroupName: 'other' })))
    expect(out.ScheduleArn).toBe('arn:aws:scheduler:us-east-1:000000000000:schedule/other/twice')
  })

  it('a retried CreateSchedule with the same ClientToken succeeds like the first', async () => {
    const input = schedule('idempotent', { ClientToken: 'token-1' })
    const first = await client.send(new CreateScheduleCommand(input))
    const again = await client.send(new CreateScheduleCommand(input))
    expect(again.ScheduleArn).toBe(first.ScheduleArn)
    await expectServiceError(
      () => client.send(new CreateScheduleCommand({ ...input, ClientToken: 'token-2' })),
      ConflictException,
      409,
      /already exists/,
    )
  })

  it('needs the group to exist', async () => {
    await expectServiceError(
      () => client.send(new CreateScheduleCommand(schedule('orphan', { GroupName: 'nope' }))),
      ResourceNotFoundException,
      404,
      /^Schedule group nope does not exist\.$/,
    )
    await expectServiceError(
      () => client.send(new GetScheduleCommand({ Name: 'minimal', GroupName: 'nope' })),
      ResourceNotFoundException,
      404,
      /^Schedule group nope does not exist\.$/,
    )
    await expectServiceError(
      () => client.send(new ListSchedulesCommand({ GroupName: 'nope' })),
      ResourceNotFoundException,
      404,
      /nope does not exist/,
    )
  })

  const invalid: Array<[string, Partial<Record<string, unknown>>, RegExp]> = [
    ['an expression with the wrong grammar', { ScheduleExpression: 'rate(1 minutes)' }, /singular 'minute'/],
    [
      'a cron without ?',
      { ScheduleExpression: 'cron(0 12 * * * *)' },
      /exactly one of day-of-month and day-of-week/,
    ],
    [
      'an unknown time zone',
      { ScheduleExpressionTimezone: 'Mars/Olympus' },
      /^Invalid ScheduleExpressionTimezone: Mars\/Olympus$/,
    ],
    [
      'FLEXIBLE without a window',
      { FlexibleTimeWindow: { Mode: 'FLEXIBLE' } },
      /MaximumWindowInMinutes is required when FlexibleTimeWindow Mode is FLEXIBLE/,
    ],
    [
      'OFF with a window',
      { FlexibleTimeWindow: { Mode: 'OFF', MaximumWindowInMinutes: 5 } },
      /must not be set when FlexibleTimeWindow Mode is OFF/,
    ],
    [
      'a window over 1440 minutes',
      { FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 1441 } },
      /Value at 'FlexibleTimeWindow\.MaximumWindowInMinutes' failed to satisfy constraint: Member must have value less than or equal to 1440/,
    ],
    [
      'an unknown window mode',
      { FlexibleTimeWindow: { Mode: 'SOMETIMES' } },
      /FlexibleTimeWindow\.Mode' failed to satisfy constraint: Member must satisfy enum value set: \[OFF, FLEXIBLE\]/,
    ],
    [
      'no FlexibleTimeWindow',
      { FlexibleTimeWindow: undefined },
      /^1 validation error detected: Value at 'FlexibleTimeWindow' failed to satisfy constraint: Member must not be null$/,
    ],
    [
      'no role',
      { Target: { Arn: TARGET } },
      /Value at 'Target\.RoleArn' failed to satisfy constraint: Member must not be null/,
    ],
    [
      'no target arn',
      { Target: { RoleArn: ROLE } },
      /Value at 'Target\.Arn' failed to satisfy constraint: Member must not be null/,
    ],
    [
      'a role that is not a role ARN',
      { Target: { Arn: TARGET, RoleArn: TARGET } },
      /Target\.RoleArn' failed to satisfy constraint: Member must satisfy regular expression pattern/,
    ],
    [
      'an Input over 8192 characters',
      { Target: { Arn: TARGET, RoleArn: ROLE, Input: 'x'.repeat(8193) } },
      /Target\.Input' failed to satisfy constraint: Member must have length less than or equal to 8192/,
    ],
    [
      'an unknown State',
      { State: 'PAUSED' },
      /'State' failed to satisfy constraint: Member must satisfy enum value set: \[ENABLED, DISABLED\]/,
    ],
    [
      'an unknown ActionAfterCompletion',
      { ActionAfterCompletion: 'ARCHIVE' },
      /'ActionAfterCompletion' failed to satisfy constraint/,
    ],
    [
      'a description over 512 characters',
      { Description: 'd'.repeat(513) },
      /'Description' failed to satisfy constraint: Member must have length less than or equal to 512/,
    ],
    [
      'an EndDate before the StartDate',
      { StartDate: new Date(T0 + 7_200_000), EndDate: new Date(T0 + 3_600_000) },
      /^The EndDate you specify must be after the StartDate\.$/,
    ],
    [
      'an EndDate in the past',
      { EndDate: new Date(T0 - 3_600_000) },
      /^The EndDate you specify cannot be earlier than the current time\.$/,
    ],
    [
      'a StartDate long past',
      { StartDate: new Date(T0 - 3_600_000) },
      /cannot be earlier than 5 minutes prior to the current time/,
    ],
    [
      'a bad group name',
      { GroupName: 'bad group' },
      /Value at 'GroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: \^\[0-9a-zA-Z-_\.\]\+\$/,
    ],
    ['two bad members', { State: 'PAUSED', Description: 'd'.repeat(513) }, /^2 validation errors detected: /],
  ]

  it.each(invalid)('rejects %s with ValidationException', async (_, members, message) => {
    clock = T0
    const input = { ...schedule('invalid'), ...members } as CreateScheduleCommandInput
    await expectServiceError(
      () => client.send(new CreateScheduleCommand(input)),
      ValidationException,
      400,
      message,
    )
    // The same checks guard UpdateSchedule.
    await expectServiceError(
      () => client.send(new UpdateScheduleCommand(input)),
      ValidationException,
      400,
      message,
    )
  })

  it('rejects bad names, list parameters and page tokens with ValidationException', async () => {
    await expectServiceError(
      () => client.send(new CreateScheduleCommand(schedule('bad name'))),
      ValidationException,
      400,
      /Value at 'Name' failed to satisfy constraint: Member must satisfy regular expression pattern/,
    )
    await expectServiceError(
      () => client.send(new CreateScheduleCommand(schedule('n'.repeat(65)))),
      ValidationException,
      400,
      /Value at 'Name' failed to satisfy constraint: Member must have length less than or equal to 64/,
    )
    await expectServiceError(
      () => client.send(new ListSchedulesCommand({ MaxResults: 101 })),
      ValidationException,
      400,
      /'MaxResults' failed to satisfy constraint: Member must have value less than or equal to 100/,
    )
    await expectServiceError(
      () => client.send(new ListSchedulesCommand({ State: 'PAUSED' as never })),
      ValidationException,
      400,
      /'State' failed to satisfy constraint/,
    )
    await expectServiceError(
      () => client.send(new ListSchedulesCommand({ NextToken: 'garbage' })),
      ValidationException,
      400,
      /^Invalid NextToken\.$/,
    )
  })

  it('pages ListSchedules with NextToken and filters by group, prefix and state', async () => {
    await client.send(new CreateScheduleGroupCommand({ Name: 'paging' }))
    for (const [name, state] of [
      ['p-e', 'ENABLED'],
      ['p-a', 'ENABLED'],
      ['p-c', 'DISABLED'],
      ['p-b', 'ENABLED'],
      ['q-d', 'DISABLED'],
    ] as const)
      await client.send(new CreateScheduleCommand(schedule(name, { GroupName: 'paging', State: state })))

    const pages: string[][] = []
    let token: string | undefined
    do {
      const page = await client.send(
        new ListSchedulesCommand({ GroupName: 'paging', MaxResults: 2, NextToken: token }),
      )
      pages.push((page.Schedules ?? []).map((s) => s.Name ?? '?'))
      token = page.NextToken
    } while (token)
    expect(pages).toEqual([['p-a', 'p-b'], ['p-c', 'p-e'], ['q-d']])

    const first = await client.send(new ListSchedulesCommand({ GroupName: 'paging', MaxResults: 1 }))
    expect(first.Schedules).toEqual([
      {
        Arn: 'arn:aws:scheduler:us-east-1:000000000000:schedule/paging/p-a',
        Name: 'p-a',
        GroupName: 'paging',
        State: 'ENABLED',
        CreationDate: new Date(T0),
        LastModificationDate: new Date(T0),
        Target: { Arn: TARGET },
      },
    ])

    const names = async (input: ListSchedulesCommandInput) => {
      const all: string[] = []
      for await (const page of paginateListSchedules({ client, pageSize: 2 }, input))
        all.push(...(page.Schedules ?? []).map((s) => `${s.GroupName}/${s.Name}`))
      return all
    }
    expect(await names({ GroupName: 'paging', NamePrefix: 'p-' })).toEqual([
      'paging/p-a',
      'paging/p-b',
      'paging/p-c',
      'paging/p-e',
    ])
    expect(await names({ GroupName: 'paging', State: 'DISABLED' })).toEqual(['paging/p-c', 'paging/q-d'])
    // Without a group: every group's schedules.
    const everywhere = await names({ NamePrefix: 'twice' })
    expect(everywhere).toEqual(['default/twice', 'other/twice'])
  })

  it('manages schedule groups; deleting one (groupDeletionMs 0) deletes its schedules; default stays', async () => {
    const created = await client.send(new CreateScheduleGroupCommand({ Name: 'team-a' }))
    expect(created.ScheduleGroupArn).toBe('arn:aws:scheduler:us-east-1:000000000000:schedule-group/team-a')
    await expectServiceError(
      () => client.send(new CreateScheduleGroupCommand({ Name: 'team-a' })),
      ConflictException,
      409,
      /^Schedule group team-a already exists\.$/,
    )
    const got = await client.send(new GetScheduleGroupCommand({ Name: 'team-a' }))
    expect(got).toMatchObject({
      Arn: 'arn:aws:scheduler:us-east-1:000000000000:schedule-group/team-a',
      Name: 'team-a',
      State: 'ACTIVE',
      CreationDate: new Date(T0),
    })
    const groups = await client.send(new ListScheduleGroupsCommand({}))
    expect(groups.ScheduleGroups?.map((g) => g.Name)).toEqual(['default', 'other', 'paging', 'team-a'])
    const prefixed = await client.send(new ListScheduleGroupsCommand({ NamePrefix: 'team', MaxResults: 1 }))
    expect(prefixed.ScheduleGroups?.map((g) => g.Name)).toEqual(['team-a'])
    expect(prefixed.NextToken).toBeUndefined()

    await client.send(new CreateScheduleCommand(schedule('in-team', { GroupName: 'team-a' })))
    await client.send(new DeleteScheduleGroupCommand({ Name: 'team-a' }))
    await expectServiceError(
      () => client.send(new GetScheduleGroupCommand({ Name: 'team-a' })),
      ResourceNotFoundException,
      404,
      /^Schedule group team-a does not exist\.$/,
    )
    await client.send(new CreateScheduleGroupCommand({ Name: 'team-a' }))
    const left = await client.send(new ListSchedulesCommand({ GroupName: 'team-a' }))
    expect(left.Schedules).toEqual([])

    await expectServiceError(
      () => client.send(new DeleteScheduleGroupCommand({ Name: 'default' })),
      ValidationException,
      400,
      /^Cannot delete the default schedule group\.$/,
    )
    expect((await client.send(new GetScheduleGroupCommand({ Name: 'default' }))).Name).toBe('default')
  })

  it('throttles the next N calls; the SDK retries them, or surfaces ThrottlingException (429)', async () => {
    local.throttleNext(2)
    const out = await client.send(new GetScheduleGroupCommand({ Name: 'default' }))
    expect(out.$metadata.attempts).toBe(3)
    expect(out.Name).toBe('default')

    const once = clientFor(local.endpoint, 1)
    try {
      local.throttleNext(1)
      const err = await rejection(() => once.send(new GetScheduleGroupCommand({ Name: 'default' })))
      expect(err).toBeInstanceOf(ThrottlingException)
      expect((err as ThrottlingException).$metadata.httpStatusCode).toBe(429)
      expect((err as ThrottlingException).message).toBe('Rate exceeded')
      // Only that one call was throttled.
      expect((await once.send(new GetScheduleGroupCommand({ Name: 'default' }))).Name).toBe('default')
    } finally {
      once.destroy()
    }
  })
})

describe('firing', () => {
  interface Harness {
    local: LocalScheduler
    client: SchedulerClient
    calls: Array<{ payload: unknown; info: InvokeInfo }>
    setClock(ms: number): void
  }

  /** A scheduler of its own (firing sees every schedule), on an injected clock starting at T0. */
  async function harness(
    invoke?: (payload: unknown, info: InvokeInfo) => Promise<unknown>,
  ): Promise<Harness> {
    let clock = T0
    const calls: Harness['calls'] = []
    const local = await startLocalScheduler({
      now: () => clock,
      tickMs: 0,
      invoke: async (payload, info) => {
        calls.push({ payload, info })
        return invoke ? invoke(payload, info) : 'warmed'
      },
    })
    const setClock = (ms: number) => {
      clock = ms
    }
    const h = { local, client: clientFor(local.endpoint), calls, setClock }
    opened.push(h)
    return h
  }
  const opened: Harness[] = []

  afterAll(async () => {
    for (const h of opened) {
      h.client.destroy()
      await h.local.close()
    }
  })

  const scheduledTimes = (fired: FiredInvocation[]) => fired.map((f) => f.scheduledTime)

  it('fires a rate schedule at once and every interval, with the context substituted into Input', async () => {
    const h = await harness()
    const input =
      '{"action":"prewarm","schedule":"every-15","scheduledTime":"<aws.scheduler.scheduled-time>",' +
      '"arn":"<aws.scheduler.schedule-arn>","id":"<aws.scheduler.execution-id>","attempt":<aws.scheduler.attempt-number>}'
    await h.client.send(
      new CreateScheduleCommand(
        schedule('every-15', { Target: { Arn: TARGET, RoleArn: ROLE, Input: input } }),
      ),
    )
    const first = await h.local.fireDue(T0)
    expect(first).toHaveLength(1)
    const [f] = first as [FiredInvocation]
    expect(f).toMatchObject({
      scheduleName: 'every-15',
      groupName: 'default',
      scheduledTime: '2026-01-09T12:00:00Z',
      targetArn: TARGET,
      scheduleArn: 'arn:aws:scheduler:us-east-1:000000000000:schedule/default/every-15',
      attemptNumber: 1,
      outcome: 'succeeded',
      result: 'warmed',
    })
    expect(f.executionId).toMatch(/^[0-9a-f-]{36}$/)
    expect(f.payload).toEqual({
      action: 'prewarm',
      schedule: 'every-15',
      scheduledTime: '2026-01-09T12:00:00Z',
      arn: 'arn:aws:scheduler:us-east-1:000000000000:schedule/default/every-15',
      id: f.executionId,
      attempt: 1,
    })
    expect(h.calls[0]?.info).toEqual({
      scheduleName: 'every-15',
      groupName: 'default',
      scheduledTime: '2026-01-09T12:00:00Z',
      targetArn: TARGET,
    })

    expect(await h.local.fireDue(T0 + 14 * 60_000)).toEqual([])
    const later = await h.local.fireDue(T0 + 31 * 60_000)
    expect(scheduledTimes(later)).toEqual(['2026-01-09T12:15:00Z', '2026-01-09T12:30:00Z'])
    expect(h.local.invocations.map((i) => i.scheduledTime)).toEqual([
      '2026-01-09T12:00:00Z',
      '2026-01-09T12:15:00Z',
      '2026-01-09T12:30:00Z',
    ])
  })

  it('fires cron schedules in their time zone; honours DISABLED, StartDate and EndDate', async () => {
    const h = await harness()
    await h.client.send(
      new CreateScheduleCommand(
        schedule('berlin', {
          ScheduleExpression: 'cron(45 5 ? * MON-FRI *)',
          ScheduleExpressionTimezone: 'Europe/Berlin',
        }),
      ),
    )
    await h.client.send(
      new CreateScheduleCommand(
        schedule('off', { ScheduleExpression: 'cron(* * * * ? *)', State: 'DISABLED' }),
      ),
    )
    await h.client.send(
      new CreateScheduleCommand(
        schedule('window', {
          ScheduleExpression: 'cron(0 * * * ? *)',
          StartDate: new Date(Date.parse('2026-01-12T02:00:00Z')),
          EndDate: new Date(Date.parse('2026-01-12T04:00:00Z')),
        }),
      ),
    )
    // Monday 05:45 in Berlin is 04:45 UTC; the hourly one runs from its StartDate until before its EndDate.
    expect(scheduledTimes(await h.local.fireDue(Date.parse('2026-01-12T04:44:00Z')))).toEqual([
      '2026-01-12T02:00:00Z',
      '2026-01-12T03:00:00Z',
    ])
    const monday = await h.local.fireDue(Date.parse('2026-01-12T04:45:00Z'))
    expect(monday.map((f) => [f.scheduleName, f.scheduledTime])).toEqual([['berlin', '2026-01-12T04:45:00Z']])
    expect(scheduledTimes(await h.local.fireDue(Date.parse('2026-01-12T08:00:00Z')))).toEqual([])
    expect(h.calls.every((c) => c.info.scheduleName !== 'off')).toBe(true)
  })

  it('never fires one scheduled time twice: concurrent checks, repeated checks, updates', async () => {
    const h = await harness()
    await h.client.send(
      new CreateScheduleCommand(schedule('hourly', { ScheduleExpression: 'cron(0 * * * ? *)' })),
    )
    const at13 = Date.parse('2026-01-09T13:00:00Z')
    const [a, b] = await Promise.all([h.local.fireDue(at13), h.local.fireDue(at13)])
    expect([...(a ?? []), ...(b ?? [])].map((f) => f.scheduledTime)).toEqual(['2026-01-09T13:00:00Z'])
    expect(await h.local.fireDue(at13 + 30_000)).toEqual([])
    // Replacing the schedule with the same expression does not make 13:00 due again.
    h.setClock(at13 + 30_000)
    await h.client.send(
      new UpdateScheduleCommand(schedule('hourly', { ScheduleExpression: 'cron(0 * * * ? *)' })),
    )
    expect(await h.local.fireDue(at13 + 45_000)).toEqual([])
    expect(scheduledTimes(await h.local.fireDue(at13 + 3_600_000))).toEqual(['2026-01-09T14:00:00Z'])
    expect(h.calls).toHaveLength(2)
  })

  it('fires an at() schedule once, in its time zone, then deletes it when asked to', async () => {
    const h = await harness()
    await h.client.send(
      new CreateScheduleCommand(
        schedule('one-shot', {
          ScheduleExpression: 'at(2026-01-10T08:00:00)',
          ScheduleExpressionTimezone: 'Europe/Berlin',
          ActionAfterCompletion: 'DELETE',
        }),
      ),
    )
    await h.client.send(
      new CreateScheduleCommand(schedule('one-shot-kept', { ScheduleExpression: 'at(2026-01-10T08:00:00)' })),
    )
    expect(await h.local.fireDue(Date.parse('2026-01-10T06:59:59Z'))).toEqual([])
    const fired = await h.local.fireDue(Date.parse('2026-01-10T07:00:00Z'))
    expect(fired.map((f) => [f.scheduleName, f.scheduledTime])).toEqual([
      ['one-shot', '2026-01-10T07:00:00Z'],
    ])
    await expectServiceError(
      () => h.client.send(new GetScheduleCommand({ Name: 'one-shot' })),
      ResourceNotFoundException,
      404,
      /one-shot does not exist/,
    )
    const kept = await h.local.fireDue(Date.parse('2026-01-10T09:00:00Z'))
    expect(kept.map((f) => [f.scheduleName, f.scheduledTime])).toEqual([
      ['one-shot-kept', '2026-01-10T08:00:00Z'],
    ])
    expect((await h.client.send(new GetScheduleCommand({ Name: 'one-shot-kept' }))).Name).toBe(
      'one-shot-kept',
    )
    expect(await h.local.fireDue(Date.parse('2026-02-01T00:00:00Z'))).toEqual([])
  })

  it('records a failing target and keeps serving and firing', async () => {
    const h = await harness(async (_payload, info) => {
      if (info.scheduledTime === '2026-01-09T12:00:00Z') throw new Error('lambda exploded')
      return 'fine'
    })
    await h.client.send(
      new CreateScheduleCommand(schedule('flaky', { ScheduleExpression: 'rate(5 minutes)' })),
    )
    const [failed] = await h.local.fireDue(T0)
    expect(failed).toMatchObject({ scheduleName: 'flaky', outcome: 'failed', error: 'lambda exploded' })
    expect((await h.client.send(new GetScheduleCommand({ Name: 'flaky' }))).State).toBe('ENABLED')
    const [next] = await h.local.fireDue(T0 + 5 * 60_000)
    expect(next).toMatchObject({
      scheduledTime: '2026-01-09T12:05:00Z',
      outcome: 'succeeded',
      result: 'fine',
    })
  })

  it('passes a non-JSON Input as a string and no Input as {}', async () => {
    const h = await harness()
    await h.client.send(
      new CreateScheduleCommand(
        schedule('text', {
          Target: { Arn: TARGET, RoleArn: ROLE, Input: 'at <aws.scheduler.scheduled-time>' },
        }),
      ),
    )
    await h.client.send(
      new CreateScheduleCommand(schedule('empty', { Target: { Arn: TARGET, RoleArn: ROLE } })),
    )
    const fired = await h.local.fireDue(T0)
    expect(Object.fromEntries(fired.map((f) => [f.scheduleName, f.payload]))).toEqual({
      text: 'at 2026-01-09T12:00:00Z',
      empty: {},
    })
  })

  it('skips older missed times after a long stop instead of replaying them all', async () => {
    const h = await harness()
    await h.client.send(
      new CreateScheduleCommand(schedule('minutely', { ScheduleExpression: 'rate(1 minute)' })),
    )
    const fired = await h.local.fireDue(T0 + 24 * 3_600_000)
    expect(fired).toHaveLength(10)
    expect(await h.local.fireDue(T0 + 24 * 3_600_000)).toEqual([])
    expect(scheduledTimes(await h.local.fireDue(T0 + 24 * 3_600_000 + 60_000))).toEqual([
      '2026-01-10T12:01:00Z',
    ])
  })

  it('fires on its own timer with the real clock', async () => {
    const calls: string[] = []
    const local = await startLocalScheduler({
      tickMs: 20,
      invoke: async (_payload, info) => {
        calls.push(info.scheduleName)
      },
    })
    const client = clientFor(local.endpoint)
    try {
      await client.send(new CreateScheduleCommand(schedule('timer', { ScheduleExpression: 'rate(1 hour)' })))
      const deadline = Date.now() + 3_000
      while (calls.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
      expect(calls).toEqual(['timer'])
      expect(local.invocations).toHaveLength(1)
    } finally {
      client.destroy()
      await local.close()
    }
  })
})

import {
  GetScheduleCommand,
  GetScheduleGroupCommand,
  ResourceNotFoundException,
  SchedulerClient,
} from '@aws-sdk/client-scheduler'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type LocalScheduler,
  type LocalSchedulerOptions,
  startLocalScheduler,
} from '../../local/scheduler/scheduler-server.ts'
import { AWS_CLI, AWS_CLI_SKIP_REASON, type AwsCli, createAwsCli } from '../helpers/compat-aws-cli.ts'
import { rejection } from '../helpers/rejection.ts'

const GROUP = 'compat-group'
const GROUP_ARN = `arn:aws:scheduler:us-east-1:000000000000:schedule-group/${GROUP}`
const TARGET = {
  Arn: 'arn:aws:lambda:us-east-1:000000000000:function:acp',
  RoleArn: 'arn:aws:iam::000000000000:role/acp-scheduler',
  Input: '{"action":"prewarm"}',
}
/** How long a deleted group stays DELETING: long enough for one CLI call to see it. */
const GROUP_DELETION_MS = 4000

type Tag = { Key: string; Value: string }
const byKey = (tags: Tag[]) => [...tags].sort((a, b) => a.Key.localeCompare(b.Key))

// The AWS CLI v1 (botocore) speaking restJson1: ARNs URL-encoded into the path (`/tags/arn%3Aaws%3A…%2F<group>`),
// list members as repeated query parameters (`?TagKeys=a&TagKeys=b`), timestamps as epoch seconds.
describe.skipIf(!AWS_CLI)(`the AWS CLI against the local Scheduler ${AWS_CLI_SKIP_REASON ?? ''}`, () => {
  let local: LocalScheduler
  let cli: AwsCli
  let sdk: SchedulerClient

  const tags = async () =>
    byKey(
      (await cli.json<{ Tags: Tag[] }>('scheduler', 'list-tags-for-resource', '--resource-arn', GROUP_ARN))
        .Tags,
    )

  beforeAll(async () => {
    // The group deletion delay is an option of the endpoint; built apart so that it type-checks before it exists.
    const options: LocalSchedulerOptions & { groupDeletionMs: number } = {
      port: 0,
      invoke: async () => ({}),
      tickMs: 0,
      groupDeletionMs: GROUP_DELETION_MS,
    }
    local = await startLocalScheduler(options)
    cli = await createAwsCli(local.endpoint)
    sdk = new SchedulerClient({
      endpoint: local.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    })
  })

  afterAll(async () => {
    sdk?.destroy()
    await cli?.close()
    await local?.close()
  })

  it('creates a schedule group with tags, then tags and untags it', async () => {
    const created = await cli.json<{ ScheduleGroupArn: string }>(
      'scheduler',
      'create-schedule-group',
      '--name',
      GROUP,
      '--tags',
      'Key=team,Value=data',
      'Key=env,Value=test',
    )
    expect(created.ScheduleGroupArn).toBe(GROUP_ARN)
    expect(await tags()).toEqual([
      { Key: 'env', Value: 'test' },
      { Key: 'team', Value: 'data' },
    ])
    await cli.json('scheduler', 'tag-resource', '--resource-arn', GROUP_ARN, '--tags', 'Key=owner,Value=me')
    await cli.json('scheduler', 'untag-resource', '--resource-arn', GROUP_ARN, '--tag-keys', 'env', 'absent')
    expect(await tags()).toEqual([
      { Key: 'owner', Value: 'me' },
      { Key: 'team', Value: 'data' },
    ])
  })

  it('creates, gets, lists and deletes a schedule', async () => {
    const before = Date.now() / 1000
    const created = await cli.json<{ ScheduleArn: string }>(
      'scheduler',
      'create-schedule',
      '--name',
      'refresh',
      '--group-name',
      GROUP,
      '--schedule-expression',
      'rate(15 minutes)',
      '--flexible-time-window',
      'Mode=OFF',
      '--target',
      JSON.stringify(TARGET),
    )
    const arn = `arn:aws:scheduler:us-east-1:000000000000:schedule/${GROUP}/refresh`
    expect(created.ScheduleArn).toBe(arn)
    const [got, listed] = await Promise.all([
      cli.json<Record<string, unknown>>(
        'scheduler',
        'get-schedule',
        '--name',
        'refresh',
        '--group-name',
        GROUP,
      ),
      cli.json<{ Schedules: Record<string, unknown>[] }>(
        'scheduler',
        'list-schedules',
        '--group-name',
        GROUP,
      ),
    ])
    const { CreationDate, LastModificationDate, ...members } = got
    expect(members).toEqual({
      Arn: arn,
      Name: 'refresh',
      GroupName: GROUP,
      ScheduleExpression: 'rate(15 minutes)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      ActionAfterCompletion: 'NONE',
      Target: TARGET,
    })
    expect(CreationDate).toBeGreaterThanOrEqual(Math.floor(before))
    expect(LastModificationDate).toBe(CreationDate)
    expect(listed.Schedules).toEqual([
      {
        Arn: arn,
        Name: 'refresh',
        GroupName: GROUP,
        State: 'ENABLED',
        Target: { Arn: TARGET.Arn },
        CreationDate,
        LastModificationDate,
      },
    ])
    await cli.json('scheduler', 'delete-schedule', '--name', 'refresh', '--group-name', GROUP)
    const gone = await rejection(() =>
      sdk.send(new GetScheduleCommand({ Name: 'refresh', GroupName: GROUP })),
    )
    expect(gone).toBeInstanceOf(ResourceNotFoundException)
  })

  it('deletes a schedule group through the DELETING state, with its schedules', async () => {
    await cli.json(
      'scheduler',
      'create-schedule',
      '--name',
      'doomed',
      '--group-name',
      GROUP,
      '--schedule-expression',
      'rate(1 hour)',
      '--flexible-time-window',
      'Mode=OFF',
      '--target',
      JSON.stringify(TARGET),
    )
    const deletedAt = Date.now()
    await cli.json('scheduler', 'delete-schedule-group', '--name', GROUP)
    const deleting = await cli.json<Record<string, unknown>>(
      'scheduler',
      'get-schedule-group',
      '--name',
      GROUP,
    )
    expect(Date.now() - deletedAt).toBeLessThan(GROUP_DELETION_MS)
    expect(deleting).toMatchObject({ Name: GROUP, Arn: GROUP_ARN, State: 'DELETING' })

    const deadline = deletedAt + GROUP_DELETION_MS + 5000
    let gone: unknown
    while (!gone && Date.now() < deadline) {
      gone = await sdk.send(new GetScheduleGroupCommand({ Name: GROUP })).then(
        () => undefined,
        (err: unknown) => err,
      )
      if (!gone) await new Promise((r) => setTimeout(r, 100))
    }
    expect(gone).toBeInstanceOf(ResourceNotFoundException)
    const schedule = await rejection(() =>
      sdk.send(new GetScheduleCommand({ Name: 'doomed', GroupName: GROUP })),
    )
    expect(schedule).toBeInstanceOf(ResourceNotFoundException)
  })
})

import { spawn } from 'node:child_process'
import {
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  CreateScheduleGroupCommand,
  DeleteScheduleCommand,
  DeleteScheduleGroupCommand,
  GetScheduleCommand,
  GetScheduleGroupCommand,
  ListScheduleGroupsCommand,
  ListSchedulesCommand,
  ListTagsForResourceCommand,
  SchedulerClient,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { type LocalScheduler, startLocalScheduler } from '../../local/scheduler/scheduler-server.ts'
import { rejection } from '../helpers/rejection.ts'

const T0 = Date.parse('2026-01-09T12:00:00Z')
const GROUP_ARN = 'arn:aws:scheduler:us-east-1:000000000000:schedule-group'

function clientFor(endpoint: string): SchedulerClient {
  return new SchedulerClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  })
}

function schedule(name: string, group: string): CreateScheduleCommandInput {
  return {
    Name: name,
    GroupName: group,
    ScheduleExpression: 'rate(5 minutes)',
    FlexibleTimeWindow: { Mode: 'OFF' },
    Target: {
      Arn: 'arn:aws:lambda:us-east-1:000000000000:function:acp',
      RoleArn: 'arn:aws:iam::000000000000:role/acp-scheduler',
      Input: `{"group":"${group}"}`,
    },
  }
}

async function serviceError(
  fn: () => Promise<unknown>,
): Promise<{ name: string; status: number | undefined; message: string }> {
  const err = await rejection(fn)
  const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number } }
  return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message }
}

const conflict = (group: string) => ({
  name: 'ConflictException',
  status: 409,
  message: `Schedule group ${group} is being deleted.`,
})

describe('DeleteScheduleGroup: the DELETING state, through the real SchedulerClient', () => {
  const opened: Array<{ local: LocalScheduler; client: SchedulerClient }> = []
  async function start(groupDeletionMs: number) {
    const local = await startLocalScheduler({
      invoke: async () => 'ok',
      now: () => T0,
      tickMs: 0,
      groupDeletionMs,
    })
    const h = { local, client: clientFor(local.endpoint) }
    opened.push(h)
    return h
  }

  afterAll(async () => {
    for (const h of opened) {
      h.client.destroy()
      await h.local.close()
    }
  })

  it('shows the group DELETING, keeps its schedules visible but silent, and refuses changes meanwhile', async () => {
    // Long enough that the window cannot close during the test; close() cancels the pending deletion.
    const { local, client } = await start(600_000)
    await client.send(
      new CreateScheduleGroupCommand({ Name: 'doomed', Tags: [{ Key: 'team', Value: 'data' }] }),
    )
    await client.send(new CreateScheduleCommand(schedule('in-doomed', 'doomed')))
    await client.send(new CreateScheduleCommand(schedule('in-default', 'default')))

    const out = await client.send(
      new DeleteScheduleGroupCommand({ Name: 'doomed', ClientToken: 'delete-doomed' }),
    )
    expect(out.$metadata.httpStatusCode).toBe(200)

    const { $metadata, ...group } = await client.send(new GetScheduleGroupCommand({ Name: 'doomed' }))
    expect($metadata.httpStatusCode).toBe(200)
    expect(group).toEqual({
      Arn: `${GROUP_ARN}/doomed`,
      Name: 'doomed',
      State: 'DELETING',
      CreationDate: new Date(T0),
      LastModificationDate: new Date(T0),
    })
    const listed = await client.send(new ListScheduleGroupsCommand({}))
    expect(listed.ScheduleGroups?.map((g) => [g.Name, g.State])).toEqual([
      ['default', 'ACTIVE'],
      ['doomed', 'DELETING'],
    ])
    // Its schedules are deleted with it, not before: still there to read and list.
    expect((await client.send(new GetScheduleCommand({ Name: 'in-doomed', GroupName: 'doomed' }))).Name).toBe(
      'in-doomed',
    )
    const schedules = await client.send(new ListSchedulesCommand({ GroupName: 'doomed' }))
    expect(schedules.Schedules?.map((s) => s.Name)).toEqual(['in-doomed'])
    expect(
      await client.send(new ListTagsForResourceCommand({ ResourceArn: `${GROUP_ARN}/doomed` })),
    ).toMatchObject({
      Tags: [{ Key: 'team', Value: 'data' }],
    })

    // Nothing new goes into it, nothing in it changes, and the name is not free yet.
    expect(
      await serviceError(() => client.send(new CreateScheduleCommand(schedule('late', 'doomed')))),
    ).toEqual(conflict('doomed'))
    expect(
      await serviceError(() => client.send(new UpdateScheduleCommand(schedule('in-doomed', 'doomed')))),
    ).toEqual(conflict('doomed'))
    expect(await serviceError(() => client.send(new CreateScheduleGroupCommand({ Name: 'doomed' })))).toEqual(
      conflict('doomed'),
    )
    expect(
      await serviceError(() =>
        client.send(
          new TagResourceCommand({ ResourceArn: `${GROUP_ARN}/doomed`, Tags: [{ Key: 'k', Value: 'v' }] }),
        ),
      ),
    ).toEqual(conflict('doomed'))
    expect(
      await serviceError(() =>
        client.send(new UntagResourceCommand({ ResourceArn: `${GROUP_ARN}/doomed`, TagKeys: ['team'] })),
      ),
    ).toEqual(conflict('doomed'))

    // A retry of the same deletion (same ClientToken) answers like it; another deletion is refused.
    const retried = await client.send(
      new DeleteScheduleGroupCommand({ Name: 'doomed', ClientToken: 'delete-doomed' }),
    )
    expect(retried.$metadata.httpStatusCode).toBe(200)
    expect(
      await serviceError(() =>
        client.send(new DeleteScheduleGroupCommand({ Name: 'doomed', ClientToken: 'other' })),
      ),
    ).toEqual(conflict('doomed'))

    // Schedules of a DELETING group never fire; the others do.
    const fired = await local.fireDue(T0 + 10 * 60_000)
    expect(fired.map((f) => [f.groupName, f.scheduleName])).toEqual([
      ['default', 'in-default'],
      ['default', 'in-default'],
      ['default', 'in-default'],
    ])
    // Deleting a schedule of a DELETING group is allowed (it is going anyway).
    await client.send(new DeleteScheduleCommand({ Name: 'in-doomed', GroupName: 'doomed' }))
    expect((await client.send(new ListSchedulesCommand({ GroupName: 'doomed' }))).Schedules).toEqual([])
  })

  it('removes the group and its schedules after groupDeletionMs; then the name can be reused', async () => {
    const { client } = await start(150)
    await client.send(new CreateScheduleGroupCommand({ Name: 'brief', Tags: [{ Key: 'a', Value: '1' }] }))
    await client.send(new CreateScheduleCommand(schedule('s1', 'brief')))
    await client.send(new CreateScheduleCommand(schedule('s2', 'brief')))
    await client.send(new DeleteScheduleGroupCommand({ Name: 'brief' }))
    expect((await client.send(new GetScheduleGroupCommand({ Name: 'brief' }))).State).toBe('DELETING')

    const gone = {
      name: 'ResourceNotFoundException',
      status: 404,
      message: 'Schedule group brief does not exist.',
    }
    await vi.waitFor(
      async () =>
        expect(await serviceError(() => client.send(new GetScheduleGroupCommand({ Name: 'brief' })))).toEqual(
          gone,
        ),
      { timeout: 5_000, interval: 50 },
    )
    expect(await serviceError(() => client.send(new ListSchedulesCommand({ GroupName: 'brief' })))).toEqual(
      gone,
    )
    expect(
      await serviceError(() => client.send(new GetScheduleCommand({ Name: 's1', GroupName: 'brief' }))),
    ).toEqual(gone)
    expect(
      await serviceError(() =>
        client.send(new ListTagsForResourceCommand({ ResourceArn: `${GROUP_ARN}/brief` })),
      ),
    ).toEqual(gone)
    expect(
      (await client.send(new ListScheduleGroupsCommand({}))).ScheduleGroups?.map((g) => [g.Name, g.State]),
    ).toEqual([['default', 'ACTIVE']])

    // The name is free again, and the new group starts empty: no schedules, no tags.
    await client.send(new CreateScheduleGroupCommand({ Name: 'brief' }))
    expect((await client.send(new GetScheduleGroupCommand({ Name: 'brief' }))).State).toBe('ACTIVE')
    expect((await client.send(new ListSchedulesCommand({ GroupName: 'brief' }))).Schedules).toEqual([])
    expect(
      (await client.send(new ListTagsForResourceCommand({ ResourceArn: `${GROUP_ARN}/brief` }))).Tags,
    ).toEqual([])
  })

  it('with groupDeletionMs 0 the group is gone by the time DeleteScheduleGroup answers', async () => {
    const { client } = await start(0)
    await client.send(new CreateScheduleGroupCommand({ Name: 'instant' }))
    await client.send(new CreateScheduleCommand(schedule('s', 'instant')))
    await client.send(new DeleteScheduleGroupCommand({ Name: 'instant' }))
    expect(await serviceError(() => client.send(new GetScheduleGroupCommand({ Name: 'instant' })))).toEqual({
      name: 'ResourceNotFoundException',
      status: 404,
      message: 'Schedule group instant does not exist.',
    })
  })

  it('refuses a negative groupDeletionMs', async () => {
    await expect(
      startLocalScheduler({ invoke: async () => 'ok', tickMs: 0, groupDeletionMs: -1 }),
    ).rejects.toThrow('groupDeletionMs must be a non-negative number of ms, got -1')
  })

  it('close() during DELETING cancels the pending deletion: the process exits at once', async () => {
    // In a process of its own: a deletion timer left behind would keep it alive for the 10 minutes of the delay.
    const script = `
      import { CreateScheduleGroupCommand, DeleteScheduleGroupCommand, GetScheduleGroupCommand, SchedulerClient } from '@aws-sdk/client-scheduler'
      import { startLocalScheduler } from './local/scheduler/scheduler-server.ts'
      const local = await startLocalScheduler({ invoke: async () => 'ok', tickMs: 0, groupDeletionMs: 600000 })
      const client = new SchedulerClient({ endpoint: local.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } })
      await client.send(new CreateScheduleGroupCommand({ Name: 'pending' }))
      await client.send(new DeleteScheduleGroupCommand({ Name: 'pending' }))
      const { State } = await client.send(new GetScheduleGroupCommand({ Name: 'pending' }))
      client.destroy()
      await local.close()
      process.stdout.write(State + ' closed\\n')
    `
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    // Killed after 30 s (exit code null) if the pending deletion kept it alive.
    const exit = await new Promise<number | null>((resolve) => {
      const guard = setTimeout(() => child.kill('SIGKILL'), 30_000)
      child.once('exit', (code) => {
        clearTimeout(guard)
        resolve(code)
      })
    })
    expect({ exit, stdout, stderr: exit === 0 ? '' : stderr }).toEqual({
      exit: 0,
      stdout: 'DELETING closed\n',
      stderr: '',
    })
  })
})

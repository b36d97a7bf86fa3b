import {
  CreateScheduleCommand,
  CreateScheduleGroupCommand,
  ListTagsForResourceCommand,
  ResourceNotFoundException,
  SchedulerClient,
  TagResourceCommand,
  UntagResourceCommand,
  type ValidationException,
} from '@aws-sdk/client-scheduler'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LocalScheduler, startLocalScheduler } from '../../local/scheduler/scheduler-server.ts'
import { rejection } from '../helpers/rejection.ts'

const T0 = Date.parse('2026-01-09T12:00:00Z')
const ARN_PREFIX = 'arn:aws:scheduler:us-east-1:000000000000'
const GROUP_ARN_PATTERN = String.raw`^arn:aws(-[a-z]+)?:scheduler:[a-z0-9\-]+:\d{12}:schedule-group\/[0-9a-zA-Z-_.]+$`

const groupArn = (name: string) => `${ARN_PREFIX}:schedule-group/${name}`

async function serviceError(
  fn: () => Promise<unknown>,
): Promise<{ name: string; status: number | undefined; message: string }> {
  const err = await rejection(fn)
  expect(err).toBeInstanceOf(Error)
  const e = err as ValidationException
  return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message }
}

describe('tags on schedule groups, through the real SchedulerClient', () => {
  let local: LocalScheduler
  let client: SchedulerClient

  beforeAll(async () => {
    local = await startLocalScheduler({ invoke: async () => 'ok', now: () => T0, tickMs: 0 })
    client = new SchedulerClient({
      endpoint: local.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    })
  })

  afterAll(async () => {
    client?.destroy()
    await local?.close()
  })

  const listTags = async (arn: string) =>
    (await client.send(new ListTagsForResourceCommand({ ResourceArn: arn }))).Tags

  it('stores the tags given at CreateScheduleGroup; a group created without tags has none', async () => {
    const created = await client.send(
      new CreateScheduleGroupCommand({
        Name: 'tagged',
        Tags: [
          { Key: 'team', Value: 'data' },
          { Key: 'env', Value: 'dev' },
        ],
      }),
    )
    expect(created.ScheduleGroupArn).toBe(groupArn('tagged'))
    expect(await listTags(groupArn('tagged'))).toEqual([
      { Key: 'team', Value: 'data' },
      { Key: 'env', Value: 'dev' },
    ])
    await client.send(new CreateScheduleGroupCommand({ Name: 'plain' }))
    const out = await client.send(new ListTagsForResourceCommand({ ResourceArn: groupArn('plain') }))
    expect(out.$metadata.httpStatusCode).toBe(200)
    expect(out.Tags).toEqual([])
  })

  it('TagResource adds keys and replaces the values of existing ones, which keep their place', async () => {
    await client.send(
      new CreateScheduleGroupCommand({ Name: 'round-trip', Tags: [{ Key: 'a', Value: '1' }] }),
    )
    const out = await client.send(
      new TagResourceCommand({
        ResourceArn: groupArn('round-trip'),
        Tags: [
          { Key: 'b', Value: '2' },
          { Key: 'a', Value: 'one' },
          { Key: 'c:d/e=f+g@h', Value: 'x'.repeat(256) },
        ],
      }),
    )
    expect(out.$metadata.httpStatusCode).toBe(200)
    expect(await listTags(groupArn('round-trip'))).toEqual([
      { Key: 'a', Value: 'one' },
      { Key: 'b', Value: '2' },
      { Key: 'c:d/e=f+g@h', Value: 'x'.repeat(256) },
    ])
    // An empty list is allowed (TagList has 0–200 members) and changes nothing.
    await client.send(new TagResourceCommand({ ResourceArn: groupArn('round-trip'), Tags: [] }))
    expect((await listTags(groupArn('round-trip')))?.map((t) => t.Key)).toEqual(['a', 'b', 'c:d/e=f+g@h'])
  })

  it('UntagResource removes the keys given; absent keys are ignored', async () => {
    await client.send(
      new CreateScheduleGroupCommand({
        Name: 'untag',
        Tags: [
          { Key: 'keep', Value: 'k' },
          { Key: 'drop1', Value: 'd' },
          { Key: 'drop2', Value: 'd' },
        ],
      }),
    )
    const out = await client.send(
      new UntagResourceCommand({
        ResourceArn: groupArn('untag'),
        TagKeys: ['drop1', 'never-there', 'drop2'],
      }),
    )
    expect(out.$metadata.httpStatusCode).toBe(200)
    expect(await listTags(groupArn('untag'))).toEqual([{ Key: 'keep', Value: 'k' }])
    await client.send(new UntagResourceCommand({ ResourceArn: groupArn('untag'), TagKeys: ['absent'] }))
    expect(await listTags(groupArn('untag'))).toEqual([{ Key: 'keep', Value: 'k' }])
  })

  it.each([
    [
      'a key longer than 128',
      [{ Key: 'k'.repeat(129), Value: 'v' }],
      "1 validation error detected: Value at 'Tags.0.Key' failed to satisfy constraint: Member must have length less than or equal to 128",
    ],
    [
      'an empty value',
      [{ Key: 'k', Value: '' }],
      "1 validation error detected: Value at 'Tags.0.Value' failed to satisfy constraint: Member must have length greater than or equal to 1",
    ],
    [
      'a value longer than 256',
      [{ Key: 'k', Value: 'v'.repeat(257) }],
      "1 validation error detected: Value at 'Tags.0.Value' failed to satisfy constraint: Member must have length less than or equal to 256",
    ],
    [
      'more than 200 tags',
      Array.from({ length: 201 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })),
      "1 validation error detected: Value at 'Tags' failed to satisfy constraint: Member must have length less than or equal to 200",
    ],
    [
      'a key in the reserved aws: namespace',
      [{ Key: 'AWS:cloudformation:stack-name', Value: 'v' }],
      "Tag keys beginning with 'aws:' are reserved for AWS use: AWS:cloudformation:stack-name",
    ],
  ])('TagResource refuses %s with ValidationException (400)', async (_label, tags, message) => {
    await client.send(new CreateScheduleGroupCommand({ Name: 'strict', ClientToken: 'strict-group' }))
    expect(
      await serviceError(() =>
        client.send(new TagResourceCommand({ ResourceArn: groupArn('strict'), Tags: tags })),
      ),
    ).toEqual({ name: 'ValidationException', status: 400, message })
    expect(await listTags(groupArn('strict'))).toEqual([])
  })

  it('applies the same constraints to the tags of CreateScheduleGroup, and creates nothing', async () => {
    expect(
      await serviceError(() =>
        client.send(
          new CreateScheduleGroupCommand({ Name: 'refused', Tags: [{ Key: 'aws:x', Value: 'v' }] }),
        ),
      ),
    ).toEqual({
      name: 'ValidationException',
      status: 400,
      message: "Tag keys beginning with 'aws:' are reserved for AWS use: aws:x",
    })
    expect(
      await serviceError(() =>
        client.send(new ListTagsForResourceCommand({ ResourceArn: groupArn('refused') })),
      ),
    ).toEqual({
      name: 'ResourceNotFoundException',
      status: 404,
      message: 'Schedule group refused does not exist.',
    })
  })

  it('a group holds at most 200 tags, counting the ones it has', async () => {
    const first = Array.from({ length: 150 }, (_, i) => ({ Key: `a${i}`, Value: 'v' }))
    await client.send(new CreateScheduleGroupCommand({ Name: 'full', Tags: first }))
    const more = Array.from({ length: 51 }, (_, i) => ({ Key: `b${i}`, Value: 'v' }))
    expect(
      await serviceError(() =>
        client.send(new TagResourceCommand({ ResourceArn: groupArn('full'), Tags: more })),
      ),
    ).toEqual({
      name: 'ValidationException',
      status: 400,
      message: 'A schedule group can have at most 200 tags; this request would leave it 201.',
    })
    expect(await listTags(groupArn('full'))).toHaveLength(150)
    // Replacing values of keys it has does not count twice.
    await client.send(
      new TagResourceCommand({
        ResourceArn: groupArn('full'),
        Tags: [...first.slice(0, 100), ...more.slice(0, 50)],
      }),
    )
    expect(await listTags(groupArn('full'))).toHaveLength(200)
  })

  it('UntagResource validates its keys: length, count, the reserved namespace', async () => {
    await client.send(
      new CreateScheduleGroupCommand({ Name: 'untag-strict', Tags: [{ Key: 'k', Value: 'v' }] }),
    )
    const untag = (TagKeys: string[]) => () =>
      client.send(new UntagResourceCommand({ ResourceArn: groupArn('untag-strict'), TagKeys }))
    expect(await serviceError(untag(['k'.repeat(129)]))).toEqual({
      name: 'ValidationException',
      status: 400,
      message:
        "1 validation error detected: Value at 'TagKeys.0' failed to satisfy constraint: Member must have length less than or equal to 128",
    })
    expect(await serviceError(untag(Array.from({ length: 201 }, (_, i) => `k${i}`)))).toEqual({
      name: 'ValidationException',
      status: 400,
      message:
        "1 validation error detected: Value at 'TagKeys' failed to satisfy constraint: Member must have length less than or equal to 200",
    })
    expect(await serviceError(untag(['aws:createdBy']))).toEqual({
      name: 'ValidationException',
      status: 400,
      message: "Tag keys beginning with 'aws:' are reserved for AWS use: aws:createdBy",
    })
    expect(await listTags(groupArn('untag-strict'))).toEqual([{ Key: 'k', Value: 'v' }])
  })

  it('refuses a schedule ARN with ValidationException: tags go on schedule groups only', async () => {
    await client.send(new CreateScheduleGroupCommand({ Name: 'with-schedule' }))
    const created = await client.send(
      new CreateScheduleCommand({
        Name: 'nightly',
        GroupName: 'with-schedule',
        ScheduleExpression: 'rate(1 day)',
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: {
          Arn: 'arn:aws:lambda:us-east-1:000000000000:function:acp',
          RoleArn: 'arn:aws:iam::000000000000:role/acp-scheduler',
        },
      }),
    )
    const scheduleArn = created.ScheduleArn ?? ''
    expect(scheduleArn).toBe(`${ARN_PREFIX}:schedule/with-schedule/nightly`)
    const expected = {
      name: 'ValidationException',
      status: 400,
      message: `1 validation error detected: Value at 'ResourceArn' failed to satisfy constraint: Member must satisfy regular expression pattern: ${GROUP_ARN_PATTERN}`,
    }
    const tags = [{ Key: 'team', Value: 'data' }]
    expect(
      await serviceError(() => client.send(new TagResourceCommand({ ResourceArn: scheduleArn, Tags: tags }))),
    ).toEqual(expected)
    expect(
      await serviceError(() =>
        client.send(new UntagResourceCommand({ ResourceArn: scheduleArn, TagKeys: ['team'] })),
      ),
    ).toEqual(expected)
    expect(
      await serviceError(() => client.send(new ListTagsForResourceCommand({ ResourceArn: scheduleArn }))),
    ).toEqual(expected)
    expect(
      await serviceError(() => client.send(new ListTagsForResourceCommand({ ResourceArn: 'not-an-arn' }))),
    ).toEqual({ ...expected })
  })

  it('answers ResourceNotFoundException (404) for a group that does not exist, here or in another region', async () => {
    for (const send of [
      () => client.send(new ListTagsForResourceCommand({ ResourceArn: groupArn('nope') })),
      () =>
        client.send(
          new TagResourceCommand({ ResourceArn: groupArn('nope'), Tags: [{ Key: 'k', Value: 'v' }] }),
        ),
      () => client.send(new UntagResourceCommand({ ResourceArn: groupArn('nope'), TagKeys: ['k'] })),
    ]) {
      const err = await rejection(send)
      expect(err).toBeInstanceOf(ResourceNotFoundException)
      expect((err as ResourceNotFoundException).$metadata.httpStatusCode).toBe(404)
      expect((err as ResourceNotFoundException).message).toBe('Schedule group nope does not exist.')
    }
    await client.send(new CreateScheduleGroupCommand({ Name: 'here' }))
    const elsewhere = 'arn:aws:scheduler:eu-west-1:000000000000:schedule-group/here'
    expect(
      await serviceError(() => client.send(new ListTagsForResourceCommand({ ResourceArn: elsewhere }))),
    ).toEqual({
      name: 'ResourceNotFoundException',
      status: 404,
      message: 'Schedule group here does not exist.',
    })
  })

  it('lists the default group as untagged and refuses to tag or untag it', async () => {
    expect(await listTags(groupArn('default'))).toEqual([])
    expect(
      await serviceError(() =>
        client.send(
          new TagResourceCommand({ ResourceArn: groupArn('default'), Tags: [{ Key: 'k', Value: 'v' }] }),
        ),
      ),
    ).toEqual({ name: 'ValidationException', status: 400, message: 'Cannot tag the default schedule group.' })
    expect(
      await serviceError(() =>
        client.send(new UntagResourceCommand({ ResourceArn: groupArn('default'), TagKeys: ['k'] })),
      ),
    ).toEqual({
      name: 'ValidationException',
      status: 400,
      message: 'Cannot untag the default schedule group.',
    })
    expect(await listTags(groupArn('default'))).toEqual([])
  })

  it('takes the ARN label percent-encoded (as the SDK sends it) or as plain text', async () => {
    await client.send(new CreateScheduleGroupCommand({ Name: 'raw', Tags: [{ Key: 'k', Value: 'v' }] }))
    for (const path of [`/tags/${encodeURIComponent(groupArn('raw'))}`, `/tags/${groupArn('raw')}`]) {
      const res = await fetch(`${local.endpoint}${path}`)
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ Tags: [{ Key: 'k', Value: 'v' }] })
    }
    const untagged = await fetch(`${local.endpoint}/tags/${groupArn('raw')}?TagKeys=k&TagKeys=absent`, {
      method: 'DELETE',
    })
    expect(untagged.status).toBe(200)
    expect(await listTags(groupArn('raw'))).toEqual([])
    // TagKeys is required (0–200 keys): leaving it out is a validation error, not a no-op.
    const missing = await fetch(`${local.endpoint}/tags/${groupArn('raw')}`, { method: 'DELETE' })
    expect(missing.status).toBe(400)
    expect(missing.headers.get('x-amzn-ErrorType')).toBe('ValidationException')
    expect(await missing.json()).toEqual({
      Message:
        "1 validation error detected: Value at 'TagKeys' failed to satisfy constraint: Member must not be null",
    })
  })
})

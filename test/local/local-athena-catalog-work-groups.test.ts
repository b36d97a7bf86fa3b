import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import {
  GetQueryExecutionCommand,
  GetWorkGroupCommand,
  InvalidRequestException,
  ListEngineVersionsCommand,
  ListQueryExecutionsCommand,
  ListWorkGroupsCommand,
  type WorkGroupSummary,
} from '@aws-sdk/client-athena'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { startLocalAthena } from '../../local/athena-server.ts'
import { serviceWorkGroups } from '../../local/embedded-stack.ts'
import { NO_OUTPUT_LOCATION_MESSAGE } from '../../local/output-location.ts'
import { readWorkGroupsFile } from '../../local/work-groups-file.ts'
import { loadCatalog } from '../../src/config/catalog.ts'
import { ValidationError } from '../../src/errors.ts'
import { type LocalAthenaFixture, startLocalAthenaFixture } from '../helpers/local-athena-fixture.ts'
import { rejection } from '../helpers/rejection.ts'

let f: LocalAthenaFixture
let startedAt: number

const ENGINE = { SelectedEngineVersion: 'AUTO', EffectiveEngineVersion: 'Athena engine version 3' }

beforeAll(async () => {
  startedAt = Date.now()
  f = await startLocalAthenaFixture({
    rows: 1_000,
    workGroups: [
      {
        name: 'analysts',
        description: 'Dashboards team',
        outputLocation: 's3://team-results/analysts/',
        enforceWorkGroupConfiguration: true,
        engineVersion: 'Athena engine version 3',
      },
      { name: 'adhoc', outputLocation: null, requesterPaysEnabled: true },
      { name: 'batch.jobs-2' },
    ],
  })
})

afterAll(async () => {
  await f?.close()
})

async function expectInvalidRequest(fn: () => Promise<unknown>, message: string): Promise<void> {
  const err = await rejection(fn)
  expect(err).toBeInstanceOf(InvalidRequestException)
  const e = err as InvalidRequestException
  expect(e.$metadata.httpStatusCode).toBe(400)
  expect(e.message).toBe(message)
  expect(e.AthenaErrorCode).toBe('INVALID_INPUT')
}

describe('GetWorkGroup and ListWorkGroups', () => {
  it('lists primary and the configured work groups in name order', async () => {
    const out = await f.client.send(new ListWorkGroupsCommand({}))
    const groups = out.WorkGroups ?? []
    expect(groups.map(({ CreationTime, ...rest }) => rest)).toEqual([
      { Name: 'adhoc', State: 'ENABLED', Description: '', EngineVersion: ENGINE },
      {
        Name: 'analysts',
        State: 'ENABLED',
        Description: 'Dashboards team',
        EngineVersion: {
          SelectedEngineVersion: 'Athena engine version 3',
          EffectiveEngineVersion: 'Athena engine version 3',
        },
      },
      { Name: 'batch.jobs-2', State: 'ENABLED', Description: '', EngineVersion: ENGINE },
      { Name: 'primary', State: 'ENABLED', Description: '', EngineVersion: ENGINE },
    ])
    for (const g of groups) expectStartTime(g.CreationTime)
    expect(out.NextToken).toBeUndefined()
  })

  it('pages with MaxResults 1; a token Athena did not issue is "malformed"', async () => {
    const names: string[] = []
    let token: string | undefined
    do {
      const page = await f.client.send(new ListWorkGroupsCommand({ MaxResults: 1, NextToken: token }))
      expect(page.WorkGroups).toHaveLength(1)
      names.push(...(page.WorkGroups ?? []).map((g: WorkGroupSummary) => g.Name ?? ''))
      token = page.NextToken
    } while (token)
    expect(names).toEqual(['adhoc', 'analysts', 'batch.jobs-2', 'primary'])
    await expectInvalidRequest(
      () => f.client.send(new ListWorkGroupsCommand({ NextToken: 'forged-token' })),
      'The nextPageToken is malformed: forged-token',
    )
    await expectInvalidRequest(
      () => f.client.send(new ListWorkGroupsCommand({ MaxResults: 51 })),
      "1 validation error detected: Value at 'MaxResults' failed to satisfy constraint: Member must have value less than or equal to 50",
    )
  })

  it('describes a work group as Athena does: configuration, and Description only when it has one', async () => {
    const analysts = (await f.client.send(new GetWorkGroupCommand({ WorkGroup: 'analysts' }))).WorkGroup
    expect(analysts).toEqual({
      Name: 'analysts',
      State: 'ENABLED',
      Description: 'Dashboards team',
      CreationTime: analysts?.CreationTime,
      Configuration: {
        ResultConfiguration: { OutputLocation: 's3://team-results/analysts/' },
        EnforceWorkGroupConfiguration: true,
        PublishCloudWatchMetricsEnabled: false,
        RequesterPaysEnabled: false,
        EngineVersion: {
          SelectedEngineVersion: 'Athena engine version 3',
          EffectiveEngineVersion: 'Athena engine version 3',
        },
        EnableMinimumEncryptionConfiguration: false,
      },
    })
    expectStartTime(analysts?.CreationTime)
    const primary = (await f.client.send(new GetWorkGroupCommand({ WorkGroup: 'primary' }))).WorkGroup
    expect(primary).not.toHaveProperty('Description')
    expect(primary?.Configuration).toEqual({
      ResultConfiguration: { OutputLocation: 's3://acp-local-results/athena/' },
      EnforceWorkGroupConfiguration: false,
      PublishCloudWatchMetricsEnabled: false,
      RequesterPaysEnabled: false,
      EngineVersion: ENGINE,
      EnableMinimumEncryptionConfiguration: false,
    })
    const adhoc = (await f.client.send(new GetWorkGroupCommand({ WorkGroup: 'adhoc' }))).WorkGroup
    expect(adhoc?.Configuration?.ResultConfiguration).toEqual({})
    expect(adhoc?.Configuration?.RequesterPaysEnabled).toBe(true)
  })

  it('lists the engine versions a work group can select', async () => {
    const out = await f.client.send(new ListEngineVersionsCommand({}))
    expect(out.EngineVersions).toEqual([
      ENGINE,
      { SelectedEngineVersion: 'Athena engine version 3', EffectiveEngineVersion: 'Athena engine version 3' },
    ])
    expect(out.NextToken).toBeUndefined()
    const first = await f.client.send(new ListEngineVersionsCommand({ MaxResults: 1 }))
    expect(first.EngineVersions).toEqual([ENGINE])
    const second = await f.client.send(
      new ListEngineVersionsCommand({ MaxResults: 1, NextToken: first.NextToken }),
    )
    expect(second.EngineVersions?.[0]?.SelectedEngineVersion).toBe('Athena engine version 3')
    expect(second.NextToken).toBeUndefined()
  })
})

describe('unknown work groups are refused', () => {
  it('by GetWorkGroup, StartQueryExecution and ListQueryExecutions, with Athena’s message', async () => {
    await expectInvalidRequest(
      () => f.client.send(new GetWorkGroupCommand({ WorkGroup: 'nope' })),
      'WorkGroup is not found.',
    )
    // Names are exact: Primary is not primary.
    await expectInvalidRequest(() => f.start('SELECT 1', { WorkGroup: 'Primary' }), 'WorkGroup is not found.')
    await expectInvalidRequest(
      () => f.client.send(new ListQueryExecutionsCommand({ WorkGroup: 'nope' })),
      'WorkGroup is not found.',
    )
    expect(f.local.stats().executionsStarted).toBe(0)
  })
})

describe('output locations', () => {
  const outputOf = async (id: string) =>
    (await f.client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))).QueryExecution
      ?.ResultConfiguration?.OutputLocation

  it('EnforceWorkGroupConfiguration: the work group’s location wins over the request’s', async () => {
    const enforced = await f.start('SELECT 1', {
      WorkGroup: 'analysts',
      ResultConfiguration: { OutputLocation: 's3://mine/results/' },
    })
    expect(await outputOf(enforced)).toBe(`s3://team-results/analysts/${enforced}.csv`)
    expect((await f.wait(enforced)).Status?.State).toBe('SUCCEEDED')
    const listed = await f.client.send(new ListQueryExecutionsCommand({ WorkGroup: 'analysts' }))
    expect(listed.QueryExecutionIds).toEqual([enforced])
  })

  it('without it the request’s location wins, else the work group’s', async () => {
    const requested = await f.start('SELECT 1', {
      WorkGroup: 'batch.jobs-2',
      ResultConfiguration: { OutputLocation: 's3://mine/results/' },
    })
    expect(await outputOf(requested)).toBe(`s3://mine/results/${requested}.csv`)
    const defaulted = await f.start('SELECT 1', { WorkGroup: 'batch.jobs-2' })
    expect(await outputOf(defaulted)).toBe(`s3://acp-local-results/athena/${defaulted}.csv`)
  })

  it('a work group without a location needs one in the request', async () => {
    await expectInvalidRequest(() => f.start('SELECT 1', { WorkGroup: 'adhoc' }), NO_OUTPUT_LOCATION_MESSAGE)
    const id = await f.start('SELECT 1', {
      WorkGroup: 'adhoc',
      ResultConfiguration: { OutputLocation: 's3://mine/adhoc/' },
    })
    expect(await outputOf(id)).toBe(`s3://mine/adhoc/${id}.csv`)
  })
})

describe('configuration', () => {
  it('refuses bad work groups before anything starts', async () => {
    const dataDir = inject('dataDir')
    await expect(startLocalAthena({ dataDir, workGroups: [{ name: 'a' }, { name: 'a' }] })).rejects.toThrow(
      'work group a is configured twice',
    )
    await expect(startLocalAthena({ dataDir, workGroups: [{ name: 'bad name' }] })).rejects.toThrow(
      ValidationError,
    )
    await expect(
      startLocalAthena({ dataDir, workGroups: [{ name: 'x', outputLocation: 'results/' }] }),
    ).rejects.toThrow('work group x: outputLocation must be s3://<bucket>/<prefix>/, got results/')
  })

  it('reads the work groups of `acp local-athena --work-groups` from YAML or JSON', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'work-groups-'))
    try {
      const yaml = path.join(dir, 'wg.yaml')
      await writeFile(
        yaml,
        'workGroups:\n  - name: team\n    enforceWorkGroupConfiguration: true\n    outputLocation: null\n',
      )
      expect(await readWorkGroupsFile(yaml)).toEqual([
        { name: 'team', enforceWorkGroupConfiguration: true, outputLocation: null },
      ])
      const json = path.join(dir, 'wg.json')
      await writeFile(json, JSON.stringify([{ name: 'a', description: 'A' }]))
      expect(await readWorkGroupsFile(json)).toEqual([{ name: 'a', description: 'A' }])
      const bad = path.join(dir, 'bad.yaml')
      await writeFile(bad, '- name: a\n  colour: blue\n')
      await expect(readWorkGroupsFile(bad)).rejects.toThrow(/bad\.yaml: work group a: .*colour/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('the embedded stack creates the service’s work group and those its queries name', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'work-groups-config-'))
    try {
      await writeFile(
        path.join(dir, 'queries.yaml'),
        [
          'queries:',
          '  daily:',
          '    description: d',
          '    ttlSeconds: 60',
          '    workgroup: batch',
          '    sql: SELECT 1',
          '  plain:',
          '    description: p',
          '    ttlSeconds: 60',
          '    sql: SELECT 2',
          '',
        ].join('\n'),
      )
      const catalog = await loadCatalog(dir)
      expect(serviceWorkGroups({ athena: { workgroup: 'dashboards' }, catalog })).toEqual([
        'batch',
        'dashboards',
      ])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

function expectStartTime(time: Date | undefined): void {
  expect(time).toBeInstanceOf(Date)
  expect(time?.getTime()).toBeGreaterThanOrEqual(startedAt - 1)
  expect(time?.getTime()).toBeLessThanOrEqual(Date.now())
}

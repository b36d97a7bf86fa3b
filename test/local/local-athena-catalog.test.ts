import { mkdir, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import {
  type AthenaServiceException,
  GetDatabaseCommand,
  GetDataCatalogCommand,
  GetTableMetadataCommand,
  InvalidRequestException,
  ListDatabasesCommand,
  ListDataCatalogsCommand,
  ListTableMetadataCommand,
  type ListTableMetadataCommandInput,
  MetadataException,
  type TableMetadata,
} from '@aws-sdk/client-athena'
import { DuckDBInstance } from '@duckdb/node-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compileTableNamePattern } from '../../local/table-name-pattern.ts'
import { type LocalAthenaFixture, startLocalAthenaFixture } from '../helpers/local-athena-fixture.ts'
import { rejection } from '../helpers/rejection.ts'

let f: LocalAthenaFixture

const CATALOG = 'AwsDataCatalog'
const ENTITY_NOT_FOUND_TAIL =
  / \(Service: AmazonDataCatalog; Status Code: 400; Error Code: EntityNotFoundException; Request ID: [0-9a-f-]{36}; Proxy: null\)$/

/** Writes `select` as Parquet at `<dataDir>/<relative>` with DuckDB, as a producer of the data would. */
async function writeParquet(relative: string, select: string): Promise<void> {
  const file = path.join(f.dataDir, relative)
  await mkdir(path.dirname(file), { recursive: true })
  const instance = await DuckDBInstance.create(':memory:')
  const conn = await instance.connect()
  try {
    await conn.run(`COPY (${select}) TO '${file}' (FORMAT parquet)`)
  } finally {
    conn.closeSync()
    instance.closeSync()
  }
}

beforeAll(async () => {
  f = await startLocalAthenaFixture({ rows: 1_000 })
  // A second database ("Lab": Glue lower-cases names) with a table of every kind of type, partitioned by region.
  const events = `SELECT CAST(1 AS BIGINT) AS id, CAST(2 AS INTEGER) AS "UserId", CAST(3 AS SMALLINT) AS small,
      CAST(1.5 AS FLOAT) AS ratio, CAST(2.5 AS DOUBLE) AS score, CAST(12.34 AS DECIMAL(10,2)) AS price,
      true AS flag, DATE '2024-01-02' AS day, TIMESTAMP '2024-01-02 03:04:05' AS at, 'x'::BLOB AS raw,
      ['a', 'b'] AS tags, MAP(['k'], [CAST(1 AS INTEGER)]) AS attrs, {'x': 1.0::DOUBLE, 'y': 2.0::DOUBLE} AS point,
      {'name': 'n', 'scores': [CAST(1 AS BIGINT)]} AS nested`
  await writeParquet('Lab/events_v2/region=eu/part-0.parquet', events)
  await writeParquet('Lab/events_v2/region=us/part-0.parquet', events)
  await writeParquet('Lab/events_v1/part-0.parquet', 'SELECT 1 AS id')
  await writeParquet('Lab/metrics/part-0.parquet', 'SELECT 1 AS id')
  await writeFile(
    path.join(f.dataDir, 'Lab', '_database.json'),
    JSON.stringify({ description: 'Experiments' }),
  )
  await writeFile(
    path.join(f.dataDir, 'Lab', 'events_v2', '_table.json'),
    JSON.stringify({ comment: 'Events, second layout', columns: { UserId: 'Who', region: 'Where' } }),
  )
  await f.local.refresh()
})

afterAll(async () => {
  await f?.close()
})

async function expectError<T extends AthenaServiceException>(
  type: new (...args: never[]) => T,
  fn: () => Promise<unknown>,
  message: string | RegExp,
): Promise<T> {
  const err = await rejection(fn)
  expect(err).toBeInstanceOf(type)
  const e = err as T
  expect(e.$metadata.httpStatusCode).toBe(400)
  if (typeof message === 'string') expect(e.message).toBe(message)
  else expect(e.message).toMatch(message)
  return e
}

/** Every page of a listing with MaxResults 1, asserting each page holds one item and only the last lacks a token. */
async function walk<T>(fetchPage: (token: string | undefined) => Promise<{ items: T[]; next?: string }>) {
  const all: T[] = []
  let token: string | undefined
  do {
    const page = await fetchPage(token)
    expect(page.items).toHaveLength(1)
    all.push(...page.items)
    token = page.next
  } while (token)
  return all
}

describe('data catalogs', () => {
  it('lists AwsDataCatalog, of type GLUE, and nothing else', async () => {
    const out = await f.client.send(new ListDataCatalogsCommand({}))
    expect(out.DataCatalogsSummary).toEqual([{ CatalogName: CATALOG, Type: 'GLUE' }])
    expect(out.NextToken).toBeUndefined()
    await expectError(
      InvalidRequestException,
      () => f.client.send(new ListDataCatalogsCommand({ MaxResults: 1 })),
      "1 validation error detected: Value at 'MaxResults' failed to satisfy constraint: Member must have value greater than or equal to 2",
    )
  })

  it('GetDataCatalog describes no catalog: Athena does not describe the built-in one either', async () => {
    for (const name of [CATALOG, 'awsdatacatalog', 'hive']) {
      const e = await expectError(
        InvalidRequestException,
        () => f.client.send(new GetDataCatalogCommand({ Name: name })),
        `DataCatalog ${name} was not found.`,
      )
      expect(e.AthenaErrorCode).toBe('INVALID_INPUT')
    }
  })
})

describe('databases', () => {
  it('lists every database, lower-cased, in name order, with descriptions', async () => {
    const out = await f.client.send(new ListDatabasesCommand({ CatalogName: CATALOG }))
    expect(out.DatabaseList).toEqual([
      { Name: 'analytics' },
      { Name: 'default' },
      { Name: 'lab', Description: 'Experiments' },
    ])
    expect(out.NextToken).toBeUndefined()
  })

  it('pages with MaxResults 1 through every database, and the catalog name ignores case', async () => {
    const names = await walk(async (token) => {
      const page = await f.client.send(
        new ListDatabasesCommand({ CatalogName: 'awsdatacatalog', MaxResults: 1, NextToken: token }),
      )
      return { items: (page.DatabaseList ?? []).map((d) => d.Name), next: page.NextToken }
    })
    expect(names).toEqual(['analytics', 'default', 'lab'])
  })

  it('refuses another catalog, a page size over 50 and a foreign token', async () => {
    await expectError(
      InvalidRequestException,
      () => f.client.send(new ListDatabasesCommand({ CatalogName: 'hive' })),
      'DataCatalog hive was not found.',
    )
    await expectError(
      InvalidRequestException,
      () => f.client.send(new ListDatabasesCommand({ CatalogName: CATALOG, MaxResults: 51 })),
      "1 validation error detected: Value at 'MaxResults' failed to satisfy constraint: Member must have value less than or equal to 50",
    )
    const tables = await f.client.send(
      new ListTableMetadataCommand({ CatalogName: CATALOG, DatabaseName: 'lab', MaxResults: 1 }),
    )
    await expectError(
      InvalidRequestException,
      () => f.client.send(new ListDatabasesCommand({ CatalogName: CATALOG, NextToken: tables.NextToken })),
      'Invalid NextToken',
    )
  })

  it('gets one database by any case; an unknown one is a MetadataException with Glue’s words', async () => {
    const out = await f.client.send(new GetDatabaseCommand({ CatalogName: CATALOG, DatabaseName: 'LAB' }))
    expect(out.Database).toEqual({ Name: 'lab', Description: 'Experiments' })
    const plain = await f.client.send(
      new GetDatabaseCommand({ CatalogName: CATALOG, DatabaseName: 'analytics' }),
    )
    expect(plain.Database).toEqual({ Name: 'analytics' })
    await expectError(
      MetadataException,
      () => f.client.send(new GetDatabaseCommand({ CatalogName: CATALOG, DatabaseName: 'nope' })),
      new RegExp(`^Database nope not found\\.${ENTITY_NOT_FOUND_TAIL.source}`),
    )
    await expectError(
      InvalidRequestException,
      () => f.client.send(new GetDatabaseCommand({ CatalogName: 'other', DatabaseName: 'lab' })),
      'DataCatalog other was not found.',
    )
  })
})

describe('table metadata', () => {
  const SAMPLE_PARAMETERS = {
    EXTERNAL: 'TRUE',
    classification: 'parquet',
    'parquet.compression': 'SNAPPY',
    inputformat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
    outputformat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
    location: 's3://acp-local-data/analytics/analytics/',
    'serde.serialization.lib': 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
    comment: 'Synthetic web analytics events, one row per event',
  }

  it('describes the sample table: Hive types, comments from _table.json, the partition key, Glue parameters', async () => {
    const out = await f.client.send(
      new GetTableMetadataCommand({
        CatalogName: CATALOG,
        DatabaseName: 'analytics',
        TableName: 'Analytics',
      }),
    )
    const table = out.TableMetadata as TableMetadata
    expect(table).toEqual({
      Name: 'analytics',
      CreateTime: table.CreateTime,
      TableType: 'EXTERNAL_TABLE',
      Columns: [
        { Name: 'event_time', Type: 'timestamp', Comment: 'When the event happened (UTC)' },
        { Name: 'measure', Type: 'string', Comment: 'pageviews, sessions, signups or revenue' },
        { Name: 'value', Type: 'double', Comment: '1 per event; the amount in USD for revenue' },
        { Name: 'page', Type: 'string', Comment: 'Path of the page' },
        { Name: 'country', Type: 'string', Comment: 'ISO 3166-1 alpha-2 code; NULL when unknown' },
        { Name: 'device', Type: 'string', Comment: 'desktop, mobile or tablet' },
      ],
      PartitionKeys: [{ Name: 'dt', Type: 'string', Comment: 'Day of event_time, YYYY-MM-DD (partition)' }],
      Parameters: SAMPLE_PARAMETERS,
    })
    // A timestamp on the wire (epoch seconds): the SDK hands back a Date, the table directory's mtime.
    const mtime = (await stat(path.join(f.dataDir, 'analytics', 'analytics'))).mtimeMs
    expect(table.CreateTime).toBeInstanceOf(Date)
    expect(Math.abs((table.CreateTime?.getTime() ?? 0) - Math.floor(mtime))).toBeLessThanOrEqual(1)
  })

  it('names nested and other types as Glue stores them', async () => {
    const out = await f.client.send(
      new GetTableMetadataCommand({ CatalogName: CATALOG, DatabaseName: 'Lab', TableName: 'events_v2' }),
    )
    expect(out.TableMetadata?.Name).toBe('events_v2')
    expect(out.TableMetadata?.Columns).toEqual([
      { Name: 'id', Type: 'bigint' },
      { Name: 'userid', Type: 'int', Comment: 'Who' },
      { Name: 'small', Type: 'smallint' },
      { Name: 'ratio', Type: 'float' },
      { Name: 'score', Type: 'double' },
      { Name: 'price', Type: 'decimal(10,2)' },
      { Name: 'flag', Type: 'boolean' },
      { Name: 'day', Type: 'date' },
      { Name: 'at', Type: 'timestamp' },
      { Name: 'raw', Type: 'binary' },
      { Name: 'tags', Type: 'array<string>' },
      { Name: 'attrs', Type: 'map<string,int>' },
      { Name: 'point', Type: 'struct<x:double,y:double>' },
      { Name: 'nested', Type: 'struct<name:string,scores:array<bigint>>' },
    ])
    expect(out.TableMetadata?.PartitionKeys).toEqual([{ Name: 'region', Type: 'string', Comment: 'Where' }])
    expect(out.TableMetadata?.Parameters).toMatchObject({
      location: 's3://acp-local-data/Lab/events_v2/',
      comment: 'Events, second layout',
    })
  })

  it('an unknown table, database or catalog answers as Athena does', async () => {
    await expectError(
      MetadataException,
      () =>
        f.client.send(
          new GetTableMetadataCommand({ CatalogName: CATALOG, DatabaseName: 'lab', TableName: 'nope' }),
        ),
      new RegExp(`^Entity Not Found${ENTITY_NOT_FOUND_TAIL.source}`),
    )
    await expectError(
      MetadataException,
      () =>
        f.client.send(
          new GetTableMetadataCommand({ CatalogName: CATALOG, DatabaseName: 'nope', TableName: 'x' }),
        ),
      new RegExp(`^Database nope not found\\.${ENTITY_NOT_FOUND_TAIL.source}`),
    )
    await expectError(
      InvalidRequestException,
      () =>
        f.client.send(
          new GetTableMetadataCommand({ CatalogName: 'hive', DatabaseName: 'lab', TableName: 'metrics' }),
        ),
      'DataCatalog hive was not found.',
    )
  })

  const list = async (input: Omit<ListTableMetadataCommandInput, 'CatalogName'>) =>
    f.client.send(new ListTableMetadataCommand({ CatalogName: CATALOG, ...input }))

  it('lists a database’s tables in name order, each described in full', async () => {
    const out = await list({ DatabaseName: 'lab' })
    expect(out.TableMetadataList?.map((t) => t.Name)).toEqual(['events_v1', 'events_v2', 'metrics'])
    expect(out.TableMetadataList?.[0]).toMatchObject({
      Name: 'events_v1',
      TableType: 'EXTERNAL_TABLE',
      Columns: [{ Name: 'id', Type: 'int' }],
      PartitionKeys: [],
    })
    expect(out.NextToken).toBeUndefined()
    const sample = await list({ DatabaseName: 'ANALYTICS' })
    expect(sample.TableMetadataList?.map((t) => t.Name)).toEqual(['analytics'])
    expect((await list({ DatabaseName: 'default' })).TableMetadataList).toEqual([])
  })

  it('pages with MaxResults 1, and a token is bound to its database and filter', async () => {
    const names = await walk(async (token) => {
      const page = await list({ DatabaseName: 'lab', MaxResults: 1, NextToken: token })
      return { items: (page.TableMetadataList ?? []).map((t) => t.Name), next: page.NextToken }
    })
    expect(names).toEqual(['events_v1', 'events_v2', 'metrics'])
    const first = await list({ DatabaseName: 'lab', MaxResults: 1 })
    await expectError(
      InvalidRequestException,
      () => list({ DatabaseName: 'lab', Expression: 'events*', NextToken: first.NextToken }),
      'Invalid NextToken',
    )
  })

  it('filters with Expression the way Glue reads it', async () => {
    const names = async (Expression: string) =>
      (await list({ DatabaseName: 'lab', Expression })).TableMetadataList?.map((t) => t.Name)
    expect(await names('events*')).toEqual(['events_v1', 'events_v2'])
    expect(await names('events.*')).toEqual(['events_v1', 'events_v2'])
    expect(await names('EVENTS_V1|metrics')).toEqual(['events_v1', 'metrics'])
    expect(await names('events_v.')).toEqual(['events_v1', 'events_v2'])
    expect(await names('.*2')).toEqual(['events_v2'])
    expect(await names('events')).toEqual([])
    expect(await names('^metrics$')).toEqual(['metrics'])
    expect(await names('')).toEqual(['events_v1', 'events_v2', 'metrics'])
    await expectError(
      InvalidRequestException,
      () => list({ DatabaseName: 'lab', Expression: 'events_(v1|v2)' }),
      /^Expression events_\(v1\|v2\) uses '\(', which the local endpoint does not support/,
    )
    await expectError(
      InvalidRequestException,
      () => list({ DatabaseName: 'lab', Expression: 'x'.repeat(257) }),
      "1 validation error detected: Value at 'Expression' failed to satisfy constraint: Member must have length less than or equal to 256",
    )
  })

  it('lists nothing for an unknown database: a MetadataException', async () => {
    await expectError(
      MetadataException,
      () => list({ DatabaseName: 'nope' }),
      new RegExp(`^Database nope not found\\.${ENTITY_NOT_FOUND_TAIL.source}`),
    )
  })
})

describe('request validation', () => {
  const post = async (target: string, body: unknown) => {
    const res = await fetch(f.local.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `AmazonAthena.${target}` },
      body: JSON.stringify(body),
    })
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  }

  it('answers as Athena’s front end: wrong JSON types, null members, missing members', async () => {
    expect(await post('ListDatabases', { CatalogName: CATALOG, MaxResults: '1' })).toEqual({
      status: 400,
      body: { __type: 'SerializationException', Message: 'STRING_VALUE can not be converted to an Integer' },
    })
    expect(await post('GetDatabase', { CatalogName: 5, DatabaseName: 'lab' })).toEqual({
      status: 400,
      body: { __type: 'SerializationException', Message: 'NUMBER_VALUE can not be converted to a String' },
    })
    expect(await post('GetDatabase', { CatalogName: CATALOG, DatabaseName: ['lab'] })).toMatchObject({
      body: { __type: 'SerializationException', Message: 'Start of list found where not expected' },
    })
    expect(await post('ListDatabases', {})).toEqual({
      status: 400,
      body: {
        __type: 'InvalidRequestException',
        AthenaErrorCode: 'INVALID_INPUT',
        Message:
          "1 validation error detected: Value null at 'CatalogName' failed to satisfy constraint: Member must not be null",
      },
    })
    // A null member is an absent one.
    const listed = await post('ListDatabases', { CatalogName: CATALOG, NextToken: null, MaxResults: null })
    expect(listed.status).toBe(200)
    expect((listed.body.DatabaseList as unknown[]).length).toBe(3)
  })
})

describe('table name patterns', () => {
  it.each([
    ['events*', 'events_v1', true],
    ['events*', 'xevents', false],
    ['*v1', 'events_v1', true],
    ['e*s*v*1', 'events_v1', true],
    ['e.ents_v1', 'events_v1', true],
    ['events\\_v1', 'events_v1', true],
    ['events\\.v1', 'events_v1', false],
    ['events\\.v1', 'events.v1', true],
    ['a|b|events_v1', 'events_v1', true],
    ['Events_V1', 'events_v1', true],
    ['events_v1', 'EVENTS_V1', true],
    ['*', '', true],
    ['.', '', false],
  ])('%s against %s is %s', (pattern, name, expected) => {
    expect(compileTableNamePattern(pattern)(name)).toBe(expected)
  })

  it('stays fast on a pattern built to make a backtracking matcher explode', () => {
    const pattern = `${'*a'.repeat(120)}b`.slice(0, 256)
    const name = 'a'.repeat(128)
    const started = performance.now()
    expect(compileTableNamePattern(pattern)(name)).toBe(false)
    expect(performance.now() - started).toBeLessThan(100)
  })
})

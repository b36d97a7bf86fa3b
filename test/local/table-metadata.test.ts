// The catalog the local Athena endpoint describes its tables with: columns in Trino's and Hive's type names,
// partitions from the directory layout, comments from the optional sidecar files.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DuckDBEngine } from '../../local/duckdb-engine.ts'
import { sqlString } from '../../local/table-catalog.ts'

let dataDir: string
let engine: DuckDBEngine
const warnings: Array<{ file?: string; reason?: string }> = []

async function copyParquet(select: string, target: string, partitionBy?: string): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:')
  const conn = await instance.connect()
  try {
    await mkdir(path.dirname(target), { recursive: true })
    const options = partitionBy
      ? `FORMAT parquet, PARTITION_BY (${partitionBy}), OVERWRITE_OR_IGNORE`
      : 'FORMAT parquet'
    await conn.run(`COPY (${select}) TO ${sqlString(target)} (${options})`)
  } finally {
    conn.closeSync()
    instance.closeSync()
  }
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'acp-table-metadata-'))
  await copyParquet(
    `SELECT 1::INTEGER AS i, 2::BIGINT AS b, 3::SMALLINT AS s, 4::TINYINT AS t, 1.5::FLOAT AS f, 2.5::DOUBLE AS d,
       12.34::DECIMAL(10,2) AS dec, DATE '2024-01-01' AS day, TIMESTAMP '2024-01-01 10:00:00' AS ts,
       TIMESTAMPTZ '2024-01-01 10:00:00+00' AS tstz, 'x' AS v, true AS flag, '\\x0A'::BLOB AS bin,
       [1, 2] AS arr, {'a': 1, 'b': 'x'} AS st, MAP {'k': 1.5} AS m, 'eu' AS region, '2024-01-01' AS dt`,
    path.join(dataDir, 'typed', 'wide'),
    'region, dt',
  )
  await copyParquet(`SELECT 'x' AS name`, path.join(dataDir, 'typed', 'flat', 'part-0.parquet'))
  await copyParquet(
    `SELECT 'x' AS name, 'us' AS region, '2024-01-02' AS dt`,
    path.join(dataDir, 'typed', 'wide-more'),
    'region, dt',
  )
  await writeFile(
    path.join(dataDir, 'typed', 'wide', '_table.json'),
    JSON.stringify({ comment: 'Wide table', columns: { i: 'an int', dt: 'the day' } }),
  )
  await writeFile(path.join(dataDir, 'typed', 'flat', '_table.json'), '{"columns": {"name": 5}}')
  await writeFile(path.join(dataDir, 'typed', '_database.json'), '{"description": "Typed tables"}')
  engine = await DuckDBEngine.create(dataDir, {
    info: () => undefined,
    warn: (o: { file?: string; reason?: string }) => warnings.push(o),
  })
})

afterAll(async () => {
  engine?.close()
  await rm(dataDir, { recursive: true, force: true })
})

describe('table metadata of the data directory', () => {
  it('lists the databases, default included, with their descriptions', () => {
    expect(engine.catalog().databases).toEqual([
      { name: 'default', description: undefined },
      { name: 'typed', description: 'Typed tables' },
    ])
  })

  it('names every column type as Trino and as Hive (Glue) do, partition keys apart', () => {
    const wide = engine.catalog().tables.find((t) => t.name === 'wide')
    expect(wide?.columns.map((c) => [c.name, c.trinoType, c.hiveType, c.comment])).toEqual([
      ['i', 'integer', 'int', 'an int'],
      ['b', 'bigint', 'bigint', undefined],
      ['s', 'smallint', 'smallint', undefined],
      ['t', 'tinyint', 'tinyint', undefined],
      ['f', 'real', 'float', undefined],
      ['d', 'double', 'double', undefined],
      ['dec', 'decimal(10,2)', 'decimal(10,2)', undefined],
      ['day', 'date', 'date', undefined],
      ['ts', 'timestamp(3)', 'timestamp', undefined],
      ['tstz', 'timestamp(3) with time zone', 'timestamp', undefined],
      ['v', 'varchar', 'string', undefined],
      ['flag', 'boolean', 'boolean', undefined],
      ['bin', 'varbinary', 'binary', undefined],
      ['arr', 'array(integer)', 'array<int>', undefined],
      ['st', 'row(a integer, b varchar)', 'struct<a:int,b:string>', undefined],
      ['m', 'map(varchar, decimal(2,1))', 'map<string,decimal(2,1)>', undefined],
    ])
    expect(wide?.partitionKeys).toEqual([
      { name: 'region', trinoType: 'varchar', hiveType: 'string', comment: undefined },
      { name: 'dt', trinoType: 'varchar', hiveType: 'string', comment: 'the day' },
    ])
    expect(wide?.partitions).toEqual([['eu', '2024-01-01']])
    expect(wide?.comment).toBe('Wide table')
    expect(wide?.location).toBe('s3://acp-local-data/typed/wide/')
    expect(wide?.parameters).toMatchObject({
      classification: 'parquet',
      comment: 'Wide table',
      EXTERNAL: 'TRUE',
    })
    expect(Number.isInteger(wide?.createTime)).toBe(true)
  })

  it('a table without partitions has none; an invalid sidecar is reported and ignored', () => {
    const flat = engine.catalog().tables.find((t) => t.name === 'flat')
    expect(flat?.partitionKeys).toEqual([])
    expect(flat?.partitions).toEqual([])
    expect(flat?.columns).toEqual([
      { name: 'name', trinoType: 'varchar', hiveType: 'string', comment: undefined },
    ])
    expect(flat?.comment).toBeUndefined()
    expect(warnings.map((w) => path.basename(w.file ?? ''))).toContain('_table.json')
  })

  it('sees partitions added on disk after a refresh', async () => {
    await copyParquet(
      `SELECT 'y' AS name, 'eu' AS region, '2024-01-03' AS dt`,
      path.join(dataDir, 'typed', 'wide-more'),
      'region, dt',
    )
    expect(engine.catalog().tables.find((t) => t.name === 'wide-more')?.partitions).toEqual([
      ['us', '2024-01-02'],
    ])
    await engine.refresh()
    expect(engine.catalog().tables.find((t) => t.name === 'wide-more')?.partitions).toEqual([
      ['eu', '2024-01-03'],
      ['us', '2024-01-02'],
    ])
  })
})

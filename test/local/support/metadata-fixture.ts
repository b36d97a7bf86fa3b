import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { ColumnInfo, QueryExecution } from '@aws-sdk/client-athena'
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { DuckDBInstance } from '@duckdb/node-api'
import { expect } from 'vitest'
import { type LocalAthenaFixture, startLocalAthenaFixture } from '../../helpers/local-athena-fixture.ts'
import { localS3Client, splitS3Uri } from './local-s3-stack.ts'

/** The sample table `analytics.analytics` plus database `sales`: `orders` (two partition keys) and `customers` (none). */
export interface MetadataFixture {
  f: LocalAthenaFixture
  s3: S3Client
  close(): Promise<void>
}

/** Starts an endpoint over fresh sample data with the `sales` tables written beside it by DuckDB. */
export async function startMetadataFixture(): Promise<MetadataFixture> {
  const f = await startLocalAthenaFixture({ rows: 2_000 })
  try {
    await writeSalesTables(f.dataDir)
    await f.local.refresh()
  } catch (err) {
    await f.close()
    throw err
  }
  const s3 = localS3Client(f.local.endpoint)
  return {
    f,
    s3,
    async close() {
      s3.destroy()
      await f.close()
    },
  }
}

async function writeSalesTables(dataDir: string): Promise<void> {
  const sales = path.join(dataDir, 'sales')
  const orders = path.join(sales, 'orders')
  const customers = path.join(sales, 'customers')
  await mkdir(customers, { recursive: true })
  const instance = await DuckDBInstance.create(':memory:')
  const conn = await instance.connect()
  try {
    await conn.run(`COPY (
        SELECT i::BIGINT AS id, (i * 2.5)::DECIMAL(10,2) AS amount, i::INTEGER AS qty,
          TIMESTAMP '2024-01-02 03:04:05' + INTERVAL (i) HOUR AS ts, ['a', 'b'] AS tags,
          {'a': i::INTEGER, 'b': 'x'} AS attrs,
          CASE WHEN i % 2 = 0 THEN 'eu' ELSE 'us' END AS region,
          CASE WHEN i < 3 THEN '2024-01-02' ELSE '2024-01-03' END AS day
        FROM range(6) t(i)
      ) TO '${orders}' (FORMAT parquet, PARTITION_BY (region, day))`)
    await conn.run(`COPY (SELECT i::INTEGER AS customer_id, 'c' || i AS name FROM range(3) t(i))
      TO '${path.join(customers, 'part-0.parquet')}' (FORMAT parquet)`)
  } finally {
    conn.closeSync()
    instance.closeSync()
  }
  await writeFile(
    path.join(orders, '_table.json'),
    JSON.stringify({
      comment: "Orders; one row per order, it's VAT included",
      columns: { amount: 'Total in EUR', region: 'Sales region' },
    }),
  )
}

/** One datum per row: the rows' VarCharValues (every row of these statements has exactly one). */
export function lines(values: readonly (string | null)[][]): string[] {
  return values.map((row) => {
    expect(row).toHaveLength(1)
    return row[0] ?? ''
  })
}

/** The ColumnInfo Athena reports for the columns of a Hive DDL statement's result. */
export function stringColumns(...names: string[]): ColumnInfo[] {
  return names.map((name) => ({
    CatalogName: 'hive',
    SchemaName: '',
    TableName: '',
    Name: name,
    Label: name,
    Type: 'string',
    Precision: 0,
    Scale: 0,
    Nullable: 'UNKNOWN',
    CaseSensitive: false,
  }))
}

/** The execution's result object, read through the S3 API. */
export async function resultObject(
  s3: S3Client,
  execution: QueryExecution,
): Promise<{ key: string; text: string }> {
  const { bucket, key } = splitS3Uri(execution.ResultConfiguration?.OutputLocation ?? '')
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
  return { key, text: (await out.Body?.transformToString()) ?? '' }
}

import { InvalidRequestException } from '@aws-sdk/client-athena'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rejection } from '../helpers/rejection.ts'
import {
  lines,
  type MetadataFixture,
  resultObject,
  startMetadataFixture,
  stringColumns,
} from './support/metadata-fixture.ts'

let m: MetadataFixture

beforeAll(async () => {
  m = await startMetadataFixture()
})

afterAll(async () => {
  await m?.close()
})

/** Runs a statement (context database `analytics` unless given) and returns its rows as lines. */
async function show(sql: string, database?: string): Promise<string[]> {
  const r = await m.f.query(sql, database ? { QueryExecutionContext: { Database: database } } : {})
  return lines(r.values)
}

async function failed(sql: string): Promise<string | undefined> {
  const execution = await m.f.wait(await m.f.start(sql))
  expect(execution.Status?.State).toBe('FAILED')
  expect(execution.Status?.AthenaError).toMatchObject({ ErrorCategory: 2, ErrorType: 1006, Retryable: false })
  expect(execution.Status?.AthenaError?.ErrorMessage).toBe(execution.Status?.StateChangeReason)
  return execution.Status?.StateChangeReason
}

const ANALYTICS_DDL = [
  'CREATE EXTERNAL TABLE `analytics`.`analytics`(',
  "  `event_time` timestamp COMMENT 'When the event happened (UTC)', ",
  "  `measure` string COMMENT 'pageviews, sessions, signups or revenue', ",
  "  `value` double COMMENT '1 per event\\; the amount in USD for revenue', ",
  "  `page` string COMMENT 'Path of the page', ",
  "  `country` string COMMENT 'ISO 3166-1 alpha-2 code\\; NULL when unknown', ",
  "  `device` string COMMENT 'desktop, mobile or tablet')",
  "COMMENT 'Synthetic web analytics events, one row per event'",
  'PARTITIONED BY ( ',
  "  `dt` string COMMENT 'Day of event_time, YYYY-MM-DD (partition)')",
  'ROW FORMAT SERDE ',
  "  'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' ",
  'STORED AS INPUTFORMAT ',
  "  'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat' ",
  'OUTPUTFORMAT ',
  "  'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat'",
  'LOCATION',
  "  's3://acp-local-data/analytics/analytics/'",
  'TBLPROPERTIES (',
  "  'classification'='parquet', ",
  "  'parquet.compression'='SNAPPY')",
]

const ANALYTICS_DESCRIBE = [
  'event_time          \ttimestamp           \tWhen the event happened (UTC)',
  'measure             \tstring              \tpageviews, sessions, signups or revenue',
  'value               \tdouble              \t1 per event; the amount in USD for revenue',
  'page                \tstring              \tPath of the page    ',
  'country             \tstring              \tISO 3166-1 alpha-2 code; NULL when unknown',
  'device              \tstring              \tdesktop, mobile or tablet',
  'dt                  \tstring              \tDay of event_time, YYYY-MM-DD (partition)',
  '',
  '# Partition Information',
  '# col_name            \tdata_type           \tcomment             \t',
  '',
  'dt                  \tstring              \tDay of event_time, YYYY-MM-DD (partition)',
]

describe('results of SHOW and DESCRIBE', () => {
  it.each([
    ['SHOW DATABASES', 'SHOW_DATABASES', ['database_name'], ['analytics', 'default', 'sales']],
    ['SHOW TABLES', 'SHOW_TABLES', ['tab_name'], ['analytics']],
    [
      'SHOW COLUMNS IN analytics',
      'SHOW_COLUMNS',
      ['field'],
      ['event_time', 'measure', 'value', 'page', 'country', 'device', 'dt'].map((c) => c.padEnd(20)),
    ],
    ['SHOW CREATE TABLE analytics', 'SHOW_CREATE_TABLE', ['createtab_stmt'], ANALYTICS_DDL],
    ['DESCRIBE analytics', 'DESCRIBE', ['col_name', 'data_type', 'comment'], ANALYTICS_DESCRIBE],
    [
      'SHOW TBLPROPERTIES analytics',
      'SHOW_TBLPROPERTIES',
      ['prpt_name', 'prpt_value'],
      [
        'EXTERNAL\tTRUE',
        'classification\tparquet',
        'comment\tSynthetic web analytics events, one row per event',
        'parquet.compression\tSNAPPY',
      ],
    ],
    ['SHOW VIEWS', 'SHOW_VIEWS', ['views'], []],
  ])(
    '%s: UTILITY rows without a header, string columns, the same lines in <id>.txt',
    async (sql, sub, names, expected) => {
      const r = await m.f.query(sql)
      expect(r.execution).toMatchObject({ StatementType: 'UTILITY', SubstatementType: sub })
      expect(r.execution.Statistics?.DataScannedInBytes).toBe(0)
      expect(r.resultSet.ResultSetMetadata?.ColumnInfo).toEqual(stringColumns(...names))
      expect(lines(r.values)).toEqual(expected)
      const file = await resultObject(m.s3, r.execution)
      expect(file.key).toBe(`athena/${r.id}.txt`)
      expect(file.text).toBe(expected.map((line) => `${line}\n`).join(''))
    },
  )

  it('SHOW PARTITIONS lists key=value paths, sorted', async () => {
    const partitions = await show('SHOW PARTITIONS analytics')
    expect(partitions).toHaveLength(91)
    expect(partitions.slice(0, 2)).toEqual(['dt=2024-01-01', 'dt=2024-01-02'])
    expect(partitions.at(-1)).toBe('dt=2024-03-31')
    expect(await show('SHOW PARTITIONS sales.orders')).toEqual([
      'region=eu/day=2024-01-02',
      'region=eu/day=2024-01-03',
      'region=us/day=2024-01-02',
      'region=us/day=2024-01-03',
    ])
  })

  it('DESCRIBE gives Hive types, partition keys in both sections, and one column on request', async () => {
    expect(await show('DESCRIBE sales.orders')).toEqual([
      'id                  \tbigint              \t                    ',
      'amount              \tdecimal(10,2)       \tTotal in EUR        ',
      'qty                 \tint                 \t                    ',
      'ts                  \ttimestamp           \t                    ',
      'tags                \tarray<string>       \t                    ',
      'attrs               \tstruct<a:int,b:string>\t                    ',
      'region              \tstring              \tSales region        ',
      'day                 \tstring              \t                    ',
      '',
      '# Partition Information',
      '# col_name            \tdata_type           \tcomment             \t',
      '',
      'region              \tstring              \tSales region        ',
      'day                 \tstring              \t                    ',
    ])
    expect(await show('DESC `sales`.`customers`')).toEqual([
      'customer_id         \tint                 \t                    ',
      'name                \tstring              \t                    ',
    ])
    expect(await show('describe analytics.analytics PAGE')).toEqual([ANALYTICS_DESCRIBE[3]])
  })

  it('SHOW CREATE TABLE of a table without comments or partitions', async () => {
    expect(await show('SHOW CREATE TABLE `sales.customers`')).toEqual([
      'CREATE EXTERNAL TABLE `sales`.`customers`(',
      '  `customer_id` int, ',
      '  `name` string)',
      'ROW FORMAT SERDE ',
      "  'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' ",
      'STORED AS INPUTFORMAT ',
      "  'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat' ",
      'OUTPUTFORMAT ',
      "  'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat'",
      'LOCATION',
      "  's3://acp-local-data/sales/customers/'",
      'TBLPROPERTIES (',
      "  'classification'='parquet', ",
      "  'parquet.compression'='SNAPPY')",
    ])
    const orders = await show('SHOW CREATE TABLE orders', 'sales')
    expect(orders.slice(0, 8)).toEqual([
      'CREATE EXTERNAL TABLE `sales`.`orders`(',
      '  `id` bigint, ',
      "  `amount` decimal(10,2) COMMENT 'Total in EUR', ",
      '  `qty` int, ',
      '  `ts` timestamp, ',
      '  `tags` array<string>, ',
      '  `attrs` struct<a:int,b:string>)',
      "COMMENT 'Orders\\; one row per order, it\\'s VAT included'",
    ])
    expect(orders.slice(8, 11)).toEqual([
      'PARTITIONED BY ( ',
      "  `region` string COMMENT 'Sales region', ",
      '  `day` string)',
    ])
  })
})

describe('statement forms', () => {
  it('SHOW TABLES: IN or FROM a database, Hive patterns with * and |, case-insensitive', async () => {
    expect(await show('SHOW TABLES IN sales')).toEqual(['customers', 'orders'])
    expect(await show('show tables from `sales`;')).toEqual(['customers', 'orders'])
    expect(await show('SHOW TABLES', 'sales')).toEqual(['customers', 'orders'])
    expect(await show("SHOW TABLES IN sales 'ord*'")).toEqual(['orders'])
    expect(await show("SHOW TABLES IN sales '*s'")).toEqual(['customers', 'orders'])
    expect(await show("SHOW TABLES IN sales 'cust*|nope'")).toEqual(['customers'])
    expect(await show("SHOW TABLES IN sales '.*ERS'")).toEqual(['customers', 'orders'])
    expect(await show("SHOW TABLES IN sales LIKE 'o.ders'")).toEqual(['orders'])
    expect(await show("SHOW TABLES IN sales 'order'")).toEqual([])
    expect(await show("SHOW TABLES 'ana*'")).toEqual(['analytics'])
  })

  it('SHOW DATABASES / SCHEMAS with LIKE', async () => {
    expect(await show("SHOW DATABASES LIKE 's*'")).toEqual(['sales'])
    expect(await show("SHOW SCHEMAS LIKE 'a*|d*'")).toEqual(['analytics', 'default'])
    expect(await show("SHOW SCHEMAS LIKE '[a-z]*s'")).toEqual(['analytics', 'sales'])
    const r = await m.f.query('SHOW SCHEMAS')
    expect(r.execution.SubstatementType).toBe('SHOW_SCHEMAS')
    expect(lines(r.values)).toEqual(['analytics', 'default', 'sales'])
  })

  it('SHOW COLUMNS names the table every documented way, backticks included', async () => {
    const expected = ['id', 'amount', 'qty', 'ts', 'tags', 'attrs', 'region', 'day'].map((c) => c.padEnd(20))
    for (const sql of [
      'SHOW COLUMNS IN sales.orders',
      'SHOW COLUMNS FROM sales.orders',
      'SHOW COLUMNS IN orders IN sales',
      'SHOW COLUMNS FROM orders FROM sales',
      'SHOW COLUMNS IN `sales`.`orders`',
      'SHOW COLUMNS IN `sales.orders`',
      '  -- columns\n  SHOW COLUMNS IN SALES.ORDERS ;',
    ]) {
      expect(await show(sql)).toEqual(expected)
    }
    expect(await show('SHOW COLUMNS IN orders', 'sales')).toEqual(expected)
  })
})

describe('failures', () => {
  it('an unknown database or table fails the execution with Hive’s message', async () => {
    expect(await failed('SHOW TABLES IN nope')).toBe(
      'FAILED: SemanticException [Error 10072]: Database does not exist: nope',
    )
    expect(await failed('SHOW VIEWS IN nope')).toBe(
      'FAILED: SemanticException [Error 10072]: Database does not exist: nope',
    )
    expect(await failed('DESCRIBE nope')).toBe(
      'FAILED: SemanticException [Error 10001]: Table not found nope',
    )
    expect(await failed('SHOW COLUMNS IN sales.nope')).toBe(
      'FAILED: SemanticException [Error 10001]: Table not found sales.nope',
    )
    expect(await failed('SHOW COLUMNS IN orders IN nope')).toBe(
      'FAILED: SemanticException [Error 10001]: Table not found nope.orders',
    )
    expect(await failed('SHOW CREATE TABLE orders')).toBe(
      'FAILED: SemanticException [Error 10001]: Table not found orders',
    )
    // The syntax is DESCRIBE t, not DESCRIBE TABLE t: Hive takes TABLE for the table's name.
    expect(await failed('DESCRIBE TABLE analytics')).toBe(
      'FAILED: SemanticException [Error 10001]: Table not found TABLE',
    )
    expect(await failed('DESCRIBE analytics nope')).toBe(
      'FAILED: SemanticException [Error 10002]: Invalid column reference nope',
    )
    expect(await failed('SHOW PARTITIONS sales.customers')).toBe(
      'FAILED: Execution Error, return code 1 from org.apache.hadoop.hive.ql.exec.DDLTask. Table sales.customers is not a partitioned table',
    )
    const noContext = await m.f.wait(
      await m.f.start('SHOW TABLES', { QueryExecutionContext: { Database: 'nope' } }),
    )
    expect(noContext.Status?.StateChangeReason).toBe(
      'FAILED: SemanticException [Error 10072]: Database does not exist: nope',
    )
  })

  it('forms the endpoint does not answer, and parameters, are refused at submission', async () => {
    for (const [sql, message] of [
      ['SHOW FUNCTIONS', 'SHOW FUNCTIONS is not supported by the local Athena endpoint'],
      ['SHOW CREATE VIEW v', 'SHOW CREATE VIEW is not supported by the local Athena endpoint'],
      ['SHOW CREATE TABLE "analytics"', 'SHOW CREATE TABLE is not supported by the local Athena endpoint'],
      ["SHOW TABLES 'unterminated", 'SHOW TABLES is not supported by the local Athena endpoint'],
      ['DESCRIBE', 'DESCRIBE is not supported by the local Athena endpoint'],
    ] as const) {
      const err = await rejection(() => m.f.start(sql))
      expect(err).toBeInstanceOf(InvalidRequestException)
      expect((err as InvalidRequestException).message).toBe(message)
      expect((err as InvalidRequestException).AthenaErrorCode).toBe('MALFORMED_QUERY')
    }
    const err = await rejection(() => m.f.start('SHOW TABLES', { ExecutionParameters: ['1'] }))
    expect((err as InvalidRequestException).message).toBe(
      'The query has 0 parameter placeholder(s) but 1 ExecutionParameters were given',
    )
  })
})

import { rm } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hiveNamePattern } from '../../local/hive-ddl-text.ts'
import { LOCAL_INFORMATION_SCHEMA, rewriteInformationSchema } from '../../local/information-schema.ts'
import { parseMetadataStatement } from '../../local/metadata-statement.ts'
import { classifyStatement } from '../../local/statement-kind.ts'
import { type MetadataFixture, startMetadataFixture } from './support/metadata-fixture.ts'

let m: MetadataFixture

beforeAll(async () => {
  m = await startMetadataFixture()
})

afterAll(async () => {
  await m?.close()
})

/** Header row and data rows of a SELECT. */
async function select(sql: string): Promise<{ header: (string | null)[]; rows: (string | null)[][] }> {
  const { values } = await m.f.query(sql)
  const [header = [], ...rows] = values
  return { header, rows }
}

describe('information_schema', () => {
  it('columns: Athena’s columns and types, Trino type names, partition keys marked, WHERE and ORDER BY', async () => {
    const r = await m.f.query(
      "SELECT * FROM information_schema.columns WHERE table_schema = 'sales' AND table_name = 'orders' ORDER BY ordinal_position DESC",
    )
    expect(r.execution).toMatchObject({ StatementType: 'DML', SubstatementType: 'SELECT' })
    expect(r.resultSet.ResultSetMetadata?.ColumnInfo?.map((c) => [c.Name, c.Type])).toEqual([
      ['table_catalog', 'varchar'],
      ['table_schema', 'varchar'],
      ['table_name', 'varchar'],
      ['column_name', 'varchar'],
      ['ordinal_position', 'bigint'],
      ['column_default', 'varchar'],
      ['is_nullable', 'varchar'],
      ['data_type', 'varchar'],
      ['comment', 'varchar'],
      ['extra_info', 'varchar'],
    ])
    const orders = (
      name: string,
      position: string,
      type: string,
      comment: string | null,
      extra: string | null,
    ) => ['awsdatacatalog', 'sales', 'orders', name, position, null, 'YES', type, comment, extra]
    expect(r.values.slice(1)).toEqual([
      orders('day', '8', 'varchar', null, 'partition key'),
      orders('region', '7', 'varchar', 'Sales region', 'partition key'),
      orders('attrs', '6', 'row(a integer, b varchar)', null, null),
      orders('tags', '5', 'array(varchar)', null, null),
      orders('ts', '4', 'timestamp(3)', null, null),
      orders('qty', '3', 'integer', null, null),
      orders('amount', '2', 'decimal(10,2)', 'Total in EUR', null),
      orders('id', '1', 'bigint', null, null),
    ])
  })

  it('tables and schemata list the catalog and information_schema, never DuckDB’s internals', async () => {
    const tables = await select(
      'SELECT table_catalog, table_schema, table_name, table_type FROM information_schema.tables ORDER BY 2, 3',
    )
    expect(tables.header).toEqual(['table_catalog', 'table_schema', 'table_name', 'table_type'])
    expect(tables.rows).toEqual(
      [
        ['analytics', 'analytics'],
        ['information_schema', 'columns'],
        ['information_schema', 'schemata'],
        ['information_schema', 'tables'],
        ['information_schema', 'views'],
        ['sales', 'customers'],
        ['sales', 'orders'],
      ].map(([schema, table]) => ['awsdatacatalog', schema, table, 'BASE TABLE']),
    )
    expect((await select('SELECT * FROM information_schema.schemata')).rows).toEqual([
      ['awsdatacatalog', 'analytics'],
      ['awsdatacatalog', 'default'],
      ['awsdatacatalog', 'information_schema'],
      ['awsdatacatalog', 'sales'],
    ])
    expect((await select('SELECT * FROM information_schema.views')).rows).toEqual([])
    const types = await select('SELECT DISTINCT data_type FROM information_schema.columns ORDER BY 1')
    expect(types.rows.flat()).toEqual([
      'array(varchar)',
      'bigint',
      'decimal(10,2)',
      'double',
      'integer',
      'row(a integer, b varchar)',
      'timestamp(3)',
      'varchar',
    ])
    const everything = JSON.stringify([
      (await m.f.query('SELECT * FROM information_schema.columns')).values,
      (await m.f.query('SELECT * FROM information_schema.tables')).values,
    ])
    for (const internal of [
      '"main"',
      'pg_catalog',
      '_trino',
      LOCAL_INFORMATION_SCHEMA,
      'VARCHAR',
      'BIGINT',
    ]) {
      expect(everything).not.toContain(internal)
    }
  })

  it('is reachable qualified by the catalog, quoted, and in joins; literals and comments stay as written', async () => {
    const joined = await select(`
      SELECT t.table_name, count(*) AS n, count(c.extra_info) AS keys
      FROM "AwsDataCatalog"."information_schema"."tables" t
      JOIN awsdatacatalog.information_schema.columns c
        ON c.table_schema = t.table_schema AND c.table_name = t.table_name
      WHERE t.table_schema <> 'information_schema' -- information_schema.x in a comment
      GROUP BY t.table_name ORDER BY t.table_name`)
    expect(joined.header).toEqual(['table_name', 'n', 'keys'])
    expect(joined.rows).toEqual([
      ['analytics', '7', '1'],
      ['customers', '2', '0'],
      ['orders', '8', '2'],
    ])
    expect((await select("SELECT 'information_schema.tables' AS s")).rows).toEqual([
      ['information_schema.tables'],
    ])
  })

  it('follows refresh(): a new table appears, a removed one disappears', async () => {
    const count = async () =>
      (await select("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'sales'"))
        .rows[0]?.[0]
    expect(await count()).toBe('2')
    await rm(path.join(m.f.dataDir, 'sales', 'customers'), { recursive: true })
    await m.f.local.refresh()
    expect(await count()).toBe('1')
    expect((await m.f.query('SHOW TABLES IN sales')).values).toEqual([['orders']])
  })
})

describe('parsing and rewriting', () => {
  it('rewrites only information_schema names followed by a table, outside literals and comments', () => {
    const local = LOCAL_INFORMATION_SCHEMA
    expect(rewriteInformationSchema('SELECT * FROM information_schema.tables')).toBe(
      `SELECT * FROM ${local}.tables`,
    )
    expect(rewriteInformationSchema('SELECT * FROM Information_Schema . "columns"')).toBe(
      `SELECT * FROM ${local} . "columns"`,
    )
    expect(rewriteInformationSchema('SELECT * FROM awsdatacatalog."INFORMATION_SCHEMA".tables')).toBe(
      `SELECT * FROM awsdatacatalog."${local}".tables`,
    )
    for (const untouched of [
      "SELECT 'information_schema.tables'",
      'SELECT 1 -- information_schema.tables',
      'SELECT information_schema FROM t',
      'SELECT * FROM other.information_schema.tables',
      'SELECT t.information_schema.x FROM t',
    ]) {
      expect(rewriteInformationSchema(untouched)).toBe(untouched)
    }
    // The same length as the user's text: error positions stay right.
    expect(local).toHaveLength('information_schema'.length)
  })

  it('Hive name patterns', () => {
    const cases: [string, string, boolean][] = [
      ['ana*', 'analytics', true],
      ['*ics', 'analytics', true],
      ['.*ics', 'analytics', true],
      ['ana', 'analytics', false],
      ['a*|s*', 'sales', true],
      ['ANA*', 'analytics', true],
      ['[a-z]*s', 'sales', true],
      [' sal*s ', 'sales', true],
    ]
    for (const [pattern, name, expected] of cases)
      expect([pattern, hiveNamePattern(pattern)(name)]).toEqual([pattern, expected])
  })

  it('classifies and parses the statements', () => {
    expect(classifyStatement('SHOW CREATE TABLE t').substatementType).toBe('SHOW_CREATE_TABLE')
    expect(classifyStatement('show tblproperties t').substatementType).toBe('SHOW_TBLPROPERTIES')
    expect(classifyStatement('DESC t')).toEqual({
      statementType: 'UTILITY',
      substatementType: 'DESCRIBE',
      headerRow: false,
    })
    expect(parseMetadataStatement('SELECT 1')).toEqual({ kind: 'other' })
    expect(parseMetadataStatement('SHOW COLUMNS FROM `my-db`.`my-table`')).toEqual({
      kind: 'statement',
      statement: {
        kind: 'show-columns',
        table: { database: 'my-db', name: 'my-table', written: 'my-db.my-table' },
      },
    })
    expect(parseMetadataStatement('SHOW TABLES IN db "it\'s*"')).toEqual({
      kind: 'statement',
      statement: { kind: 'show-tables', database: 'db', pattern: "it's*" },
    })
    expect(parseMetadataStatement('SHOW TABLES IN db x')).toEqual({
      kind: 'unsupported',
      statement: 'SHOW TABLES IN',
    })
  })
})

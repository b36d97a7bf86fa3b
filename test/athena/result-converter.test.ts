import { describe, expect, it } from 'vitest'
import { createRowConverter, toResultColumns } from '../../src/athena/result-converter.ts'

describe('result conversion', () => {
  const info = [
    ['b', 'boolean'],
    ['ti', 'tinyint'],
    ['si', 'smallint'],
    ['i', 'integer'],
    ['big', 'bigint'],
    ['hugebig', 'bigint'],
    ['f', 'real'],
    ['d', 'double'],
    ['dexp', 'double'],
    ['dnan', 'double'],
    ['dec', 'decimal'],
    ['s', 'varchar'],
    ['c', 'char'],
    ['dt', 'date'],
    ['ts', 'timestamp'],
    ['tsz', 'timestamp with time zone'],
    ['j', 'json'],
    ['badj', 'json'],
    ['arr', 'array'],
    ['m', 'map'],
    ['r', 'row'],
    ['n', 'varchar'],
  ].map(([Name, Type]) => ({
    Name,
    Label: Name,
    Type,
    ...(Type === 'decimal' ? { Precision: 10, Scale: 2 } : {}),
  }))
  const values = [
    'true',
    '-5',
    '300',
    '2147483647',
    '9007199254740991',
    '9223372036854775807',
    '1.5',
    '1234.5',
    '1.0E7',
    'NaN',
    '12.30',
    'héllo, "world"',
    'x ',
    '2024-01-01',
    '2024-01-01 12:34:56.789',
    '2024-01-01 12:34:56.789 UTC',
    '{"a":[1,2],"b":null}',
    '{not json',
    '[1, 2, 3]',
    '{a=1, b=2}',
    '{x=1, y=abc}',
    undefined,
  ]
  const columns = toResultColumns(info)
  const row = createRowConverter(columns)({
    Data: values.map((v) => (v === undefined ? {} : { VarCharValue: v })),
  })

  it('converts by Athena type', () => {
    expect(row).toEqual({
      b: true,
      ti: -5,
      si: 300,
      i: 2147483647,
      big: 9007199254740991,
      hugebig: '9223372036854775807',
      f: 1.5,
      d: 1234.5,
      dexp: 10_000_000,
      dnan: 'NaN',
      dec: '12.30',
      s: 'héllo, "world"',
      c: 'x ',
      dt: '2024-01-01',
      ts: '2024-01-01T12:34:56.789Z',
      tsz: '2024-01-01T12:34:56.789Z',
      j: { a: [1, 2], b: null },
      badj: '{not json',
      arr: '[1, 2, 3]',
      m: '{a=1, b=2}',
      r: '{x=1, y=abc}',
      n: null,
    })
  })

  it('keeps decimal precision and scale in the column list', () => {
    expect(columns.find((c) => c.name === 'dec')).toEqual({
      name: 'dec',
      type: 'decimal',
      precision: 10,
      scale: 2,
    })
    expect(columns[0]).toEqual({ name: 'b', type: 'boolean' })
  })

  it('normalises timestamp precision and offsets to ISO UTC milliseconds', () => {
    const conv = createRowConverter([{ name: 't', type: 'timestamp' }])
    expect(conv({ Data: [{ VarCharValue: '2024-03-31 23:59:59' }] }).t).toBe('2024-03-31T23:59:59.000Z')
    expect(conv({ Data: [{ VarCharValue: '2024-03-31 23:59:59.123456' }] }).t).toBe(
      '2024-03-31T23:59:59.123Z',
    )
    const tz = createRowConverter([{ name: 't', type: 'timestamp with time zone' }])
    expect(tz({ Data: [{ VarCharValue: '2024-01-01 01:00:00.000 +01:00' }] }).t).toBe(
      '2024-01-01T00:00:00.000Z',
    )
  })
})

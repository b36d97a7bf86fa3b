import { describe, expect, it } from 'vitest'
import { AthenaApiError } from '../../local/athena-api-error.ts'
import { parseExecutionParameter } from '../../local/execution-parameters.ts'
import { ExecutionStore } from '../../local/execution-store.ts'
import { FaultInjector } from '../../local/fault-injector.ts'
import { formatJavaDouble, formatJavaFloat } from '../../local/java-number-format.ts'
import { decodePageToken, encodePageToken } from '../../local/page-token.ts'
import type { QueryExecution } from '../../local/query-execution.ts'
import { ScanAccounting } from '../../local/scan-accounting.ts'
import { tokenizeSql } from '../../local/sql-lexer.ts'
import { translateTrinoSql } from '../../local/sql-translate.ts'
import { classifyStatement } from '../../local/statement-kind.ts'
import { trinoColumnNames } from '../../local/trino-column-names.ts'
import { mysqlToStrftime } from '../../local/trino-functions.ts'

describe('Java number rendering', () => {
  it.each([
    [0, '0.0'],
    [-0, '-0.0'],
    [1, '1.0'],
    [-2.5, '-2.5'],
    [1234.5, '1234.5'],
    [0.001, '0.001'],
    [0.000999, '9.99E-4'],
    [9_999_999, '9999999.0'],
    [10_000_000, '1.0E7'],
    [123_456_789, '1.23456789E8'],
    [1e21, '1.0E21'],
    [1.5e-10, '1.5E-10'],
    [0.1 + 0.2, '0.30000000000000004'],
    [Number.MAX_VALUE, '1.7976931348623157E308'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
  ])('double %s → %s', (value, expected) => {
    expect(formatJavaDouble(value)).toBe(expected)
  })

  it.each([
    [Math.fround(0.1), '0.1'],
    [Math.fround(1 / 3), '0.33333334'],
    [Math.fround(3.4e10), '3.4E10'],
    [Math.fround(16_777_216), '1.6777216E7'],
    [Math.fround(1.5), '1.5'],
  ])('float %s → %s', (value, expected) => {
    expect(formatJavaFloat(value)).toBe(expected)
  })
})

describe('parameter literals', () => {
  it('parses each kind of literal', () => {
    expect(parseExecutionParameter("'a''b'")).toEqual({ kind: 'varchar', value: "a'b" })
    expect(parseExecutionParameter("''")).toEqual({ kind: 'varchar', value: '' })
    expect(parseExecutionParameter(' -7 ')).toEqual({ kind: 'integer', value: -7 })
    expect(parseExecutionParameter('9223372036854775807')).toEqual({
      kind: 'bigint',
      value: 9223372036854775807n,
    })
    expect(parseExecutionParameter('99999999999999999999')).toMatchObject({ kind: 'decimal', scale: 0 })
    expect(parseExecutionParameter('-0.50')).toEqual({ kind: 'decimal', value: -50n, width: 2, scale: 2 })
    expect(parseExecutionParameter('.5')).toEqual({ kind: 'decimal', value: 5n, width: 1, scale: 1 })
    expect(parseExecutionParameter('2e-3')).toEqual({ kind: 'double', value: 0.002 })
    expect(parseExecutionParameter('false')).toEqual({ kind: 'boolean', value: false })
    expect(parseExecutionParameter('null')).toEqual({ kind: 'null' })
    expect(parseExecutionParameter("date '2024-02-29'")).toEqual({
      kind: 'date',
      year: 2024,
      month: 2,
      day: 29,
    })
    expect(parseExecutionParameter("TIMESTAMP '1970-01-01 00:00:01.5'")).toEqual({
      kind: 'timestamp',
      micros: 1_500_000n,
    })
  })

  it.each([
    '',
    "'a' || 'b'",
    "'a'b'",
    "'open",
    "E'x'",
    '1e',
    '.',
    '0x10',
    'CAST(1 AS INTEGER)',
    "DATE '2023-02-29'",
    "TIMESTAMP '2024-01-01 24:00:00'",
    "INTERVAL '1' DAY",
    '?',
    '-- 1',
  ])('rejects %j', (text) => {
    expect(() => parseExecutionParameter(text)).toThrow(AthenaApiError)
  })
})

describe('SQL tokenizer and Trino translation', () => {
  it('round-trips any input', () => {
    const sql = `SELECT 'it''s', "we""ird", x -- c\n/* b */ FROM t WHERE y = 1.5e3 AND z = ? /* open`
    expect(
      tokenizeSql(sql)
        .map((t) => t.text)
        .join(''),
    ).toBe(sql)
  })

  it('rewrites only real calls of emulated functions', () => {
    expect(
      translateTrinoSql('SELECT date_add(\'day\', 1, x), "date_add"(1), t.date_add(1), date_add FROM t'),
    ).toBe('SELECT _trino.date_add(\'day\', 1, x), "date_add"(1), t.date_add(1), date_add FROM t')
    expect(translateTrinoSql("SELECT 'regexp_like(a)' -- regexp_like(\n, REGEXP_LIKE (a, 'b')")).toBe(
      "SELECT 'regexp_like(a)' -- regexp_like(\n, _trino.regexp_like (a, 'b')",
    )
  })

  it("puts Trino's bare VALUES rows in parentheses, leaving parenthesised rows as they are", () => {
    expect(translateTrinoSql('SELECT n FROM (VALUES 1, 2 + 3, -x) AS t(n) ORDER BY n')).toBe(
      'SELECT n FROM (VALUES (1), (2 + 3), (-x)) AS t(n) ORDER BY n',
    )
    expect(translateTrinoSql("VALUES (1, 'a'), (2, 'b')")).toBe("VALUES (1, 'a'), (2, 'b')")
    expect(translateTrinoSql('VALUES (1) + 2, (3) LIMIT 1')).toBe('VALUES ((1) + 2), (3) LIMIT 1')
    expect(translateTrinoSql("VALUES sequence(1, 2), 'values'")).toBe(
      "VALUES (_trino.sequence(1, 2)), ('values')",
    )
    expect(translateTrinoSql('SELECT "values" FROM t')).toBe('SELECT "values" FROM t')
  })

  it('translates literal MySQL formats for date_format and date_parse', () => {
    expect(translateTrinoSql("SELECT date_format(ts, '%Y-%m-%d %H:%i:%s'), date_parse(s, '%d/%m/%Y')")).toBe(
      "SELECT strftime(ts, '%Y-%m-%d %H:%M:%S'), strptime(s, '%d/%m/%Y')",
    )
    expect(translateTrinoSql('SELECT date_format(ts, fmt)')).toBe('SELECT _trino.date_format(ts, fmt)')
    expect(translateTrinoSql("SELECT date_format(date_add('day', 1, ts), '%M')")).toBe(
      "SELECT strftime(_trino.date_add('day', 1, ts), '%B')",
    )
    expect(mysqlToStrftime('%i %M %W %%i %T')).toBe('%M %B %A %%i %H:%M:%S')
  })
})

describe('statement classification and column names', () => {
  it('classifies statements like Athena', () => {
    expect(classifyStatement('  -- x\n (SELECT 1)')).toEqual({
      statementType: 'DML',
      substatementType: 'SELECT',
      headerRow: true,
    })
    expect(classifyStatement('WITH a AS (SELECT 1) SELECT * FROM a').headerRow).toBe(true)
    expect(classifyStatement('SHOW TABLES')).toEqual({
      statementType: 'UTILITY',
      substatementType: 'SHOW_TABLES',
      headerRow: false,
    })
    expect(classifyStatement('EXPLAIN SELECT 1')).toMatchObject({
      statementType: 'UTILITY',
      headerRow: false,
    })
  })

  it('names columns from the parse tree and falls back on doubt', () => {
    const tree = JSON.stringify({
      error: false,
      statements: [
        {
          node: {
            type: 'SELECT_NODE',
            select_list: [
              { class: 'FUNCTION', alias: '' },
              { class: 'COLUMN_REF', alias: '', column_names: ['t', 'Page'] },
              { class: 'CONSTANT', alias: 'Total' },
            ],
          },
        },
      ],
    })
    expect(trinoColumnNames(tree, ['count_star()', 'Page', 'Total'])).toEqual(['_col0', 'page', 'total'])
    expect(trinoColumnNames(tree, ['a', 'b'])).toEqual(['a', 'b'])
    expect(trinoColumnNames('not json', ['X'])).toEqual(['x'])
    expect(trinoColumnNames(undefined, ['X'])).toEqual(['x'])
  })
})

describe('page tokens', () => {
  it('round-trip within their scope only', () => {
    const token = encodePageToken('results:a', 1000)
    expect(decodePageToken(token, 'results:a', 2000)).toBe(1000)
    expect(() => decodePageToken(token, 'results:b', 2000)).toThrow('Invalid NextToken')
    expect(() => decodePageToken(token, 'results:a', 999)).toThrow('Invalid NextToken')
    expect(() => decodePageToken('%%%', 'results:a', 2000)).toThrow('Invalid NextToken')
  })
})

describe('fault injector', () => {
  it('matches substrings and regexes, counts down times, targets operations', () => {
    const faults = new FaultInjector()
    faults.add({ kind: 'fail', match: 'revenue', times: 2 })
    faults.add({ kind: 'slow', delayMs: 100, match: '/^select/i' })
    faults.add({ kind: 'throttle', operation: 'GetQueryResults' })
    expect(faults.takeExecutionFaults('SELECT 1')).toEqual({ delayMs: 100, hang: false, any: true })
    expect(faults.takeExecutionFaults("select 'revenue'").fail).toEqual({
      category: 2,
      message: 'Injected user error',
    })
    expect(faults.takeExecutionFaults("with x as (select 'revenue')").fail).toBeDefined()
    expect(faults.takeExecutionFaults("with x as (select 'revenue')").fail).toBeUndefined()
    expect(faults.takeThrottle('GetQueryExecution', 'x')).toBe(false)
    expect(faults.takeThrottle('GetQueryResults', undefined)).toBe(true)
    expect(faults.list().map((f) => f.fault.kind)).toEqual(['slow', 'throttle'])
    faults.clear()
    expect(faults.list()).toEqual([])
    expect(() => faults.add({ kind: 'slow', delayMs: -1 })).toThrow('Invalid fault')
  })
})

describe('scan accounting', () => {
  it('truncates the log only when no measurement is open', async () => {
    const events: string[] = []
    const accounting = new ScanAccounting(
      async () => {
        events.push('truncate')
      },
      { truncateEvery: 1, drainAfter: 3 },
    )
    let release: () => void = () => {}
    const slow = accounting.measured(
      () => new Promise<void>((resolve) => (release = resolve)),
      async () => {
        events.push('measure slow')
      },
    )
    await accounting.measured(
      async () => {},
      async () => {
        events.push('measure fast')
      },
    )
    expect(events).toEqual(['measure fast'])
    release()
    await slow
    expect(events).toEqual(['measure fast', 'measure slow', 'truncate'])
    expect(accounting.generation).toBe(1)
  })
})

describe('execution store', () => {
  let seq = 0
  const execution = (overrides: Partial<QueryExecution> = {}): QueryExecution => {
    seq++
    return {
      id: `e${seq}`,
      seq,
      query: 'SELECT 1',
      database: 'default',
      context: undefined,
      workGroup: 'primary',
      outputLocation: '',
      executionParameters: undefined,
      resultReuse: undefined,
      clientRequestToken: undefined,
      fingerprint: 'f',
      requestFingerprint: 'r',
      statementType: 'DML',
      substatementType: 'SELECT',
      state: 'SUCCEEDED',
      stateChangeReason: undefined,
      submittedAt: 0,
      runningAt: 0,
      completedAt: 0,
      error: undefined,
      dataScannedBytes: 0,
      reusedPreviousResult: false,
      result: undefined,
      abort: new AbortController(),
      ...overrides,
    }
  }
  const result = (rowCount: number) => ({ columns: [], rowCount, headerRow: true, rows: () => [] })

  it('forgets the oldest finished executions (and their tokens) beyond the limit, never running ones', () => {
    const store = new ExecutionStore({ maxExecutions: 2, maxResultCells: 1000 })
    const running = execution({ state: 'RUNNING', clientRequestToken: 'a'.repeat(32) })
    const old = execution({ clientRequestToken: 'b'.repeat(32) })
    store.add(running)
    store.add(old)
    store.add(execution())
    expect(store.get(running.id)).toBe(running)
    expect(store.get(old.id)).toBeUndefined()
    expect(store.byToken('b'.repeat(32))).toBeUndefined()
    expect(store.byToken('a'.repeat(32))).toBe(running)
  })

  it('drops the oldest results beyond the cell budget', () => {
    const store = new ExecutionStore({ maxExecutions: 10, maxResultCells: 10 })
    const first = execution({ result: result(6) })
    const second = execution({ result: result(6) })
    store.add(first)
    store.noteResult(first)
    store.add(second)
    store.noteResult(second)
    expect(first.result).toBeUndefined()
    expect(second.result).toBeDefined()
    expect(store.findReusable('f', 0)).toBe(second)
  })
})

import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import {
  GetQueryResultsCommand,
  InvalidRequestException,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena'
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  NotFound,
} from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { startLocalAthena } from '../../local/athena-server.ts'
import { rejection } from '../helpers/rejection.ts'
import { parseAthenaCsv } from './support/athena-csv.ts'
import { type LocalS3Stack, splitS3Uri, startLocalS3Stack } from './support/local-s3-stack.ts'

const NO_LOCATION =
  'No output location provided. An output location is required either through the Workgroup result configuration setting or as an API input.'

let f: LocalS3Stack

beforeAll(async () => {
  f = await startLocalS3Stack()
})

afterAll(async () => {
  await f?.close()
})

async function expectInvalidRequest(fn: () => Promise<unknown>, message: string): Promise<void> {
  const err = await rejection(fn)
  expect(err).toBeInstanceOf(InvalidRequestException)
  expect((err as InvalidRequestException).message).toContain(message)
}

async function exists(s: LocalS3Stack, bucket: string, key: string): Promise<boolean> {
  try {
    await s.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
    return true
  } catch (err) {
    if (err instanceof NotFound) return false
    throw err
  }
}

describe('CSV result files', () => {
  it('quote every value, double embedded quotes and leave NULL empty and unquoted', async () => {
    const r = await f.run(
      `SELECT 'a"b' AS x, CAST(NULL AS VARCHAR) AS y, '' AS z, 'ü,' || chr(10) AS w, 7 AS n`,
    )
    expect((await f.object(r.bucket, r.key)).toString('utf8')).toBe(
      '"x","y","z","w","n"\n"a""b",,"","ü,\n","7"\n',
    )
  })

  it('agree with GetQueryResults value for value, whatever the type', async () => {
    const r = await f.run(`
      SELECT id, s,
        CAST(id AS DOUBLE) * 1.5 AS dbl, TIMESTAMP '2024-01-02 03:04:05.678' + INTERVAL (id) DAY AS ts,
        [id, id + 1] AS arr, MAP(['k'], [id]) AS m, {'x': id, 'y': s} AS st,
        CAST(id * 0.25 AS DECIMAL(10, 2)) AS dec, id % 3 = 0 AS b, DATE '2024-02-28' + CAST(id AS INTEGER) AS dt,
        CAST(NULL AS VARCHAR) AS nothing, '' AS empty
      FROM (VALUES (1, 'plain'), (2, 'he said "hi"'), (3, 'a,b'), (4, 'line1' || chr(10) || 'line2'),
        (5, 'cr' || chr(13) || chr(10) || 'lf'), (6, ''), (7, NULL), (8, 'ünïcødé 日本語 🎉'),
        (9, 'tab' || chr(9) || 'x'), (10, ' spaced '), (11, '""'), (12, '"'), (13, ','), (14, 'NULL'),
        (15, '''single''')) t(id, s)
      ORDER BY id`)
    const parsed = parseAthenaCsv((await f.object(r.bucket, r.key)).toString('utf8'))
    const api = await f.results(r.id)
    expect(parsed).toEqual(api)
    expect(parsed).toHaveLength(16)
    // The file keeps the distinction the API makes: SQL NULL has no value, '' is an empty one.
    expect(parsed[7]?.[1]).toBeNull()
    expect(parsed[6]?.[1]).toBe('')
    expect(parsed[8]?.[1]).toBe('ünïcødé 日本語 🎉')
  })

  it('hold just the header for an empty result', async () => {
    const r = await f.run('SELECT 1 AS one, 2 AS two WHERE false')
    expect((await f.object(r.bucket, r.key)).toString()).toBe('"one","two"\n')
  })

  it('exist as soon as the execution reports SUCCEEDED', async () => {
    for (let i = 0; i < 10; i++) {
      const r = await f.run(`SELECT ${i} AS i, 'x' AS x FROM range(${i * 500}) t(n)`)
      const head = await f.s3.send(new HeadObjectCommand({ Bucket: r.bucket, Key: r.key }))
      expect(head.ContentLength).toBeGreaterThan(0)
      expect(await exists(f, r.bucket, `${r.key}.metadata`)).toBe(true)
    }
  })

  it('are not written for failed or cancelled executions', async () => {
    const failed = await f.wait(await f.start("SELECT CAST('x' AS INTEGER)"))
    expect(failed.Status?.State).toBe('FAILED')
    const location = splitS3Uri(failed.ResultConfiguration?.OutputLocation ?? '')
    expect(await exists(f, location.bucket, location.key)).toBe(false)
    f.local.faults.add({ kind: 'hang', match: 'hang-me', times: 1 })
    const id = await f.start("SELECT 'hang-me'")
    await f.athena.send(new StopQueryExecutionCommand({ QueryExecutionId: id }))
    const cancelled = await f.wait(id)
    expect(cancelled.Status?.State).toBe('CANCELLED')
    const where = splitS3Uri(cancelled.ResultConfiguration?.OutputLocation ?? '')
    expect(await exists(f, where.bucket, where.key)).toBe(false)
  })
})

describe('text result files of non-DML statements', () => {
  it.each([
    ['SHOW TABLES', 'SHOW_TABLES'],
    ['DESCRIBE analytics', 'DESCRIBE'],
    ['EXPLAIN SELECT 1', 'EXPLAIN'],
  ])('%s writes <id>.txt: tab-separated rows, no header, no quoting', async (sql, substatement) => {
    const r = await f.run(sql)
    expect(r.execution).toMatchObject({ StatementType: 'UTILITY', SubstatementType: substatement })
    expect(r.key).toBe(`athena/${r.id}.txt`)
    const out = await f.s3.send(new GetObjectCommand({ Bucket: r.bucket, Key: r.key }))
    expect(out.ContentType).toBe('text/plain')
    const text = (await out.Body?.transformToString()) ?? ''
    const expected = (await f.results(r.id)).map((row) => `${row.map((v) => v ?? '').join('\t')}\n`).join('')
    expect(text).toBe(expected)
    if (sql === 'SHOW TABLES') expect(text).toBe('analytics\n')
    expect(await exists(f, r.bucket, `${r.key}.metadata`)).toBe(true)
  })
})

describe('output location', () => {
  it('defaults to the work group location and is reported as the full object URI', async () => {
    const r = await f.run('SELECT 1')
    expect(r.execution.ResultConfiguration?.OutputLocation).toBe(`s3://acp-local-results/athena/${r.id}.csv`)
    const own = await f.run('SELECT 2', { ResultConfiguration: { OutputLocation: 's3://my-results/a/b' } })
    expect(own.execution.ResultConfiguration?.OutputLocation).toBe(`s3://my-results/a/b/${own.id}.csv`)
    expect((await f.object('my-results', `a/b/${own.id}.csv`)).toString()).toBe('"_col0"\n"2"\n')
  })

  it('rejects locations that are not s3://bucket/…', async () => {
    for (const location of [
      'https://bucket/x/',
      's3://',
      's3://Upper-Case/x/',
      's3://ab/x/',
      's3://bucket/../x/',
      's3://bucket//x/',
    ]) {
      await expectInvalidRequest(
        () => f.start('SELECT 1', { ResultConfiguration: { OutputLocation: location } }),
        'outputLocation is not a valid S3 path',
      )
    }
  })

  it('is required when the work group has none, with Athena message', async () => {
    const s = await startLocalS3Stack({ workGroupOutputLocation: null })
    try {
      await expectInvalidRequest(() => s.start('SELECT 1'), NO_LOCATION)
      const r = await s.run('SELECT 1', { ResultConfiguration: { OutputLocation: 's3://given-bucket/q/' } })
      expect(r.key).toBe(`q/${r.id}.csv`)
      const buckets = await s.s3.send(new ListObjectsV2Command({ Bucket: 'given-bucket' }))
      expect(buckets.KeyCount).toBe(2)
    } finally {
      await s.close()
    }
  })

  it('uses a configured work group location, and refuses an invalid one at start', async () => {
    const s = await startLocalS3Stack({ workGroupOutputLocation: 's3://wg-results/team/' })
    try {
      const r = await s.run('SELECT 1')
      expect(r.execution.ResultConfiguration?.OutputLocation).toBe(`s3://wg-results/team/${r.id}.csv`)
    } finally {
      await s.close()
    }
    await expect(
      startLocalAthena({ dataDir: inject('dataDir'), workGroupOutputLocation: 'results/' }),
    ).rejects.toThrow(/workGroupOutputLocation/)
  })
})

describe('results directory and budget', () => {
  it('writes s3://b/p/k to <resultsDir>/b/p/k, keeps a given dir and serves its files after a restart', async () => {
    const resultsDir = await mkdtemp(path.join(tmpdir(), 'acp-results-dir-'))
    try {
      const first = await startLocalS3Stack({ resultsDir })
      const r = await first.run('SELECT 42 AS answer')
      const file = path.join(resultsDir, r.bucket, ...r.key.split('/'))
      expect(await readFile(file, 'utf8')).toBe('"answer"\n"42"\n')
      expect(JSON.parse(await readFile(`${file}.metadata`, 'utf8'))).toMatchObject({
        ColumnInfo: [{ Name: 'answer', Label: 'answer', Type: 'integer' }],
      })
      await writeFile(path.join(resultsDir, r.bucket, 'athena', 'notes.txt'), 'not a result')
      await first.close()
      await access(file)

      // A restart adopts the files: they are served, and count against the budget (oldest deleted first).
      const second = await startLocalS3Stack({ resultsDir, resultFileLimits: { maxResults: 2 } })
      try {
        expect((await second.object(r.bucket, r.key)).toString()).toBe('"answer"\n"42"\n')
        await second.run('SELECT 1')
        expect(await exists(second, r.bucket, r.key)).toBe(false)
        expect((await second.object(r.bucket, 'athena/notes.txt')).toString()).toBe('not a result')
      } finally {
        await second.close()
      }
    } finally {
      await rm(resultsDir, { recursive: true, force: true })
    }
  })

  it('removes its temp results dir on close', async () => {
    const s = await startLocalS3Stack()
    await s.run('SELECT 1')
    const dir = s.local.resultsDir
    await access(dir)
    await s.close()
    await expect(access(dir)).rejects.toThrow()
  })

  it('deletes the oldest result files beyond the budget: GetObject then answers NoSuchKey', async () => {
    const s = await startLocalS3Stack({ resultFileLimits: { maxResults: 2, maxBytes: 100_000 } })
    try {
      const runs = [await s.run('SELECT 1 AS a'), await s.run('SELECT 2 AS b'), await s.run('SELECT 3 AS c')]
      const [oldest, middle, newest] = runs
      if (!oldest || !middle || !newest) throw new Error('three runs expected')
      const err = await rejection(() => s.object(oldest.bucket, oldest.key))
      expect(err).toBeInstanceOf(NoSuchKey)
      expect(await exists(s, oldest.bucket, `${oldest.key}.metadata`)).toBe(false)
      expect(await exists(s, middle.bucket, middle.key)).toBe(true)
      // Rows kept in memory are a budget of their own.
      const page = await s.athena.send(new GetQueryResultsCommand({ QueryExecutionId: oldest.id }))
      expect(page.ResultSet?.Rows?.[1]?.Data?.[0]?.VarCharValue).toBe('1')

      // ~49 KB each: the byte budget keeps two.
      const big = "SELECT repeat('x', 40) AS s FROM range(1100) t(i)"
      const bigRuns = [await s.run(`${big} -- 1`), await s.run(`${big} -- 2`), await s.run(`${big} -- 3`)]
      expect(await Promise.all(bigRuns.map((r) => exists(s, r.bucket, r.key)))).toEqual([false, true, true])
      expect(await exists(s, newest.bucket, newest.key)).toBe(false)
    } finally {
      await s.close()
    }
  })

  it('a file deleted by hand is NoSuchKey, and result reuse then runs the query again', async () => {
    const reuse = { ResultReuseConfiguration: { ResultReuseByAgeConfiguration: { Enabled: true } } }
    const first = await f.run("SELECT 'reuse me' AS r", reuse)
    const second = await f.run("SELECT 'reuse me' AS r", reuse)
    expect(second.execution.Statistics?.ResultReuseInformation?.ReusedPreviousResult).toBe(true)
    expect(second.execution.ResultConfiguration?.OutputLocation).toBe(
      first.execution.ResultConfiguration?.OutputLocation,
    )
    await rm(path.join(f.local.resultsDir, first.bucket, ...first.key.split('/')))
    expect(await rejection(() => f.object(first.bucket, first.key))).toBeInstanceOf(NoSuchKey)
    const third = await f.run("SELECT 'reuse me' AS r", reuse)
    expect(third.execution.Statistics?.ResultReuseInformation?.ReusedPreviousResult).toBe(false)
    expect((await f.object(third.bucket, third.key)).toString()).toBe('"r"\n"reuse me"\n')
  })
})

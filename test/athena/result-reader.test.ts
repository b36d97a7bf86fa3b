import { rm, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { QueryExecution } from '@aws-sdk/client-athena'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ResultReader } from '../../src/athena/result-reader.ts'
import { ResultTooLargeError } from '../../src/errors.ts'
import { ResultBody } from '../../src/service/result-body.ts'
import { type LocalS3Stack, startLocalS3Stack } from '../local/support/local-s3-stack.ts'

/** 2,500 rows (three GetQueryResults pages) with every awkward value: quotes, commas, line breaks, NULL and ''. */
const AWKWARD = `
  SELECT i,
         CASE i % 5 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN 'a "quoted", value' WHEN 3 THEN 'line
break' ELSE 'unicode ✓ 日本語 😀' END AS label,
         CAST(i AS DOUBLE) / 4 AS x,
         i % 2 = 0 AS even,
         CAST('2024-01-01' AS DATE) AS day
  FROM range(2500) AS t(i)
  ORDER BY i`

const LIMITS = { maxRows: 1_000_000, maxResultBytes: 64 * 1024 * 1024 }

async function readBody(
  reader: ResultReader,
  execution: QueryExecution,
  options: { limits?: typeof LIMITS; signal?: AbortSignal } = {},
) {
  const body = new ResultBody('json', options.limits ?? LIMITS, execution.QueryExecutionId ?? '')
  const source = await reader.read(execution, body, options.signal)
  const encoded = await body.finish({
    query: 'q',
    parameters: null,
    queryExecutionId: execution.QueryExecutionId ?? '',
    dataScannedBytes: 0,
    computedAt: 'c',
    expiresAt: 'e',
  })
  return { source, rows: body.rows, etag: encoded.etag }
}

describe('ResultReader (real AthenaClient and S3Client on the local endpoint)', () => {
  let t: LocalS3Stack
  let s3Reader: ResultReader
  let pagesReader: ResultReader
  beforeAll(async () => {
    t = await startLocalS3Stack()
    s3Reader = new ResultReader({ athena: t.athena, s3: t.s3, mode: 'auto' })
    pagesReader = new ResultReader({ athena: t.athena, s3: t.s3, mode: 'api' })
  })
  afterAll(async () => {
    await t?.close()
  })

  const getQueryResultsCalls = () => t.local.stats().calls.GetQueryResults ?? 0

  it('reads a multi-page result from its file in one GetObject, byte-identical to GetQueryResults paging', async () => {
    const { execution } = await t.run(AWKWARD)
    const calls0 = getQueryResultsCalls()
    const fromFile = await readBody(s3Reader, execution)
    // The first page only (column types), then the file.
    expect(getQueryResultsCalls() - calls0).toBe(1)
    expect(fromFile).toMatchObject({ source: 's3', rows: 2500 })
    const calls1 = getQueryResultsCalls()
    const fromPages = await readBody(pagesReader, execution)
    expect(getQueryResultsCalls() - calls1).toBe(3)
    expect(fromPages).toMatchObject({ source: 'pages', rows: 2500 })
    expect(fromFile.etag).toBe(fromPages.etag)
  })

  it('a result that fits one page is read from that page, with no GetObject', async () => {
    const { execution } = await t.run('SELECT i, NULL AS n FROM range(10) AS t(i)')
    expect(await readBody(s3Reader, execution)).toMatchObject({ source: 'page', rows: 10 })
  })

  it.each([
    ['missing (expired by a lifecycle rule)', (file: string) => rm(file)],
    ['empty', (file: string) => truncate(file, 0)],
    ['truncated', async (file: string) => truncate(file, 5000)],
    ['of another result', async (file: string) => writeFile(file, '"other","header"\n"1","2"\n')],
    ['not CSV', async (file: string) => writeFile(file, '"a"b\n')],
  ])('a result file %s: the read starts over with paging, the same body', async (_name, damage) => {
    const run = await t.run(AWKWARD)
    const expected = await readBody(pagesReader, run.execution)
    await damage(join(t.local.resultsDir, run.bucket, run.key))
    expect(await readBody(s3Reader, run.execution)).toEqual({ ...expected, source: 'pages-after-s3-failure' })
  })

  it('limits stop the read (no fallback): rows, and the body as sent', async () => {
    const { execution } = await t.run(AWKWARD)
    await expect(readBody(s3Reader, execution, { limits: { ...LIMITS, maxRows: 2000 } })).rejects.toThrow(
      ResultTooLargeError,
    )
    await expect(
      readBody(s3Reader, execution, { limits: { ...LIMITS, maxResultBytes: 64 * 1024 } }),
    ).rejects.toThrow(/MAX_RESULT_BYTES/)
  })

  it('an aborted read ends with the abort, not with paging', async () => {
    const { execution } = await t.run(AWKWARD)
    const abort = new AbortController()
    abort.abort(new Error('deadline'))
    await expect(readBody(s3Reader, execution, { signal: abort.signal })).rejects.toThrow()
  })

  it('without an S3 client, or for statements that write .txt results, everything goes through GetQueryResults', async () => {
    const { execution } = await t.run(AWKWARD)
    const noS3 = new ResultReader({ athena: t.athena, s3: undefined, mode: 'auto' })
    expect((await readBody(noS3, execution)).source).toBe('pages')
    const show = await t.run('SHOW TABLES')
    expect(show.key.endsWith('.txt')).toBe(true)
    const read = await readBody(s3Reader, show.execution)
    expect(read.source).toBe('page')
  })
})

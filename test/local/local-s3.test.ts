import { GetQueryResultsCommand } from '@aws-sdk/client-athena'
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  NoSuchBucket,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  paginateListObjectsV2,
  S3ServiceException,
} from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rejection } from '../helpers/rejection.ts'
import { parseAthenaCsv } from './support/athena-csv.ts'
import { type LocalS3Stack, type RunResult, startLocalS3Stack } from './support/local-s3-stack.ts'

let f: LocalS3Stack
let csv: RunResult
let csvBody: Buffer

beforeAll(async () => {
  f = await startLocalS3Stack()
  csv = await f.run(
    "SELECT i AS n, 'row ' || CAST(i AS VARCHAR) || ', \"quoted\"' AS label FROM range(2500) t(i) ORDER BY i",
  )
  csvBody = await f.object(csv.bucket, csv.key)
})

afterAll(async () => {
  await f?.close()
})

async function s3Error(fn: () => Promise<unknown>): Promise<S3ServiceException> {
  const err = await rejection(fn)
  expect(err).toBeInstanceOf(S3ServiceException)
  return err as S3ServiceException
}

describe('GetObject of a result file', () => {
  it('serves the CSV with its headers, agreeing with GetQueryResults', async () => {
    const out = await f.s3.send(new GetObjectCommand({ Bucket: csv.bucket, Key: csv.key }))
    await out.Body?.transformToByteArray()
    expect(out.ContentType).toBe('text/csv')
    expect(out.ContentLength).toBe(csvBody.length)
    expect(out.ETag).toMatch(/^"[0-9a-f]{32}"$/)
    expect(out.AcceptRanges).toBe('bytes')
    expect(out.LastModified).toBeInstanceOf(Date)
    expect(Math.abs((out.LastModified?.getTime() ?? 0) - Date.now())).toBeLessThan(120_000)
    expect(parseAthenaCsv(csvBody.toString('utf8'))).toEqual(await f.results(csv.id))
  })

  it('answers ranges with 206 and exactly the bytes asked for', async () => {
    const size = csvBody.length
    const cases: [string, number, number][] = [
      ['bytes=0-9', 0, 9],
      ['bytes=100-', 100, size - 1],
      ['bytes=-25', size - 25, size - 1],
      [`bytes=-${size + 1000}`, 0, size - 1],
      [`bytes=${size - 3}-${size + 50}`, size - 3, size - 1],
    ]
    for (const [range, start, end] of cases) {
      const out = await f.s3.send(new GetObjectCommand({ Bucket: csv.bucket, Key: csv.key, Range: range }))
      const bytes = Buffer.from((await out.Body?.transformToByteArray()) ?? [])
      expect(out.$metadata.httpStatusCode, range).toBe(206)
      expect(out.ContentRange, range).toBe(`bytes ${start}-${end}/${size}`)
      expect(out.ContentLength, range).toBe(end - start + 1)
      expect(bytes.equals(csvBody.subarray(start, end + 1)), range).toBe(true)
    }
  })

  it('answers an unsatisfiable range with 416 InvalidRange', async () => {
    for (const range of [`bytes=${csvBody.length}-`, `bytes=${csvBody.length + 10}-${csvBody.length + 20}`]) {
      const err = await s3Error(() =>
        f.s3.send(new GetObjectCommand({ Bucket: csv.bucket, Key: csv.key, Range: range })),
      )
      expect(err.name).toBe('InvalidRange')
      expect(err.$metadata.httpStatusCode).toBe(416)
    }
  })

  it('HeadObject reports the same headers without a body; a missing key is a bare 404', async () => {
    const get = await f.s3.send(new GetObjectCommand({ Bucket: csv.bucket, Key: csv.key }))
    await get.Body?.transformToByteArray()
    const head = await f.s3.send(new HeadObjectCommand({ Bucket: csv.bucket, Key: csv.key }))
    expect(head).toMatchObject({
      ContentLength: csvBody.length,
      ContentType: 'text/csv',
      ETag: get.ETag,
      AcceptRanges: 'bytes',
    })
    expect(head.LastModified?.getTime()).toBe(get.LastModified?.getTime())
    const err = await s3Error(() =>
      f.s3.send(new HeadObjectCommand({ Bucket: csv.bucket, Key: 'athena/nope.csv' })),
    )
    expect(err).toBeInstanceOf(NotFound)
    expect(err.$metadata.httpStatusCode).toBe(404)
    const raw = await fetch(`${f.local.endpoint}/${csv.bucket}/athena/nope.csv`, { method: 'HEAD' })
    expect(raw.status).toBe(404)
    expect(await raw.text()).toBe('')
    expect(raw.headers.get('x-amz-request-id')).toMatch(/^[0-9A-F]{16}$/)
  })

  it('honours If-None-Match and If-Match', async () => {
    const head = await f.s3.send(new HeadObjectCommand({ Bucket: csv.bucket, Key: csv.key }))
    const url = `${f.local.endpoint}/${csv.bucket}/${csv.key}`
    const notModified = await fetch(url, { headers: { 'if-none-match': head.ETag ?? '' } })
    expect(notModified.status).toBe(304)
    expect(notModified.headers.get('etag')).toBe(head.ETag)
    const matched = await fetch(url, { headers: { 'if-match': head.ETag ?? '', range: 'bytes=0-3' } })
    expect(matched.status).toBe(206)
    expect(await matched.text()).toBe('"n",')
    const failed = await s3Error(() =>
      f.s3.send(new GetObjectCommand({ Bucket: csv.bucket, Key: csv.key, IfMatch: '"0123"' })),
    )
    expect(failed.name).toBe('PreconditionFailed')
    expect(failed.$metadata.httpStatusCode).toBe(412)
  })

  it('serves the .metadata object: the ResultSetMetadata of GetQueryResults, as JSON', async () => {
    const out = await f.s3.send(new GetObjectCommand({ Bucket: csv.bucket, Key: `${csv.key}.metadata` }))
    expect(out.ContentType).toBe('application/octet-stream')
    const metadata: unknown = JSON.parse((await out.Body?.transformToString()) ?? '')
    const page = await f.athena.send(new GetQueryResultsCommand({ QueryExecutionId: csv.id, MaxResults: 1 }))
    expect(metadata).toEqual(JSON.parse(JSON.stringify(page.ResultSet?.ResultSetMetadata)))
    expect(metadata).toMatchObject({ ColumnInfo: [{ Name: 'n', Type: 'bigint' }, { Name: 'label' }] })
  })

  it('answers NoSuchKey as S3 does, with the SDK error class', async () => {
    const err = await s3Error(() =>
      f.s3.send(new GetObjectCommand({ Bucket: csv.bucket, Key: 'athena/missing.csv' })),
    )
    expect(err).toBeInstanceOf(NoSuchKey)
    expect(err.$metadata.httpStatusCode).toBe(404)
    const raw = await fetch(`${f.local.endpoint}/${csv.bucket}/athena/missing%20file.csv`)
    expect(raw.status).toBe(404)
    expect(raw.headers.get('content-type')).toBe('application/xml')
    const requestId = raw.headers.get('x-amz-request-id')
    expect(await raw.text()).toMatch(
      new RegExp(
        `^<\\?xml version="1.0" encoding="UTF-8"\\?>\\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>athena/missing file.csv</Key><RequestId>${requestId}</RequestId><HostId>[^<]+</HostId></Error>$`,
      ),
    )
  })

  it('answers NoSuchBucket for a bucket no query named', async () => {
    const err = await s3Error(() => f.s3.send(new ListObjectsV2Command({ Bucket: 'never-named' })))
    expect(err).toBeInstanceOf(NoSuchBucket)
    const get = await s3Error(() => f.s3.send(new GetObjectCommand({ Bucket: 'never-named', Key: 'x.csv' })))
    expect(get).toBeInstanceOf(NoSuchBucket)
    await f.run('SELECT 1', { ResultConfiguration: { OutputLocation: 's3://named-later/out/' } })
    const listed = await f.s3.send(new ListObjectsV2Command({ Bucket: 'named-later' }))
    expect(listed.KeyCount).toBe(2)
    const buckets = await f.s3.send(new ListBucketsCommand({}))
    expect(buckets.Buckets?.map((b) => b.Name)).toEqual(
      expect.arrayContaining(['acp-local-results', 'named-later']),
    )
  })

  it('is read-only: writes answer 405 MethodNotAllowed', async () => {
    const err = await s3Error(() =>
      f.s3.send(new PutObjectCommand({ Bucket: csv.bucket, Key: 'athena/new.csv', Body: 'x' })),
    )
    expect(err.name).toBe('MethodNotAllowed')
    expect(err.$metadata.httpStatusCode).toBe(405)
    for (const [method, path] of [
      ['DELETE', `/${csv.bucket}/${csv.key}`],
      ['POST', `/${csv.bucket}/${csv.key}`],
      ['PUT', `/${csv.bucket}`],
      ['DELETE', `/${csv.bucket}`],
    ] as const) {
      const res = await fetch(`${f.local.endpoint}${path}`, { method })
      expect(res.status, `${method} ${path}`).toBe(405)
      expect(res.headers.get('x-amz-request-id')).toBeTruthy()
      expect(await res.text()).toContain(`<Code>MethodNotAllowed</Code>`)
    }
    expect((await f.s3.send(new HeadObjectCommand({ Bucket: csv.bucket, Key: csv.key }))).ContentLength).toBe(
      csvBody.length,
    )
  })

  it('leaves POST / to Athena and /_local/* to the control routes', async () => {
    expect(await (await fetch(`${f.local.endpoint}/_local/health`)).json()).toEqual({ ok: true })
    const unknown = await fetch(`${f.local.endpoint}/_local/nope`)
    expect(unknown.status).toBe(404)
    expect(unknown.headers.get('content-type')).toContain('application/json')
    const athena = await fetch(`${f.local.endpoint}/`, {
      method: 'POST',
      headers: { 'x-amz-target': 'AmazonAthena.Nope', 'content-type': 'application/x-amz-json-1.1' },
      body: '{}',
    })
    expect(await athena.json()).toMatchObject({ __type: 'UnknownOperationException' })
  })
})

describe('ListObjectsV2', () => {
  const bucket = 'list-tests'
  let keys: string[]

  beforeAll(async () => {
    for (const prefix of [
      'reports/2024/',
      'reports/2024/',
      'reports/2024/',
      'reports/2025/',
      'reports/2025/',
      'other/',
    ]) {
      await f.run(`SELECT '${prefix}' AS p`, {
        ResultConfiguration: { OutputLocation: `s3://${bucket}/${prefix}` },
      })
    }
    const all = await f.s3.send(new ListObjectsV2Command({ Bucket: bucket }))
    keys = (all.Contents ?? []).map((c) => c.Key ?? '')
  })

  it('lists every key in byte order with sizes and ETags', async () => {
    expect(keys).toHaveLength(12)
    expect([...keys].sort()).toEqual(keys)
    const all = await f.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'reports/2024/' }))
    expect(all).toMatchObject({
      Name: bucket,
      Prefix: 'reports/2024/',
      KeyCount: 6,
      MaxKeys: 1000,
      IsTruncated: false,
    })
    const first = all.Contents?.[0]
    expect(first?.StorageClass).toBe('STANDARD')
    const head = await f.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: first?.Key }))
    expect(first?.ETag).toBe(head.ETag)
    expect(first?.Size).toBe(head.ContentLength)
  })

  it('rolls keys up into CommonPrefixes at the delimiter', async () => {
    const top = await f.s3.send(new ListObjectsV2Command({ Bucket: bucket, Delimiter: '/' }))
    expect(top.Contents ?? []).toEqual([])
    expect(top.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['other/', 'reports/'])
    expect(top.KeyCount).toBe(2)
    const reports = await f.s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: 'reports/', Delimiter: '/' }),
    )
    expect(reports.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['reports/2024/', 'reports/2025/'])
    const partial = await f.s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: 'reports/202', Delimiter: '/' }),
    )
    expect(partial.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['reports/2024/', 'reports/2025/'])
  })

  it('pages with MaxKeys and continuation tokens, counting prefixes as keys', async () => {
    const pages: ListObjectsV2CommandOutput[] = []
    let token: string | undefined
    do {
      const page = await f.s3.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: 'reports/',
          MaxKeys: 4,
          ContinuationToken: token,
        }),
      )
      pages.push(page)
      token = page.NextContinuationToken
    } while (token)
    expect(pages.map((p) => p.KeyCount)).toEqual([4, 4, 2])
    expect(pages.map((p) => p.IsTruncated)).toEqual([true, true, false])
    expect(pages.flatMap((p) => (p.Contents ?? []).map((c) => c.Key))).toEqual(
      keys.filter((k) => k.startsWith('reports/')),
    )

    const rolled: string[] = []
    for await (const page of paginateListObjectsV2(
      { client: f.s3, pageSize: 1 },
      { Bucket: bucket, Delimiter: '/' },
    )) {
      expect(page.KeyCount).toBe(1)
      rolled.push(...(page.CommonPrefixes ?? []).map((p) => p.Prefix ?? ''))
    }
    expect(rolled).toEqual(['other/', 'reports/'])
  })

  it('starts after a key, clamps MaxKeys to 1000 and rejects a forged token', async () => {
    const after = await f.s3.send(
      new ListObjectsV2Command({ Bucket: bucket, StartAfter: keys[4], MaxKeys: 5000 }),
    )
    expect(after.Contents?.map((c) => c.Key)).toEqual(keys.slice(5))
    expect(after.StartAfter).toBe(keys[4])
    expect(after.MaxKeys).toBe(1000)
    const err = await s3Error(() =>
      f.s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: 'not*a*token' })),
    )
    expect(err.name).toBe('InvalidArgument')
    expect(err.$metadata.httpStatusCode).toBe(400)
  })

  it('URL-encodes keys when asked (encoding-type=url), as the AWS CLI asks', async () => {
    const res = await fetch(
      `${f.local.endpoint}/${bucket}?list-type=2&prefix=reports%2F&delimiter=%2F&encoding-type=url`,
    )
    const xml = await res.text()
    expect(xml).toContain('<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">')
    expect(xml).toContain('<EncodingType>url</EncodingType>')
    expect(xml).toContain('<CommonPrefixes><Prefix>reports/2024/</Prefix></CommonPrefixes>')
    expect(xml).toContain('<Delimiter>/</Delimiter>')
  })
})

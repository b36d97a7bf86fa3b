import { readdir, rm } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { AthenaApiError } from '../../local/athena-api-error.ts'
import type { AthenaColumnInfo } from '../../local/athena-column-types.ts'
import { NO_OUTPUT_LOCATION_MESSAGE, resolveOutputLocation } from '../../local/output-location.ts'
import type { StoredResult } from '../../local/query-execution.ts'
import { formatTimestampMicros } from '../../local/render-value.ts'
import { renderResultFile, resultFileChunks } from '../../local/result-file-format.ts'
import { ResultFiles } from '../../local/result-files.ts'
import { InvalidContinuationTokenError, type ListedObject, paginateListing } from '../../local/s3-list.ts'
import { isFileKey, objectFilePath, parseS3Uri, resultObjectUri } from '../../local/s3-location.ts'
import { evaluatePreconditions, parseByteRange } from '../../local/s3-read-conditions.ts'
import { errorXml, xmlText } from '../../local/s3-xml.ts'
import { parseAthenaCsv } from './support/athena-csv.ts'

function column(name: string): AthenaColumnInfo {
  return { Name: name, Label: name, Type: 'varchar' } as AthenaColumnInfo
}

function storedResult(names: string[], data: (string | null)[][]): StoredResult {
  return {
    columns: names.map(column),
    rowCount: data.length,
    headerRow: true,
    rows: (from, to) => data.slice(from, to),
  }
}

describe('Range header', () => {
  it.each([
    [undefined, 100, { kind: 'full' }],
    ['bytes=0-9', 100, { kind: 'partial', start: 0, end: 9 }],
    ['bytes=90-200', 100, { kind: 'partial', start: 90, end: 99 }],
    ['bytes=50-', 100, { kind: 'partial', start: 50, end: 99 }],
    ['bytes=-10', 100, { kind: 'partial', start: 90, end: 99 }],
    ['bytes=-500', 100, { kind: 'partial', start: 0, end: 99 }],
    ['bytes=99-99', 100, { kind: 'partial', start: 99, end: 99 }],
    ['bytes=100-', 100, { kind: 'unsatisfiable' }],
    ['bytes=100-200', 100, { kind: 'unsatisfiable' }],
    ['bytes=-0', 100, { kind: 'unsatisfiable' }],
    ['bytes=0-', 0, { kind: 'unsatisfiable' }],
    ['bytes=-5', 0, { kind: 'unsatisfiable' }],
    ['bytes=9-3', 100, { kind: 'full' }],
    ['bytes=0-1,5-6', 100, { kind: 'full' }],
    ['items=0-1', 100, { kind: 'full' }],
    ['bytes=-', 100, { kind: 'full' }],
    ['bytes=a-b', 100, { kind: 'full' }],
  ] as const)('%s of %i bytes', (header, size, expected) => {
    expect(parseByteRange(header, size)).toEqual(expected)
  })
})

describe('conditional requests', () => {
  const etag = '"abc"'
  const modified = Date.parse('2024-05-01T10:00:00.500Z')
  it.each([
    [{}, 'proceed'],
    [{ ifMatch: '"abc"' }, 'proceed'],
    [{ ifMatch: 'abc' }, 'proceed'],
    [{ ifMatch: '"x", "abc"' }, 'proceed'],
    [{ ifMatch: '*' }, 'proceed'],
    [{ ifMatch: '"x"' }, { failed: 'If-Match' }],
    [{ ifNoneMatch: '"abc"' }, 'not-modified'],
    [{ ifNoneMatch: 'W/"abc"' }, 'not-modified'],
    [{ ifNoneMatch: '"x"' }, 'proceed'],
    [{ ifModifiedSince: 'Wed, 01 May 2024 10:00:00 GMT' }, 'not-modified'],
    [{ ifModifiedSince: 'Wed, 01 May 2024 09:59:59 GMT' }, 'proceed'],
    [{ ifModifiedSince: 'not a date' }, 'proceed'],
    [{ ifNoneMatch: '"x"', ifModifiedSince: 'Wed, 01 May 2024 10:00:00 GMT' }, 'proceed'],
    [{ ifUnmodifiedSince: 'Wed, 01 May 2024 09:59:59 GMT' }, { failed: 'If-Unmodified-Since' }],
    [{ ifUnmodifiedSince: 'Wed, 01 May 2024 10:00:00 GMT' }, 'proceed'],
    [{ ifMatch: '"abc"', ifUnmodifiedSince: 'Wed, 01 May 2024 09:00:00 GMT' }, 'proceed'],
  ] as const)('%j → %j', (headers, expected) => {
    expect(evaluatePreconditions(headers, etag, modified)).toEqual(expected)
  })
})

describe('ListObjectsV2 pagination', () => {
  const objects: ListedObject[] = ['b/2', 'a/1', 'a/2', 'c', 'a/sub/3', 'é', 'z'].map((key) => ({
    key,
    size: 1,
    mtimeMs: 0,
    etag: '"e"',
  }))
  const query = {
    prefix: '',
    delimiter: undefined,
    maxKeys: 1000,
    startAfter: undefined,
    continuationToken: undefined,
  }
  const keys = (page: ReturnType<typeof paginateListing>) => page.contents.map((o) => o.key)

  it('orders keys by UTF-8 bytes and filters by prefix', () => {
    expect(keys(paginateListing(objects, query))).toEqual(['a/1', 'a/2', 'a/sub/3', 'b/2', 'c', 'z', 'é'])
    expect(keys(paginateListing(objects, { ...query, prefix: 'a/' }))).toEqual(['a/1', 'a/2', 'a/sub/3'])
  })

  it('rolls up common prefixes after the prefix, and pages through keys and prefixes alike', () => {
    const top = paginateListing(objects, { ...query, delimiter: '/' })
    expect(top.commonPrefixes).toEqual(['a/', 'b/'])
    expect(keys(top)).toEqual(['c', 'z', 'é'])
    expect(paginateListing(objects, { ...query, prefix: 'a/', delimiter: '/' }).commonPrefixes).toEqual([
      'a/sub/',
    ])
    const seen: string[] = []
    let token: string | undefined
    let pages = 0
    do {
      const page = paginateListing(objects, {
        ...query,
        delimiter: '/',
        maxKeys: 2,
        continuationToken: token,
      })
      seen.push(...page.commonPrefixes, ...keys(page))
      expect(page.isTruncated).toBe(page.nextContinuationToken !== undefined)
      token = page.nextContinuationToken
      pages++
    } while (token)
    expect(pages).toBe(3)
    expect(seen).toEqual(['a/', 'b/', 'c', 'z', 'é'])
  })

  it('starts after a key (even one that does not exist) and treats max-keys=0 as an empty, final page', () => {
    expect(keys(paginateListing(objects, { ...query, startAfter: 'a/3' }))).toEqual([
      'a/sub/3',
      'b/2',
      'c',
      'z',
      'é',
    ])
    expect(paginateListing(objects, { ...query, maxKeys: 0 })).toEqual({
      contents: [],
      commonPrefixes: [],
      isTruncated: false,
      nextContinuationToken: undefined,
    })
    expect(() => paginateListing(objects, { ...query, continuationToken: 'bm9wZQ' })).toThrow(
      InvalidContinuationTokenError,
    )
  })
})

describe('S3 locations', () => {
  it.each([
    ['s3://bucket', { bucket: 'bucket', key: '' }],
    ['s3://bucket/', { bucket: 'bucket', key: '' }],
    ['s3://my.bucket-1/a/b/', { bucket: 'my.bucket-1', key: 'a/b/' }],
    ['s3://bucket/a/b', { bucket: 'bucket', key: 'a/b' }],
    ['s3://Bucket/a/', undefined],
    ['s3://ab/a/', undefined],
    ['s3://a..b/x', undefined],
    ['s3://bucket/../x/', undefined],
    ['s3://bucket/a//b/', undefined],
    ['s3://bucket/a/./b', undefined],
    ['s3://bucket/a\\b', undefined],
    ['https://bucket/a', undefined],
    ['bucket/a', undefined],
  ])('%s', (uri, expected) => {
    expect(parseS3Uri(uri)).toEqual(expected)
  })

  it('names result objects as Athena does', () => {
    expect(resultObjectUri('s3://b/p/', 'id', 'csv')).toBe('s3://b/p/id.csv')
    expect(resultObjectUri('s3://b/p', 'id', 'txt')).toBe('s3://b/p/id.txt')
    expect(resultObjectUri('s3://b', 'id', 'csv')).toBe('s3://b/id.csv')
  })

  it('maps keys to files inside the bucket only', () => {
    const root = path.resolve('/srv/results')
    expect(objectFilePath(root, 'bucket', 'a/b.csv')).toBe(path.join(root, 'bucket', 'a', 'b.csv'))
    for (const key of ['../x', 'a/../../x', '/etc/passwd', 'a//b', 'a/./b', 'x\0y', 'a\\..\\b', '', 'dir/']) {
      expect(isFileKey(key), key).toBe(false)
      expect(objectFilePath(root, 'bucket', key), key).toBeUndefined()
    }
    expect(objectFilePath(root, '..', 'x')).toBeUndefined()
    expect(objectFilePath(root, 'bucket', 'x'.repeat(1025))).toBeUndefined()
  })

  it('takes the request location, else the work group one, else fails as Athena does', () => {
    expect(resolveOutputLocation('s3://req/x/', 's3://wg-bucket/y/').uri).toBe('s3://req/x/')
    expect(resolveOutputLocation(undefined, 's3://wg-bucket/y/').location).toEqual({
      bucket: 'wg-bucket',
      key: 'y/',
    })
    const missing = (() => {
      try {
        resolveOutputLocation(undefined, null)
      } catch (err) {
        return err
      }
    })()
    expect(missing).toBeInstanceOf(AthenaApiError)
    expect(missing).toMatchObject({ type: 'InvalidRequestException', message: NO_OUTPUT_LOCATION_MESSAGE })
  })
})

describe('result file format', () => {
  it('writes Athena CSV and text', () => {
    const result = storedResult(
      ['a', 'b"c'],
      [
        ['x', null],
        ['', 'say "hi", ok'],
        [null, 'ü\n€'],
      ],
    )
    expect(renderResultFile(result, 'csv')).toBe('"a","b""c"\n"x",\n"","say ""hi"", ok"\n,"ü\n€"\n')
    expect(renderResultFile({ ...result, headerRow: false }, 'txt')).toBe('x\t\n\tsay "hi", ok\n\tü\n€\n')
  })

  it('streams bounded chunks, whatever the size of one value', () => {
    const long = '"'.repeat(3_000_000)
    const data = Array.from({ length: 200_000 }, (_, i) => [String(i), i === 12_345 ? long : `v${i}`])
    const chunks = [...resultFileChunks(storedResult(['i', 'v'], data), 'csv')]
    expect(chunks.length).toBeGreaterThan(3)
    expect(chunks.filter((c) => c.length > 2 ** 20 + 64 * 1024).map((c) => c.length)).toEqual([
      expect.any(Number),
    ])
    expect(parseAthenaCsv(Buffer.concat(chunks).toString('utf8'))).toEqual([['i', 'v'], ...data])
  })

  it('renders timestamps exactly as the Date-based rendering did', () => {
    const reference = (micros: bigint) => {
      const q = micros / 1000n
      const iso = new Date(Number(micros % 1000n !== 0n && micros < 0n ? q - 1n : q)).toISOString()
      return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`
    }
    const samples = [
      0n,
      -1n,
      1n,
      -999n,
      -1000n,
      -1001n,
      -86_400_000_001n,
      951_782_400_000_000n,
      2n ** 53n,
      -(2n ** 53n),
    ]
    let seed = 7
    for (let i = 0; i < 20_000; i++) {
      seed = (seed * 48_271) % 2_147_483_647
      samples.push(BigInt(Math.floor((seed / 2_147_483_647 - 0.5) * 2 ** 54)))
    }
    for (const micros of samples)
      expect(formatTimestampMicros(micros), String(micros)).toBe(reference(micros))
  })
})

describe('S3 XML', () => {
  it('escapes text and renders errors as S3 does', () => {
    expect(xmlText(`<a & "b" 'c'>`)).toBe('&lt;a &amp; &quot;b&quot; &apos;c&apos;&gt;')
    expect(errorXml('NoSuchKey', 'The specified key does not exist.', { Key: 'a<b' }, 'RID', 'HID')).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>a&lt;b</Key><RequestId>RID</RequestId><HostId>HID</HostId></Error>',
    )
  })
})

describe('result files store', () => {
  const opened: ResultFiles[] = []
  afterAll(async () => {
    for (const files of opened) await files.close()
  })

  it('leaves nothing behind when a write is aborted', async () => {
    const files = await ResultFiles.open()
    opened.push(files)
    const controller = new AbortController()
    const big = storedResult(
      ['v'],
      Array.from({ length: 200_000 }, (_, i) => [`value ${i}`]),
    )
    const uri = 's3://bucket/p/00000000-0000-4000-8000-000000000000.csv'
    const writing = files.write(uri, big, 'csv', controller.signal)
    controller.abort()
    await expect(writing).rejects.toThrow()
    expect(await files.has(uri)).toBe(false)
    expect(await readdir(path.join(files.root, '.partial'))).toEqual([])
    await rm(path.join(files.root, '.partial'), { recursive: true })
  })

  it('refuses limits that are not positive integers', async () => {
    await expect(ResultFiles.open({ limits: { maxBytes: 0 } })).rejects.toThrow(/maxBytes/)
  })
})

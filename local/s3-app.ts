import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { type Context, Hono } from 'hono'
import type { EngineLogger } from './duckdb-engine.ts'
import { InvalidContinuationTokenError, paginateListing } from './s3-list.ts'
import { isValidBucketName } from './s3-location.ts'
import { bucketExists, contentTypeOf, listBucketObjects, listBuckets, openObject } from './s3-objects.ts'
import { evaluatePreconditions, parseByteRange } from './s3-read-conditions.ts'
import { bucketLocationXml, errorXml, listBucketsXml, listObjectsV2Xml } from './s3-xml.ts'

/** What the S3 routes serve: the results directory (absolute, symlink-free). */
export interface S3AppOptions {
  root: string
  logger?: EngineLogger | undefined
}

const MAX_KEYS = 1000
const XML = 'application/xml'

/** An S3 error answer (`<Error><Code>…`), thrown by the handlers and rendered in one place. */
class S3Error extends Error {
  override readonly name = 'S3Error'
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly members: Readonly<Record<string, string | number>> = {},
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message)
  }
}

/**
 * A read-only, path-style S3 API over the results directory (object `s3://b/k` is file `<root>/b/k`), so one
 * endpoint serves both an AthenaClient and an `S3Client({ forcePathStyle: true })`, like LocalStack's edge port:
 * GetObject and HeadObject (ranges, conditional requests), ListObjectsV2, HeadBucket, GetBucketLocation and
 * ListBuckets. Every write answers MethodNotAllowed.
 */
export function createS3App(options: S3AppOptions): Hono {
  const app = new Hono()
  app.all('*', async (c) => {
    const requestId = randomBytes(8).toString('hex').toUpperCase()
    const hostId = randomBytes(24).toString('base64')
    const isHead = c.req.method === 'HEAD'
    let response: Response
    try {
      response = await route(c, options.root)
    } catch (err) {
      if (!(err instanceof S3Error)) options.logger?.warn({ err, url: c.req.url }, 'local s3: internal error')
      const e =
        err instanceof S3Error ? err : new S3Error('InternalError', 500, 'We encountered an internal error.')
      // S3 answers HEAD errors with the status alone: there is no body to carry a code.
      const body = isHead ? null : errorXml(e.code, e.message, e.members, requestId, hostId)
      response = new Response(body, { status: e.status, headers: { 'content-type': XML, ...e.headers } })
    }
    response.headers.set('x-amz-request-id', requestId)
    response.headers.set('x-amz-id-2', hostId)
    return response
  })
  return app
}

async function route(c: Context, root: string): Promise<Response> {
  const method = c.req.method
  const url = new URL(c.req.url)
  const { bucket, key } = splitPath(rawPathname(c) ?? url.pathname)
  const readOnly = method === 'GET' || method === 'HEAD'
  if (!readOnly) {
    const resource = bucket === '' ? 'SERVICE' : key === '' ? 'BUCKET' : 'OBJECT'
    throw new S3Error(
      'MethodNotAllowed',
      405,
      'The specified method is not allowed against this resource.',
      { Method: method, ResourceType: resource },
      { allow: 'GET, HEAD' },
    )
  }
  if (bucket === '') return xmlResponse(listBucketsXml(await listBuckets(root)))
  if (!isValidBucketName(bucket)) {
    throw new S3Error('InvalidBucketName', 400, 'The specified bucket is not valid.', { BucketName: bucket })
  }
  if (!(await bucketExists(root, bucket))) {
    throw new S3Error('NoSuchBucket', 404, 'The specified bucket does not exist', { BucketName: bucket })
  }
  if (key === '') return bucketRequest(c, root, bucket, url.searchParams)
  return objectRequest(c, root, bucket, key)
}

/**
 * The request target's path as the client sent it, when the Node adapter exposes it. The WHATWG URL behind
 * `c.req.url` resolves `.`/`..` segments (even encoded ones), so key `a/../b` would read object `b`; S3 keeps
 * such a key as it is (and the local store can hold none: NoSuchKey).
 */
function rawPathname(c: Context): string | undefined {
  const env: unknown = c.env
  const incoming =
    typeof env === 'object' && env !== null ? (env as { incoming?: unknown }).incoming : undefined
  const url =
    typeof incoming === 'object' && incoming !== null ? (incoming as { url?: unknown }).url : undefined
  if (typeof url !== 'string' || !url.startsWith('/')) return undefined
  const query = url.indexOf('?')
  return query < 0 ? url : url.slice(0, query)
}

// S3 keys arrive percent-encoded in the path, `/` kept as the separator. What decoding reveals (`..`, NUL,
// absolute paths) is checked by the key → file mapping, never trusted.
function splitPath(pathname: string): { bucket: string; key: string } {
  const slash = pathname.indexOf('/', 1)
  const rawBucket = slash < 0 ? pathname.slice(1) : pathname.slice(1, slash)
  const rawKey = slash < 0 ? '' : pathname.slice(slash + 1)
  try {
    return { bucket: decodeURIComponent(rawBucket), key: decodeURIComponent(rawKey) }
  } catch {
    throw new S3Error('InvalidURI', 400, "Couldn't parse the specified URI.", { URI: pathname })
  }
}

async function bucketRequest(
  c: Context,
  root: string,
  bucket: string,
  params: URLSearchParams,
): Promise<Response> {
  if (params.get('list-type') === '2') return listObjectsV2(root, bucket, params)
  if (params.has('location')) return xmlResponse(bucketLocationXml())
  // HeadBucket: the bucket exists (checked above).
  if (c.req.method === 'HEAD' && [...params.keys()].length === 0) return new Response(null, { status: 200 })
  const what = [...params.keys()].length === 0 ? 'ListObjects (V1)' : `GET /${bucket}?${params}`
  throw new S3Error(
    'NotImplemented',
    501,
    `${what} is not implemented by the local S3 (use ListObjectsV2: list-type=2).`,
  )
}

async function listObjectsV2(root: string, bucket: string, params: URLSearchParams): Promise<Response> {
  const maxKeysParam = params.get('max-keys')
  if (maxKeysParam !== null && !/^\d+$/.test(maxKeysParam)) {
    throw new S3Error('InvalidArgument', 400, 'Provided max-keys not an integer or within integer range', {
      ArgumentName: 'max-keys',
      ArgumentValue: maxKeysParam,
    })
  }
  const encodingType = params.get('encoding-type')
  if (encodingType !== null && encodingType !== 'url') {
    throw new S3Error('InvalidArgument', 400, 'Invalid Encoding Method specified in Request', {
      ArgumentName: 'encoding-type',
      ArgumentValue: encodingType,
    })
  }
  const delimiter = params.get('delimiter') || undefined
  const query = {
    prefix: params.get('prefix') ?? '',
    delimiter,
    maxKeys: maxKeysParam === null ? MAX_KEYS : Math.min(MAX_KEYS, Number(maxKeysParam)),
    startAfter: params.get('start-after') ?? undefined,
    continuationToken: params.get('continuation-token') ?? undefined,
  }
  let page: ReturnType<typeof paginateListing>
  try {
    page = paginateListing(await listBucketObjects(root, bucket, query.prefix), query)
  } catch (err) {
    if (!(err instanceof InvalidContinuationTokenError)) throw err
    throw new S3Error('InvalidArgument', 400, err.message, {
      ArgumentName: 'continuation-token',
      ArgumentValue: query.continuationToken ?? '',
    })
  }
  return xmlResponse(listObjectsV2Xml({ bucket, urlEncoded: encodingType === 'url', ...query }, page))
}

async function objectRequest(c: Context, root: string, bucket: string, key: string): Promise<Response> {
  const object = await openObject(root, bucket, key)
  if (object === undefined) {
    throw new S3Error('NoSuchKey', 404, 'The specified key does not exist.', { Key: key })
  }
  let streaming = false
  try {
    const validators = { etag: object.etag, 'last-modified': new Date(object.mtimeMs).toUTCString() }
    const precondition = evaluatePreconditions(
      {
        ifMatch: c.req.header('if-match'),
        ifNoneMatch: c.req.header('if-none-match'),
        ifModifiedSince: c.req.header('if-modified-since'),
        ifUnmodifiedSince: c.req.header('if-unmodified-since'),
      },
      object.etag,
      object.mtimeMs,
    )
    if (precondition === 'not-modified') {
      return new Response(null, { status: 304, headers: validators })
    }
    if (precondition !== 'proceed') {
      throw new S3Error(
        'PreconditionFailed',
        412,
        'At least one of the pre-conditions you specified did not hold',
        {
          Condition: precondition.failed,
        },
      )
    }
    const rangeHeader = c.req.header('range')
    const range = parseByteRange(rangeHeader, object.size)
    if (range.kind === 'unsatisfiable') {
      throw new S3Error(
        'InvalidRange',
        416,
        'The requested range is not satisfiable',
        { RangeRequested: rangeHeader ?? '', ActualObjectSize: object.size },
        { 'content-range': `bytes */${object.size}` },
      )
    }
    const [start, end] = range.kind === 'partial' ? [range.start, range.end] : [0, object.size - 1]
    const headers: Record<string, string> = {
      ...validators,
      'content-type': contentTypeOf(key),
      'content-length': String(end - start + 1),
      'accept-ranges': 'bytes',
    }
    if (range.kind === 'partial') headers['content-range'] = `bytes ${start}-${end}/${object.size}`
    const status = range.kind === 'partial' ? 206 : 200
    if (c.req.method === 'HEAD' || end < start) return new Response(null, { status, headers })
    // Streamed from the open handle (closed when the stream ends or the client goes away), never read whole.
    const stream = object.handle.createReadStream({ start, end, highWaterMark: 256 * 1024 })
    streaming = true
    // node:stream/web's ReadableStream and the global one are the same class with two type declarations.
    return new Response(Readable.toWeb(stream) as ReadableStream<Uint8Array>, { status, headers })
  } finally {
    if (!streaming) await object.handle.close()
  }
}

function xmlResponse(body: string): Response {
  return new Response(body, { status: 200, headers: { 'content-type': XML } })
}

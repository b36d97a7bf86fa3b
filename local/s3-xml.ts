import type { ListPage } from './s3-list.ts'

/** S3's XML namespace for every response document. */
export const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/'

const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

/** Escapes text for an XML element's content. */
export function xmlText(value: string): string {
  return value.replace(/[&<>"']/g, (c) => XML_ENTITIES[c] ?? c)
}

const XML_ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
}

function element(name: string, value: string | number | boolean): string {
  return `<${name}>${xmlText(String(value))}</${name}>`
}

/** S3's error document: `<Error><Code/><Message/>…extra members…<RequestId/><HostId/></Error>`. */
export function errorXml(
  code: string,
  message: string,
  members: Readonly<Record<string, string | number>>,
  requestId: string,
  hostId: string,
): string {
  const extra = Object.entries(members)
    .map(([name, value]) => element(name, value))
    .join('')
  return `${DECLARATION}<Error>${element('Code', code)}${element('Message', message)}${extra}${element('RequestId', requestId)}${element('HostId', hostId)}</Error>`
}

/** What ListObjectsV2 echoes from its request. */
export interface ListEcho {
  bucket: string
  prefix: string
  delimiter: string | undefined
  maxKeys: number
  startAfter: string | undefined
  continuationToken: string | undefined
  /** `encoding-type=url`: keys, prefixes and delimiter are URL-encoded in the answer (the AWS CLI asks so). */
  urlEncoded: boolean
}

/** The ListObjectsV2 result document (`ListBucketResult`). */
export function listObjectsV2Xml(echo: ListEcho, page: ListPage): string {
  const enc = (s: string) => (echo.urlEncoded ? urlEncodeKey(s) : s)
  const parts = [
    element('Name', echo.bucket),
    element('Prefix', enc(echo.prefix)),
    echo.delimiter === undefined ? '' : element('Delimiter', enc(echo.delimiter)),
    element('MaxKeys', echo.maxKeys),
    echo.urlEncoded ? element('EncodingType', 'url') : '',
    element('KeyCount', page.contents.length + page.commonPrefixes.length),
    element('IsTruncated', page.isTruncated),
    echo.continuationToken === undefined ? '' : element('ContinuationToken', echo.continuationToken),
    page.nextContinuationToken === undefined
      ? ''
      : element('NextContinuationToken', page.nextContinuationToken),
    echo.startAfter === undefined ? '' : element('StartAfter', enc(echo.startAfter)),
    ...page.contents.map(
      (o) =>
        `<Contents>${element('Key', enc(o.key))}${element('LastModified', new Date(o.mtimeMs).toISOString())}${element('ETag', o.etag)}${element('Size', o.size)}${element('StorageClass', 'STANDARD')}</Contents>`,
    ),
    ...page.commonPrefixes.map((p) => `<CommonPrefixes>${element('Prefix', enc(p))}</CommonPrefixes>`),
  ]
  return `${DECLARATION}<ListBucketResult xmlns="${S3_NAMESPACE}">${parts.join('')}</ListBucketResult>`
}

/** The ListBuckets result document. */
export function listBucketsXml(buckets: readonly { name: string; createdMs: number }[]): string {
  const items = buckets
    .map(
      (b) =>
        `<Bucket>${element('Name', b.name)}${element('CreationDate', new Date(b.createdMs).toISOString())}</Bucket>`,
    )
    .join('')
  const owner = `<Owner>${element('ID', 'local')}${element('DisplayName', 'local')}</Owner>`
  return `${DECLARATION}<ListAllMyBucketsResult xmlns="${S3_NAMESPACE}">${owner}<Buckets>${items}</Buckets></ListAllMyBucketsResult>`
}

/** GetBucketLocation's answer for us-east-1 (an empty constraint), the region the local endpoint claims. */
export function bucketLocationXml(): string {
  return `${DECLARATION}<LocationConstraint xmlns="${S3_NAMESPACE}"/>`
}

// S3 encodes like encodeURIComponent but leaves `/` readable; clients decode with unquote_plus, hence `+` → %2B.
function urlEncodeKey(s: string): string {
  return encodeURIComponent(s).replaceAll('%2F', '/')
}

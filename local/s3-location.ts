import path from 'node:path'

/** An S3 object (or key prefix) named by bucket and key. */
export interface S3Location {
  bucket: string
  /** Object key or prefix, without a leading `/`; may be empty (the bucket's root). */
  key: string
}

// S3's rules for new buckets (lower case, 3–63 characters, no `..`); also what keeps a bucket name from being a
// path trick: it can never be `.`, `..`, contain `/`, or start with the `.` of the writer's scratch directory.
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/
const MAX_KEY_BYTES = 1024

/** Whether `name` is a valid S3 bucket name. */
export function isValidBucketName(name: string): boolean {
  return BUCKET_NAME.test(name) && !name.includes('..')
}

/**
 * Whether a key (or a key prefix ending in `/`) can name a file under the results directory: non-empty segments,
 * none `.` or `..`, no NUL or backslash. S3 itself accepts such keys; the local store can never hold them.
 */
export function isFileKey(key: string): boolean {
  if (key === '' || Buffer.byteLength(key) > MAX_KEY_BYTES) return false
  return key.split('/').every(isFileSegment)
}

function isFileSegment(segment: string): boolean {
  return segment !== '' && segment !== '.' && segment !== '..' && !/[\0\\]/.test(segment)
}

/** Parses `s3://bucket[/key]`; undefined when it is not one (or names no file the local store could hold). */
export function parseS3Uri(uri: string): S3Location | undefined {
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(uri)
  const bucket = match?.[1]
  if (bucket === undefined || !isValidBucketName(bucket)) return undefined
  const key = match?.[2] ?? ''
  // A prefix may end in `/`; everything before it must be usable as directory names.
  const body = key.endsWith('/') ? key.slice(0, -1) : key
  if (body !== '' && !isFileKey(body)) return undefined
  return { bucket, key }
}

/** The result object Athena writes for an execution: `<location>/<id>.<extension>`. */
export function resultObjectUri(outputLocation: string, id: string, extension: 'csv' | 'txt'): string {
  const base = outputLocation.endsWith('/') ? outputLocation : `${outputLocation}/`
  return `${base}${id}.${extension}`
}

/**
 * The file holding object `bucket/key` under `root`, or undefined when the key cannot name one. Checked twice:
 * by the key's shape, and by the resolved path staying inside the bucket's directory.
 */
export function objectFilePath(root: string, bucket: string, key: string): string | undefined {
  if (!isValidBucketName(bucket) || !isFileKey(key)) return undefined
  const bucketDir = path.resolve(root, bucket)
  const file = path.resolve(bucketDir, ...key.split('/'))
  return file.startsWith(`${bucketDir}${path.sep}`) ? file : undefined
}

/** The directory of bucket `bucket` under `root`, or undefined for an invalid bucket name. */
export function bucketDirPath(root: string, bucket: string): string | undefined {
  return isValidBucketName(bucket) ? path.resolve(root, bucket) : undefined
}

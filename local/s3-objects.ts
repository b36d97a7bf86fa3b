import { createHash } from 'node:crypto'
import type { Dirent, Stats } from 'node:fs'
import { type FileHandle, lstat, open, readdir, realpath, stat } from 'node:fs/promises'
import path from 'node:path'
import type { ListedObject } from './s3-list.ts'
import { bucketDirPath, objectFilePath } from './s3-location.ts'

/** An object opened for reading: the handle keeps it readable even if the budget deletes the file meanwhile. */
export interface OpenedObject {
  handle: FileHandle
  size: number
  mtimeMs: number
  etag: string
}

/**
 * The object's ETag: derived from the file's inode, size and modification time, so it is stable for one
 * object and changes when the file is replaced, without reading the file. Not the content's MD5 (S3's ETag of
 * a multipart upload is not either).
 */
export function etagOf(stats: Stats): string {
  const digest = createHash('md5').update(`${stats.ino}:${stats.size}:${stats.mtimeMs}`).digest('hex')
  return `"${digest}"`
}

/** Content-Type by extension: Athena's result files are `text/csv` and `text/plain`. */
export function contentTypeOf(key: string): string {
  if (key.endsWith('.csv')) return 'text/csv'
  if (key.endsWith('.txt')) return 'text/plain'
  return 'application/octet-stream'
}

/** Whether the bucket exists, i.e. has a directory (not a symlink to one) under the root. */
export async function bucketExists(root: string, bucket: string): Promise<boolean> {
  const dir = bucketDirPath(root, bucket)
  return dir !== undefined && ((await lstat(dir).catch(() => undefined))?.isDirectory() ?? false)
}

/** Every bucket (directory) under the root, with its creation time. */
export async function listBuckets(root: string): Promise<{ name: string; createdMs: number }[]> {
  const entries = await readdir(root, { withFileTypes: true })
  const buckets: { name: string; createdMs: number }[] = []
  for (const entry of entries) {
    if (!entry.isDirectory() || bucketDirPath(root, entry.name) === undefined) continue
    const s = await stat(path.join(root, entry.name)).catch(() => undefined)
    if (s) buckets.push({ name: entry.name, createdMs: s.birthtimeMs || s.mtimeMs })
  }
  return buckets.sort((a, b) => (a.name < b.name ? -1 : 1))
}

/**
 * Opens object `bucket/key` for reading, or undefined when there is no such object. Keys that cannot name a
 * file (`..`, empty segments, NUL, backslash), directories, and paths whose real location (symlinks resolved)
 * is outside the bucket are all "no such key": nothing outside the results directory is ever opened.
 */
export async function openObject(
  root: string,
  bucket: string,
  key: string,
): Promise<OpenedObject | undefined> {
  const file = objectFilePath(root, bucket, key)
  const bucketDir = bucketDirPath(root, bucket)
  if (file === undefined || bucketDir === undefined) return undefined
  const real = await realpath(file).catch(() => undefined)
  if (real === undefined || !real.startsWith(`${bucketDir}${path.sep}`)) return undefined
  let handle: FileHandle | undefined
  try {
    handle = await open(real, 'r')
    // Stat the opened handle, not the path: size and ETag then describe exactly the bytes that will be read.
    const stats = await handle.stat()
    if (!stats.isFile()) {
      await handle.close()
      return undefined
    }
    return { handle, size: stats.size, mtimeMs: stats.mtimeMs, etag: etagOf(stats) }
  } catch {
    await handle?.close()
    return undefined
  }
}

/** Every object of the bucket whose key starts with `prefix` (unordered), found by walking its directory. */
export async function listBucketObjects(
  root: string,
  bucket: string,
  prefix: string,
): Promise<ListedObject[]> {
  const bucketDir = bucketDirPath(root, bucket)
  if (bucketDir === undefined) return []
  const out: ListedObject[] = []
  // Walked from the bucket's directory by directory entries, which never follow symlinks: starting at the
  // directory the prefix names would follow a symlinked one out of the results directory.
  const walk = async (dir: string, keyPrefix: string): Promise<void> => {
    const entries: Dirent[] = await readdir(dir, { withFileTypes: true }).catch(() => [])
    for (const entry of entries) {
      const key = `${keyPrefix}${entry.name}`
      const full = path.join(dir, entry.name)
      if (entry.isDirectory()) {
        // Only a directory on the way to the prefix, or under it, can hold matching keys.
        const dirKey = `${key}/`
        if (dirKey.startsWith(prefix) || prefix.startsWith(dirKey)) await walk(full, dirKey)
      } else if (entry.isFile() && key.startsWith(prefix)) {
        const s = await stat(full).catch(() => undefined)
        if (s) out.push({ key, size: s.size, mtimeMs: s.mtimeMs, etag: etagOf(s) })
      }
    }
  }
  await walk(bucketDir, '')
  return out
}

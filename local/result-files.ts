import { randomUUID } from 'node:crypto'
import { createWriteStream, type Dirent } from 'node:fs'
import { mkdir, mkdtemp, readdir, realpath, rename, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { ValidationError } from '../src/errors.ts'
import type { EngineLogger } from './duckdb-engine.ts'
import type { StoredResult } from './query-execution.ts'
import { type ResultFileFormat, resultFileChunks } from './result-file-format.ts'
import { objectFilePath, parseS3Uri } from './s3-location.ts'

/** Bounds of the result files kept on disk; the oldest result sets are deleted first. */
export interface ResultFileLimits {
  /** Bytes of result and metadata files kept (default 1 GiB). */
  maxBytes: number
  /** Result sets (a result file and its `.metadata`) kept (default 10,000, the executions kept in memory). */
  maxResults: number
}

export const DEFAULT_RESULT_FILE_LIMITS: ResultFileLimits = { maxBytes: 1024 ** 3, maxResults: 10_000 }

export interface ResultFilesOptions {
  /** Directory holding object `s3://b/p/k` as file `<dir>/b/p/k`. Absent: a fresh temp dir, removed on close. */
  dir?: string | undefined
  limits?: Partial<ResultFileLimits> | undefined
  logger?: EngineLogger | undefined
}

// Files are written here first and renamed into place, so a reader never sees half a file. Bucket names cannot
// start with `.`, so no bucket can collide with it.
const PARTIAL_DIR = '.partial'
// Only files named as this endpoint names them count against (and are deleted by) the budget: a results dir
// that also holds other files must never lose them.
const RESULT_FILE_NAME =
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.(csv|txt)(\.metadata)?$/

interface Entry {
  files: string[]
  bytes: number
}

/**
 * The local stand-in for Athena's result bucket: writes each successful execution's `<id>.csv` (or `.txt`) and
 * `.metadata` under a directory the S3 routes serve, within a byte and count budget (an expiring lifecycle rule).
 */
export class ResultFiles {
  /** Result sets oldest first, by the path of their result file. */
  private readonly entries = new Map<string, Entry>()
  private totalBytes = 0

  private constructor(
    /** Absolute, symlink-free path of the results directory. */
    readonly root: string,
    private readonly owned: boolean,
    private readonly limits: ResultFileLimits,
    private readonly logger: EngineLogger | undefined,
  ) {}

  /** Opens (creating it if needed) the results directory; files already in it count against the budget. */
  static async open(options: ResultFilesOptions = {}): Promise<ResultFiles> {
    const limits = { ...DEFAULT_RESULT_FILE_LIMITS, ...definedOnly(options.limits ?? {}) }
    for (const [name, value] of Object.entries(limits)) {
      if (!Number.isSafeInteger(value) || value < 1)
        throw new ValidationError(`result file limit ${name} must be a positive integer, got ${value}`)
    }
    const owned = options.dir === undefined
    const dir =
      options.dir === undefined
        ? await mkdtemp(path.join(tmpdir(), 'local-athena-results-'))
        : path.resolve(options.dir)
    await mkdir(dir, { recursive: true })
    const files = new ResultFiles(await realpath(dir), owned, limits, options.logger)
    // Left over by a process that died mid-write.
    await rm(path.join(files.root, PARTIAL_DIR), { recursive: true, force: true })
    if (!owned) await files.adoptExisting()
    return files
  }

  /** Creates the bucket's directory, so that listing it answers an empty list rather than NoSuchBucket. */
  async ensureBucket(bucket: string): Promise<void> {
    await mkdir(path.join(this.root, bucket), { recursive: true })
  }

  /** Whether the object exists (it may have been evicted or deleted by hand). */
  async has(objectUri: string): Promise<boolean> {
    const location = parseS3Uri(objectUri)
    const file = location && objectFilePath(this.root, location.bucket, location.key)
    return file !== undefined && ((await stat(file).catch(() => undefined))?.isFile() ?? false)
  }

  /**
   * Writes the result file and its `.metadata` (ResultSetMetadata as JSON, where Athena writes a binary
   * format), streamed chunk by chunk, then deletes the oldest result sets beyond the budget. Both files appear
   * at once when this resolves; an aborted write leaves nothing behind.
   */
  async write(
    objectUri: string,
    result: StoredResult,
    format: ResultFileFormat,
    signal: AbortSignal,
  ): Promise<void> {
    const file = this.fileOf(objectUri)
    const metadata = `${file}.metadata`
    const partialDir = path.join(this.root, PARTIAL_DIR)
    await Promise.all([
      mkdir(path.dirname(file), { recursive: true }),
      mkdir(partialDir, { recursive: true }),
    ])
    const partial = path.join(partialDir, randomUUID())
    const partialMetadata = `${partial}.metadata`
    try {
      await pipeline(Readable.from(resultFileChunks(result, format)), createWriteStream(partial), { signal })
      await writeFile(partialMetadata, JSON.stringify({ ColumnInfo: result.columns }), { signal })
      const [dataStat, metadataStat] = await Promise.all([stat(partial), stat(partialMetadata)])
      await rename(partial, file)
      await rename(partialMetadata, metadata)
      await this.register(file, [file, metadata], dataStat.size + metadataStat.size)
    } finally {
      await Promise.all([rm(partial, { force: true }), rm(partialMetadata, { force: true })])
    }
  }

  /** Removes the results directory when this instance created it (a temp dir); a given one is kept. */
  async close(): Promise<void> {
    // A result still being written when the endpoint closes (a refresh in flight) can add a file while the tree is
    // removed: rm retries ENOTEMPTY.
    if (this.owned) await rm(this.root, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 })
  }

  private fileOf(objectUri: string): string {
    const location = parseS3Uri(objectUri)
    const file = location && objectFilePath(this.root, location.bucket, location.key)
    if (file === undefined) throw new Error(`not a result object the local store can hold: ${objectUri}`)
    return file
  }

  private async register(key: string, files: string[], bytes: number): Promise<void> {
    this.entries.set(key, { files, bytes })
    this.totalBytes += bytes
    const doomed: string[] = []
    // Map iteration follows insertion order: oldest first. The newest result set is kept even when it alone
    // exceeds the budget, as the in-memory store keeps the newest result.
    for (const [k, entry] of this.entries) {
      if (this.totalBytes <= this.limits.maxBytes && this.entries.size <= this.limits.maxResults) break
      if (k === key) continue
      this.entries.delete(k)
      this.totalBytes -= entry.bytes
      doomed.push(...entry.files)
    }
    // Awaited, so that a client which saw the newer execution succeed already finds the old object gone.
    await Promise.all(
      doomed.map((f) =>
        rm(f, { force: true }).catch((err: unknown) =>
          this.logger?.warn({ err, file: f }, 'local athena: could not delete an old result file'),
        ),
      ),
    )
  }

  private async adoptExisting(): Promise<void> {
    const found: { file: string; bytes: number; mtimeMs: number }[] = []
    const walk = async (dir: string): Promise<void> => {
      const entries: Dirent[] = await readdir(dir, { withFileTypes: true }).catch(() => [])
      for (const entry of entries) {
        const full = path.join(dir, entry.name)
        if (entry.isDirectory() && !(dir === this.root && entry.name === PARTIAL_DIR)) await walk(full)
        else if (entry.isFile() && RESULT_FILE_NAME.test(entry.name)) {
          const s = await stat(full).catch(() => undefined)
          if (s) found.push({ file: full, bytes: s.size, mtimeMs: s.mtimeMs })
        }
      }
    }
    await walk(this.root)
    found.sort((a, b) => a.mtimeMs - b.mtimeMs)
    for (const f of found) await this.register(f.file, [f.file], f.bytes)
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}

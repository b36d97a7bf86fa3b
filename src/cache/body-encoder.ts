import { createHash, type Hash } from 'node:crypto'
import { createGzip, type Gzip } from 'node:zlib'

/** A body compressed as it was produced: the gzip bytes in pieces, the plain length and the plain body's ETag. */
export interface EncodedBody {
  gzip: readonly Buffer[]
  gzipLength: number
  plainLength: number
  /** Strong validator of the plain body, as `etagOf` computes it. */
  etag: string
}

/** Text is handed to zlib in pieces of about this size: fewer, larger writes cost less per byte. */
const PIECE_CHARS = 64 * 1024
/** Gzip output chunk size (zlib's default is 16 KiB): fewer Buffers to hold and to copy into the entry. */
const GZIP_CHUNK_BYTES = 256 * 1024

/**
 * Builds a body that may be far larger than memory should hold: text goes through SHA-256 (the ETag) and gzip as it
 * is written, and only the compressed bytes are kept. Compression runs on libuv's thread pool, beside the thread that
 * produces the rows; `settle()` waits whenever zlib is behind, so memory stays bounded by the compressed body.
 */
export class BodyEncoder {
  private readonly hash: Hash = createHash('sha256')
  private readonly gzip: Gzip = createGzip({ level: 6, chunkSize: GZIP_CHUNK_BYTES })
  private readonly chunks: Buffer[] = []
  private gzipLength = 0
  private plainLength = 0
  private pending = ''
  private failure: Error | undefined
  private readonly finished: Promise<void>

  constructor(
    private readonly maxPlainBytes: number,
    private readonly onTooLarge: () => Error,
  ) {
    this.gzip.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk)
      this.gzipLength += chunk.length
    })
    this.finished = new Promise<void>((resolve, reject) => {
      this.gzip.once('end', resolve)
      this.gzip.once('error', (err) => {
        this.failure = err
        reject(err)
      })
    })
    // Observed through finish() or settle(); never an unhandled rejection when the build is abandoned.
    this.finished.catch(() => {})
  }

  /** Bytes of plain body written so far. */
  get length(): number {
    return this.plainLength + Buffer.byteLength(this.pending)
  }

  /** Appends text to the body. Throws the limit's error once the body exceeds `maxPlainBytes`. */
  write(text: string): void {
    this.pending += text
    if (this.pending.length >= PIECE_CHARS) this.flushPending()
  }

  private flushPending(): void {
    if (this.pending.length === 0) return
    const piece = Buffer.from(this.pending, 'utf8')
    this.pending = ''
    this.plainLength += piece.length
    if (this.plainLength > this.maxPlainBytes) throw this.onTooLarge()
    this.hash.update(piece)
    this.gzip.write(piece)
  }

  /** Resolves once zlib has caught up with what was written (immediately when it has). */
  async settle(): Promise<void> {
    if (this.failure) throw this.failure
    if (!this.gzip.writableNeedDrain) return
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        this.gzip.off('drain', done)
        this.gzip.off('error', done)
        if (this.failure) reject(this.failure)
        else resolve()
      }
      this.gzip.on('drain', done)
      this.gzip.on('error', done)
    })
  }

  /** Ends the body: every gzip byte, the lengths and the ETag. */
  async finish(): Promise<EncodedBody> {
    this.flushPending()
    this.gzip.end()
    await this.finished
    return {
      gzip: this.chunks,
      gzipLength: this.gzipLength,
      plainLength: this.plainLength,
      etag: `"${this.hash.digest('base64url').slice(0, 22)}"`,
    }
  }

  /** Abandons the body (a read that starts over, or failed): frees zlib's memory now. */
  discard(): void {
    this.pending = ''
    this.chunks.length = 0
    this.gzip.destroy()
  }
}

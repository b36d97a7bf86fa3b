import { createHash } from 'node:crypto'
import { gunzipSync, gzipSync } from 'node:zlib'

/**
 * A cache entry is the precomputed HTTP response: the gzip-compressed JSON body plus a small fixed binary header.
 * Binary rather than a JSON header because a hit must only slice bytes: decoding reads a few numbers at fixed
 * offsets and never parses the rows (a JSON header measurably slowed the hit path).
 *
 * Layout (big-endian):
 *   0  'ACP1' magic         4  u8 format version     5  u8 flags (bit 0: error entry)
 *   6  f64 computedAt ms    14 f64 freshUntil ms     22 f64 staleUntil ms
 *   30 f64 dataScannedBytes 38 f64 engineMs          46 u32 rowCount    50 u32 plain body length
 *   54 f64 known (newest invalidation stamp seen before the computation started; see generations.ts)
 *   62 u8 etag length, etag (ascii) · u8 execution id length, id (ascii) · gzip body (rest)
 */
export interface EntryHeader {
  /** `error`: a cached user error (the body is a problem document), kept briefly so a broken query cannot hammer Athena. */
  kind: 'result' | 'error'
  computedAt: number
  freshUntil: number
  staleUntil: number
  dataScannedBytes: number
  engineMs: number
  rowCount: number
  plainLength: number
  /** Strong validator, quoted: `"…"`. */
  etag: string
  queryExecutionId: string
  /** The newest invalidation stamp the computation saw before it started: later stamps expire or delete it. */
  known: number
}

export interface DecodedEntry extends EntryHeader {
  /** The gzip bytes, a view into the stored buffer (no copy). */
  gzipBody: Buffer
}

const MAGIC = 0x41435031 // 'ACP1'
const FORMAT = 2
const FIXED = 62

export class EntryDecodeError extends Error {
  override readonly name = 'EntryDecodeError'
}

/** Strong ETag of a body: the first 128 bits of its SHA-256. */
export function etagOf(body: Buffer | string): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`
}

/** Compresses the body once and frames it with its header. */
export function encodeEntry(header: Omit<EntryHeader, 'etag' | 'plainLength'>, body: Buffer): Buffer {
  const gzip = gzipSync(body, { level: 6 })
  const etag = etagOf(body)
  const etagBytes = Buffer.from(etag, 'latin1')
  const idBytes = Buffer.from(header.queryExecutionId, 'latin1')
  if (etagBytes.length > 255 || idBytes.length > 255) throw new Error('entry header field too long')
  const out = Buffer.allocUnsafe(FIXED + 1 + etagBytes.length + 1 + idBytes.length + gzip.length)
  out.writeUInt32BE(MAGIC, 0)
  out.writeUInt8(FORMAT, 4)
  out.writeUInt8(header.kind === 'error' ? 1 : 0, 5)
  out.writeDoubleBE(header.computedAt, 6)
  out.writeDoubleBE(header.freshUntil, 14)
  out.writeDoubleBE(header.staleUntil, 22)
  out.writeDoubleBE(header.dataScannedBytes, 30)
  out.writeDoubleBE(header.engineMs, 38)
  out.writeUInt32BE(header.rowCount, 46)
  out.writeUInt32BE(body.length, 50)
  out.writeDoubleBE(header.known, 54)
  let at = FIXED
  out.writeUInt8(etagBytes.length, at++)
  at += etagBytes.copy(out, at)
  out.writeUInt8(idBytes.length, at++)
  at += idBytes.copy(out, at)
  gzip.copy(out, at)
  return out
}

/** Reads the header and slices the body; throws EntryDecodeError on anything malformed. */
export function decodeEntry(buf: Buffer): DecodedEntry {
  if (buf.length < FIXED + 2 || buf.readUInt32BE(0) !== MAGIC) throw new EntryDecodeError('not a cache entry')
  if (buf.readUInt8(4) !== FORMAT) throw new EntryDecodeError(`unknown entry format ${buf.readUInt8(4)}`)
  let at = FIXED
  const etagLength = buf.readUInt8(at++)
  if (at + etagLength + 1 > buf.length) throw new EntryDecodeError('truncated entry')
  const etag = buf.toString('latin1', at, at + etagLength)
  at += etagLength
  const idLength = buf.readUInt8(at++)
  if (at + idLength > buf.length) throw new EntryDecodeError('truncated entry')
  const queryExecutionId = buf.toString('latin1', at, at + idLength)
  at += idLength
  // gzip magic: a truncated or foreign body is caught here rather than by a client failing to inflate it.
  if (buf.length < at + 18 || buf[at] !== 0x1f || buf[at + 1] !== 0x8b)
    throw new EntryDecodeError('bad entry body')
  return {
    kind: (buf.readUInt8(5) & 1) === 1 ? 'error' : 'result',
    computedAt: buf.readDoubleBE(6),
    freshUntil: buf.readDoubleBE(14),
    staleUntil: buf.readDoubleBE(22),
    dataScannedBytes: buf.readDoubleBE(30),
    engineMs: buf.readDoubleBE(38),
    rowCount: buf.readUInt32BE(46),
    plainLength: buf.readUInt32BE(50),
    known: buf.readDoubleBE(54),
    etag,
    queryExecutionId,
    gzipBody: buf.subarray(at),
  }
}

/** The plain JSON body, for clients that do not accept gzip. */
export function plainBody(entry: DecodedEntry): Buffer {
  try {
    return gunzipSync(entry.gzipBody)
  } catch (err) {
    throw new EntryDecodeError(`entry body does not inflate: ${(err as Error).message}`)
  }
}

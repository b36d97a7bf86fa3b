import { createHash } from 'node:crypto'
import { crc32, gunzipSync, gzipSync } from 'node:zlib'

/**
 * A cache entry is the precomputed HTTP response: the gzip-compressed JSON body plus a small fixed binary header.
 * Binary rather than a JSON header because a hit must only slice bytes: decoding reads a few numbers at fixed
 * offsets and never parses the rows (a JSON header measurably slowed the hit path).
 *
 * Layout (big-endian):
 *   0  'ACP1' magic         4  u8 format version     5  u8 flags (bit 0: error entry; the others must be 0)
 *   6  u32 CRC-32 of every other byte but the magic: version and flags, then offset 10 to the end (header fields,
 *      ETag, execution id and gzip body)
 *   10 f64 computedAt ms    18 f64 freshUntil ms     26 f64 staleUntil ms
 *   34 f64 dataScannedBytes 42 f64 engineMs          50 u32 rowCount    54 u32 plain body length
 *   58 f64 known (newest invalidation stamp seen before the computation started; see generations.ts)
 *   66 u8 etag length, etag (ascii) · u8 execution id length, id (ascii) · gzip body (rest)
 *
 * Stored bytes are input like any other: a truncated write, a flipped bit or a foreign value under our key must
 * become an EntryDecodeError (a miss), never an exception elsewhere — a bad ETag once reached `writeHead` and took
 * the process down. The CRC-32 catches every truncation and single-bit flip for a few microseconds per hit (zlib's
 * native implementation over the compressed bytes, docs/decisions/001); the header fields are then checked one by one.
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
const FORMAT = 3
const CRC_AT = 6
const CHECKED_FROM = 10
const FIXED = 66
/** The smallest gzip member: 10-byte header, an empty deflate block, 8-byte trailer. */
const MIN_GZIP = 20
/** What etagOf produces: a quoted 22-character base64url token. Anything else would be sent as a header. */
const ETAG = /^"[A-Za-z0-9_-]{22}"$/
/** Athena execution ids (UUIDs); empty for a cached user error the engine gave no id. */
const EXECUTION_ID = /^[A-Za-z0-9-]{0,128}$/
const MAX_U32 = 0xffff_ffff

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
  return encodeEntryParts(header, {
    gzip: [gzip],
    gzipLength: gzip.length,
    plainLength: body.length,
    etag: etagOf(body),
  })
}

/**
 * Frames a body compressed elsewhere (BodyEncoder, for bodies built as a stream) with its header: the gzip pieces
 * are copied once, into the one buffer the store receives.
 */
export function encodeEntryParts(
  header: Omit<EntryHeader, 'etag' | 'plainLength'>,
  body: { gzip: readonly Buffer[]; gzipLength: number; plainLength: number; etag: string },
): Buffer {
  const { etag } = body
  // The encoder holds itself to the decoder's rules: an entry it writes must never be one it rejects.
  if (!ETAG.test(etag)) throw new TypeError(`ETag ${JSON.stringify(etag.slice(0, 64))} cannot be stored`)
  if (!EXECUTION_ID.test(header.queryExecutionId))
    throw new TypeError(
      `execution id ${JSON.stringify(header.queryExecutionId.slice(0, 64))} cannot be stored`,
    )
  if (!(body.plainLength >= 0 && body.plainLength <= MAX_U32))
    throw new TypeError(`a body of ${body.plainLength} bytes cannot be stored (at most ${MAX_U32})`)
  const problem = headerProblem(header)
  if (problem) throw new TypeError(`entry header: ${problem}`)
  const etagBytes = Buffer.from(etag, 'latin1')
  const idBytes = Buffer.from(header.queryExecutionId, 'latin1')
  const out = Buffer.allocUnsafe(FIXED + 1 + etagBytes.length + 1 + idBytes.length + body.gzipLength)
  out.writeUInt32BE(MAGIC, 0)
  out.writeUInt8(FORMAT, 4)
  out.writeUInt8(header.kind === 'error' ? 1 : 0, 5)
  out.writeDoubleBE(header.computedAt, 10)
  out.writeDoubleBE(header.freshUntil, 18)
  out.writeDoubleBE(header.staleUntil, 26)
  out.writeDoubleBE(header.dataScannedBytes, 34)
  out.writeDoubleBE(header.engineMs, 42)
  out.writeUInt32BE(header.rowCount, 50)
  out.writeUInt32BE(body.plainLength, 54)
  out.writeDoubleBE(header.known, 58)
  let at = FIXED
  out.writeUInt8(etagBytes.length, at++)
  at += etagBytes.copy(out, at)
  out.writeUInt8(idBytes.length, at++)
  at += idBytes.copy(out, at)
  for (const piece of body.gzip) at += piece.copy(out, at)
  if (at !== out.length)
    throw new TypeError(
      `gzip pieces hold ${at - (out.length - body.gzipLength)} bytes, not ${body.gzipLength}`,
    )
  out.writeUInt32BE(checksum(out), CRC_AT)
  return out
}

/** The CRC-32 an entry carries: over version and flags, then everything after the CRC itself. */
function checksum(buf: Buffer): number {
  return crc32(buf.subarray(CHECKED_FROM), crc32(buf.subarray(4, CRC_AT)))
}

/** What is wrong with the numeric header fields, or undefined: times finite and ordered, measures non-negative. */
function headerProblem(h: {
  computedAt: number
  freshUntil: number
  staleUntil: number
  dataScannedBytes: number
  engineMs: number
  known: number
}): string | undefined {
  // Written out rather than looped over a list: this runs on every hit read from the store.
  if (!finiteNonNegative(h.computedAt)) return 'computedAt is not a finite non-negative number'
  if (!finiteNonNegative(h.freshUntil)) return 'freshUntil is not a finite non-negative number'
  if (!finiteNonNegative(h.staleUntil)) return 'staleUntil is not a finite non-negative number'
  if (!finiteNonNegative(h.dataScannedBytes)) return 'dataScannedBytes is not a finite non-negative number'
  if (!finiteNonNegative(h.engineMs)) return 'engineMs is not a finite non-negative number'
  if (!finiteNonNegative(h.known)) return 'known is not a finite non-negative number'
  if (!(h.computedAt <= h.freshUntil && h.freshUntil <= h.staleUntil))
    return 'times are not ordered (computedAt ≤ freshUntil ≤ staleUntil)'
  return undefined
}

/** A finite, non-negative number (NaN fails every comparison, so it fails here too). */
function finiteNonNegative(value: number): boolean {
  return value >= 0 && value <= Number.MAX_VALUE
}

/** Reads and checks the header and slices the body; throws EntryDecodeError (only) on anything malformed. */
export function decodeEntry(buf: Buffer): DecodedEntry {
  if (!Buffer.isBuffer(buf) || buf.length < FIXED + 2 + MIN_GZIP || buf.readUInt32BE(0) !== MAGIC)
    throw new EntryDecodeError('not a cache entry')
  const format = buf.readUInt8(4)
  if (format !== FORMAT) throw new EntryDecodeError(`unknown entry format ${format}`)
  // First, so that no field below is read from damaged bytes: every truncation and every single-bit flip fails here.
  if (checksum(buf) !== buf.readUInt32BE(CRC_AT))
    throw new EntryDecodeError('entry checksum mismatch (truncated or damaged)')
  const flags = buf.readUInt8(5)
  if ((flags & ~1) !== 0) throw new EntryDecodeError(`unknown entry flags ${flags}`)
  let at = FIXED
  const etagLength = buf.readUInt8(at++)
  if (at + etagLength + 1 > buf.length) throw new EntryDecodeError('truncated entry')
  const etag = buf.toString('latin1', at, at + etagLength)
  if (!ETAG.test(etag)) throw new EntryDecodeError('malformed ETag')
  at += etagLength
  const idLength = buf.readUInt8(at++)
  if (at + idLength > buf.length) throw new EntryDecodeError('truncated entry')
  const queryExecutionId = buf.toString('latin1', at, at + idLength)
  if (!EXECUTION_ID.test(queryExecutionId)) throw new EntryDecodeError('malformed execution id')
  at += idLength
  // gzip magic and minimal size: a foreign body is caught here rather than by a client failing to inflate it.
  if (buf.length < at + MIN_GZIP || buf[at] !== 0x1f || buf[at + 1] !== 0x8b)
    throw new EntryDecodeError('bad entry body')
  const entry: DecodedEntry = {
    kind: (flags & 1) === 1 ? 'error' : 'result',
    computedAt: buf.readDoubleBE(10),
    freshUntil: buf.readDoubleBE(18),
    staleUntil: buf.readDoubleBE(26),
    dataScannedBytes: buf.readDoubleBE(34),
    engineMs: buf.readDoubleBE(42),
    rowCount: buf.readUInt32BE(50),
    plainLength: buf.readUInt32BE(54),
    known: buf.readDoubleBE(58),
    etag,
    queryExecutionId,
    gzipBody: buf.subarray(at),
  }
  const problem = headerProblem(entry)
  if (problem) throw new EntryDecodeError(problem)
  return entry
}

/** The plain JSON body, for clients that do not accept gzip. */
export function plainBody(entry: DecodedEntry): Buffer {
  let plain: Buffer
  try {
    // Never inflate past the length the header promised: a crafted body cannot make a hit allocate without bound.
    plain = gunzipSync(entry.gzipBody, { maxOutputLength: Math.max(1, entry.plainLength) })
  } catch (err) {
    throw new EntryDecodeError(`entry body does not inflate: ${(err as Error).message}`)
  }
  if (plain.length !== entry.plainLength) throw new EntryDecodeError('entry body length mismatch')
  return plain
}

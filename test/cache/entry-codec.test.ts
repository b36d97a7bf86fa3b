import { randomBytes } from 'node:crypto'
import { gunzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { CacheKeys, canonicalJson, identityHash } from '../../src/cache/cache-key.ts'
import { decodeEntry, EntryDecodeError, encodeEntry, etagOf, plainBody } from '../../src/cache/entry-codec.ts'
import { reseal } from '../helpers/corrupting-cache-store.ts'

const header = {
  kind: 'result' as const,
  computedAt: 1_700_000_000_123,
  freshUntil: 1_700_000_300_123,
  staleUntil: 1_700_003_900_123,
  dataScannedBytes: 123_456_789,
  engineMs: 2_345,
  rowCount: 31,
  queryExecutionId: '5d7c1a4e-0000-4000-8000-000000000001',
  known: 1_700_000_000_001,
}

describe('entry codec', () => {
  const body = Buffer.from(JSON.stringify({ rows: [{ a: 1, s: 'é"\\' }], meta: { q: 'x' } }))
  const encoded = encodeEntry(header, body)

  it('round-trips header fields and the body', () => {
    const e = decodeEntry(encoded)
    expect(e).toMatchObject({ ...header, plainLength: body.length, etag: etagOf(body) })
    expect(gunzipSync(e.gzipBody).equals(body)).toBe(true)
    expect(plainBody(e).equals(body)).toBe(true)
  })

  it('marks error entries', () => {
    const e = decodeEntry(encodeEntry({ ...header, kind: 'error' }, Buffer.from('{"status":422}')))
    expect(e.kind).toBe('error')
    expect(decodeEntry(encoded).kind).toBe('result')
  })

  it('gives equal bodies equal strong ETags and different bodies different ones', () => {
    expect(etagOf(body)).toMatch(/^"[A-Za-z0-9_-]{22}"$/)
    expect(etagOf(Buffer.from(body))).toBe(etagOf(body))
    expect(etagOf(Buffer.from('{"rows":[]}'))).not.toBe(etagOf(body))
  })

  it.each([
    ['empty', Buffer.alloc(0)],
    ['foreign bytes', Buffer.from('{"rows":[]}')],
    ['truncated header', encoded.subarray(0, 40)],
    ['truncated body', encoded.subarray(0, encoded.length - (encoded.length - 70))],
    ['other format version', Buffer.concat([encoded.subarray(0, 4), Buffer.from([9]), encoded.subarray(5)])],
  ])('rejects %s with EntryDecodeError', (_n, buf) => {
    expect(() => decodeEntry(buf)).toThrow(EntryDecodeError)
  })

  it('reports a body that does not inflate', () => {
    // Damage that passes the checksum (resealed): only a crafted entry gets this far.
    const broken = Buffer.from(encoded)
    broken.fill(0, broken.length - 12) // corrupt gzip trailer and data
    const e = decodeEntry(reseal(broken))
    expect(() => plainBody(e)).toThrow(EntryDecodeError)
  })
})

/** Decoding `buf` either succeeds or throws EntryDecodeError: never another exception. */
function decodeOutcome(buf: Buffer): 'decoded' | 'EntryDecodeError' {
  try {
    decodeEntry(buf)
    return 'decoded'
  } catch (err) {
    if (err instanceof EntryDecodeError) return 'EntryDecodeError'
    throw err
  }
}

describe('entry codec: stored bytes are untrusted input', () => {
  const small = encodeEntry(header, Buffer.from('{"rows":[]}'))
  // Incompressible enough that the gzip body is several KB: truncations inside deflate blocks, not just the trailer.
  const large = encodeEntry(
    header,
    Buffer.from(JSON.stringify({ rows: randomBytes(6_000).toString('base64') })),
  )
  /** Offsets of the layout (format 3): fields, ETag and id, body. */
  const ETAG_AT = 67
  const ID_AT = ETAG_AT + 24 + 1

  it('rejects every truncation, at every length of a small and a large entry', () => {
    for (const entry of [small, large]) {
      for (let n = 0; n < entry.length; n++)
        expect(decodeOutcome(entry.subarray(0, n)), `length ${n} of ${entry.length}`).toBe('EntryDecodeError')
      expect(decodeOutcome(entry)).toBe('decoded')
    }
  })

  it('rejects every single-bit flip, in the header and in the body', () => {
    for (const entry of [small, large]) {
      const copy = Buffer.from(entry)
      for (let i = 0; i < copy.length; i++) {
        for (let bit = 0; bit < 8; bit++) {
          copy[i] = (copy[i] as number) ^ (1 << bit)
          expect(decodeOutcome(copy), `byte ${i} bit ${bit}`).toBe('EntryDecodeError')
          copy[i] = (copy[i] as number) ^ (1 << bit)
        }
      }
    }
  })

  it('rejects an appended byte and a swapped body', () => {
    expect(decodeOutcome(Buffer.concat([small, Buffer.from([0])]))).toBe('EntryDecodeError')
    const bodyAt = ID_AT + 1 + header.queryExecutionId.length
    expect(decodeOutcome(Buffer.concat([small.subarray(0, bodyAt), large.subarray(bodyAt)]))).toBe(
      'EntryDecodeError',
    )
  })

  it.each([
    ['wrong magic', (b: Buffer) => b.write('ACP2', 0, 'latin1')],
    ['format 2 (the previous layout)', (b: Buffer) => b.writeUInt8(2, 4)],
    ['format 255', (b: Buffer) => b.writeUInt8(255, 4)],
  ])('rejects %s', (_name, edit) => {
    const copy = Buffer.from(small)
    edit(copy)
    expect(() => decodeEntry(reseal(copy))).toThrow(EntryDecodeError)
  })

  // Each edit is resealed, so the checksum passes and the field checks themselves are what reject it.
  it.each([
    ['an ETag with a control character', (b: Buffer) => b.writeUInt8(0x0a, ETAG_AT + 5), /ETag/],
    ['an ETag with a quote inside', (b: Buffer) => b.writeUInt8(0x22, ETAG_AT + 5), /ETag/],
    ['an ETag with a non-ASCII byte', (b: Buffer) => b.writeUInt8(0xe9, ETAG_AT + 5), /ETag/],
    ['an unquoted ETag', (b: Buffer) => b.writeUInt8(0x41, ETAG_AT), /ETag/],
    ['an execution id with CR', (b: Buffer) => b.writeUInt8(0x0d, ID_AT + 3), /execution id/],
    ['an unknown flag', (b: Buffer) => b.writeUInt8(0x82, 5), /flags/],
    ['computedAt NaN', (b: Buffer) => b.writeDoubleBE(Number.NaN, 10), /computedAt/],
    ['freshUntil Infinity', (b: Buffer) => b.writeDoubleBE(Number.POSITIVE_INFINITY, 18), /freshUntil/],
    ['staleUntil before freshUntil', (b: Buffer) => b.writeDoubleBE(1, 26), /ordered/],
    ['negative engineMs', (b: Buffer) => b.writeDoubleBE(-1, 42), /engineMs/],
    ['known -Infinity', (b: Buffer) => b.writeDoubleBE(Number.NEGATIVE_INFINITY, 58), /known/],
    ['an ETag length past the end', (b: Buffer) => b.writeUInt8(255, ETAG_AT - 1), /truncated|ETag/],
    ['an ETag length of 0', (b: Buffer) => b.writeUInt8(0, ETAG_AT - 1), /ETag/],
    ['an id length past the end', (b: Buffer) => b.writeUInt8(255, ID_AT - 1), /truncated|execution id/],
  ])('rejects %s', (_name, edit, message) => {
    const copy = Buffer.from(small)
    edit(copy)
    expect(() => decodeEntry(reseal(copy))).toThrow(EntryDecodeError)
    expect(() => decodeEntry(copy)).toThrow(message)
  })

  it('a plain length that does not match the body fails when inflated, whatever it claims', () => {
    for (const claimed of [0, 1, 0xffffffff]) {
      const copy = Buffer.from(small)
      copy.writeUInt32BE(claimed, 54)
      const entry = decodeEntry(reseal(copy))
      expect(() => plainBody(entry)).toThrow(EntryDecodeError)
    }
  })

  it('random bytes and random damage only ever raise EntryDecodeError', () => {
    for (let i = 0; i < 2_000; i++) {
      expect(decodeOutcome(randomBytes(i % 300))).toBe('EntryDecodeError')
      const damaged = Buffer.from(i % 2 ? small : large)
      for (let k = 0; k <= i % 5; k++) damaged[(i * 7919 + k * 104729) % damaged.length] = i & 0xff
      // A damaged copy that still decodes is one whose edits happened to write the bytes already there.
      if (decodeOutcome(damaged) === 'decoded') expect(damaged.equals(i % 2 ? small : large)).toBe(true)
    }
  })

  it('the encoder refuses what the decoder would reject', () => {
    expect(() => encodeEntry({ ...header, queryExecutionId: 'a\nb' }, Buffer.from('{}'))).toThrow(TypeError)
    expect(() => encodeEntry({ ...header, freshUntil: header.computedAt - 1 }, Buffer.from('{}'))).toThrow(
      /ordered/,
    )
    expect(() => encodeEntry({ ...header, engineMs: Number.NaN }, Buffer.from('{}'))).toThrow(/engineMs/)
    expect(
      decodeEntry(encodeEntry({ ...header, kind: 'error', queryExecutionId: '' }, Buffer.from('{}'))).kind,
    ).toBe('error')
  })
})

describe('cache keys', () => {
  const identity = {
    query: 'analytics',
    sqlHash: 'abc',
    database: 'analytics',
    workgroup: 'primary',
    params: { measure: 'pageviews', period: 'day', start: '2024-01-01', end: '2024-02-01' },
  }
  const keys = new CacheKeys('acp')

  it('ignores parameter order and separates every field', () => {
    const reordered = {
      ...identity,
      params: { end: '2024-02-01', start: '2024-01-01', period: 'day', measure: 'pageviews' },
    }
    expect(keys.entry(reordered)).toBe(keys.entry(identity))
    const variants = [
      { ...identity, query: 'top_pages' },
      { ...identity, sqlHash: 'abd' },
      { ...identity, database: 'other' },
      { ...identity, workgroup: 'wg2' },
      { ...identity, params: { ...identity.params, period: 'week' } },
      { ...identity, params: { ...identity.params, extra: 1 } },
      { ...identity, params: { ...identity.params, measure: 'pageviews ' } },
    ]
    const all = new Set([keys.entry(identity), ...variants.map((v) => keys.entry(v))])
    expect(all.size).toBe(variants.length + 1)
  })

  it('does not confuse a number with its string', () => {
    expect(identityHash({ ...identity, params: { limit: 10 } })).not.toBe(
      identityHash({ ...identity, params: { limit: '10' } }),
    )
  })

  it('prefixes and versions keys', () => {
    expect(keys.entry(identity)).toMatch(/^acp:v3:e:[A-Za-z0-9_-]{43}$/)
    expect(keys.runtimeOfKey(keys.entry(identity))).toMatch(/^acp:v3:rt:k:[A-Za-z0-9_-]{43}$/)
    expect(new CacheKeys('other').entry(identity)).not.toBe(keys.entry(identity))
  })

  it('canonicalJson sorts nested keys and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[1,{"y":2,"z":1}]},"b":1}',
    )
  })
})

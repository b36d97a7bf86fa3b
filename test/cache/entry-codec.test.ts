import { gunzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { CacheKeys, canonicalJson, identityHash } from '../../src/cache/cache-key.ts'
import { decodeEntry, EntryDecodeError, encodeEntry, etagOf, plainBody } from '../../src/cache/entry-codec.ts'

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
    const broken = Buffer.from(encoded)
    broken.fill(0, broken.length - 12) // corrupt gzip trailer and data
    const e = decodeEntry(broken)
    expect(() => plainBody(e)).toThrow(EntryDecodeError)
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
    expect(keys.entry(identity)).toMatch(/^acp:v2:e:[A-Za-z0-9_-]{43}$/)
    expect(keys.runtimeOfKey(keys.entry(identity))).toMatch(/^acp:v2:rt:k:[A-Za-z0-9_-]{43}$/)
    expect(new CacheKeys('other').entry(identity)).not.toBe(keys.entry(identity))
  })

  it('canonicalJson sorts nested keys and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[1,{"y":2,"z":1}]},"b":1}',
    )
  })
})

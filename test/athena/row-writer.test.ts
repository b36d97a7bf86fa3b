import { gunzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import {
  createJsonRowWriter,
  createRowConverter,
  type ResultColumn,
} from '../../src/athena/result-converter.ts'
import { BodyEncoder } from '../../src/cache/body-encoder.ts'
import { etagOf } from '../../src/cache/entry-codec.ts'

const COLUMNS: ResultColumn[] = [
  { name: 'day', type: 'date' },
  { name: 'ts', type: 'timestamp' },
  { name: 'n', type: 'bigint' },
  { name: 'x', type: 'double' },
  { name: 'ok', type: 'boolean' },
  { name: 'd', type: 'decimal', precision: 10, scale: 2 },
  { name: 'j', type: 'json' },
  { name: 'label "quoted"', type: 'varchar' },
]

/** Values as Athena renders them, NULLs included, with awkward strings. */
function values(i: number): Array<string | undefined> {
  return [
    i % 7 === 0 ? undefined : '2024-01-02',
    '2024-01-02 03:04:05.678',
    i % 3 === 0 ? '9007199254740993' : String(i),
    i % 5 === 0 ? 'NaN' : `${i}.5`,
    i % 2 === 0 ? 'true' : 'false',
    '12.30',
    i % 4 === 0 ? '{"a":[1,2]}' : 'not json',
    `a "b", \\ c\n\u2028 ${i}`,
  ]
}

const viaObject = (columns: ResultColumn[]) => {
  const toObject = createRowConverter(columns)
  return (v: Array<string | undefined>) =>
    JSON.stringify(toObject({ Data: v.map((x) => (x === undefined ? {} : { VarCharValue: x })) }))
}

describe('createJsonRowWriter', () => {
  it('writes exactly what JSON.stringify gives for the converted row object', () => {
    const write = createJsonRowWriter(COLUMNS)
    const reference = viaObject(COLUMNS)
    for (let i = 0; i < 200; i++) expect(write(values(i))).toBe(reference(values(i)))
  })

  it('keeps the object semantics for repeated, index-like and __proto__ column names', () => {
    for (const names of [
      ['a', 'a'],
      ['b', '1', 'a', '0'],
      ['__proto__', 'x'],
    ]) {
      const columns = names.map((name) => ({ name, type: 'varchar' }))
      const row = names.map((_, i) => `v${i}`)
      expect(createJsonRowWriter(columns)(row)).toBe(viaObject(columns)(row))
    }
    // A column named __proto__ is a key like any other, not lost to the prototype.
    expect(JSON.parse(createJsonRowWriter([{ name: '__proto__', type: 'varchar' }])(['v']))).toEqual(
      JSON.parse('{"__proto__":"v"}'),
    )
  })
})

describe('BodyEncoder', () => {
  it('compresses as it goes: the gzip inflates to the text written, the ETag is the plain body’s', async () => {
    const encoder = new BodyEncoder(10 * 1024 * 1024, () => new Error('too large'))
    let text = ''
    for (let i = 0; i < 20_000; i++) {
      const piece = `${JSON.stringify(values(i))}\n`
      text += piece
      encoder.write(piece)
      if (i % 1000 === 0) await encoder.settle()
    }
    const body = await encoder.finish()
    const gzip = Buffer.concat(body.gzip)
    expect(gzip.length).toBe(body.gzipLength)
    expect(gunzipSync(gzip).toString()).toBe(text)
    expect(body.plainLength).toBe(Buffer.byteLength(text))
    expect(body.etag).toBe(etagOf(Buffer.from(text)))
  })

  it('throws the limit’s error once the plain body is over the limit', async () => {
    const encoder = new BodyEncoder(100_000, () => new RangeError('over the limit'))
    expect(() => {
      for (let i = 0; i < 10_000; i++) encoder.write('0123456789abcdef')
    }).toThrow(RangeError)
    encoder.discard()
  })
})

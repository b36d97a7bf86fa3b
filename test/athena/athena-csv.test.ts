import { describe, expect, it } from 'vitest'
import { AthenaCsvReader, CsvFormatError, type CsvRecord } from '../../src/athena/athena-csv.ts'

/** Athena's rendering of records: every value quoted, NULL as nothing. */
function athenaCsv(records: readonly CsvRecord[]): string {
  return records
    .map((r) => r.map((v) => (v === undefined ? '' : `"${v.replaceAll('"', '""')}"`)).join(','))
    .map((line) => `${line}\n`)
    .join('')
}

function readAll(pieces: readonly string[]): CsvRecord[] {
  const out: CsvRecord[] = []
  const reader = new AthenaCsvReader((r) => out.push(r))
  for (const p of pieces) reader.push(p)
  reader.end()
  return out
}

const RECORDS: CsvRecord[] = [
  ['label', 'n', 'note'],
  ['plain', '1', undefined],
  ['', '2', ''],
  ['comma, inside', '3', 'quote " inside'],
  ['"quoted"', '4', 'line\nbreak and\r\ncrlf'],
  ['unicode ✓ 日本語 😀', '5', '""'],
  [undefined, undefined, undefined],
]

describe('AthenaCsvReader', () => {
  it('reads Athena’s CSV: quotes, doubled quotes, commas and line breaks inside values, NULL apart from ""', () => {
    expect(readAll([athenaCsv(RECORDS)])).toEqual(RECORDS)
  })

  it('gives the same records however the text is split, at every position', () => {
    const text = athenaCsv(RECORDS)
    for (let at = 0; at <= text.length; at++)
      expect(readAll([text.slice(0, at), text.slice(at)]), `split at ${at}`).toEqual(RECORDS)
  })

  it('decodes UTF-8 split inside a character, byte by byte', () => {
    const bytes = Buffer.from(athenaCsv(RECORDS))
    const out: CsvRecord[] = []
    const reader = new AthenaCsvReader((r) => out.push(r))
    for (const b of bytes) reader.pushBytes(Uint8Array.of(b))
    reader.end()
    expect(out).toEqual(RECORDS)
  })

  it('a single NULL column is an empty line, and is a record', () => {
    expect(readAll(['"x"\n\n"a"\n'])).toEqual([['x'], [undefined], ['a']])
  })

  it('accepts unquoted values, CRLF line ends, and a last line without a line end', () => {
    expect(readAll(['a,b\r\n1,"2"\r\n3,'])).toEqual([
      ['a', 'b'],
      ['1', '2'],
      ['3', undefined],
    ])
  })

  it('rejects what Athena never writes: text after a closing quote, a quote in an unquoted value, an open quote at the end', () => {
    expect(() => readAll(['"a"b\n'])).toThrow(CsvFormatError)
    expect(() => readAll(['a"b\n'])).toThrow(CsvFormatError)
    expect(() => readAll(['"a\n'])).toThrow(CsvFormatError)
    const reader = new AthenaCsvReader(() => {})
    expect(() => reader.pushBytes(Uint8Array.of(0xff, 0xfe))).toThrow(CsvFormatError)
  })
})

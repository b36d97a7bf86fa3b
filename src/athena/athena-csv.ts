/**
 * A streaming reader of the CSV files Athena writes at a query's OutputLocation: RFC 4180 with `,` and `\n`, every
 * value in double quotes (a quote doubled inside), SQL NULL as an empty unquoted field — so `""` is an empty string
 * and nothing at all is NULL, the distinction GetQueryResults makes by leaving `VarCharValue` out. Unquoted values
 * and `\r\n` line ends are accepted too. Written by hand rather than with csv-parse (docs/decisions/011): csv-parse
 * took 4 s for a million six-column rows without telling quoted from unquoted empties and 46 s with the `cast` hook
 * that does; this reader takes a small fraction of that (bench/large-results.ts).
 */
export class CsvFormatError extends Error {
  override readonly name = 'CsvFormatError'
}

/** A record's fields: the text of each value, or undefined for NULL (GetQueryResults' absent `VarCharValue`). */
export type CsvRecord = Array<string | undefined>

const QUOTE = 34
const COMMA = 44
const LF = 10
const CR = 13

/** Where a record ended, or `incomplete` when the text ran out before it did. */
type Scan = { next: number } | 'incomplete'

/**
 * Pushes decoded text in pieces of any size (a record may span pieces); `onRecord` is called once per complete
 * record. Call `end()` after the last piece: a last record without a line end is completed there.
 */
export class AthenaCsvReader {
  private pending = ''
  private readonly decoder = new TextDecoder('utf-8', { fatal: true })
  /** Records seen, the header included. */
  records = 0

  constructor(private readonly onRecord: (record: CsvRecord) => void) {}

  /** Bytes of the file, in order; a multi-byte character split across chunks is decoded whole. */
  pushBytes(chunk: Uint8Array): void {
    let text: string
    try {
      text = this.decoder.decode(chunk, { stream: true })
    } catch (err) {
      throw new CsvFormatError(`the result file is not UTF-8: ${(err as Error).message}`)
    }
    this.push(text)
  }

  /** Decoded text, in order. */
  push(text: string): void {
    const s = this.pending.length > 0 ? this.pending + text : text
    this.pending = s.slice(this.scanAll(s, false))
  }

  /** Completes the last record (one without a line end) and checks nothing is left half-read. */
  end(): void {
    let tail: string
    try {
      tail = this.decoder.decode()
    } catch (err) {
      throw new CsvFormatError(`the result file is not UTF-8: ${(err as Error).message}`)
    }
    const s = this.pending + tail
    this.pending = ''
    if (s.length === 0) return
    const consumed = this.scanAll(s, true)
    if (consumed < s.length) throw new CsvFormatError('the result file ends inside a quoted value')
  }

  /** Emits every complete record of `s`; returns how far it got (the start of the first incomplete record). */
  private scanAll(s: string, final: boolean): number {
    let at = 0
    while (at < s.length) {
      const record: CsvRecord = []
      const scan = this.scanRecord(s, at, record, final)
      if (scan === 'incomplete') return at
      at = scan.next
      this.records++
      this.onRecord(record)
    }
    return at
  }

  private scanRecord(s: string, start: number, out: CsvRecord, final: boolean): Scan {
    const len = s.length
    let i = start
    for (;;) {
      if (i >= len) {
        // Only at the very end of the file can a record end without a line end.
        if (!final) return 'incomplete'
        out.push(undefined)
        return { next: len }
      }
      const c = s.charCodeAt(i)
      if (c === QUOTE) {
        let value = ''
        let from = i + 1
        for (;;) {
          const q = s.indexOf('"', from)
          if (q < 0) return 'incomplete'
          if (q + 1 >= len) {
            // A quote at the end of the text: the value's end, or the first half of a doubled quote.
            if (!final) return 'incomplete'
            value += s.slice(from, q)
            i = q + 1
            break
          }
          if (s.charCodeAt(q + 1) === QUOTE) {
            value += s.slice(from, q + 1)
            from = q + 2
            continue
          }
          value += s.slice(from, q)
          i = q + 1
          break
        }
        out.push(value)
      } else if (c === COMMA || c === LF || c === CR) {
        out.push(undefined)
      } else {
        let j = i
        while (j < len) {
          const d = s.charCodeAt(j)
          if (d === COMMA || d === LF || d === CR) break
          if (d === QUOTE)
            throw new CsvFormatError(`a quote inside an unquoted value (record ${this.records + 1})`)
          j++
        }
        if (j >= len && !final) return 'incomplete'
        out.push(s.slice(i, j))
        i = j
      }
      if (i >= len) {
        if (!final) return 'incomplete'
        return { next: len }
      }
      const sep = s.charCodeAt(i)
      if (sep === COMMA) {
        i++
        continue
      }
      if (sep === LF) return { next: i + 1 }
      if (sep === CR) {
        if (i + 1 >= len) return final ? { next: len } : 'incomplete'
        if (s.charCodeAt(i + 1) === LF) return { next: i + 2 }
      }
      throw new CsvFormatError(`unexpected character after a value (record ${this.records + 1})`)
    }
  }
}

/**
 * A small SQL tokenizer: just enough structure to rewrite function names and read literals without
 * touching string literals, quoted identifiers or comments. It never rejects input; malformed SQL
 * (e.g. an unterminated string) yields a token running to the end and is left for DuckDB to report.
 */

export type SqlTokenKind =
  | 'word'
  | 'quoted-identifier'
  | 'string'
  | 'number'
  | 'line-comment'
  | 'block-comment'
  | 'whitespace'
  | 'symbol'

export interface SqlToken {
  kind: SqlTokenKind
  text: string
  /** Offset of the first character in the source. */
  start: number
  /** For `string` tokens: whether the closing quote was found. */
  terminated?: boolean
}

const WORD_START = /[\p{L}_]/u
const WORD_PART = /[\p{L}\p{N}_$]/u
const DIGIT = /[0-9]/
const SPACE = /\s/

/** Splits SQL into tokens; concatenating every token's text gives back the input exactly. */
export function tokenizeSql(sql: string): SqlToken[] {
  const tokens: SqlToken[] = []
  let i = 0
  while (i < sql.length) {
    const start = i
    const ch = sql.charAt(i)
    const next = sql.charAt(i + 1)
    if (SPACE.test(ch)) {
      while (i < sql.length && SPACE.test(sql.charAt(i))) i++
      tokens.push({ kind: 'whitespace', text: sql.slice(start, i), start })
    } else if (ch === '-' && next === '-') {
      const end = sql.indexOf('\n', i)
      i = end === -1 ? sql.length : end
      tokens.push({ kind: 'line-comment', text: sql.slice(start, i), start })
    } else if (ch === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2)
      i = end === -1 ? sql.length : end + 2
      tokens.push({ kind: 'block-comment', text: sql.slice(start, i), start })
    } else if (ch === "'" || ch === '"') {
      const { end, terminated } = scanQuoted(sql, i, ch)
      i = end
      const kind = ch === "'" ? 'string' : 'quoted-identifier'
      tokens.push({ kind, text: sql.slice(start, i), start, terminated })
    } else if (DIGIT.test(ch) || (ch === '.' && DIGIT.test(next))) {
      i = scanNumber(sql, i)
      tokens.push({ kind: 'number', text: sql.slice(start, i), start })
    } else if (WORD_START.test(ch)) {
      while (i < sql.length && WORD_PART.test(sql.charAt(i))) i++
      tokens.push({ kind: 'word', text: sql.slice(start, i), start })
    } else {
      i++
      tokens.push({ kind: 'symbol', text: ch, start })
    }
  }
  return tokens
}

/** Whether a token carries no meaning for the parser (whitespace or a comment). */
export function isTrivia(token: SqlToken): boolean {
  return token.kind === 'whitespace' || token.kind === 'line-comment' || token.kind === 'block-comment'
}

/** Scans a quoted run where the quote character is escaped by doubling it (`''`, `""`). */
function scanQuoted(sql: string, from: number, quote: string): { end: number; terminated: boolean } {
  let i = from + 1
  while (i < sql.length) {
    if (sql.charAt(i) === quote) {
      if (sql.charAt(i + 1) === quote) {
        i += 2
        continue
      }
      return { end: i + 1, terminated: true }
    }
    i++
  }
  return { end: sql.length, terminated: false }
}

function scanNumber(sql: string, from: number): number {
  let i = from
  while (i < sql.length && DIGIT.test(sql.charAt(i))) i++
  if (sql.charAt(i) === '.') {
    i++
    while (i < sql.length && DIGIT.test(sql.charAt(i))) i++
  }
  const e = sql.charAt(i)
  if (e === 'e' || e === 'E') {
    let j = i + 1
    if (sql.charAt(j) === '+' || sql.charAt(j) === '-') j++
    if (DIGIT.test(sql.charAt(j))) {
      while (j < sql.length && DIGIT.test(sql.charAt(j))) j++
      i = j
    }
  }
  return i
}

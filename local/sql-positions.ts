import { isTrivia, type SqlToken, tokenizeSql } from './sql-lexer.ts'

/** The character offset in `text` of a UTF-8 byte offset (DuckDB reports error positions in bytes). */
export function charOffsetOfByte(text: string, byteOffset: number): number {
  let bytes = 0
  let offset = 0
  for (const ch of text) {
    if (bytes >= byteOffset) return offset
    const code = ch.codePointAt(0) ?? 0
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4
    offset += ch.length
  }
  return text.length
}

/**
 * Trino's `line L:C` for a character offset: lines and columns count from 1, columns in code points (as
 * Trino's ANTLR lexer counts them).
 */
export function trinoLocation(text: string, offset: number): string {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)))
  const lineStart = before.lastIndexOf('\n') + 1
  const line = before.split('\n').length
  const column = Array.from(before.slice(lineStart)).length + 1
  return `line ${line}:${column}`
}

/** The significant (non-whitespace, non-comment) tokens of `text`. */
export function significantTokens(text: string): SqlToken[] {
  return tokenizeSql(text).filter((t) => !isTrivia(t))
}

/** The significant token starting at, or containing, `offset`; undefined at the end of the text. */
export function tokenAt(tokens: readonly SqlToken[], offset: number): SqlToken | undefined {
  return tokens.find((t) => offset >= t.start && offset < t.start + t.text.length)
}

/** An identifier's name as Trino sees it: quotes removed, folded to lower case. */
export function identifierName(token: SqlToken): string {
  const text = token.kind === 'quoted-identifier' ? token.text.slice(1, -1).replaceAll('""', '"') : token.text
  return text.toLowerCase()
}

/** The dotted name (`a`, `t.a`, `"Db".t`) starting at the token at `offset`, as lower-case parts. */
export function qualifiedNameAt(tokens: readonly SqlToken[], offset: number): string[] {
  let i = tokens.findIndex((t) => t.start <= offset && offset < t.start + t.text.length)
  const parts: string[] = []
  while (i >= 0 && i < tokens.length) {
    const token = tokens[i]
    if (token === undefined || (token.kind !== 'word' && token.kind !== 'quoted-identifier')) break
    parts.push(identifierName(token))
    if (tokens[i + 1]?.text !== '.') break
    i += 2
  }
  return parts
}

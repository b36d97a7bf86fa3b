import { isTrivia, type SqlToken, tokenizeSql } from './sql-lexer.ts'
import { FORMAT_FUNCTIONS, mysqlToStrftime, TRINO_FUNCTION_NAMES, TRINO_SCHEMA } from './trino-functions.ts'

/** SQL rewritten for DuckDB, with the way back to the text the client sent. */
export interface TranslatedSql {
  sql: string
  /**
   * Offset in the source text of the character at `offset` in `sql`: a position inside a rewritten token maps
   * to the start of the token it replaced, so an error DuckDB reports on `_trino.date_add` points at `date_add`.
   */
  sourceOffset(offset: number): number
}

export interface TranslateOptions {
  /** Literals spliced in place of the `?` placeholders, in order (for analysis only: never for running). */
  parameters?: readonly string[] | undefined
  /** Tokens before this source offset become blanks of the same length (`EXPLAIN` in front of a query). */
  blankBefore?: number | undefined
}

/**
 * Rewrites calls of emulated Trino functions (`date_add(`, `regexp_like(` …) to their macros in the
 * private schema, and `date_format`/`date_parse` with a literal format to DuckDB's strftime/strptime
 * with the format translated. Only unquoted words directly followed by `(` and not qualified
 * (`x.date_add(`) are touched, so string literals, quoted identifiers, comments and columns with
 * those names stay intact.
 */
export function translateTrinoSql(sql: string): string {
  return translateSql(sql).sql
}

/**
 * `translateTrinoSql` with its offset map; also turns binary literals (`X'0A'`, which DuckDB would read as
 * the string 'x0A') into `from_hex('0A')` and, when asked, splices parameters in or blanks a prefix.
 */
export function translateSql(source: string, options: TranslateOptions = {}): TranslatedSql {
  const tokens = tokenizeSql(source)
  const replacements = new Map<number, string>()
  let previous: string | undefined
  let parameter = 0
  for (const [i, token] of tokens.entries()) {
    const name = token.text.toLowerCase()
    if (options.blankBefore !== undefined && token.start < options.blankBefore) {
      replacements.set(i, token.text.replace(/[^\n]/g, ' '))
      continue
    }
    if (token.kind === 'word' && previous !== '.' && TRINO_FUNCTION_NAMES.has(name)) {
      const open = nextSignificant(tokens, i + 1)
      if (open !== undefined && tokens[open]?.text === '(') {
        const direct = FORMAT_FUNCTIONS[name]
        const format = direct === undefined ? undefined : literalLastArgument(tokens, open)
        if (direct !== undefined && format !== undefined) {
          replacements.set(i, direct)
          replacements.set(format.index, `'${mysqlToStrftime(format.value).replaceAll("'", "''")}'`)
        } else {
          replacements.set(i, `${TRINO_SCHEMA}.${name}`)
        }
      }
    }
    const literal = tokens[i + 1]
    if (name === 'x' && token.kind === 'word' && literal?.kind === 'string' && literal.terminated) {
      replacements.set(i, 'from_hex(')
      replacements.set(i + 1, `${literal.text.replace(/\s/g, '')})`)
    }
    if (token.kind === 'symbol' && token.text === '?' && options.parameters !== undefined) {
      const value = options.parameters[parameter++]
      if (value !== undefined) replacements.set(i, `(${value.trim()})`)
    }
    if (!isTrivia(token)) previous = token.text
  }
  parenthesizeValuesRows(tokens, replacements)
  return withOffsetMap(source, tokens, replacements)
}

// Words that end a VALUES list at depth 0 (what may follow it in a query).
const AFTER_VALUES = new Set(['ORDER', 'LIMIT', 'OFFSET', 'FETCH', 'UNION', 'EXCEPT', 'INTERSECT', 'WINDOW'])

/**
 * Trino takes `VALUES 1, 2, 3` (each row a bare expression); DuckDB wants every row in parentheses. Rows that are
 * one parenthesised group already (`(1, 'a')`) are left as they are.
 */
function parenthesizeValuesRows(tokens: readonly SqlToken[], replacements: Map<number, string>): void {
  for (const [i, token] of tokens.entries()) {
    if (token.kind !== 'word' || token.text.toUpperCase() !== 'VALUES') continue
    let depth = 0
    let row: number[] = []
    const close = () => {
      const first = row[0]
      const last = row[row.length - 1]
      if (first !== undefined && last !== undefined && !isOneGroup(tokens, row)) {
        replacements.set(first, `(${replacements.get(first) ?? tokens[first]?.text ?? ''}`)
        replacements.set(last, `${replacements.get(last) ?? tokens[last]?.text ?? ''})`)
      }
      row = []
    }
    for (let j = i + 1; j < tokens.length; j++) {
      const t = tokens[j]
      if (t === undefined || isTrivia(t)) continue
      if (depth === 0) {
        const word = t.kind === 'word' ? t.text.toUpperCase() : ''
        if (t.text === ')' || t.text === ';' || AFTER_VALUES.has(word)) break
        if (t.text === ',') {
          close()
          continue
        }
      }
      if (t.text === '(') depth++
      if (t.text === ')') depth--
      row.push(j)
    }
    close()
  }
}

/** Whether the significant tokens `row` are exactly one parenthesised group. */
function isOneGroup(tokens: readonly SqlToken[], row: readonly number[]): boolean {
  if (tokens[row[0] ?? -1]?.text !== '(') return false
  let depth = 0
  for (const [k, index] of row.entries()) {
    const text = tokens[index]?.text
    if (text === '(') depth++
    if (text === ')') depth--
    if (depth === 0) return k === row.length - 1
  }
  return false
}

interface Segment {
  sourceStart: number
  outStart: number
  length: number
  rewritten: boolean
}

function withOffsetMap(source: string, tokens: readonly SqlToken[], replacements: Map<number, string>) {
  const segments: Segment[] = []
  let sql = ''
  for (const [i, token] of tokens.entries()) {
    const text = replacements.get(i) ?? token.text
    segments.push({
      sourceStart: token.start,
      outStart: sql.length,
      length: text.length,
      rewritten: text !== token.text,
    })
    sql += text
  }
  return {
    sql,
    sourceOffset(offset: number): number {
      if (offset >= sql.length) return source.length
      let lo = 0
      let hi = segments.length - 1
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1
        if ((segments[mid]?.outStart ?? 0) <= offset) lo = mid
        else hi = mid - 1
      }
      const segment = segments[lo]
      if (segment === undefined) return 0
      return segment.rewritten ? segment.sourceStart : segment.sourceStart + (offset - segment.outStart)
    },
  }
}

function nextSignificant(tokens: readonly SqlToken[], from: number): number | undefined {
  for (let i = from; i < tokens.length; i++) {
    const token = tokens[i]
    if (token !== undefined && !isTrivia(token)) return i
  }
  return undefined
}

/** For a call `f(a, 'lit')` whose `(` is at `open`: the index and value of 'lit' when it is the whole last argument. */
function literalLastArgument(
  tokens: readonly SqlToken[],
  open: number,
): { index: number; value: string } | undefined {
  let depth = 0
  let lastArgument: number[] = []
  let commas = 0
  for (let i = open; i < tokens.length; i++) {
    const token = tokens[i]
    if (token === undefined) break
    if (token.text === '(') depth++
    if (token.text === ')') depth--
    if (depth === 0) {
      const [only, ...rest] = lastArgument
      const literal = only === undefined ? undefined : tokens[only]
      if (commas === 0 || rest.length > 0 || literal?.kind !== 'string' || literal.terminated !== true)
        return undefined
      return { index: only as number, value: literal.text.slice(1, -1).replaceAll("''", "'") }
    }
    if (i === open) continue
    if (depth === 1 && token.text === ',') {
      commas++
      lastArgument = []
    } else if (!isTrivia(token)) {
      lastArgument.push(i)
    }
  }
  return undefined
}

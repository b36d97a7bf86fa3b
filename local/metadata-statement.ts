/**
 * Parses the Hive-style metadata statements Athena answers from the Glue catalog (SHOW …, DESCRIBE …). Their
 * grammar is Hive's, not Trino's: names may be backtick-quoted (`my-db`.`my-table`, or `db.table` in one pair),
 * patterns are string literals in single or double quotes, a trailing `;` is allowed.
 */

/** A table as a statement names it: `database` absent means the execution's context database. */
export interface TableReference {
  database: string | undefined
  name: string
  /** The name as written (qualified when it was), for error messages. */
  written: string
}

/** A parsed metadata statement. */
export type MetadataStatement =
  | { kind: 'show-databases'; pattern: string | undefined }
  | { kind: 'show-tables'; database: string | undefined; pattern: string | undefined }
  | { kind: 'show-views'; database: string | undefined; pattern: string | undefined }
  | { kind: 'show-columns'; table: TableReference }
  | { kind: 'show-partitions'; table: TableReference }
  | { kind: 'show-create-table'; table: TableReference }
  | { kind: 'show-tblproperties'; table: TableReference }
  | { kind: 'describe'; table: TableReference; column: string | undefined }

/** What the parser made of a statement. */
export type ParsedMetadata =
  /** Not a SHOW or DESCRIBE statement: the SQL engine takes it. */
  | { kind: 'other' }
  /** A SHOW or DESCRIBE form the local endpoint does not answer (or malformed). */
  | { kind: 'unsupported'; statement: string }
  | { kind: 'statement'; statement: MetadataStatement }

interface Token {
  kind: 'word' | 'quoted' | 'string' | 'symbol'
  text: string
  start: number
}

/** Recognises SHOW / DESCRIBE / DESC statements and parses the forms Athena documents. */
export function parseMetadataStatement(sql: string): ParsedMetadata {
  const tokens = scan(sql)
  const first = tokens[0]
  if (first?.kind !== 'word') return { kind: 'other' }
  const keyword = first.text.toUpperCase()
  if (keyword !== 'SHOW' && keyword !== 'DESCRIBE' && keyword !== 'DESC') return { kind: 'other' }
  const unsupported = {
    kind: 'unsupported',
    statement: tokens
      .slice(0, keyword === 'SHOW' ? 3 : 1)
      .filter((t) => t.kind === 'word')
      .map((t) => t.text.toUpperCase())
      .join(' '),
  } as const
  const end = tokens.at(-1)?.text === ';' ? tokens.length - 1 : tokens.length
  const reader = new TokenReader(tokens.slice(1, end))
  const statement = keyword === 'SHOW' ? parseShow(reader) : parseDescribe(reader)
  if (statement === undefined || !reader.done()) return unsupported
  return { kind: 'statement', statement }
}

function parseShow(r: TokenReader): MetadataStatement | undefined {
  const what = r.word()
  switch (what) {
    case 'DATABASES':
    case 'SCHEMAS': {
      const pattern = r.takeWord('LIKE') ? r.string() : r.optionalString()
      return pattern === null ? undefined : { kind: 'show-databases', pattern }
    }
    case 'TABLES':
    case 'VIEWS': {
      const database = r.takeWord('IN') || r.takeWord('FROM') ? r.identifier() : undefined
      if (database === null) return undefined
      const pattern = r.takeWord('LIKE') ? r.string() : r.optionalString()
      if (pattern === null) return undefined
      return { kind: what === 'TABLES' ? 'show-tables' : 'show-views', database, pattern }
    }
    case 'COLUMNS': {
      if (!r.takeWord('IN') && !r.takeWord('FROM')) return undefined
      const table = r.table()
      if (table === undefined) return undefined
      if (r.takeWord('IN') || r.takeWord('FROM')) {
        const database = r.identifier()
        if (database === null || table.database !== undefined) return undefined
        return { kind: 'show-columns', table: { ...table, database, written: `${database}.${table.name}` } }
      }
      return { kind: 'show-columns', table }
    }
    case 'PARTITIONS':
      return withTable(r, (table) => ({ kind: 'show-partitions', table }))
    case 'TBLPROPERTIES':
      return withTable(r, (table) => ({ kind: 'show-tblproperties', table }))
    case 'CREATE':
      return r.takeWord('TABLE') ? withTable(r, (table) => ({ kind: 'show-create-table', table })) : undefined
    default:
      return undefined
  }
}

function parseDescribe(r: TokenReader): MetadataStatement | undefined {
  const table = r.table()
  if (table === undefined) return undefined
  const column = r.done() ? undefined : r.identifier()
  if (column === null) return undefined
  return { kind: 'describe', table, column }
}

function withTable(
  r: TokenReader,
  build: (table: TableReference) => MetadataStatement,
): MetadataStatement | undefined {
  const table = r.table()
  return table === undefined ? undefined : build(table)
}

class TokenReader {
  private index = 0
  constructor(private readonly tokens: readonly Token[]) {}

  done(): boolean {
    return this.index >= this.tokens.length
  }

  /** The next token as an upper-case keyword (consumed), or '' when it is not a word. */
  word(): string {
    const token = this.tokens[this.index]
    if (token?.kind !== 'word') return ''
    this.index++
    return token.text.toUpperCase()
  }

  takeWord(keyword: string): boolean {
    const token = this.tokens[this.index]
    if (token?.kind !== 'word' || token.text.toUpperCase() !== keyword) return false
    this.index++
    return true
  }

  /** A bare or backtick-quoted name; null when the next token is neither. */
  identifier(): string | null {
    const token = this.tokens[this.index]
    if (token?.kind !== 'word' && token?.kind !== 'quoted') return null
    this.index++
    return token.kind === 'quoted' ? unquote(token.text, '`') : token.text
  }

  /** `table`, `db.table`, `` `db`.`table` `` or `` `db.table` `` (Hive splits a quoted dotted name). */
  table(): TableReference | undefined {
    const first = this.identifier()
    if (first === null) return undefined
    if (this.tokens[this.index]?.text === '.') {
      this.index++
      const second = this.identifier()
      if (second === null) return undefined
      return { database: first, name: second, written: `${first}.${second}` }
    }
    const dot = first.indexOf('.')
    if (dot > 0 && dot < first.length - 1)
      return { database: first.slice(0, dot), name: first.slice(dot + 1), written: first }
    return { database: undefined, name: first, written: first }
  }

  /** A string literal's value; null when the next token is not one. */
  string(): string | null {
    const token = this.tokens[this.index]
    if (token?.kind !== 'string') return null
    this.index++
    return unquote(token.text, token.text.charAt(0))
  }

  /** An optional string literal: undefined when absent. */
  optionalString(): string | undefined {
    return this.string() ?? undefined
  }
}

function unquote(text: string, quote: string): string {
  return text.slice(1, -1).replaceAll(quote + quote, quote)
}

/** Words, backtick-quoted names, string literals and single-character symbols; comments and spaces dropped. */
function scan(sql: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < sql.length) {
    const ch = sql.charAt(i)
    const start = i
    if (/\s/.test(ch)) {
      i++
    } else if (sql.startsWith('--', i)) {
      const end = sql.indexOf('\n', i)
      i = end === -1 ? sql.length : end + 1
    } else if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2)
      i = end === -1 ? sql.length : end + 2
    } else if (ch === '`' || ch === "'" || ch === '"') {
      const end = closingQuote(sql, i)
      i = end ?? sql.length
      // An unterminated quote is left as a symbol, which no statement form accepts.
      const kind = end === undefined ? 'symbol' : ch === '`' ? 'quoted' : 'string'
      tokens.push({ kind, text: sql.slice(start, i), start })
    } else if (/[\p{L}\p{N}_$]/u.test(ch)) {
      while (i < sql.length && /[\p{L}\p{N}_$]/u.test(sql.charAt(i))) i++
      tokens.push({ kind: 'word', text: sql.slice(start, i), start })
    } else {
      i++
      tokens.push({ kind: 'symbol', text: ch, start })
    }
  }
  return tokens
}

/** The index just past the closing quote (a doubled quote is part of the text); undefined when unterminated. */
function closingQuote(sql: string, from: number): number | undefined {
  const quote = sql.charAt(from)
  let i = from + 1
  while (i < sql.length) {
    if (sql.charAt(i) === quote) {
      if (sql.charAt(i + 1) !== quote) return i + 1
      i++
    }
    i++
  }
  return undefined
}

import { isTrivia, tokenizeSql } from './sql-lexer.ts'

/** How Athena classifies a statement, and whether its results start with a header row. */
export interface StatementKind {
  statementType: 'DML' | 'DDL' | 'UTILITY'
  substatementType: string
  /** Athena prepends a header row (the column labels) to SELECT results only. */
  headerRow: boolean
}

const QUERY_KEYWORDS = new Set(['SELECT', 'WITH', 'VALUES', 'TABLE', 'FROM'])

/** SHOW statements named by two keywords after SHOW (`SHOW CREATE TABLE` is SHOW_CREATE_TABLE). */
const TWO_WORD_SHOW = new Set(['CREATE'])

/**
 * Classifies a (read-only) statement by its leading keywords, the way Athena reports StatementType: queries are
 * DML, SHOW / DESCRIBE / EXPLAIN are UTILITY (SubstatementType SHOW_TABLES, SHOW_CREATE_TABLE, DESCRIBE …).
 */
export function classifyStatement(sql: string): StatementKind {
  const words: string[] = []
  for (const token of tokenizeSql(sql)) {
    if (isTrivia(token) || token.text === '(') continue
    if (token.kind !== 'word') break
    words.push(token.text.toUpperCase())
    if (words.length === 3) break
  }
  const [first = '', second = '', third = ''] = words
  if (QUERY_KEYWORDS.has(first)) return { statementType: 'DML', substatementType: 'SELECT', headerRow: true }
  if (first === 'SHOW') {
    const what = TWO_WORD_SHOW.has(second) && third !== '' ? `${second}_${third}` : second
    return { statementType: 'UTILITY', substatementType: `SHOW_${what}`, headerRow: false }
  }
  if (first === 'DESC') return { statementType: 'UTILITY', substatementType: 'DESCRIBE', headerRow: false }
  return { statementType: 'UTILITY', substatementType: first || 'UNKNOWN', headerRow: false }
}

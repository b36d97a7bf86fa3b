import { isTrivia, tokenizeSql } from './sql-lexer.ts'

/** How Athena classifies a statement, and whether its results start with a header row. */
export interface StatementKind {
  statementType: 'DML' | 'DDL' | 'UTILITY'
  substatementType: string
  /** Athena prepends a header row (the column labels) to SELECT results only. */
  headerRow: boolean
}

const QUERY_KEYWORDS = new Set(['SELECT', 'WITH', 'VALUES', 'TABLE', 'FROM'])

/** Classifies a (read-only) statement by its leading keyword, the way Athena reports StatementType. */
export function classifyStatement(sql: string): StatementKind {
  const words: string[] = []
  for (const token of tokenizeSql(sql)) {
    if (isTrivia(token) || token.text === '(') continue
    if (token.kind !== 'word') break
    words.push(token.text.toUpperCase())
    if (words.length === 2) break
  }
  const [first = '', second = ''] = words
  if (QUERY_KEYWORDS.has(first)) return { statementType: 'DML', substatementType: 'SELECT', headerRow: true }
  if (first === 'SHOW')
    return { statementType: 'UTILITY', substatementType: `SHOW_${second}`, headerRow: false }
  if (first === 'DESC') return { statementType: 'UTILITY', substatementType: 'DESCRIBE', headerRow: false }
  return { statementType: 'UTILITY', substatementType: first || 'UNKNOWN', headerRow: false }
}

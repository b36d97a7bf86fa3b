import { type AthenaApiError, invalidRequest } from './athena-api-error.ts'
import type { SqlToken } from './sql-lexer.ts'
import { significantTokens, tokenAt, trinoLocation } from './sql-positions.ts'

/** Keywords that start a statement in Trino's grammar, besides queries (Athena lists them in syntax errors). */
export const TRINO_STATEMENT_KEYWORDS: ReadonlySet<string> = new Set([
  'ALTER',
  'ANALYZE',
  'CALL',
  'COMMENT',
  'COMMIT',
  'CREATE',
  'DEALLOCATE',
  'DELETE',
  'DENY',
  'DESC',
  'DESCRIBE',
  'DROP',
  'EXECUTE',
  'EXPLAIN',
  'GRANT',
  'INSERT',
  'MERGE',
  'PREPARE',
  'REFRESH',
  'RESET',
  'REVOKE',
  'ROLLBACK',
  'SET',
  'SHOW',
  'START',
  'TRUNCATE',
  'UNLOAD',
  'UPDATE',
  'USE',
])

/** Statements that only read, the ones the local endpoint runs (a query may also start with `(`). */
export const READ_STATEMENT_KEYWORDS: ReadonlySet<string> = new Set([
  'SELECT',
  'WITH',
  'VALUES',
  'TABLE',
  '(',
  'SHOW',
  'DESCRIBE',
  'DESC',
  'EXPLAIN',
])

// The Expecting lists Athena gives at the two places they are known: the start of a statement and right
// after SELECT. Elsewhere the list depends on the parser state and is left out.
const EXPECTING_STATEMENT = `${[...TRINO_STATEMENT_KEYWORDS].map((k) => `'${k}'`).join(', ')}, <query>`
const EXPECTING_SELECT_ITEM = "'*', 'ALL', 'DISTINCT', <expression>"

/**
 * Athena's answer to SQL that does not parse: InvalidRequestException (AthenaErrorCode MALFORMED_QUERY) with
 * Trino's `line L:C: mismatched input '<token>'. Expecting: …` for the token at `offset` (a character offset
 * in `source`; undefined for the end of the query, `<EOF>`).
 */
export function syntaxError(source: string, offset: number | undefined): AthenaApiError {
  const tokens = significantTokens(source)
  const token =
    offset === undefined ? undefined : (tokenAt(tokens, offset) ?? tokens.find((t) => t.start >= offset))
  const index = token === undefined ? tokens.length : tokens.indexOf(token)
  const previous = tokens[index - 1]?.text.toUpperCase()
  const expecting =
    index === 0 ? EXPECTING_STATEMENT : previous === 'SELECT' ? EXPECTING_SELECT_ITEM : undefined
  const input = token === undefined ? '<EOF>' : tokenDisplay(token)
  const location = trinoLocation(source, token?.start ?? source.length)
  const message = `${location}: mismatched input '${input}'${expecting === undefined ? '' : `. Expecting: ${expecting}`}`
  return invalidRequest(message, 'MALFORMED_QUERY')
}

/**
 * Trino checks binary literals while parsing: `X'0G'` and `X'ABC'` are refused at StartQueryExecution
 * (DuckDB would only fail when running `from_hex`).
 */
export function binaryLiteralError(source: string, tokens: readonly SqlToken[]): AthenaApiError | undefined {
  for (const [i, token] of tokens.entries()) {
    const literal = tokens[i + 1]
    if (token.kind !== 'word' || token.text.toLowerCase() !== 'x' || literal?.kind !== 'string') continue
    if (literal.start !== token.start + 1 || !literal.terminated) continue
    const hex = literal.text.slice(1, -1).replace(/\s/g, '')
    const problem = /[^0-9a-f]/i.test(hex)
      ? 'Binary literal can only contain hexadecimal digits'
      : hex.length % 2 !== 0
        ? 'Binary literal must contain an even number of digits'
        : undefined
    if (problem !== undefined)
      return invalidRequest(`${trinoLocation(source, token.start)}: ${problem}`, 'MALFORMED_QUERY')
  }
  return undefined
}

/** The offset of a `;` that another statement follows (Athena runs one statement; a final `;` is fine). */
export function statementSeparator(tokens: readonly SqlToken[]): number | undefined {
  const at = tokens.findIndex((t, i) => t.text === ';' && tokens.slice(i + 1).some((n) => n.text !== ';'))
  return at < 0 ? undefined : tokens[at]?.start
}

/** ANTLR's display of a token in error messages: control characters escaped. */
function tokenDisplay(token: SqlToken): string {
  return token.text.replaceAll('\n', '\\n').replaceAll('\r', '\\r').replaceAll('\t', '\\t')
}

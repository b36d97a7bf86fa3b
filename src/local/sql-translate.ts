import { isTrivia, tokenizeSql } from './sql-lexer.ts'
import { TRINO_FUNCTION_NAMES, TRINO_SCHEMA } from './trino-functions.ts'

/**
 * Rewrites calls of emulated Trino functions (`date_add(`, `regexp_like(` …) to their macros in the
 * private schema. Only unquoted words directly followed by `(` and not qualified (`x.date_add(`) are
 * touched, so string literals, quoted identifiers, comments and columns with those names stay intact.
 */
export function translateTrinoSql(sql: string): string {
  const tokens = tokenizeSql(sql)
  let out = ''
  let previous: string | undefined
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]
    if (token === undefined) continue
    let text = token.text
    if (token.kind === 'word' && previous !== '.' && TRINO_FUNCTION_NAMES.has(token.text.toLowerCase())) {
      const following = nextSignificant(tokens, i + 1)
      if (following === '(') text = `${TRINO_SCHEMA}.${token.text.toLowerCase()}`
    }
    out += text
    if (!isTrivia(token)) previous = token.text
  }
  return out
}

function nextSignificant(tokens: ReturnType<typeof tokenizeSql>, from: number): string | undefined {
  for (let i = from; i < tokens.length; i++) {
    const token = tokens[i]
    if (token !== undefined && !isTrivia(token)) return token.text
  }
  return undefined
}

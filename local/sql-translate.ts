import { isTrivia, type SqlToken, tokenizeSql } from './sql-lexer.ts'
import { FORMAT_FUNCTIONS, mysqlToStrftime, TRINO_FUNCTION_NAMES, TRINO_SCHEMA } from './trino-functions.ts'

/**
 * Rewrites calls of emulated Trino functions (`date_add(`, `regexp_like(` …) to their macros in the
 * private schema, and `date_format`/`date_parse` with a literal format to DuckDB's strftime/strptime
 * with the format translated. Only unquoted words directly followed by `(` and not qualified
 * (`x.date_add(`) are touched, so string literals, quoted identifiers, comments and columns with
 * those names stay intact.
 */
export function translateTrinoSql(sql: string): string {
  const tokens = tokenizeSql(sql)
  const replacements = new Map<number, string>()
  let previous: string | undefined
  for (const [i, token] of tokens.entries()) {
    const name = token.text.toLowerCase()
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
    if (!isTrivia(token)) previous = token.text
  }
  return tokens.map((t, i) => replacements.get(i) ?? t.text).join('')
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

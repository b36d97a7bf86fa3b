import { invalidRequest } from './athena-api-error.ts'

type Token = { kind: 'literal'; char: string } | { kind: 'one' } | { kind: 'any' }

const UNSUPPORTED = new Set(['+', '?', '(', ')', '[', ']', '{', '}', '^', '$'])

/**
 * The table filter of ListTableMetadata's `Expression`, as the Glue catalog (a Hive metastore) reads it: `|`
 * separates alternatives, `*` and `.*` match any run of characters, `.` any one character, `\x` the character x
 * (what a client's regex escaping produces); a name matches when one alternative matches all of it, ignoring
 * case. An empty expression matches every table.
 *
 * Deliberately not a JavaScript RegExp: the pattern comes from the request, and backtracking on a hostile one
 * could stall the endpoint. This matcher is linear in the pattern times the name. Other regular-expression syntax
 * (groups, classes, `+`, `?`, anchors inside a pattern) is refused with InvalidRequestException.
 */
export function compileTableNamePattern(expression: string): (name: string) => boolean {
  if (expression === '') return () => true
  const alternatives = splitAlternatives(expression).map((alternative) => tokenize(alternative, expression))
  return (name) => {
    const lower = name.toLowerCase()
    return alternatives.some((tokens) => matches(tokens, lower))
  }
}

function splitAlternatives(expression: string): string[] {
  const out: string[] = []
  let current = ''
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i] as string
    if (c === '\\') {
      current += c + (expression[i + 1] ?? '')
      i++
    } else if (c === '|') {
      out.push(current)
      current = ''
    } else current += c
  }
  out.push(current)
  return out
}

function tokenize(alternative: string, expression: string): Token[] {
  // Anchors at the ends say what every match already is: the whole name.
  let body = alternative.startsWith('^') ? alternative.slice(1) : alternative
  if (body.endsWith('$') && !body.endsWith('\\$')) body = body.slice(0, -1)
  const tokens: Token[] = []
  const push = (token: Token) => {
    // Consecutive "any" tokens match what one does; keeping one bounds the matcher's work.
    const last = tokens[tokens.length - 1]
    if (!(token.kind === 'any' && last?.kind === 'any')) tokens.push(token)
  }
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string
    if (c === '\\') {
      const next = body[i + 1]
      if (next === undefined) throw unsupported(expression, 'a trailing backslash')
      push({ kind: 'literal', char: next.toLowerCase() })
      i++
    } else if (c === '.' && body[i + 1] === '*') {
      push({ kind: 'any' })
      i++
    } else if (c === '.') push({ kind: 'one' })
    else if (c === '*') push({ kind: 'any' })
    else if (UNSUPPORTED.has(c)) throw unsupported(expression, `'${c}'`)
    else push({ kind: 'literal', char: c.toLowerCase() })
  }
  return tokens
}

// Wildcard matching with one remembered "any" position: O(pattern × name) at worst, no recursion.
function matches(tokens: readonly Token[], name: string): boolean {
  let t = 0
  let n = 0
  let star = -1
  let starName = 0
  while (n < name.length) {
    const token = tokens[t]
    if (token !== undefined && token.kind !== 'any' && (token.kind === 'one' || token.char === name[n])) {
      t++
      n++
    } else if (token?.kind === 'any') {
      star = t++
      starName = n
    } else if (star >= 0) {
      t = star + 1
      n = ++starName
    } else return false
  }
  while (tokens[t]?.kind === 'any') t++
  return t === tokens.length
}

function unsupported(expression: string, what: string) {
  return invalidRequest(
    `Expression ${expression} uses ${what}, which the local endpoint does not support: use names, '*' or '.*' (any characters), '.' (one character), '|' (alternatives) and '\\' escapes`,
  )
}

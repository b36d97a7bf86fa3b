import type { SqlToken } from './sql-lexer.ts'
import { charOffsetOfByte, significantTokens } from './sql-positions.ts'
import { trinoTypeOfJson } from './trino-type-names.ts'

/**
 * Where Trino is stricter than DuckDB about types. Trino never converts implicitly between `varchar` and
 * another type: `event_time > '2024-01-01'`, `value + '1'`, `dt = 5` are TYPE_MISMATCH errors, where DuckDB
 * casts the string (or the column) and runs. This reads DuckDB's bound, unoptimized plan
 * (`json_serialize_plan`): the binder's implicit casts are there, each placed at the position of what it
 * converts, while a cast the query wrote (`CAST(…)`, `::`, `DATE '…'`) starts at its own keyword. A comparison,
 * arithmetic, BETWEEN, IN, COALESCE or CASE whose operands were converted to or from `varchar` implicitly is
 * reported with Trino's message. Function arguments are not checked.
 */
export interface TypeMismatch {
  /** Character offset in the analysed SQL (undefined when DuckDB kept no position for the expression). */
  offset: number | undefined
  message: string
}

type Json = Readonly<Record<string, unknown>>

interface Operand {
  type: string
  /** Whether the operand's own type is `varchar`-like; undefined for NULL. */
  varchar: boolean | undefined
  /** Converted to or from `varchar` by the binder, not by the query. */
  coerced: boolean
  offset: number | undefined
}

interface BetweenParts {
  value?: Operand
  lower?: Operand
  upper?: Operand
  coerced: boolean
}

const COMPARISONS: Readonly<Record<string, string>> = {
  COMPARE_EQUAL: '=',
  COMPARE_NOTEQUAL: '=',
  COMPARE_LESSTHAN: '<',
  COMPARE_GREATERTHAN: '<',
  COMPARE_LESSTHANOREQUALTO: '<=',
  COMPARE_GREATERTHANOREQUALTO: '<=',
  COMPARE_DISTINCT_FROM: 'distinct',
  COMPARE_NOT_DISTINCT_FROM: 'distinct',
}
const ARITHMETIC = new Set(['+', '-', '*', '/', '%'])
const VARCHAR_IDS = new Set(['VARCHAR', 'STRING_LITERAL', 'ENUM', 'CHAR'])
const EXPLICIT_CAST = /^(::|(try_)?cast\s*\()/i
const MAX_LOCATION = 2 ** 53

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The first type error Trino would report for the plan of `sql`, if any. */
export function findTypeMismatch(plan: unknown, sql: string): TypeMismatch | undefined {
  const check = new TypeChecker(sql)
  check.visit(plan)
  return check.first()
}

class TypeChecker {
  private readonly found: TypeMismatch[] = []
  private readonly betweens = new Map<number, BetweenParts>()
  private tokens: SqlToken[] | undefined

  constructor(private readonly sql: string) {}

  first(): TypeMismatch | undefined {
    for (const [offset, parts] of this.betweens) {
      if (!parts.coerced || !parts.value || !parts.lower || !parts.upper) continue
      this.found.push({
        offset,
        message: `Cannot check if ${parts.value.type} is BETWEEN ${parts.lower.type} and ${parts.upper.type}`,
      })
    }
    const rank = (m: TypeMismatch) => m.offset ?? Number.MAX_SAFE_INTEGER
    return this.found.sort((a, b) => rank(a) - rank(b))[0]
  }

  visit(node: unknown): void {
    if (Array.isArray(node)) {
      for (const child of node) this.visit(child)
      return
    }
    if (!isRecord(node)) return
    if (typeof node.expression_class === 'string') this.expression(node)
    else if (typeof node.comparison === 'string' && isRecord(node.left) && isRecord(node.right))
      this.comparison(node.comparison, node.left, node.right, undefined)
    for (const value of Object.values(node)) this.visit(value)
  }

  private expression(e: Json): void {
    const kind = e.expression_class
    const type = String(e.type)
    if (kind === 'BOUND_COMPARISON' && isRecord(e.left) && isRecord(e.right)) {
      this.comparison(type, e.left, e.right, this.location(e))
    } else if (kind === 'BOUND_OPERATOR' && Array.isArray(e.children)) {
      const operands = e.children.filter(isRecord).map((c) => this.operand(c))
      if (type === 'COMPARE_IN' || type === 'COMPARE_NOT_IN') this.common('IN value and list items', operands)
      if (type === 'OPERATOR_COALESCE') this.common('All COALESCE operands', operands)
    } else if (kind === 'BOUND_CASE') {
      const results = (Array.isArray(e.case_checks) ? e.case_checks : [])
        .filter(isRecord)
        .map((c) => c.then_expr)
      if (isRecord(e.else_expr)) results.push(e.else_expr)
      this.common(
        'All CASE results',
        results.filter(isRecord).map((r) => this.operand(r)),
      )
    } else if (kind === 'BOUND_FUNCTION' && ARITHMETIC.has(String(e.name)) && Array.isArray(e.children)) {
      const [left, right] = e.children.filter(isRecord).map((c) => this.operand(c))
      if (left && right && (left.coerced || right.coerced)) {
        this.found.push({
          offset: this.location(e),
          message: `Cannot apply operator: ${left.type} ${String(e.name)} ${right.type}`,
        })
      }
    }
  }

  private comparison(type: string, leftJson: Json, rightJson: Json, offset: number | undefined): void {
    const operator = COMPARISONS[type]
    if (operator === undefined) return
    const left = this.operand(leftJson)
    const right = this.operand(rightJson)
    const coerced = left.coerced || right.coerced
    if (offset === undefined) {
      // DuckDB turns BETWEEN into two comparisons without a position of their own.
      const between = right.offset === undefined ? undefined : this.betweenBefore(right.offset)
      if (between !== undefined) {
        const parts = this.betweens.get(between.offset) ?? { coerced: false }
        parts.value ??= left
        parts[between.bound] = right
        parts.coerced ||= coerced
        this.betweens.set(between.offset, parts)
        return
      }
      if (!coerced) return
      offset = left.offset === undefined ? undefined : this.operatorAfter(left.offset)
    }
    if (!coerced) return
    this.found.push({
      offset,
      message:
        operator === 'distinct'
          ? `Cannot check if ${left.type} is distinct from ${right.type}`
          : `Cannot apply operator: ${left.type} ${operator} ${right.type}`,
    })
  }

  /** Trino's coerceToSingleType: every operand must share a common type with those before it. */
  private common(description: string, operands: readonly Operand[]): void {
    if (!operands.some((o) => o.coerced)) return
    const seen: string[] = []
    let common: Operand | undefined
    let failure: { operand: Operand; common: Operand } | undefined
    for (const operand of operands) {
      if (seen.includes(operand.type)) continue
      seen.push(operand.type)
      if (operand.varchar === undefined) continue
      if (common === undefined) common = operand
      else if (failure === undefined && common.varchar !== operand.varchar) failure = { operand, common }
      else common = widen(common, operand)
    }
    if (failure === undefined) return
    this.found.push({
      offset: failure.operand.offset,
      message: `${description} must be the same type or coercible to a common type. Cannot find common type between ${failure.common.type} and ${failure.operand.type}, all types (without duplicates): [${seen.join(', ')}]`,
    })
  }

  private operand(e: Json): Operand {
    const child = isRecord(e.child) ? e.child : undefined
    const implicit =
      e.expression_class === 'BOUND_CAST' && child !== undefined && this.isImplicitCast(e, child)
    const source = implicit && child ? child : e
    const varchar = isVarchar(source)
    const target = isVarchar(e)
    return {
      type: displayType(source),
      varchar,
      coerced: implicit && varchar !== undefined && target !== undefined && varchar !== target,
      offset: this.location(e) ?? this.location(source),
    }
  }

  private isImplicitCast(cast: Json, child: Json): boolean {
    if (cast.try_cast === true) return false
    const at = this.location(cast)
    if (at === undefined) return false
    const childAt = this.location(child)
    if (childAt !== undefined) return childAt === at
    return !EXPLICIT_CAST.test(this.sql.slice(at))
  }

  private location(e: Json): number | undefined {
    const at = e.query_location
    if (typeof at !== 'number' || !Number.isInteger(at) || at < 0 || at >= MAX_LOCATION) return undefined
    return charOffsetOfByte(this.sql, at)
  }

  private significant(): SqlToken[] {
    this.tokens ??= significantTokens(this.sql)
    return this.tokens
  }

  /** The `[NOT] BETWEEN` whose lower (right after it) or upper (after its AND) bound starts at `offset`. */
  private betweenBefore(offset: number): { offset: number; bound: 'lower' | 'upper' } | undefined {
    const tokens = this.significant()
    const next = tokens.findIndex((t) => t.start >= offset)
    const before = (next < 0 ? tokens.length : next) - 1
    const keyword = (i: number) => tokens[i]?.text.toUpperCase() ?? ''
    const at = (i: number) => ({
      offset: tokens[keyword(i - 1) === 'NOT' ? i - 1 : i]?.start ?? offset,
    })
    if (keyword(before) === 'BETWEEN') return { ...at(before), bound: 'lower' }
    if (keyword(before) !== 'AND') return undefined
    // The upper bound: walk back over the lower bound's expression to its BETWEEN.
    let depth = 0
    for (let i = before - 1; i >= 0; i--) {
      const text = keyword(i)
      if (text === ')') depth++
      else if (text === '(') {
        if (depth === 0) return undefined
        depth--
      } else if (depth === 0 && text === 'BETWEEN') return { ...at(i), bound: 'upper' }
      else if (depth === 0 && /^(AND|OR|WHERE|ON|HAVING|SELECT|WHEN|THEN|ELSE|,)$/.test(text))
        return undefined
    }
    return undefined
  }

  /** The first comparison operator after `offset` at the same nesting level (for join conditions). */
  private operatorAfter(offset: number): number | undefined {
    let depth = 0
    for (const token of this.significant()) {
      if (token.start < offset) continue
      if (token.text === '(') depth++
      if (token.text === ')') depth--
      if (depth === 0 && /^[=<>!]$/.test(token.text)) return token.start
      if (depth === 0 && token.text.toUpperCase() === 'IS') return token.start
    }
    return undefined
  }
}

function isVarchar(e: Json): boolean | undefined {
  const type = e.expression_class === 'BOUND_CONSTANT' && isRecord(e.value) ? e.value.type : e.return_type
  if (!isRecord(type)) return e.expression_class === 'BOUND_COMPARISON' ? false : undefined
  const id = String(type.id)
  if (id === 'SQLNULL' || (isRecord(e.value) && e.value.is_null === true)) return undefined
  const alias = isRecord(type.type_info) ? type.type_info.alias : undefined
  return VARCHAR_IDS.has(id) && alias !== 'JSON'
}

/** The operand's type as Trino would name it: string literals are `varchar(<length>)`. */
function displayType(e: Json): string {
  if (e.expression_class === 'BOUND_CONSTANT' && isRecord(e.value)) {
    const value = e.value
    if (value.is_null === true) return 'unknown'
    if (isRecord(value.type) && value.type.id === 'VARCHAR' && typeof value.value === 'string')
      return `varchar(${Array.from(value.value).length})`
    return trinoTypeOfJson(value.type)
  }
  const typed = typedLiteral(e)
  if (typed !== undefined) return typed
  if (e.expression_class === 'BOUND_COMPARISON' || e.expression_class === 'BOUND_CONJUNCTION')
    return 'boolean'
  return trinoTypeOfJson(e.return_type)
}

/** `TIMESTAMP '2024-01-01 10:00:00.5'` is a timestamp(1) in Trino: its precision is the literal's. */
function typedLiteral(e: Json): string | undefined {
  const child = isRecord(e.child) ? e.child : undefined
  if (e.expression_class !== 'BOUND_CAST' || child?.expression_class !== 'BOUND_CONSTANT') return undefined
  const text = isRecord(child.value) ? child.value.value : undefined
  const id = isRecord(e.return_type) ? String(e.return_type.id) : ''
  if (typeof text !== 'string' || !/^(TIMESTAMP|TIME)/.test(id)) return undefined
  const precision = /:\d{2}\.(\d+)/.exec(text)?.[1]?.length ?? 0
  const base = id.startsWith('TIMESTAMP') ? 'timestamp' : 'time'
  return `${base}(${precision})${/(WITH TIME ZONE|_TZ)$/.test(id) ? ' with time zone' : ''}`
}

const NUMERIC_RANK = ['tinyint', 'smallint', 'integer', 'bigint', 'real', 'double']

/** The common type Trino would give two operands of the same family (for the message only). */
function widen(a: Operand, b: Operand): Operand {
  const length = (t: string) => /^varchar\((\d+)\)$/.exec(t)?.[1]
  if (a.varchar && b.varchar) {
    const [x, y] = [length(a.type), length(b.type)]
    if (x === undefined || y === undefined) return a.type === 'varchar' ? a : b
    return Number(x) >= Number(y) ? a : b
  }
  return NUMERIC_RANK.indexOf(b.type) > NUMERIC_RANK.indexOf(a.type) ? b : a
}

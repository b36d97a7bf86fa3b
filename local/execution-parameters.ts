import { invalidRequest } from './athena-api-error.ts'

/** One Athena execution parameter, parsed from its SQL literal into a typed value to bind. */
export type ParameterValue =
  | { kind: 'varchar'; value: string }
  | { kind: 'integer'; value: number }
  | { kind: 'bigint'; value: bigint }
  | { kind: 'decimal'; value: bigint; width: number; scale: number }
  | { kind: 'double'; value: number }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' }
  | { kind: 'date'; year: number; month: number; day: number }
  | { kind: 'timestamp'; micros: bigint }

const INT32_MIN = -(2n ** 31n)
const INT32_MAX = 2n ** 31n - 1n
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n
const MAX_DECIMAL_DIGITS = 38

const INTEGER = /^[+-]?\d+$/
const DECIMAL = /^([+-]?)(\d*)\.(\d*)$/
const DOUBLE = /^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$/
const TYPED = /^(DATE|TIMESTAMP)\s*'([^']*)'$/i
const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/
const TIMESTAMP_TEXT = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?$/

/**
 * Parses Athena `ExecutionParameters`: each must be exactly ONE literal (a quoted string with `''`
 * escapes, a number, true/false, NULL, or `DATE '…'` / `TIMESTAMP '…'`), never an expression, so that
 * values are bound to the prepared statement and can not change the statement's shape.
 */
export function parseExecutionParameters(parameters: readonly string[]): ParameterValue[] {
  return parameters.map((text, index) => parseExecutionParameter(text, index + 1))
}

/** Parses one parameter literal; `position` (1-based) only feeds the error message. */
export function parseExecutionParameter(text: string, position = 1): ParameterValue {
  const literal = text.trim()
  const reject = (why: string) =>
    invalidRequest(`ExecutionParameters[${position}] is not a single SQL literal (${why}): ${text}`)
  if (literal === '') throw reject('empty')
  if (literal.startsWith("'")) return { kind: 'varchar', value: parseQuotedString(literal, reject) }
  const lower = literal.toLowerCase()
  if (lower === 'null') return { kind: 'null' }
  if (lower === 'true' || lower === 'false') return { kind: 'boolean', value: lower === 'true' }
  if (INTEGER.test(literal)) return parseInteger(literal, reject)
  const decimal = DECIMAL.exec(literal)
  if (decimal && (decimal[2] !== '' || decimal[3] !== '')) {
    return parseDecimal(decimal[1] ?? '', decimal[2] ?? '', decimal[3] ?? '', reject)
  }
  if (DOUBLE.test(literal)) return { kind: 'double', value: Number(literal) }
  const typed = TYPED.exec(literal)
  if (typed) {
    const body = typed[2] ?? ''
    return typed[1]?.toUpperCase() === 'DATE' ? parseDate(body, reject) : parseTimestamp(body, reject)
  }
  throw reject('unsupported literal')
}

function parseQuotedString(literal: string, reject: (why: string) => Error): string {
  let value = ''
  let i = 1
  while (i < literal.length) {
    const ch = literal.charAt(i)
    if (ch === "'") {
      if (literal.charAt(i + 1) === "'") {
        value += "'"
        i += 2
        continue
      }
      if (i !== literal.length - 1) throw reject('text after the closing quote')
      return value
    }
    value += ch
    i++
  }
  throw reject('unterminated string')
}

function parseInteger(literal: string, reject: (why: string) => Error): ParameterValue {
  const value = BigInt(literal)
  if (value >= INT32_MIN && value <= INT32_MAX) return { kind: 'integer', value: Number(value) }
  if (value >= INT64_MIN && value <= INT64_MAX) return { kind: 'bigint', value }
  const digits = literal.replace(/^[+-]/, '').replace(/^0+(?=\d)/, '')
  if (digits.length > MAX_DECIMAL_DIGITS) throw reject('number out of range')
  return { kind: 'decimal', value, width: Math.max(digits.length, 1), scale: 0 }
}

function parseDecimal(
  sign: string,
  whole: string,
  fraction: string,
  reject: (why: string) => Error,
): ParameterValue {
  const digits = `${whole}${fraction}`.replace(/^0+(?=\d)/, '')
  const scale = fraction.length
  const width = Math.max(digits.length, scale, 1)
  if (width > MAX_DECIMAL_DIGITS) throw reject('number out of range')
  const unscaled = BigInt(`${sign === '-' ? '-' : ''}${digits === '' ? '0' : digits}`)
  return { kind: 'decimal', value: unscaled, width, scale }
}

function parseDate(body: string, reject: (why: string) => Error): ParameterValue {
  const match = DATE_TEXT.exec(body)
  if (!match) throw reject('invalid date')
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])]
  if (!isValidDay(year, month, day)) throw reject('invalid date')
  return { kind: 'date', year, month, day }
}

function parseTimestamp(body: string, reject: (why: string) => Error): ParameterValue {
  const match = TIMESTAMP_TEXT.exec(body)
  if (!match) throw reject('invalid timestamp')
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])]
  const [hour, minute, second] = [Number(match[4] ?? 0), Number(match[5] ?? 0), Number(match[6] ?? 0)]
  const fraction = (match[7] ?? '').padEnd(6, '0')
  if (!isValidDay(year, month, day) || hour > 23 || minute > 59 || second > 59) {
    throw reject('invalid timestamp')
  }
  const epochMs = utcDate(year, month, day).getTime() + ((hour * 60 + minute) * 60 + second) * 1000
  return { kind: 'timestamp', micros: BigInt(epochMs) * 1000n + BigInt(fraction) }
}

function isValidDay(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false
  const date = utcDate(year, month, day)
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day
}

// Date.UTC maps years 0–99 to 1900–1999; setUTCFullYear does not.
function utcDate(year: number, month: number, day: number): Date {
  const date = new Date(0)
  date.setUTCFullYear(year, month - 1, day)
  return date
}

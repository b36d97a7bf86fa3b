import { InvalidArgumentError } from 'commander'
import { parseIsoDate } from '../config/parameter-values.ts'

/** A TCP port (0 picks a free one). */
export function port(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('must be a port number (0–65535)')
  return n
}

export function nonNegativeInt(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer')
  return n
}

export function positiveInt(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer')
  return n
}

/** A parser of integers from `min` to `max`. */
export function intBetween(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value)
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`must be an integer from ${min} to ${max}`)
    return n
  }
}

/** A calendar date, `YYYY-MM-DD`. */
export function isoDate(value: string): string {
  if (parseIsoDate(value) === undefined) throw new InvalidArgumentError('must be a date YYYY-MM-DD')
  return value
}

/** Runs `close` once on SIGINT or SIGTERM, then exits. */
export function onSignals(close: () => Promise<void>): void {
  let closing = false
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      if (closing) return
      closing = true
      close().finally(() => process.exit(0))
    })
  }
}

import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import { ValidationError } from '../src/errors.ts'
import { ATHENA_OPERATIONS, type AthenaOperation } from './athena-operations.ts'

const common = {
  /** Substring of the query text, or `/regex/flags`. Absent: every query (and every call). */
  match: z.string().min(1).optional(),
  /** How many times the fault fires before it is removed. Absent: until cleared. */
  times: z.number().int().positive().optional(),
}

/** A fault to inject; the JSON accepted by `POST /_local/faults` as `{ "add": Fault }`. */
export const faultSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('fail'),
    category: z.union([z.literal(1), z.literal(2)]).optional(),
    message: z.string().optional(),
    ...common,
  }),
  z.object({ kind: z.literal('throttle'), operation: z.enum(ATHENA_OPERATIONS).optional(), ...common }),
  z.object({ kind: z.literal('slow'), delayMs: z.number().int().nonnegative(), ...common }),
  z.object({ kind: z.literal('hang'), ...common }),
])

export type Fault = z.infer<typeof faultSchema>

/** A registered fault and how often it still fires. */
export interface ActiveFault {
  id: string
  fault: Fault
  /** Remaining firings, or null for unlimited. */
  remaining: number | null
  fired: number
}

/** What the faults matching one new execution ask for. */
export interface ExecutionFaults {
  fail?: { category: 1 | 2; message: string }
  delayMs: number
  hang: boolean
  /** Whether any fault fired (such executions never reuse a previous result). */
  any: boolean
}

interface Entry extends ActiveFault {
  matcher: (query: string | undefined) => boolean
}

/**
 * Failure injection for tests and benchmarks: makes executions fail, stall or hang, and API calls
 * answer TooManyRequestsException. Usable in process (`localAthena.faults`) and over HTTP.
 */
export class FaultInjector {
  private readonly entries = new Map<string, Entry>()

  /** Registers a fault (validated like the HTTP body); returns its id. */
  add(fault: Fault): string {
    const parsed = faultSchema.safeParse(fault)
    if (!parsed.success) {
      throw new ValidationError(`Invalid fault: ${parsed.error.issues.map((i) => i.message).join('; ')}`)
    }
    const id = randomUUID()
    const value = parsed.data
    this.entries.set(id, {
      id,
      fault: value,
      remaining: value.times ?? null,
      fired: 0,
      matcher: compileMatch(value.match),
    })
    return id
  }

  /** Removes one fault; false when unknown. */
  remove(id: string): boolean {
    return this.entries.delete(id)
  }

  /** Removes every fault. */
  clear(): void {
    this.entries.clear()
  }

  /** The registered faults. */
  list(): ActiveFault[] {
    return [...this.entries.values()].map(({ matcher: _matcher, ...rest }) => ({ ...rest }))
  }

  /** Consumes a throttle fault for an API call, if one applies. `query` is the text the call concerns. */
  takeThrottle(operation: AthenaOperation, query: string | undefined): boolean {
    for (const entry of this.entries.values()) {
      const f = entry.fault
      if (f.kind !== 'throttle' || (f.operation !== undefined && f.operation !== operation)) continue
      if (!entry.matcher(query)) continue
      this.fire(entry)
      return true
    }
    return false
  }

  /** Consumes the execution faults (fail, slow, hang) matching a new execution's query. */
  takeExecutionFaults(query: string): ExecutionFaults {
    const result: ExecutionFaults = { delayMs: 0, hang: false, any: false }
    for (const entry of [...this.entries.values()]) {
      const f = entry.fault
      if (f.kind === 'throttle' || !entry.matcher(query)) continue
      if (f.kind === 'fail') {
        if (result.fail) continue
        const category = f.category ?? 2
        result.fail = {
          category,
          message: f.message ?? (category === 1 ? 'Injected system error' : 'Injected user error'),
        }
      } else if (f.kind === 'slow') {
        result.delayMs += f.delayMs
      } else {
        result.hang = true
      }
      result.any = true
      this.fire(entry)
    }
    return result
  }

  private fire(entry: Entry): void {
    entry.fired++
    if (entry.remaining === null) return
    entry.remaining--
    if (entry.remaining <= 0) this.entries.delete(entry.id)
  }
}

function compileMatch(match: string | undefined): (query: string | undefined) => boolean {
  if (match === undefined) return () => true
  const regex = /^\/(.*)\/([a-z]*)$/s.exec(match)
  if (regex) {
    let compiled: RegExp
    try {
      compiled = new RegExp(regex[1] ?? '', regex[2])
    } catch (err) {
      throw new ValidationError(`Invalid fault match regex ${match}: ${(err as Error).message}`)
    }
    return (query) => query !== undefined && compiled.test(query)
  }
  return (query) => query?.includes(match) === true
}

/** Terminal or interim state of a polled operation. `keep-waiting` is the explicit "not done yet" signal. */
export type PollStatus<T> = { kind: 'done'; value: T } | { kind: 'keep-waiting' }

export type PollOutcome<T> =
  | { kind: 'done'; value: T; attempts: number }
  | { kind: 'timeout'; attempts: number; waitedMs: number }
  | { kind: 'aborted'; attempts: number }

export interface PollOptions<T> {
  /** One status call. Errors propagate to the caller. */
  check: (attempt: number) => Promise<PollStatus<T>>
  /** Delay before attempt `n`, given the time elapsed since `startedAt`. */
  nextDelayMs: (attempt: number, elapsedMs: number) => number
  /** Absolute time (ms, same clock as `now`) after which we stop waiting. */
  deadline: number
  startedAt: number
  signal?: AbortSignal
  now?: () => number
}

/** Sleeps `ms`, resolving early (to false) when `signal` aborts; the timer is always cleared. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false)
  return new Promise((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined
    const onAbort = () => {
      clearTimeout(timer)
      resolve(false)
    }
    timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve(true)
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** Polls `check` on the schedule until it reports done, the deadline passes or the signal aborts. */
export async function pollUntilDone<T>(options: PollOptions<T>): Promise<PollOutcome<T>> {
  const now = options.now ?? Date.now
  let attempts = 0
  for (;;) {
    const elapsed = now() - options.startedAt
    const remaining = options.deadline - now()
    if (remaining <= 0) return { kind: 'timeout', attempts, waitedMs: elapsed }
    // Never sleep past the deadline: the last look happens at the deadline itself.
    const delay = Math.min(options.nextDelayMs(attempts, elapsed), remaining)
    if (!(await sleep(delay, options.signal))) return { kind: 'aborted', attempts }
    const status = await options.check(attempts)
    attempts++
    if (status.kind === 'done') return { kind: 'done', value: status.value, attempts }
  }
}

/** A call in flight, as the deadline tracks it: a node of an intrusive list, so leaving costs no search. */
export interface DeadlineTicket<P> {
  payload: P
  /** The time of the tick before the call entered (never after it): the call's age is at least `now - enteredAt`. */
  enteredAt: number
  prev: DeadlineTicket<P> | null
  next: DeadlineTicket<P> | null
  /** False once the call left or expired. */
  live: boolean
}

export interface CallDeadlineOptions<P> {
  /** Longest a call may take from its caller's view. */
  timeoutMs: number
  /** Called once for each call that outlived `timeoutMs` (with what it entered with). */
  onExpire: (payload: P) => void
  /** Monotonic clock (ms). */
  now?: () => number
}

/**
 * A coarse deadline shared by every call: one interval (running only while calls are in flight) fails the calls that
 * are about to outlive `timeoutMs`. A timer per call (ioredis's commandTimeout) was measured to double the garbage
 * collector's work on the hit path; here a call costs one small object linked into a list and unlinked when it
 * settles. The interval ticks every tenth of the timeout, and a call expires at the first tick at which it may have
 * lived `timeoutMs - slot`: so it fails after 80–100 % of the timeout, never later (short of a blocked event loop).
 */
export class CallDeadline<P> {
  readonly slotMs: number
  private head: DeadlineTicket<P> | null = null
  private tail: DeadlineTicket<P> | null = null
  private timer: ReturnType<typeof setInterval> | undefined
  private tickAt = 0
  private readonly now: () => number

  constructor(private readonly o: CallDeadlineOptions<P>) {
    this.slotMs = Math.max(1, Math.floor(o.timeoutMs / 10))
    this.now = o.now ?? (() => performance.now())
  }

  /** Calls in flight right now. */
  get size(): number {
    let n = 0
    for (let t = this.head; t; t = t.next) n++
    return n
  }

  /** Registers a call that starts now; `leave` it when it settles. */
  enter(payload: P): DeadlineTicket<P> {
    if (this.timer === undefined) {
      this.tickAt = this.now()
      this.timer = setInterval(this.tick, this.slotMs)
      // The interval must never keep a process alive that has nothing else to do.
      this.timer.unref()
    }
    const ticket: DeadlineTicket<P> = {
      payload,
      enteredAt: this.tickAt,
      prev: this.tail,
      next: null,
      live: true,
    }
    if (this.tail) this.tail.next = ticket
    else this.head = ticket
    this.tail = ticket
    return ticket
  }

  /** The call settled: true when it did so in time, false when it had already expired (its result is void). */
  leave(ticket: DeadlineTicket<P>): boolean {
    if (!ticket.live) return false
    ticket.live = false
    this.unlink(ticket)
    return true
  }

  /** Stops the interval and forgets the calls in flight (they are neither expired nor settled through it). */
  close(): void {
    this.stop()
    for (let t = this.head; t; t = t.next) t.live = false
    this.head = null
    this.tail = null
  }

  private unlink(ticket: DeadlineTicket<P>): void {
    if (ticket.prev) ticket.prev.next = ticket.next
    else this.head = ticket.next
    if (ticket.next) ticket.next.prev = ticket.prev
    else this.tail = ticket.prev
    ticket.prev = null
    ticket.next = null
  }

  private stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  // Sweeps after the poll phase of the loop iteration the interval fired in (setImmediate), not in the timers phase:
  // after the event loop was blocked, replies already waiting in the socket are read first, and a call whose answer
  // is there is not failed for our own lateness.
  private readonly tick = (): void => {
    setImmediate(this.sweep)
  }

  private readonly sweep = (): void => {
    if (this.timer === undefined) return
    const now = this.now()
    this.tickAt = now
    // Entries are in the order they entered, so the expired ones are a prefix of the list.
    const limit = this.o.timeoutMs - this.slotMs
    while (this.head && now - this.head.enteredAt >= limit) {
      const ticket = this.head
      ticket.live = false
      this.unlink(ticket)
      this.o.onExpire(ticket.payload)
    }
    if (!this.head) this.stop()
  }
}

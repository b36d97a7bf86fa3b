/**
 * The timers that finish asynchronous schedule-group deletions: at most one per group (so as many as there are
 * groups), each removed when it fires, all cancelled by `clear()`.
 */
export class GroupDeletions {
  private readonly timers = new Map<string, NodeJS.Timeout>()

  constructor(private readonly delayMs: number) {}

  /** Runs `finish` after the delay; with a delay of 0, before returning (the group is gone when the call answers). */
  start(group: string, finish: () => void): void {
    if (this.delayMs <= 0) {
      finish()
      return
    }
    clearTimeout(this.timers.get(group))
    // Not unref'd: a deletion the endpoint still owes is work in progress, and close() is what cancels it.
    const timer = setTimeout(() => {
      this.timers.delete(group)
      finish()
    }, this.delayMs)
    this.timers.set(group, timer)
  }

  /** Cancels every pending deletion. */
  clear(): void {
    for (const timer of this.timers.values()) clearTimeout(timer)
    this.timers.clear()
  }
}

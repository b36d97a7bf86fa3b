/**
 * How DataScannedInBytes is measured: DuckDB's `FileSystem` logger records every read it makes from a
 * file (`op = 'READ'`, with the byte count) tagged with the connection that caused it, and each
 * execution runs on its own connection. The bytes an execution scanned are the sum of its connection's
 * READ entries: the Parquet footers and exactly the column chunks of the files that survived partition
 * pruning and row-group filtering (what Athena bills), and 0 for a query that reads no table. DuckDB's
 * in-memory external file cache is switched off so that repeated queries read (and count) again.
 *
 * The log lives in memory, so it is truncated regularly. A truncation must not race a measurement, so
 * measurements happen inside windows: truncation waits until no window is open, and once too many
 * windows have passed without an idle moment, new windows wait until the open ones drain.
 */
export class ScanAccounting {
  private active = 0
  private windowsSinceTruncate = 0
  private gate: Promise<void> | undefined
  private openGate: (() => void) | undefined
  /** Bumped on every truncation; a connection's cumulative count restarts from 0 when it changes. */
  generation = 0

  constructor(
    private readonly truncateLog: () => Promise<void>,
    private readonly options: { truncateEvery: number; drainAfter: number } = {
      truncateEvery: 64,
      // Every measurement scans the whole log: under steady load, drain it often so that cost stays flat.
      drainAfter: 256,
    },
  ) {}

  /** Runs `work` inside a measuring window, then `measure` while the log is guaranteed intact. */
  async measured<T>(work: () => Promise<T>, measure: () => Promise<void>): Promise<T> {
    while (this.gate) await this.gate
    this.active++
    try {
      return await work()
    } finally {
      try {
        await measure()
      } finally {
        await this.leave()
      }
    }
  }

  private async leave(): Promise<void> {
    this.active--
    this.windowsSinceTruncate++
    if (
      this.active === 0 &&
      (this.gate !== undefined || this.windowsSinceTruncate >= this.options.truncateEvery)
    ) {
      await this.truncate()
    } else if (
      this.active > 0 &&
      this.gate === undefined &&
      this.windowsSinceTruncate >= this.options.drainAfter
    ) {
      this.closeGate()
    }
  }

  private closeGate(): void {
    this.gate = new Promise((resolve) => {
      this.openGate = resolve
    })
  }

  private async truncate(): Promise<void> {
    if (this.gate === undefined) this.closeGate()
    try {
      await this.truncateLog()
      this.generation++
    } catch {
      // Not fatal: the log keeps growing until the next attempt, and counts stay right meanwhile.
    } finally {
      this.windowsSinceTruncate = 0
      const open = this.openGate
      this.gate = undefined
      this.openGate = undefined
      open?.()
    }
  }
}

import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import type { CacheStore } from './cache-store.ts'
import type { DamageReport } from './damage-report.ts'

/** Who computes a key right now, and (once started) which Athena execution does the work. */
export interface LeaseValue {
  owner: string
  executionId?: string
  acquiredAt: number
  /** The newest invalidation stamp the owner saw before starting: a reader that knows a newer one must not attach. */
  known?: number
  /**
   * When the lease's own expiry (PX) ends, in wall-clock ms. A lease seen well past it was stored without one (by
   * hand, or a broken writer) and would otherwise hold every reader of the key until the query timeout.
   */
  until: number
}

/** A lease this process holds; `value` is what is stored, for compare-and-set / compare-and-delete. */
export interface HeldLease {
  key: string
  owner: string
  value: Buffer
}

export type AcquireResult =
  | { acquired: true; lease: HeldLease }
  | { acquired: false; holder: LeaseValue | null; raw: Buffer | null }

/** Clocks of two processes differ a little: a lease is only taken as overdue this long past its `until`. */
const CLOCK_SKEW_MS = 2_000

const leaseSchema = z.object({
  owner: z.string().min(1).max(128),
  // The same shape as the ids the registry accepts: an id from here goes to Athena and into entries.
  executionId: z
    .string()
    .regex(/^[A-Za-z0-9-]{1,128}$/)
    .optional(),
  acquiredAt: z.number().nonnegative(),
  known: z.number().nonnegative().optional(),
  until: z.number().nonnegative(),
})

/** A stored lease, or null for anything that does not parse as one (zod: finite numbers, a well-formed id). */
function parse(buf: Buffer | null): LeaseValue | null {
  if (!buf) return null
  try {
    const parsed = leaseSchema.safeParse(JSON.parse(buf.toString('utf8')))
    return parsed.success ? parsed.data : null
  } catch {
    return null
  }
}

/**
 * One computation per key across every process: the first miss takes the lease (SET NX PX), records the Athena
 * execution in it, and releases it by compare-and-delete when the entry is written. Others find the execution in
 * the lease and wait on it instead of starting another. A lease whose owner died before starting anything expires
 * after `startTtlMs`; once an execution is recorded the lease lives `runTtlMs`, and anyone may collect the result.
 */
export class Leases {
  constructor(
    private readonly store: CacheStore,
    private readonly options: {
      startTtlMs: number
      runTtlMs: number
      now?: () => number
      /** Where damaged leases are reported (once per key); none: repaired silently. */
      damage?: DamageReport
    },
  ) {}

  private get now(): number {
    return (this.options.now ?? Date.now)()
  }

  private newValue(known: number): { owner: string; value: Buffer } {
    const owner = randomUUID()
    return {
      owner,
      // `until` on the wall clock, like the store's PX; `acquiredAt` on the cache's clock, like everything it is
      // compared with.
      value: Buffer.from(
        JSON.stringify({
          owner,
          acquiredAt: this.now,
          known,
          until: Date.now() + this.options.startTtlMs,
        } satisfies LeaseValue),
      ),
    }
  }

  /**
   * Tries to take the lease on `leaseKey` for a computation that has seen invalidations up to `known`. A stored
   * value that is not a lease, or a lease long past its own expiry (stored without a TTL), holds nobody: it is
   * taken over by compare-and-set against the bytes read, so only one reader repairs it.
   */
  async acquire(leaseKey: string, known = 0): Promise<AcquireResult> {
    const { owner, value } = this.newValue(known)
    if (await this.store.setIfAbsent(leaseKey, value, this.options.startTtlMs)) {
      return { acquired: true, lease: { key: leaseKey, owner, value } }
    }
    const raw = await this.store.get(leaseKey)
    const holder = parse(raw)
    if (raw && (!holder || this.overdue(holder))) {
      this.options.damage?.report(
        'lease',
        leaseKey,
        holder ? 'past its expiry (stored without a TTL)' : 'unparsable',
      )
      if (await this.store.replaceIfEquals(leaseKey, raw, value, this.options.startTtlMs))
        return { acquired: true, lease: { key: leaseKey, owner, value } }
      // Another reader repaired it first: as if the lease had just been taken by someone starting.
      return { acquired: false, holder: null, raw: null }
    }
    return { acquired: false, holder, raw }
  }

  private overdue(holder: LeaseValue): boolean {
    return Date.now() > holder.until + CLOCK_SKEW_MS
  }

  /**
   * Takes over a lease whose computation started before an invalidation this caller knows of: its result would be
   * outdated, so waiting on it is wrong. Compare-and-set against the value read, so only one reader takes over.
   */
  async takeOver(leaseKey: string, expected: Buffer, known: number): Promise<HeldLease | null> {
    const { owner, value } = this.newValue(known)
    const ok = await this.store.replaceIfEquals(leaseKey, expected, value, this.options.startTtlMs)
    return ok ? { key: leaseKey, owner, value } : null
  }

  /** The current holder, if any (a damaged or overdue lease has none). */
  async read(leaseKey: string): Promise<LeaseValue | null> {
    const holder = parse(await this.store.get(leaseKey))
    return holder && !this.overdue(holder) ? holder : null
  }

  /** Records the execution in a held lease and extends it for the run; false if the lease was lost meanwhile. */
  async recordExecution(lease: HeldLease, executionId: string): Promise<boolean> {
    const current = parse(lease.value)
    if (!current) return false
    const next = Buffer.from(
      JSON.stringify({
        ...current,
        executionId,
        until: Date.now() + this.options.runTtlMs,
      } satisfies LeaseValue),
    )
    const ok = await this.store.replaceIfEquals(lease.key, lease.value, next, this.options.runTtlMs)
    if (ok) lease.value = next
    return ok
  }

  /**
   * Extends a held lease for a run of `runTtlMs` without recording an execution: work that is not one execution (an
   * incremental refresh's partial queries) must not be attached to, and others wait for its entry instead.
   */
  async hold(lease: HeldLease): Promise<boolean> {
    const current = parse(lease.value)
    if (!current) return false
    const next = Buffer.from(
      JSON.stringify({ ...current, until: Date.now() + this.options.runTtlMs } satisfies LeaseValue),
    )
    const ok = await this.store.replaceIfEquals(lease.key, lease.value, next, this.options.runTtlMs)
    if (ok) lease.value = next
    return ok
  }

  /** Releases a held lease (only if it is still ours). */
  async release(lease: HeldLease): Promise<void> {
    await this.store.deleteIfEquals(lease.key, lease.value)
  }

  /** Clears the lease on `leaseKey` if it still names `executionId` (the execution finished or was stopped). */
  async clearExecution(leaseKey: string, executionId: string): Promise<void> {
    const raw = await this.store.get(leaseKey)
    if (raw && parse(raw)?.executionId === executionId) await this.store.deleteIfEquals(leaseKey, raw)
  }
}

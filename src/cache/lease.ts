import { randomUUID } from 'node:crypto'
import type { CacheStore } from './cache-store.ts'

/** Who computes a key right now, and (once started) which Athena execution does the work. */
export interface LeaseValue {
  owner: string
  executionId?: string
  acquiredAt: number
  /** The newest invalidation stamp the owner saw before starting: a reader that knows a newer one must not attach. */
  known?: number
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

function parse(buf: Buffer | null): LeaseValue | null {
  if (!buf) return null
  try {
    const v = JSON.parse(buf.toString('utf8')) as Partial<LeaseValue>
    return typeof v.owner === 'string' && typeof v.acquiredAt === 'number' ? (v as LeaseValue) : null
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
    private readonly options: { startTtlMs: number; runTtlMs: number; now?: () => number },
  ) {}

  private get now(): number {
    return (this.options.now ?? Date.now)()
  }

  private newValue(known: number): { owner: string; value: Buffer } {
    const owner = randomUUID()
    return {
      owner,
      value: Buffer.from(JSON.stringify({ owner, acquiredAt: this.now, known } satisfies LeaseValue)),
    }
  }

  /** Tries to take the lease on `leaseKey` for a computation that has seen invalidations up to `known`. */
  async acquire(leaseKey: string, known = 0): Promise<AcquireResult> {
    const { owner, value } = this.newValue(known)
    if (await this.store.setIfAbsent(leaseKey, value, this.options.startTtlMs)) {
      return { acquired: true, lease: { key: leaseKey, owner, value } }
    }
    const raw = await this.store.get(leaseKey)
    return { acquired: false, holder: parse(raw), raw }
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

  /** The current holder, if any. */
  async read(leaseKey: string): Promise<LeaseValue | null> {
    return parse(await this.store.get(leaseKey))
  }

  /** Records the execution in a held lease and extends it for the run; false if the lease was lost meanwhile. */
  async recordExecution(lease: HeldLease, executionId: string): Promise<boolean> {
    const current = parse(lease.value)
    const next = Buffer.from(JSON.stringify({ ...current, executionId } as LeaseValue))
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

import type { CacheKeys } from '../cache/cache-key.ts'
import type { CounterStore } from '../cache/counter-store.ts'
import type { TenantDef } from '../config/tenants.ts'
import { BudgetExceededError } from '../errors.ts'

const DAY_MS = 86_400_000
/** A day's spend is kept a day past its end: `/admin/stats` still shows yesterday's for a while. */
const KEEP_MS = 2 * DAY_MS

/**
 * Tenants' daily scan budgets: the bytes Athena scanned for each tenant per UTC day (DataScannedInBytes of the
 * executions collected for it), counted in one hash per day in the shared counter store so every instance sees the
 * same spend. Spending is charged when a result is collected; a read checks before it would start a query.
 */
export class TenantBudgets {
  constructor(private readonly o: { counters: CounterStore; keys: CacheKeys; now: () => number }) {}

  private dayKey(at: number): string {
    return `${this.o.keys.root}spend:${new Date(at).toISOString().slice(0, 10)}`
  }

  /** Adds what an execution scanned to its tenant's spend today. */
  async charge(tenant: string, bytes: number): Promise<void> {
    if (bytes <= 0) return
    await this.o.counters.incrementCounters(this.dayKey(this.o.now()), { [tenant]: bytes }, KEEP_MS)
  }

  /** Every tenant's spend today (bytes scanned), for `/admin/stats`. */
  async spentToday(): Promise<Record<string, number>> {
    return this.o.counters.getCounters(this.dayKey(this.o.now()))
  }

  /**
   * Throws BudgetExceededError when the tenant has a budget and today's spend has reached it. A counter store that
   * cannot answer does not refuse the read: the budget bounds cost, it does not gate availability.
   */
  async check(tenant: TenantDef | undefined): Promise<void> {
    const budget = tenant?.scannedBytesPerDay
    if (!tenant || budget === undefined) return
    const now = this.o.now()
    const spent = await this.o.counters
      .getCounters(this.dayKey(now))
      .then((all) => all[tenant.id] ?? 0)
      .catch(() => 0)
    if (spent < budget) return
    const untilMidnight = Math.ceil((DAY_MS - (now % DAY_MS)) / 1000)
    throw new BudgetExceededError(
      `Tenant '${tenant.id}' has spent its scan budget for today (${spent} of ${budget} bytes); cached results are still served, new queries run again after 00:00 UTC`,
      untilMidnight,
    )
  }
}

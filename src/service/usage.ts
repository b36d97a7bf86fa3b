import type { Logger } from 'pino'
import type { CacheKeys } from '../cache/cache-key.ts'
import type { CounterStore } from '../cache/counter-store.ts'
import type { PrewarmSample, TelemetrySink } from '../metrics/telemetry.ts'
import type { CanonicalParams } from './parameters.ts'

/** How a read was answered (see QueryService). */
export type ReadOutcomeKind = 'HIT' | 'STALE' | 'MISS' | 'BYPASS'

/** Counters kept per process and, summed over every process, in the store. */
export interface UsageCounters {
  hits: number
  misses: number
  stale: number
  bypass: number
  /** Executions this service started on Athena. */
  athenaExecutions: number
  /** Executions Athena answered from its own result reuse (no data scanned). */
  athenaReusedResults: number
  /** Bytes Athena scanned for the executions this service collected. */
  dataScannedBytes: number
  /** Bytes the answers served from cache would have scanned had they run on Athena. */
  dataSavedBytes: number
}

/** One popular parameter combination over a window. */
export interface PopularRead {
  query: string
  /** The tenant the reads were made as, if any. */
  tenant?: string
  parameters: CanonicalParams
  reads: number
}

export interface UsageOptions {
  /** Width of a popularity bucket. */
  bucketMs: number
  /** How long buckets are kept: the longest window anyone asks `top` about. */
  retainMs: number
  /** Members kept per bucket in the store, the most read (see popularityKeep). */
  keepPerBucket: number
  /**
   * Distinct members held in memory between flushes (default 10,000): reaching it starts a flush, and while that
   * flush is under way reads of members not yet held are not counted.
   */
  maxPendingMembers?: number
  /** How often counts are written to the store (0: only on explicit `flush`, as on Lambda). */
  flushIntervalMs: number
  logger: Logger
  now?: () => number
  /** Where the service's events also go (Prometheus, EMF): executions, lease waits, prewarm runs. */
  telemetry?: TelemetrySink | undefined
}

const emptyCounters = (): UsageCounters => ({
  hits: 0,
  misses: 0,
  stale: 0,
  bypass: 0,
  athenaExecutions: 0,
  athenaReusedResults: 0,
  dataScannedBytes: 0,
  dataSavedBytes: 0,
})

const OUTCOME_COUNTER: Record<ReadOutcomeKind, keyof UsageCounters> = {
  HIT: 'hits',
  STALE: 'stale',
  MISS: 'misses',
  BYPASS: 'bypass',
}

/** Default of UsageOptions.maxPendingMembers. */
const MAX_PENDING_MEMBERS = 10_000

/**
 * Members worth keeping per popularity bucket when prewarm looks at the `topN` most read: a wide margin (10×, and at
 * least 1,000) so that a combination read steadily, though never the top of any one hour, still adds up over the
 * window, while the sets — and what /admin/stats and prewarm read — no longer grow with every key ever read.
 */
export function popularityKeep(topN: number): number {
  return Math.max(10 * topN, 1_000)
}

/**
 * The popularity member of a read: the query, the tenant when the caller has one (`query@tenant`), and the canonical
 * parameters — enough for prewarm to replay it as that tenant.
 */
export function popularityMember(query: string, canonicalParamsJson: string, tenant?: string): string {
  return tenant === undefined
    ? `${query}?${canonicalParamsJson}`
    : `${query}@${tenant}?${canonicalParamsJson}`
}

function parseMember(
  member: string,
): { query: string; tenant?: string; parameters: CanonicalParams } | undefined {
  const q = member.indexOf('?')
  if (q <= 0) return undefined
  const head = member.slice(0, q)
  const at = head.indexOf('@')
  try {
    const parameters = JSON.parse(member.slice(q + 1)) as CanonicalParams
    return at < 0
      ? { query: head, parameters }
      : { query: head.slice(0, at), tenant: head.slice(at + 1), parameters }
  } catch {
    return undefined
  }
}

/**
 * Read counts (popularity, in time buckets) and service counters. Recording is synchronous and in memory, so it
 * costs a cache hit two map updates; the batch goes to the store off the response path (every `flushIntervalMs`, or
 * after each Lambda invocation), one pipelined round trip whatever the traffic.
 */
export class UsageRecorder {
  private pending = emptyCounters()
  private readonly buckets = new Map<number, Map<string, number>>()
  /** Distinct members across `buckets`: bounded by maxPendingMembers. */
  private pendingMembers = 0
  private readonly maxPendingMembers: number
  private readonly total = emptyCounters()
  /** Tenants' reads since the last flush, as `t:<tenant>:<counter>` fields of the stats hash. */
  private pendingTenantReads = new Map<string, number>()
  private readonly startedAt: number
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> | undefined
  private readonly now: () => number

  constructor(
    private readonly store: CounterStore,
    private readonly keys: CacheKeys,
    private readonly o: UsageOptions,
  ) {
    this.now = o.now ?? Date.now
    this.maxPendingMembers = o.maxPendingMembers ?? MAX_PENDING_MEMBERS
    this.startedAt = this.now()
    if (o.flushIntervalMs > 0) {
      this.timer = setInterval(() => void this.flush(), o.flushIntervalMs)
      this.timer.unref()
    }
  }

  /**
   * Counts one read of `member` answered as `outcome`; `savedBytes` is what the entry cost to compute; `tenant` is
   * the reader's tenant, counted apart too (tenants are a configured few, so this stays bounded).
   */
  read(member: string, outcome: ReadOutcomeKind, savedBytes: number, tenant?: string): void {
    const counter = OUTCOME_COUNTER[outcome]
    this.pending[counter]++
    this.total[counter]++
    if (tenant !== undefined) {
      const field = `t:${tenant}:${counter}`
      this.pendingTenantReads.set(field, (this.pendingTenantReads.get(field) ?? 0) + 1)
    }
    if (outcome === 'HIT' || outcome === 'STALE') {
      this.pending.dataSavedBytes += savedBytes
      this.total.dataSavedBytes += savedBytes
    }
    const bucket = Math.floor(this.now() / this.o.bucketMs)
    const counts = this.buckets.get(bucket)
    const count = counts?.get(member)
    if (counts && count !== undefined) {
      counts.set(member, count + 1)
      return
    }
    // A burst of distinct members (a crawler, a scan of every parameter) must not grow memory until the next flush:
    // at the bound the batch is handed to a flush (which takes it synchronously, before its first await), and while
    // that flush is being written, members not held yet are not counted.
    if (this.pendingMembers >= this.maxPendingMembers) {
      if (this.flushing) return
      void this.flush()
    }
    let fresh = this.buckets.get(bucket)
    if (!fresh) {
      fresh = new Map()
      this.buckets.set(bucket, fresh)
    }
    fresh.set(member, 1)
    this.pendingMembers++
  }

  /** Distinct members waiting for the next flush (bounded by maxPendingMembers). */
  get pendingMemberCount(): number {
    return this.pendingMembers
  }

  /** Counts an execution this service started, of catalog query `query`. */
  executionStarted(query: string): void {
    this.pending.athenaExecutions++
    this.total.athenaExecutions++
    this.o.telemetry?.executionStarted(query)
  }

  /** Counts the bytes of an execution this process collected (each execution is collected once). */
  executionCollected(query: string, dataScannedBytes: number, reused: boolean): void {
    this.pending.dataScannedBytes += dataScannedBytes
    this.total.dataScannedBytes += dataScannedBytes
    if (reused) {
      this.pending.athenaReusedResults++
      this.total.athenaReusedResults++
    }
    this.o.telemetry?.executionCollected(query, dataScannedBytes, reused)
  }

  /** A read waited `waitedMs` on a computation another reader had started. */
  leaseWait(query: string, waitedMs: number): void {
    this.o.telemetry?.leaseWait(query, waitedMs)
  }

  /** A prewarm run finished. */
  prewarmRun(sample: PrewarmSample): void {
    this.o.telemetry?.prewarmRun(sample)
  }

  /** Writes what was recorded since the last flush. Failures are logged and the counts dropped, never retried. */
  flush(): Promise<void> {
    // A flush already being written holds only what was recorded before it: what came since is written after it.
    if (this.flushing) return this.flushing.then(() => this.flush())
    const flushing = this.write().finally(() => {
      this.flushing = undefined
    })
    this.flushing = flushing
    return flushing
  }

  private async write(): Promise<void> {
    const counters = this.pending
    const tenantReads = this.pendingTenantReads
    const buckets = [...this.buckets]
    this.pending = emptyCounters()
    this.pendingTenantReads = new Map()
    this.buckets.clear()
    this.pendingMembers = 0
    const writes: Promise<unknown>[] = []
    if (Object.values(counters).some((v) => v !== 0) || tenantReads.size > 0)
      writes.push(
        this.store.incrementCounters(this.keys.stats, { ...counters, ...Object.fromEntries(tenantReads) }),
      )
    for (const [bucket, counts] of buckets)
      writes.push(
        this.store.incrementScores(this.keys.popularity(bucket), counts, {
          ttlMs: (bucket + 1) * this.o.bucketMs + this.o.retainMs - this.now(),
          keepTop: this.o.keepPerBucket,
        }),
      )
    if (writes.length === 0) return
    const results = await Promise.allSettled(writes)
    const failed = results.find((r) => r.status === 'rejected')
    if (failed) this.o.logger.warn({ err: String(failed.reason) }, 'usage counters not written')
  }

  /** The most read parameter combinations over the last `windowMs` (counts flushed so far), most read first. */
  async top(count: number, windowMs: number): Promise<PopularRead[]> {
    const now = this.now()
    const last = Math.floor(now / this.o.bucketMs)
    const first = Math.floor((now - Math.min(windowMs, this.o.retainMs)) / this.o.bucketMs) + 1
    const keys: string[] = []
    for (let b = Math.min(first, last); b <= last; b++) keys.push(this.keys.popularity(b))
    const members = await this.store.topScores(keys, count)
    const out: PopularRead[] = []
    for (const { member, score } of members) {
      const parsed = parseMember(member)
      if (parsed) out.push({ ...parsed, reads: score })
    }
    return out
  }

  /**
   * Counters summed over every process (as flushed), this process's own since it started, and each tenant's reads
   * (`hits`, `stale`, `misses`, `bypass`) summed over every process.
   */
  async snapshot(): Promise<{
    shared: UsageCounters
    process: UsageCounters & { since: string }
    tenants: Record<string, Record<string, number>>
  }> {
    const stored = await this.store.getCounters(this.keys.stats)
    const shared = emptyCounters()
    for (const k of Object.keys(shared) as Array<keyof UsageCounters>) shared[k] = stored[k] ?? 0
    const tenants: Record<string, Record<string, number>> = {}
    for (const [field, value] of Object.entries(stored)) {
      const m = /^t:(.+):(hits|stale|misses|bypass)$/.exec(field)
      if (!m) continue
      const counts = tenants[m[1] as string] ?? {}
      counts[m[2] as string] = value
      tenants[m[1] as string] = counts
    }
    return { shared, process: { ...this.total, since: new Date(this.startedAt).toISOString() }, tenants }
  }

  /** Stops the flush timer and writes what is left. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    await this.flush()
  }
}

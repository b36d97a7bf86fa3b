import { freshnessAt } from '../cache/cache-policy.ts'
import type { DecodedEntry } from '../cache/entry-codec.ts'
import { ExecutionGoneError, QueryTimeoutError } from '../errors.ts'
import type { EntryLookup } from './entry-lookup.ts'
import { entryResult, type ReadOutcome, type ResolvedQuery } from './read-result.ts'
import type { ResultWriter } from './result-writer.ts'

export interface FormatReadsOptions {
  lookup: EntryLookup
  writer: ResultWriter
  /** Computes the JSON entry anew (its execution's result is gone). */
  recompute: (json: ResolvedQuery, known: number) => Promise<DecodedEntry>
  /** Longest a rendering may take (QUERY_TIMEOUT_MS). */
  timeoutMs: number
  now: () => number
}

/**
 * Reads in another body format (CSV, NDJSON). Such an entry is derived from the JSON entry of the same read, never
 * computed on its own: the JSON read decides (hit, stale and refresh, miss, 202, stale-if-error) and the format entry
 * follows it. A format entry is served while it was rendered from the execution the JSON entry holds; otherwise it
 * is rendered again from that execution's result — a GetObject of the result file, not a query; from the JSON
 * entry's rows when it was spliced by an incremental refresh — once per process however many requests ask at the same
 * time, and stored with the JSON entry's times and stamp.
 */
export class FormatReads {
  /** Renderings in flight, by format key and execution: bounded by the work in flight, emptied as it settles. */
  private readonly rendering = new Map<string, Promise<DecodedEntry>>()

  constructor(private readonly o: FormatReadsOptions) {}

  /** `readJson`: the JSON read of the resolution (the read path proper, uncounted). */
  async read(
    variant: ResolvedQuery,
    readJson: (json: ResolvedQuery) => Promise<ReadOutcome>,
  ): Promise<ReadOutcome> {
    const json = variant.json ?? variant
    const t0 = performance.now()
    const { entry, known } = await this.o.lookup.lookup(variant)
    const cacheMs = performance.now() - t0
    if (entry && entry.kind === 'result' && freshnessAt(entry, this.o.now()) === 'fresh')
      return entryResult(variant, entry, 'HIT', { cacheMs })
    const base = await readJson(json)
    // A 202 is about the execution, whatever the format; a cached error answers in every format alike.
    if (base.kind === 'pending') return base
    if (base.entry.kind === 'error') return entryResult(variant, base.entry, base.outcome, base.timings)
    if (entry && entry.kind === 'result' && entry.queryExecutionId === base.entry.queryExecutionId)
      return entryResult(variant, entry, base.outcome, base.timings)
    const t1 = performance.now()
    let rendered: DecodedEntry
    try {
      rendered = await this.render(variant, base.entry)
    } catch (err) {
      if (!(err instanceof ExecutionGoneError)) throw err
      // The result the JSON entry was read from is gone (expired by the bucket's lifecycle, or an engine restart):
      // the query runs again, and both entries are from the new execution.
      const fresh = await this.o.recompute(json, Math.max(known, base.entry.known))
      rendered = await this.render(variant, fresh)
    }
    const outcome = base.outcome === 'HIT' ? 'MISS' : base.outcome
    return entryResult(variant, rendered, outcome, {
      cacheMs: base.timings.cacheMs,
      engineMs: (base.timings.engineMs ?? 0) + performance.now() - t1,
    })
  }

  private render(variant: ResolvedQuery, json: DecodedEntry): Promise<DecodedEntry> {
    const id = `${variant.key}|${json.queryExecutionId}`
    const running = this.rendering.get(id)
    if (running) return running
    const abort = new AbortController()
    const timer = setTimeout(
      () => abort.abort(new QueryTimeoutError(json.queryExecutionId, this.o.timeoutMs)),
      this.o.timeoutMs,
    )
    const run = this.o.writer.renderFormat(variant, json, abort.signal).finally(() => {
      clearTimeout(timer)
      this.rendering.delete(id)
    })
    this.rendering.set(id, run)
    return run
  }
}

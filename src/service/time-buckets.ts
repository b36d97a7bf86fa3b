import type { TimeSpan } from '../cache/generations.ts'
import type { BucketUnit } from '../config/incremental.ts'

/**
 * Time buckets in UTC as Trino's `date_trunc` makes them (hours, days, weeks from Monday, months), and the spans an
 * incremental refresh recomputes: what changed, widened to whole buckets, clipped to the entry, merged.
 */

const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000
/** 1970-01-01 was a Thursday: days since the epoch + 3, modulo 7, is 0 on Mondays. */
const MONDAY_OFFSET_DAYS = 3

/** The start of the bucket holding `ms`. */
export function bucketStart(ms: number, unit: BucketUnit): number {
  switch (unit) {
    case 'hour':
      return Math.floor(ms / HOUR_MS) * HOUR_MS
    case 'day':
      return Math.floor(ms / DAY_MS) * DAY_MS
    case 'week': {
      const day = Math.floor(ms / DAY_MS)
      return (day - ((((day + MONDAY_OFFSET_DAYS) % 7) + 7) % 7)) * DAY_MS
    }
    case 'month': {
      const d = new Date(ms)
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)
    }
  }
}

/** The start of the bucket after the one starting at `start`. */
export function nextBucket(start: number, unit: BucketUnit): number {
  switch (unit) {
    case 'hour':
      return start + HOUR_MS
    case 'day':
      return start + DAY_MS
    case 'week':
      return start + 7 * DAY_MS
    case 'month': {
      const d = new Date(start)
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)
    }
  }
}

/** `span` widened to whole buckets. */
export function alignOutward(span: TimeSpan, unit: BucketUnit): TimeSpan {
  const startMs = bucketStart(span.startMs, unit)
  const last = bucketStart(span.endMs, unit)
  return { startMs, endMs: last === span.endMs ? last : nextBucket(last, unit) }
}

/** Spans sorted and merged where they overlap or touch. */
export function mergeSpans(spans: readonly TimeSpan[]): TimeSpan[] {
  const sorted = [...spans].filter((s) => s.endMs > s.startMs).sort((a, b) => a.startMs - b.startMs)
  const out: TimeSpan[] = []
  for (const s of sorted) {
    const last = out.at(-1)
    if (last && s.startMs <= last.endMs) last.endMs = Math.max(last.endMs, s.endMs)
    else out.push({ ...s })
  }
  return out
}

/**
 * The unit a refresh's spans are aligned to: the bucket, but at least a day, since the range parameters that narrow
 * the query are dates.
 */
export function alignmentUnit(unit: BucketUnit): BucketUnit {
  return unit === 'hour' ? 'day' : unit
}

/**
 * The spans to recompute for `changed` in an entry spanning `entry`: each widened to whole buckets (whole days at
 * least), clipped to the entry, merged; then, while there are more than `maxSpans`, the two closest joined (the
 * fewest extra buckets). Every boundary is a bucket boundary or one of the entry's own, so a bucket is either
 * recomputed whole (as far as the entry reaches) or not at all.
 */
export function refreshSpans(
  changed: readonly TimeSpan[],
  entry: TimeSpan,
  unit: BucketUnit,
  maxSpans: number,
): TimeSpan[] {
  const align = alignmentUnit(unit)
  const spans = mergeSpans(
    changed.map((c) => {
      const a = alignOutward(c, align)
      return { startMs: Math.max(a.startMs, entry.startMs), endMs: Math.min(a.endMs, entry.endMs) }
    }),
  )
  while (spans.length > Math.max(1, maxSpans)) {
    let at = 0
    for (let i = 1; i < spans.length - 1; i++) {
      const gap = (spans[i + 1] as TimeSpan).startMs - (spans[i] as TimeSpan).endMs
      if (gap < (spans[at + 1] as TimeSpan).startMs - (spans[at] as TimeSpan).endMs) at = i
    }
    const [a, b] = spans.slice(at, at + 2) as [TimeSpan, TimeSpan]
    spans.splice(at, 2, { startMs: a.startMs, endMs: b.endMs })
  }
  return spans
}

/**
 * The buckets a recomputed span stands for, as the span of their starts: a row whose bucket starts inside it was
 * recomputed (a bucket cut by the entry's edge starts before the span, and is recomputed as far as the entry reaches).
 */
export function bucketsOf(span: TimeSpan, unit: BucketUnit): TimeSpan {
  return alignOutward(span, unit)
}

/** A date parameter's value (`YYYY-MM-DD`) for a day boundary. */
export function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10)
}

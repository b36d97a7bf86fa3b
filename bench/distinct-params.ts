// Distinct valid parameter sets of the shipped catalog's `analytics` query, for benchmarks that need many keys. The
// measure is an enum (four values), so distinct sets vary the period and the start date as well.

const MEASURES = ['pageviews', 'sessions', 'signups', 'revenue'] as const
const PERIODS = ['hour', 'day', 'week', 'month'] as const
const DAY_MS = 86_400_000
const FIRST_DAY = Date.UTC(2000, 0, 1)

/** The `i`-th of 16 × (as many days as needed from 2000-01-01) distinct `analytics` parameter sets; injective. */
export function distinctAnalyticsParams(i: number): { measure: string; period: string; start: string } {
  return {
    measure: MEASURES[i % 4] as string,
    period: PERIODS[Math.floor(i / 4) % 4] as string,
    start: new Date(FIRST_DAY + Math.floor(i / 16) * DAY_MS).toISOString().slice(0, 10),
  }
}

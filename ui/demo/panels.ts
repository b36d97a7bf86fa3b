// The demo dashboard's panels: catalog queries over the last days before `end`, read through the public API.
import { addDays } from '../shared/format.ts'

export interface PanelDef {
  id: string
  title: string
  /** What the chart shows, under the title. */
  caption: string
  query: string
  /** The request path (`/analytics` or `/queries/<name>`). */
  path: string
  parameters: Record<string, string>
  chart: 'line' | 'bar'
  horizontal?: boolean
  /** Every category label shown (a few short ones), not every other one. */
  allLabels?: boolean
  /** A row's label on the category axis and its value. */
  label: (row: Record<string, unknown>) => string
  value: (row: Record<string, unknown>) => number
}

/** The Monday on or before a UTC day (YYYY-MM-DD): where the engine's weeks start. */
function mondayOnOrBefore(day: string): string {
  return addDays(day, -((new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7))
}

const dayOf = (row: Record<string, unknown>) => String(row.period_start ?? '').slice(0, 10)
const total = (row: Record<string, unknown>) => Number(row.total ?? 0)

/**
 * The panels for data up to `end` (excluded, as the API's `end`). Their parameters are those of the prewarm set in
 * prewarm.yaml where one fits (pageviews by day, top pages, countries), so a prewarmed deployment answers them all
 * from the cache.
 */
export function panelsUntil(end: string): PanelDef[] {
  const last30 = addDays(end, -30)
  // Whole weeks only: a week cut by the range would look like a drop.
  const weeksEnd = mondayOnOrBefore(end)
  const weeksStart = addDays(weeksEnd, -84)
  return [
    {
      id: 'pageviews-daily',
      title: 'Pageviews by day',
      caption: `${last30} to ${addDays(end, -1)}`,
      query: 'analytics',
      path: '/analytics',
      parameters: { measure: 'pageviews', period: 'day', start: last30, end },
      chart: 'line',
      label: dayOf,
      value: total,
    },
    {
      id: 'top-pages',
      title: 'Top pages',
      caption: `pageviews, ${addDays(end, -7)} to ${addDays(end, -1)}`,
      query: 'top_pages',
      path: '/queries/top_pages',
      parameters: { measure: 'pageviews', start: addDays(end, -7), end },
      chart: 'bar',
      horizontal: true,
      label: (row) => String(row.page ?? ''),
      value: total,
    },
    {
      id: 'by-country',
      title: 'Pageviews by country',
      caption: `${last30} to ${addDays(end, -1)}`,
      query: 'by_country',
      path: '/queries/by_country',
      parameters: { measure: 'pageviews', start: last30, end },
      chart: 'bar',
      allLabels: true,
      label: (row) => String(row.country ?? 'unknown'),
      value: total,
    },
    {
      id: 'sessions-weekly',
      title: 'Sessions by week',
      caption: `the 12 whole weeks (Monday to Sunday) from ${weeksStart} to ${addDays(weeksEnd, -1)}`,
      query: 'analytics',
      path: '/analytics',
      parameters: { measure: 'sessions', period: 'week', start: weeksStart, end: weeksEnd },
      chart: 'bar',
      label: dayOf,
      value: total,
    },
  ]
}

/** The request URL of a panel. */
export function panelUrl(panel: PanelDef): string {
  return `${panel.path}?${new URLSearchParams(panel.parameters).toString()}`
}

// What each section of the operator page shows, built from the admin API's answers (no I/O here).
import { el, facts, table } from '../shared/dom.ts'
import {
  formatBytes,
  formatMs,
  formatNumber,
  formatRatio,
  formatSeconds,
  formatTime,
} from '../shared/format.ts'
import type { Entries, Invalidation, PrewarmReport, Schedules, StatsReport } from './types.ts'

/** `measure=pageviews · start=2024-03-01` */
export function parameterText(parameters: Record<string, unknown>): string {
  const pairs = Object.entries(parameters).map(
    ([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`,
  )
  return pairs.length === 0 ? '(none)' : pairs.join(' · ')
}

const badge = (text: string, kind = text) => el('span', { class: `badge ${kind.toLowerCase()}` }, text)

function tile(stat: string, label: string, value: string, note?: string): HTMLElement {
  return el(
    'div',
    { class: 'tile', dataset: { stat } },
    el('span', { class: 'value' }, value),
    el('span', { class: 'label' }, label),
    note ? el('span', { class: 'note' }, note) : null,
  )
}

/** The totals of `/admin/stats`: reads and their outcomes, Athena's work, what the cache saved. */
export function totalsView(stats: StatsReport): HTMLElement {
  return el(
    'div',
    { class: 'tiles' },
    tile('reads', 'reads', formatNumber(stats.reads)),
    tile(
      'hit-ratio',
      'hit ratio',
      formatRatio(stats.hitRatio),
      `${formatNumber(stats.hits)} hit · ${formatNumber(stats.stale)} stale · ${formatNumber(stats.misses)} miss · ${formatNumber(stats.bypass)} bypass`,
    ),
    tile(
      'athena-executions',
      'Athena executions',
      formatNumber(stats.athenaExecutions),
      stats.athenaReusedResults ? `${formatNumber(stats.athenaReusedResults)} reused results` : undefined,
    ),
    tile('scanned', 'bytes scanned', formatBytes(stats.dataScannedBytes)),
    tile('saved', 'bytes saved', formatBytes(stats.dataSavedBytes), 'scans the cached answers did not run'),
  )
}

export function topQueriesView(stats: StatsReport): HTMLElement {
  return table(
    ['query', 'tenant', 'parameters', 'reads'],
    stats.topQueries.map((q) => [
      q.query,
      q.tenant ?? '–',
      el('code', {}, parameterText(q.parameters)),
      formatNumber(q.reads),
    ]),
    { empty: 'No reads yet.' },
  )
}

/** The prewarm set with each entry's freshness; times relative to the server's `generatedAt`. */
export function entriesView(entries: Entries): HTMLElement {
  const at = Date.parse(entries.generatedAt)
  const view = table(
    ['query', 'tenant', 'parameters', 'source', 'state', 'age', 'expires in', 'TTL'],
    entries.entries.map((e) => [
      e.query,
      e.tenant ?? '–',
      el('code', { title: e.key }, parameterText(e.parameters)),
      e.source,
      badge(e.state),
      e.ageSeconds === null ? '–' : formatSeconds(e.ageSeconds),
      e.expiresAt === null ? '–' : formatSeconds((Date.parse(e.expiresAt) - at) / 1000),
      formatSeconds(e.ttlSeconds),
    ]),
    { empty: 'The prewarm set is empty (prewarm.yaml has no sets and nothing was read yet).' },
  )
  view.dataset.count = String(entries.entries.length)
  return view
}

/** A prewarm run's report, or a line saying there was none. */
export function prewarmView(report: PrewarmReport | null): HTMLElement {
  if (report === null) return el('p', { class: 'empty' }, 'No prewarm has run yet.')
  return facts(
    [
      ['status', badge(report.status)],
      ['trigger', report.schedule ? `${report.trigger} (${report.schedule})` : report.trigger],
      ['started', formatTime(report.startedAt)],
      ['duration', formatMs(report.durationMs)],
      ['considered', formatNumber(report.considered)],
      ['refreshed', formatNumber(report.refreshed)],
      ['skipped fresh', formatNumber(report.skippedFresh)],
      ['skipped (budget)', formatNumber(report.skippedBudget)],
      ['failed', formatNumber(report.failed)],
      ['scanned', formatBytes(report.dataScannedBytes)],
    ],
    { dataset: { role: 'last-prewarm' } },
  )
}

export function schedulesView(schedules: Schedules, now: number): HTMLElement {
  return el(
    'div',
    {},
    table(
      ['schedule', 'expression', 'time zone', 'next run', 'description'],
      schedules.schedules.map((s) => [
        s.name,
        el('code', {}, s.expression),
        s.timezone,
        s.nextFireTime === null
          ? 'never'
          : `${formatTime(s.nextFireTime)} (in ${formatSeconds((Date.parse(s.nextFireTime) - now) / 1000)})`,
        s.description ?? '',
      ]),
      { empty: 'schedules.yaml has no schedules.' },
    ),
    el('h3', {}, 'Last prewarm'),
    prewarmView(schedules.lastPrewarm),
  )
}

export function invalidationsView(list: Invalidation[]): HTMLElement {
  const view = table(
    ['at', 'scope', 'mode', 'queries', 'tenant', 'entry', 'rewarm'],
    list.map((i) => [
      formatTime(i.at),
      i.scope,
      i.mode,
      i.queries.join(', '),
      i.tenant ?? '–',
      i.key ? el('code', { title: i.key }, `…${i.key.slice(-12)}`) : '–',
      i.rewarm === null
        ? '–'
        : `${i.rewarm.status}: ${formatNumber(i.rewarm.refreshed)} refreshed, ${formatNumber(i.rewarm.failed)} failed`,
    ]),
    { empty: 'No invalidations yet.' },
  )
  view.dataset.count = String(list.length)
  return view
}

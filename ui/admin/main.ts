// The operator page (`GET /admin/`): the admin API's figures, refreshed every few seconds, and an invalidation form.
// Everything it shows needs the admin key, which it asks for once and keeps in this tab (sessionStorage).
import '../shared/style.css'
import { adminKey, adoptKeyFromFragment, forgetAdminKey } from '../shared/admin-key.ts'
import { ApiError, adminJson } from '../shared/api.ts'
import { ChartView } from '../shared/charts.ts'
import { byId, el, replace } from '../shared/dom.ts'
import { formatClock, formatMs, formatNumber } from '../shared/format.ts'
import { keyForm } from '../shared/key-form.ts'
import { invalidateForm } from './invalidate-form.ts'
import type { Entries, Invalidation, Schedules, Series, StatsReport } from './types.ts'
import { entriesView, invalidationsView, schedulesView, topQueriesView, totalsView } from './views.ts'

const REFRESH_MS = 10_000

const hitChart = new ChartView(byId<HTMLCanvasElement>('hit-ratio-chart'), 'line', {
  yMax: 100,
  tick: (v) => `${v} %`,
})
const latencyChart = new ChartView(byId<HTMLCanvasElement>('latency-chart'), 'line', {
  legend: true,
  log: true,
  tick: (v) => formatMs(v),
})

/**
 * Loads one admin route and renders it; a 404 (a route this server does not have) shows "unavailable" in the
 * section instead of breaking the page, other failures an error there. A refused key is the caller's to handle.
 */
async function section<T>(ids: string[], path: string, render: (data: T) => void): Promise<void> {
  const show = (state: string, node: Node) => {
    for (const id of ids) {
      byId(id).dataset.state = state
      replace(byId(`${id}-body`), node.cloneNode(true))
    }
  }
  try {
    render(await adminJson<T>(path))
    for (const id of ids) byId(id).dataset.state = 'ready'
  } catch (err) {
    if (err instanceof ApiError && err.keyRefused) throw err
    if (err instanceof ApiError && err.status === 404)
      show(
        'unavailable',
        el('p', { class: 'unavailable' }, `Unavailable: this server has no GET ${path.split('?')[0]}.`),
      )
    else show('error', el('p', { class: 'error' }, `Could not load ${path}: ${(err as Error).message}`))
  }
}

const loaders = {
  stats: () =>
    section<StatsReport>(['totals', 'top-queries'], '/admin/stats', (stats) => {
      replace(byId('totals-body'), totalsView(stats))
      replace(byId('top-queries-body'), topQueriesView(stats))
    }),
  series: () =>
    section<Series>(
      ['series'],
      `/admin/stats/series?minutes=${byId<HTMLSelectElement>('series-minutes').value}`,
      (s) => {
        const labels = s.points.map((p) => formatClock(p.time))
        hitChart.show(labels, [
          { label: 'hit ratio', data: s.points.map((p) => (p.hitRatio === null ? null : p.hitRatio * 100)) },
        ])
        latencyChart.show(labels, [
          { label: 'p50', data: s.points.map((p) => p.latencyMs?.p50 ?? null) },
          { label: 'p95', data: s.points.map((p) => p.latencyMs?.p95 ?? null) },
        ])
        const withReads = s.points.filter((p) => p.reads > 0)
        const reads = withReads.reduce((sum, p) => sum + p.reads, 0)
        Object.assign(byId('series').dataset, {
          points: String(s.points.length),
          pointsWithReads: String(withReads.length),
        })
        byId('series-note').textContent =
          `${formatNumber(reads)} reads in ${formatNumber(withReads.length)} of ${formatNumber(s.points.length)} minutes.`
      },
    ),
  entries: () =>
    section<Entries>(['entries'], '/admin/entries', (entries) =>
      replace(byId('entries-body'), entriesView(entries)),
    ),
  schedules: () =>
    section<Schedules>(['schedules'], '/admin/schedules', (s) =>
      replace(byId('schedules-body'), schedulesView(s, Date.now())),
    ),
  invalidations: () =>
    section<{ invalidations: Invalidation[] }>(['invalidations'], '/admin/invalidations?limit=20', (list) =>
      replace(byId('invalidations-body'), invalidationsView(list.invalidations)),
    ),
}

let timer: ReturnType<typeof setTimeout> | undefined
let round = 0

/** Loads every section, then schedules the next round; a refused key ends the rounds and asks for a key again. */
async function refresh(only?: Array<keyof typeof loaders>): Promise<void> {
  if (only === undefined) clearTimeout(timer)
  const mine = only === undefined ? ++round : round
  try {
    await Promise.all(
      (only ?? (Object.keys(loaders) as Array<keyof typeof loaders>)).map((name) => loaders[name]()),
    )
    byId('updated').textContent = `updated ${new Date().toLocaleTimeString()}`
  } catch (err) {
    if (err instanceof ApiError && err.keyRefused) {
      forgetAdminKey()
      showLogin(`The admin key was refused (${err.status}): ${err.detail || err.title}`)
      return
    }
    throw err
  }
  // A hidden tab stops here; it catches up when shown again (visibilitychange below).
  if (only === undefined && mine === round)
    timer = setTimeout(() => {
      if (!document.hidden) void refresh()
    }, REFRESH_MS)
}

function showLogin(message?: string): void {
  clearTimeout(timer)
  round++
  byId('dashboard').hidden = true
  byId('forget').hidden = true
  byId('updated').textContent = ''
  byId('login').hidden = false
  replace(
    byId('login-body'),
    keyForm({ id: 'login-form', onKey: showDashboard, ...(message ? { message } : {}) }),
  )
  byId('login-body').querySelector('input')?.focus()
}

function showDashboard(): void {
  byId('login').hidden = true
  byId('dashboard').hidden = false
  byId('forget').hidden = false
  void refresh()
}

replace(
  byId('invalidate-body'),
  invalidateForm({
    onDone: () => void refresh(['invalidations', 'entries', 'stats']),
    onKeyRefused: (err) => {
      forgetAdminKey()
      showLogin(`The admin key was refused (${err.status}): ${err.detail || err.title}`)
    },
  }),
)
byId('series-minutes').addEventListener('change', () => void refresh(['series']))
byId('forget').addEventListener('click', () => {
  forgetAdminKey()
  showLogin('Key forgotten. This tab no longer holds an admin key.')
})
document.addEventListener('visibilitychange', () => {
  if (!document.hidden && adminKey() !== undefined && !byId('dashboard').hidden) void refresh()
})

adoptKeyFromFragment()
if (adminKey() === undefined) showLogin()
else showDashboard()

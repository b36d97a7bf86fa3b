// One panel of the demo: its chart, the caching headers and latency of its last response, the reads so far, and
// "Invalidate and reload", which shows an invalidated result served STALE (or a MISS) and then a HIT again.
import { adminKey, forgetAdminKey } from '../shared/admin-key.ts'
import { ApiError, adminJson, type CacheHeaders, type QueryResult, requestJson } from '../shared/api.ts'
import { ChartView } from '../shared/charts.ts'
import { el, facts, replace } from '../shared/dom.ts'
import { formatMs, formatNumber } from '../shared/format.ts'
import { type PanelDef, panelUrl } from './panels.ts'

/** Reads kept in a panel's log (and its data-reads attribute). */
const READS_KEPT = 12
/** After an invalidation: how long to keep reading until the refreshed result is a HIT, and how often. */
const REFRESH_DEADLINE_MS = 15_000
const REFRESH_POLL_MS = 250

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export interface PanelHost {
  /** Asks for the admin key (the key bar), with the reason. */
  askForKey(message: string): void
}

/** A panel on the page. */
export class PanelView {
  readonly root: HTMLElement
  private readonly chart: ChartView
  private readonly factsBox = el('div', { class: 'facts-box' })
  private readonly log = el('ol', { class: 'reads', 'aria-label': 'reads' })
  private readonly error = el('p', { class: 'error', role: 'status' })
  private readonly invalidateButton: HTMLButtonElement
  private readonly reads: string[] = []

  constructor(
    private readonly def: PanelDef,
    private readonly host: PanelHost,
  ) {
    const canvas = el('canvas', { 'aria-label': `${def.title} chart`, role: 'img' })
    this.invalidateButton = el(
      'button',
      { type: 'button', class: 'invalidate', onclick: () => void this.invalidateAndReload() },
      'Invalidate and reload',
    )
    this.root = el(
      'article',
      { class: 'panel', id: `panel-${def.id}`, dataset: { state: 'loading', url: panelUrl(def) } },
      el('header', {}, el('h2', {}, def.title), el('p', { class: 'caption' }, def.caption)),
      el('div', { class: 'chart' }, canvas),
      this.factsBox,
      el(
        'div',
        { class: 'actions' },
        this.invalidateButton,
        el('button', { type: 'button', class: 'reload', onclick: () => void this.load() }, 'Reload'),
        el('code', { class: 'request' }, `GET ${panelUrl(def)}`),
      ),
      this.error,
      this.log,
    )
    this.chart = new ChartView(canvas, def.chart, {
      ...(def.horizontal ? { horizontal: true } : {}),
      ...(def.allLabels ? { allLabels: true } : {}),
      tick: (v) => formatNumber(v),
    })
  }

  /** Reads the panel's query once and shows it; resolves to its X-Cache (undefined when it failed). */
  async load(): Promise<string | undefined> {
    this.root.dataset.state = this.root.dataset.state === 'ready' ? 'reloading' : 'loading'
    try {
      const res = await requestJson<QueryResult>(panelUrl(this.def))
      const rows = res.body.rows
      const values = rows.map(this.def.value)
      this.chart.show(rows.map(this.def.label), [{ label: this.def.title, data: values }])
      const sum = values.reduce((a, b) => a + b, 0)
      this.showFacts(res.headers, res.latencyMs, rows.length, sum)
      this.record(
        res.headers.xCache ?? '?',
        `${formatMs(res.latencyMs)}${engineNote(res.headers.serverTiming)}`,
      )
      Object.assign(this.root.dataset, {
        state: 'ready',
        points: String(rows.length),
        total: String(sum),
        xCache: res.headers.xCache ?? '',
      })
      this.error.textContent = ''
      return res.headers.xCache ?? undefined
    } catch (err) {
      this.root.dataset.state = 'error'
      this.error.textContent = `Could not read the query: ${errorText(err)}`
      return undefined
    }
  }

  /** POST /cache/invalidate (this panel's entry, mode expire), then reads until the refreshed result is a HIT. */
  async invalidateAndReload(): Promise<void> {
    if (adminKey() === undefined) {
      this.host.askForKey('"Invalidate and reload" needs the admin key.')
      return
    }
    this.invalidateButton.disabled = true
    this.root.dataset.invalidation = 'running'
    try {
      await adminJson('/cache/invalidate', {
        method: 'POST',
        body: JSON.stringify({ query: this.def.query, parameters: this.def.parameters, mode: 'expire' }),
      })
      this.record('invalidated', 'mode expire: served stale while one refresh runs')
      const deadline = performance.now() + REFRESH_DEADLINE_MS
      let outcome = await this.load()
      while (outcome !== 'HIT' && outcome !== undefined && performance.now() < deadline) {
        await sleep(REFRESH_POLL_MS)
        outcome = await this.load()
      }
      this.root.dataset.invalidation = outcome === 'HIT' ? 'done' : 'failed'
    } catch (err) {
      this.root.dataset.invalidation = 'failed'
      if (err instanceof ApiError && err.keyRefused) {
        forgetAdminKey()
        this.host.askForKey(`The admin key was refused (${err.status}): ${err.detail || err.title}`)
      } else {
        this.error.textContent = `Invalidation failed: ${errorText(err)}`
      }
    } finally {
      this.invalidateButton.disabled = false
    }
  }

  private showFacts(headers: CacheHeaders, latencyMs: number, points: number, sum: number): void {
    const xCache = headers.xCache ?? '–'
    replace(
      this.factsBox,
      facts([
        [
          'X-Cache',
          el('span', { class: `badge ${xCache.toLowerCase()}`, dataset: { role: 'x-cache' } }, xCache),
        ],
        ['Age', headers.age === null ? '–' : `${headers.age} s`],
        ['Server-Timing', el('code', {}, headers.serverTiming ?? '–')],
        ['Latency', formatMs(latencyMs)],
        ['Points', el('span', { dataset: { role: 'points' } }, String(points))],
        ['Total', el('span', { dataset: { role: 'total' } }, formatNumber(Math.round(sum)))],
      ]),
    )
  }

  private record(outcome: string, note: string): void {
    this.reads.push(outcome)
    if (this.reads.length > READS_KEPT) this.reads.shift()
    this.root.dataset.reads = this.reads.join(' ')
    const time = new Date().toLocaleTimeString()
    this.log.prepend(
      el(
        'li',
        {},
        el('time', {}, time),
        ' ',
        el('span', { class: `badge ${outcome.toLowerCase()}` }, outcome),
        ` ${note}`,
      ),
    )
    while (this.log.children.length > READS_KEPT) this.log.lastElementChild?.remove()
  }
}

/** ", engine 512 ms" when the answer ran the query (Server-Timing `engine;dur=…`). */
function engineNote(serverTiming: string | null): string {
  const engine = /(?:^|,\s*)engine;dur=([\d.]+)/.exec(serverTiming ?? '')
  return engine?.[1] ? ` (engine ${formatMs(Number(engine[1]))})` : ''
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

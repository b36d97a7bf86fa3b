// The demo dashboard (`GET /`): a few panels of the sample data, read through the public API as a dashboard would,
// each showing how its answer was served (X-Cache, Age, Server-Timing, latency).
import '../shared/style.css'
import { adminKey, adoptKeyFromFragment, forgetAdminKey } from '../shared/admin-key.ts'
import { byId, el, replace } from '../shared/dom.ts'
import { isoDay } from '../shared/format.ts'
import { keyForm } from '../shared/key-form.ts'
import { PanelView } from './panel-view.ts'
import { panelsUntil } from './panels.ts'

/**
 * The first day after the data shown: `?end=YYYY-MM-DD` (excluded, as the API's `end`), else today (UTC), which
 * `npm start`'s sample data runs up to. A server with older data is shown with `?end=`.
 */
function endDay(): { end: string; warning?: string } {
  const today = isoDay(new Date())
  const asked = new URLSearchParams(location.search).get('end')
  if (asked === null) return { end: today }
  const valid = /^\d{4}-\d{2}-\d{2}$/.test(asked) && isoDay(new Date(`${asked}T00:00:00Z`)) === asked
  return valid
    ? { end: asked }
    : { end: today, warning: `?end=${asked} is not a date (YYYY-MM-DD): showing today.` }
}

adoptKeyFromFragment()
const keyBar = byId('key')

function showKeyBar(message?: string): void {
  if (adminKey() !== undefined && message === undefined) {
    replace(
      keyBar,
      el('span', {}, 'Admin key set for this tab: "Invalidate and reload" works. '),
      el(
        'button',
        {
          type: 'button',
          class: 'link',
          onclick: () => {
            forgetAdminKey()
            showKeyBar()
          },
        },
        'Forget key',
      ),
    )
    return
  }
  replace(
    keyBar,
    message ? null : el('p', {}, '"Invalidate and reload" needs the admin key.'),
    keyForm({ onKey: () => showKeyBar(), ...(message ? { message } : {}) }),
  )
  if (message) keyBar.querySelector('input')?.focus()
}

const { end, warning } = endDay()
if (warning) byId('notice').textContent = warning
byId('range').textContent = `Data up to ${end} (excluded; ?end=YYYY-MM-DD shows another range).`
showKeyBar()
const host = { askForKey: (message: string) => showKeyBar(message) }
const views = panelsUntil(end).map((def) => new PanelView(def, host))
replace(byId('panels'), ...views.map((v) => v.root))
await Promise.all(views.map((v) => v.load()))

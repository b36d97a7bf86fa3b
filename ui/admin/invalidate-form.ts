// The invalidation form: a query (optionally one entry of it), tags, or everything; expire or delete; rewarm.
import { ApiError, adminJson, type CatalogQuery, requestJson } from '../shared/api.ts'
import { el, facts, replace } from '../shared/dom.ts'
import { formatTime } from '../shared/format.ts'
import type { InvalidationResult } from './types.ts'
import { prewarmView } from './views.ts'

export interface InvalidateFormOptions {
  /** After a successful invalidation (the page refreshes what it changed). */
  onDone: (result: InvalidationResult) => void
  /** A refused key (401/403): the page asks for it again. */
  onKeyRefused: (err: ApiError) => void
}

/** The form, wired to POST /cache/invalidate; the catalog's queries fill its select once loaded. */
export function invalidateForm(options: InvalidateFormOptions): HTMLFormElement {
  const radio = (value: string, label: string, checked = false) =>
    el('label', {}, el('input', { type: 'radio', name: 'target', value, checked }), ` ${label}`)
  const query = el(
    'select',
    { name: 'query', 'aria-label': 'query' },
    el('option', { value: '' }, 'loading…'),
  )
  const parameters = el('input', {
    name: 'parameters',
    placeholder: '{"measure":"pageviews","start":"2024-03-01"} — empty: every entry of the query',
    'aria-label': 'parameters (JSON)',
  })
  const tags = el('input', { name: 'tags', placeholder: 'analytics, geo', 'aria-label': 'tags' })
  const tenant = el('input', { name: 'tenant', placeholder: 'optional', 'aria-label': 'tenant' })
  const mode = el(
    'select',
    { name: 'mode', 'aria-label': 'mode' },
    el('option', { value: 'expire' }, 'expire (served STALE while one refresh runs)'),
    el('option', { value: 'delete' }, 'delete (the next read is a MISS)'),
  )
  const rewarm = el('input', { type: 'checkbox', name: 'rewarm' })
  const submit = el('button', { type: 'submit' }, 'Invalidate')
  const result = el('div', { class: 'result', role: 'status', 'aria-live': 'polite' })
  const form = el(
    'form',
    { class: 'invalidate-form', id: 'invalidate-form' },
    el(
      'fieldset',
      {},
      el('legend', {}, 'What'),
      el('div', { class: 'row' }, radio('query', 'query', true), query, parameters),
      el('div', { class: 'row' }, radio('tags', 'tags'), tags),
      el('div', { class: 'row' }, radio('all', 'everything')),
      el('div', { class: 'row' }, el('label', {}, 'tenant ', tenant)),
    ),
    el(
      'div',
      { class: 'row' },
      el('label', {}, 'mode ', mode),
      el('label', {}, rewarm, ' rewarm what is in the prewarm set'),
      submit,
    ),
    result,
  )

  // The catalog: readable without a key unless API_KEYS is set; then the query is typed instead.
  requestJson<{ queries: CatalogQuery[] }>('/queries')
    .then((res) => replace(query, ...res.body.queries.map((q) => el('option', { value: q.name }, q.name))))
    .catch(() => {
      const typed = el('input', { name: 'query', placeholder: 'query name', 'aria-label': 'query' })
      query.replaceWith(typed)
    })

  form.addEventListener('submit', (event) => {
    event.preventDefault()
    let body: Record<string, unknown>
    try {
      body = requestBody(new FormData(form))
    } catch (err) {
      replace(result, el('p', { class: 'error' }, (err as Error).message))
      return
    }
    submit.disabled = true
    replace(result, 'invalidating…')
    adminJson<InvalidationResult>('/cache/invalidate', { method: 'POST', body: JSON.stringify(body) })
      .then((answer) => {
        replace(result, resultView(answer))
        options.onDone(answer)
      })
      .catch((err: unknown) => {
        if (err instanceof ApiError && err.keyRefused) options.onKeyRefused(err)
        else replace(result, el('p', { class: 'error' }, `Not invalidated: ${(err as Error).message}`))
      })
      .finally(() => {
        submit.disabled = false
      })
  })
  return form
}

/** The request body of the form's fields; a malformed field throws with a message for the operator. */
function requestBody(data: FormData): Record<string, unknown> {
  const field = (name: string) => String(data.get(name) ?? '').trim()
  const body: Record<string, unknown> = {
    mode: field('mode') || 'expire',
    rewarm: data.get('rewarm') !== null,
  }
  const target = field('target')
  if (target === 'query') {
    if (field('query') === '') throw new Error('Choose a query.')
    body.query = field('query')
    if (field('parameters') !== '') {
      let parameters: unknown
      try {
        parameters = JSON.parse(field('parameters'))
      } catch {
        throw new Error(
          'Parameters must be a JSON object, e.g. {"measure":"pageviews","start":"2024-03-01"}.',
        )
      }
      if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters))
        throw new Error('Parameters must be a JSON object.')
      body.parameters = parameters
    }
  } else if (target === 'tags') {
    const tags = field('tags')
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '')
    if (tags.length === 0) throw new Error('Name at least one tag.')
    body.tags = tags
  } else {
    body.all = true
  }
  if (field('tenant') !== '') body.tenant = field('tenant')
  return body
}

function resultView(answer: InvalidationResult): HTMLElement {
  return el(
    'div',
    { dataset: { role: 'invalidation-result', scope: answer.scope } },
    el('p', { class: 'ok' }, `Invalidated (${answer.mode}) at ${formatTime(answer.invalidatedAt)}.`),
    facts([
      ['scope', answer.scope],
      ['queries', answer.queries.join(', ') || '–'],
      answer.tenant ? ['tenant', answer.tenant] : null,
      answer.entry ? ['entry', el('code', {}, answer.entry.key)] : null,
    ]),
    answer.rewarm ? el('div', {}, el('h3', {}, 'Rewarm'), prewarmView(answer.rewarm)) : null,
  )
}

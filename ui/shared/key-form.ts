// The one way both pages ask for the admin key: a form, never prompt(). The key goes to sessionStorage only.
import { KEY_HINT, rememberAdminKey } from './admin-key.ts'
import { el } from './dom.ts'

/**
 * A form asking for the admin key; `onKey` runs once a key was entered and kept. `message` says why it is asked
 * (e.g. the key that was refused).
 */
export function keyForm(options: {
  onKey: (key: string) => void
  message?: string
  id?: string
}): HTMLFormElement {
  const input = el('input', {
    type: 'password',
    name: 'admin-key',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    placeholder: 'admin key',
    'aria-label': 'Admin key',
  })
  const form = el(
    'form',
    { class: 'key-form', id: options.id },
    options.message ? el('p', { class: 'notice', role: 'alert' }, options.message) : null,
    el('label', {}, 'Admin key ', input),
    el('button', { type: 'submit' }, 'Use key'),
    el('p', { class: 'hint' }, `${KEY_HINT} It is kept in this tab only (sessionStorage).`),
  )
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const key = input.value.trim()
    if (key === '') return
    rememberAdminKey(key)
    input.value = ''
    options.onKey(key)
  })
  return form
}

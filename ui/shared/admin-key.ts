// The admin key of the pages: asked for once, kept in this tab's sessionStorage only (never localStorage, never a
// cookie), and shared by the demo and the operator page, which are one origin. `acp serve` with the local engine
// prints a link that carries a development key in the URL fragment, which never reaches the server: it is moved
// into sessionStorage here and removed from the address bar.

const STORAGE_KEY = 'acp.adminKey'

/** The key this tab holds, if any. */
export function adminKey(): string | undefined {
  try {
    return sessionStorage.getItem(STORAGE_KEY) ?? undefined
  } catch {
    return undefined // storage disabled: the key is asked for on every page load
  }
}

export function rememberAdminKey(key: string): void {
  try {
    sessionStorage.setItem(STORAGE_KEY, key)
  } catch {
    // storage disabled: nothing is kept
  }
}

export function forgetAdminKey(): void {
  try {
    sessionStorage.removeItem(STORAGE_KEY)
  } catch {
    // storage disabled: nothing was kept
  }
}

/**
 * A `#key=<key>` fragment (the link `acp serve` prints) becomes the tab's key, and the fragment leaves the address
 * bar and the history entry. True when a key was taken.
 */
export function adoptKeyFromFragment(): boolean {
  const fragment = new URLSearchParams(location.hash.slice(1))
  const key = fragment.get('key')
  if (key === null) return false
  if (key !== '') rememberAdminKey(key)
  history.replaceState(history.state, '', `${location.pathname}${location.search}`)
  return key !== ''
}

/** Where an operator finds a key, said the same way on both pages. */
export const KEY_HINT =
  'An admin key is one of ADMIN_API_KEYS. Without any, `npm start` (the local engine) makes one for its process ' +
  'and prints a link to this page with it: look for "operator page" in its output.'

import { randomBytes } from 'node:crypto'
import type { Settings } from '../config/settings.ts'

/** Random bytes of a development admin key (32 characters of base64url). */
const KEY_BYTES = 24

/**
 * `acp serve` on a laptop: with the local engine and no ADMIN_API_KEYS, a random admin key for this process only, so
 * that the operator page and the admin routes work without configuration. Never with the athena engine: a
 * deployment configures its keys, and without any its admin routes stay closed. `adminKey` is undefined when the
 * settings are used as they are.
 */
export function withLocalAdminKey(settings: Settings): { settings: Settings; adminKey: string | undefined } {
  if (settings.engine !== 'local' || settings.adminApiKeys.length > 0)
    return { settings, adminKey: undefined }
  const adminKey = randomBytes(KEY_BYTES).toString('base64url')
  return { settings: { ...settings, adminApiKeys: [adminKey] }, adminKey }
}

/**
 * The one line that hands the key to the operator: the operator page's URL with the key in the fragment, which
 * the browser never sends; the page keeps it in the tab's sessionStorage and takes it out of the address bar.
 */
export function operatorPageLine(serverUrl: string, adminKey: string): string {
  return `operator page (an admin key for this process only; ADMIN_API_KEYS is unset): ${serverUrl}/admin/#key=${adminKey}\n`
}

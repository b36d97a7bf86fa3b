// `acp serve` on a laptop: with the local engine and no ADMIN_API_KEYS it makes an admin key for its process and
// prints the operator page's link with it; with the athena engine, or with keys configured, it never does.
import { afterAll, describe, expect, inject, it } from 'vitest'
import { loadSettings } from '../../src/config/settings.ts'
import { operatorPageLine, withLocalAdminKey } from '../../src/entry/local-admin-key.ts'
import { SERVER_DEFAULTS } from '../../src/entry/server.ts'
import { startServeProcess, stopAllChildren, waitUntil } from '../helpers/processes.ts'

const LINK = /^operator page \(.*\): (http:\/\/127\.0\.0\.1:\d+)\/admin\/#key=([A-Za-z0-9_-]+)$/m

afterAll(async () => {
  await stopAllChildren()
})

describe('withLocalAdminKey', () => {
  const settings = (env: Record<string, string>) =>
    loadSettings({ LOG_LEVEL: 'silent', ...env }, SERVER_DEFAULTS)

  it('makes a random key for the local engine without ADMIN_API_KEYS, leaving the settings given alone', async () => {
    const given = await settings({ ADMIN_API_KEYS: '' })
    expect(given.engine).toBe('local')
    const one = withLocalAdminKey(given)
    const two = withLocalAdminKey(given)
    expect(one.adminKey).toMatch(/^[A-Za-z0-9_-]{32}$/)
    expect(two.adminKey).toMatch(/^[A-Za-z0-9_-]{32}$/)
    expect(one.adminKey).not.toBe(two.adminKey)
    expect(one.settings.adminApiKeys).toEqual([one.adminKey])
    expect(one.settings.engine).toBe('local')
    expect(given.adminApiKeys).toEqual([])
    expect(operatorPageLine('http://localhost:3000', 'k3y')).toBe(
      'operator page (an admin key for this process only; ADMIN_API_KEYS is unset): http://localhost:3000/admin/#key=k3y\n',
    )
  })

  it('never with the athena engine, nor when keys are configured', async () => {
    const athena = await settings({ QUERY_ENGINE: 'athena', ADMIN_API_KEYS: '' })
    expect(withLocalAdminKey(athena)).toEqual({ settings: athena, adminKey: undefined })
    const configured = await settings({ ADMIN_API_KEYS: 'configured-admin-key' })
    expect(withLocalAdminKey(configured)).toEqual({ settings: configured, adminKey: undefined })
  })
})

describe('acp serve', () => {
  it('with the local engine prints the operator link, whose key opens the admin routes', async () => {
    const serve = await startServeProcess({
      DATA_DIR: inject('dataDir'),
      ADMIN_API_KEYS: '',
      PREWARM_SCHEDULES: 'off',
      LOG_REQUESTS: 'false',
    })
    await waitUntil(async () => LINK.test(serve.output()), {
      timeoutMs: 5_000,
      what: 'the operator page link',
      child: serve,
    })
    const [, url, key] = LINK.exec(serve.output()) ?? []
    expect(url).toBe(serve.url)
    expect(serve.output().match(new RegExp(LINK.source, 'gm'))).toHaveLength(1)
    expect((await fetch(`${serve.url}/admin/stats`, { headers: { 'x-api-key': key ?? '' } })).status).toBe(
      200,
    )
    expect((await fetch(`${serve.url}/admin/stats`)).status).toBe(401)
    expect((await fetch(`${serve.url}/admin/stats`, { headers: { 'x-api-key': `${key}x` } })).status).toBe(
      403,
    )
    // The page it links to is served.
    const page = await fetch(`${serve.url}/admin/`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
    await serve.stop()
  })

  it('with the athena engine makes no key: the admin routes stay closed', async () => {
    const serve = await startServeProcess({
      QUERY_ENGINE: 'athena',
      // Never called: nothing here reads a query.
      ATHENA_ENDPOINT: 'http://127.0.0.1:9',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      ADMIN_API_KEYS: '',
      PREWARM_SCHEDULES: 'off',
      LOG_REQUESTS: 'false',
    })
    const stats = await fetch(`${serve.url}/admin/stats`, { headers: { 'x-api-key': 'any-key-at-all' } })
    expect(stats.status).toBe(403)
    expect(((await stats.json()) as { detail: string }).detail).toContain('ADMIN_API_KEYS')
    await waitUntil(async () => serve.output().includes('listening on'), {
      timeoutMs: 5_000,
      what: 'the listening line',
      child: serve,
    })
    expect(serve.output()).not.toContain('operator page')
    expect(serve.output()).not.toContain('#key=')
    await serve.stop()
  })
})

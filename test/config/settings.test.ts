// The one configuration loader: environment and files parsed once, cross-checked, frozen. Each bad file is written
// to a directory of its own and loaded through `loadSettings`, exactly as the entry points load theirs.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadSettings } from '../../src/config/settings.ts'
import { ConfigError } from '../../src/errors.ts'
import { parseParameters } from '../../src/service/parameters.ts'

const dirs: string[] = []
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })))
})

/** A catalog with one query of each parameter type, tagged `sales`. */
const CATALOG = `
queries:
  orders:
    ttlSeconds: 60
    tags: [sales]
    parameters:
      day: { type: date, default: '2024-02-29' }
      until: { type: date, default: { from: day, days: 7 } }
      at: { type: timestamp, default: '2024-01-01T02:00:00+02:00' }
      region: { type: string, pattern: '^[a-z]{2}$', maxLength: 2, default: eu }
      limit: { type: integer, min: 1, max: 100, default: 10 }
      period: { type: enum, values: [day, week], default: day }
      shop: { type: string, required: true }
    sql: SELECT * FROM t WHERE d >= :day AND d < :until AND ts < :at AND r = :region AND s = :shop
      AND p = '{{period}}' LIMIT :limit
`

/** A configuration directory holding the given files (the catalog above unless `queries.yaml` is given). */
async function configDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'acp-settings-'))
  dirs.push(dir)
  for (const [name, text] of Object.entries({ 'queries.yaml': CATALOG, ...files }))
    await writeFile(path.join(dir, name), text)
  return dir
}

/** The ConfigError that loading `files` fails with. */
async function loadError(files: Record<string, string>): Promise<{ message: string; dir: string }> {
  const dir = await configDir(files)
  const error = await loadSettings({ CONFIG_DIR: dir }).then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(error).toBeInstanceOf(ConfigError)
  return { message: (error as ConfigError).message, dir }
}

describe('loadSettings', () => {
  it('loads the shipped configuration: environment, catalog, prewarm sets and schedules in one result', async () => {
    const settings = await loadSettings({ CACHE_PREFIX: 'shipped' }, { defaultEngine: 'local' })
    expect(settings).toMatchObject({ engine: 'local', cachePrefix: 'shipped', prewarmSchedules: true })
    expect(settings.scheduler.groupName).toBe('shipped-prewarm')
    expect([...settings.catalog.queries.keys()].sort()).toEqual([
      'analytics',
      'by_country',
      'country_daily',
      'events',
      'top_pages',
    ])
    expect(settings.prewarm.sets.map((s) => s.query)).toEqual([
      'analytics',
      'analytics',
      'analytics',
      'top_pages',
      'by_country',
    ])
    expect(settings.schedules.map((s) => s.name)).toEqual(['every-15-minutes', 'morning-dashboards'])
  })

  it('is frozen all the way down', async () => {
    const settings = await loadSettings({})
    const def = settings.catalog.queries.get('analytics')
    for (const part of [
      settings,
      settings.athena,
      settings.scheduler,
      settings.prewarm,
      settings.schedules,
      def,
    ])
      expect(Object.isFrozen(part)).toBe(true)
    expect(() => {
      ;(settings.athena as { workgroup: string }).workgroup = 'other'
    }).toThrow(TypeError)
    expect(() => {
      ;(settings.prewarm.sets as unknown[]).push({})
    }).toThrow(TypeError)
  })

  it('fails on a bad variable before reading any file', async () => {
    await expect(loadSettings({ PREWARM_SCHEDULES: 'maybe', CONFIG_DIR: '/nonexistent' })).rejects.toThrow(
      /PREWARM_SCHEDULES: 'maybe' is not a boolean/,
    )
  })

  it('--config-dir (the configDir option) wins over CONFIG_DIR', async () => {
    const dir = await configDir({})
    const settings = await loadSettings({ CONFIG_DIR: '/nonexistent' }, { configDir: dir })
    expect(settings.configDir).toBe(dir)
    expect([...settings.catalog.queries.keys()]).toEqual(['orders'])
  })
})

describe('catalog defaults pass the validation of request values', () => {
  it('accepts valid defaults, stores them as a request would send them, and requests use them', async () => {
    const settings = await loadSettings({ CONFIG_DIR: await configDir({}) })
    const def = settings.catalog.queries.get('orders')
    if (!def) throw new Error('orders missing')
    expect(parseParameters(def, { shop: 'berlin' })).toEqual({
      at: '2024-01-01T00:00:00.000Z',
      day: '2024-02-29',
      limit: 10,
      period: 'day',
      region: 'eu',
      shop: 'berlin',
      until: '2024-03-07',
    })
    // A request naming the default's instant explicitly reads the same entry.
    expect(parseParameters(def, { shop: 'berlin', at: '2024-01-01T00:00:00Z' })).toEqual(
      parseParameters(def, { shop: 'berlin' }),
    )
  })

  it.each([
    [
      'date',
      "day: { type: date, default: '2024-02-30' }",
      'day',
      "'2024-02-30'",
      'must be a date YYYY-MM-DD',
    ],
    [
      'date (not leap)',
      "day: { type: date, default: '2023-02-29' }",
      'day',
      "'2023-02-29'",
      'must be a date',
    ],
    [
      'timestamp',
      "at: { type: timestamp, default: '2024-01-01 noon' }",
      'at',
      "'2024-01-01 noon'",
      'ISO 8601',
    ],
    [
      'timestamp (no 13th month)',
      "at: { type: timestamp, default: '2024-13-01T00:00:00Z' }",
      'at',
      '',
      'ISO 8601',
    ],
    [
      'string pattern',
      "region: { type: string, pattern: '^[a-z]{2}$', default: EU }",
      'region',
      "'EU'",
      'must match',
    ],
    [
      'string maxLength',
      'region: { type: string, maxLength: 2, default: eur }',
      'region',
      "'eur'",
      'at most 2',
    ],
    [
      'integer above max',
      'limit: { type: integer, min: 1, max: 100, default: 101 }',
      'limit',
      "'101'",
      'from 1 to 100',
    ],
    [
      'integer below min',
      'limit: { type: integer, min: 1, max: 100, default: 0 }',
      'limit',
      "'0'",
      'from 1 to 100',
    ],
    [
      'enum',
      'period: { type: enum, values: [day, week], default: month }',
      'period',
      "'month'",
      'one of day, week',
    ],
  ])('%s: a ConfigError naming file, query and parameter', async (_type, param, name, value, reason) => {
    const { message, dir } = await loadError({
      'queries.yaml': `
queries:
  orders:
    ttlSeconds: 60
    parameters:
      ${param}
    sql: SELECT :${name}
`,
    })
    expect(message).toContain(
      `${path.join(dir, 'queries.yaml')}: query 'orders', parameters.${name}.default: `,
    )
    expect(message).toContain(`${value} is not a value a request could send`)
    expect(message).toContain(reason)
  })
})

describe('schedules are checked against the catalog', () => {
  it.each([
    ['an unknown query', 'queries: [orders, order]', 'queries: not in the catalog (.*): order$'],
    ['an unknown tag', 'tags: [sales, marketing]', 'tags: no query in the catalog (.*) has marketing$'],
  ])('%s: a ConfigError naming the file and the schedule', async (_what, coverage, reason) => {
    const { message, dir } = await loadError({
      'schedules.yaml': `schedules:\n  hourly:\n    expression: rate(1 hour)\n  nightly:\n    expression: cron(0 2 * * ? *)\n    ${coverage}\n`,
    })
    const file = path.join(dir, 'schedules.yaml')
    expect(message.startsWith(`${file}: schedule 'nightly', `)).toBe(true)
    expect(message).toMatch(new RegExp(reason))
    expect(message).toContain(path.join(dir, 'queries.yaml'))
  })
})

describe('prewarm sets are checked against the catalog', () => {
  const prewarm = (sets: string) => ({ 'prewarm.yaml': `queries:\n${sets}` })

  it('accepts sets of known parameters, relative dates included', async () => {
    const dir = await configDir(
      prewarm('  orders:\n    - { shop: berlin }\n    - { shop: paris, day: -7d, until: today, limit: 5 }\n'),
    )
    expect((await loadSettings({ CONFIG_DIR: dir })).prewarm.sets).toHaveLength(2)
  })

  it.each([
    [
      'an unknown query',
      '  order:\n    - { shop: berlin }\n',
      'queries.order: not in the query catalog (known: orders)',
    ],
    [
      'an unknown parameter',
      '  orders:\n    - { shop: berlin }\n    - { shop: paris, dya: today }\n',
      "queries.orders[1]: 'dya' is not a parameter of orders (parameters: day, until, at, region, limit, period, shop)",
    ],
    [
      'a value no request could send',
      "  orders:\n    - { shop: berlin, day: '2024-02-30' }\n",
      "queries.orders[0].day: '2024-02-30' must be a date YYYY-MM-DD",
    ],
    [
      'a required parameter left out',
      '  orders:\n    - { shop: berlin }\n    - { limit: 3 }\n',
      'queries.orders[1]: shop is required by orders',
    ],
  ])('%s: a ConfigError naming the file and the set', async (_what, sets, reason) => {
    const { message, dir } = await loadError(prewarm(sets))
    expect(message).toBe(`${path.join(dir, 'prewarm.yaml')}: ${reason}`)
  })
})

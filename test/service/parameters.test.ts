import { describe, expect, it } from 'vitest'
import { loadCatalog, parseCatalog } from '../../src/config/catalog.ts'
import { parseTimestamp } from '../../src/config/parameter-values.ts'
import { ConfigError, ValidationError } from '../../src/errors.ts'
import { bindQuery, parseParameters } from '../../src/service/parameters.ts'

const catalog = await loadCatalog('wrangler-free-config')
const analytics = catalog.queries.get('analytics')
const topPages = catalog.queries.get('top_pages')
if (!analytics || !topPages) throw new Error('catalog must ship analytics and top_pages')

function issuesOf(fn: () => unknown): Array<{ name: string; message: string }> {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError)
    return (err as ValidationError).issues
  }
  throw new Error('expected a ValidationError')
}

describe('parseParameters', () => {
  it('applies defaults, including end = start + 31 days, and sorts keys', () => {
    const p = parseParameters(analytics, { start: '2024-01-01', measure: 'pageviews' })
    expect(p).toEqual({ end: '2024-02-01', measure: 'pageviews', period: 'day', start: '2024-01-01' })
    expect(Object.keys(p)).toEqual(['end', 'measure', 'period', 'start'])
  })

  it('gives equal canonical parameters for equivalent requests', () => {
    const a = parseParameters(analytics, { measure: 'pageviews', start: '2024-01-01' })
    const b = parseParameters(analytics, {
      start: ['2024-01-01'],
      end: '2024-02-01',
      period: 'day',
      measure: ['pageviews'],
    })
    expect(b).toEqual(a)
  })

  it('coerces integers and checks bounds', () => {
    expect(parseParameters(topPages, { measure: 'pageviews', start: '2024-01-01', limit: '25' }).limit).toBe(
      25,
    )
    for (const bad of ['0', '101', '1.5', '1e2', '0x10', ' 5', '99999999999999999999']) {
      expect(
        issuesOf(() =>
          parseParameters(topPages, { measure: 'pageviews', start: '2024-01-01', limit: bad }),
        )[0]?.name,
      ).toBe('limit')
    }
  })

  it.each([
    ['missing required', { start: '2024-01-01' }, 'measure', 'is required'],
    [
      'bad enum',
      { measure: 'pageviews', start: '2024-01-01', period: 'year' },
      'period',
      'must be one of hour, day, week, month',
    ],
    ['impossible date', { measure: 'pageviews', start: '2024-02-30' }, 'start', 'must be a date YYYY-MM-DD'],
    [
      'date with time',
      { measure: 'pageviews', start: '2024-01-01T00:00:00Z' },
      'start',
      'must be a date YYYY-MM-DD',
    ],
    [
      'end before start',
      { measure: 'pageviews', start: '2024-02-01', end: '2024-01-01' },
      'end',
      'must be after start',
    ],
    [
      'range too long',
      { measure: 'pageviews', start: '2020-01-01', end: '2024-01-01' },
      'end',
      'may be at most 366 days after start',
    ],
    [
      'repeated',
      { measure: ['pageviews', 'sessions'], start: '2024-01-01' },
      'measure',
      'given more than once',
    ],
    [
      'unknown',
      { measure: 'pageviews', start: '2024-01-01', foo: 'bar' },
      'foo',
      'unknown parameter (allowed: measure, period, start, end)',
    ],
  ])('reports %s by name', (_n, raw, name, message) => {
    expect(issuesOf(() => parseParameters(analytics, raw))).toContainEqual({ name, message })
  })

  it.each([
    ['quote', "pageviews'"],
    ['sql injection', "x' OR '1'='1"],
    ['statement', 'pageviews; DROP TABLE analytics; --'],
    ['comment', 'pageviews/*'],
    ['unicode', 'pagevïews'],
    ['emoji', '📈'],
    ['huge', 'a'.repeat(100_000)],
    ['newline', 'page\nviews'],
    ['nul', 'page\u0000views'],
  ])('rejects a measure with %s', (_n, measure) => {
    expect(issuesOf(() => parseParameters(analytics, { measure, start: '2024-01-01' }))[0]?.name).toBe(
      'measure',
    )
  })

  it('takes only the measures the data holds, naming them (an enum: no read can mint an execution)', () => {
    // Every query that filters by measure (the raw export has no measure parameter).
    for (const q of [...catalog.queries.values()].filter((d) => d.sql.includes(':measure'))) {
      const measure = q.parameters.find((p) => p.name === 'measure')
      expect(measure, q.name).toMatchObject({
        type: 'enum',
        values: ['pageviews', 'sessions', 'signups', 'revenue'],
      })
    }
    expect(issuesOf(() => parseParameters(analytics, { measure: 'bounces', start: '2024-01-01' }))).toEqual([
      { name: 'measure', message: 'must be one of pageviews, sessions, signups, revenue' },
    ])
  })

  it.each([
    ['0024-01-01', '0024-02-01'],
    ['0000-01-01', '0000-02-01'],
    ['0099-12-31', '0100-01-31'],
    ['0000-02-29', '0000-03-31'], // year 0 is a leap year (proleptic Gregorian, divisible by 400)
    ['1924-01-01', '1924-02-01'],
  ])('takes year %s as written, never as 19xx', (start, end) => {
    expect(parseParameters(analytics, { measure: 'pageviews', start })).toMatchObject({ start, end })
  })

  it('gives years 0000–0099 and 1900–1999 keys of their own, both ways', () => {
    const of = (start: string) => parseParameters(analytics, { measure: 'pageviews', start })
    expect(of('0024-01-01')).not.toEqual(of('1924-01-01'))
    expect(of('1924-01-01')).not.toEqual(of('0024-01-01'))
    expect(of('0024-01-01').start).toBe('0024-01-01')
    expect(of('1924-01-01').start).toBe('1924-01-01')
  })

  it.each([
    ['0100-02-29'], // not a leap year
    ['0001-02-29'],
    ['0024-13-01'],
  ])('still rejects the impossible date %s', (start) => {
    expect(issuesOf(() => parseParameters(analytics, { measure: 'pageviews', start }))[0]?.name).toBe('start')
  })

  it('reports a default date that falls past 9999-12-31, rather than writing it as +010000', () => {
    expect(issuesOf(() => parseParameters(analytics, { measure: 'pageviews', start: '9999-12-15' }))).toEqual(
      [{ name: 'end', message: 'default (start + 31 days) is not a date' }],
    )
  })

  it('takes timestamps in years 0000–0099 as written, and refuses what leaves four-digit years', () => {
    expect(parseTimestamp('0024-01-01T10:00:00Z')).toBe('0024-01-01T10:00:00.000Z')
    expect(parseTimestamp('0024-01-01')).toBe('0024-01-01T00:00:00.000Z')
    expect(parseTimestamp('0000-01-01T00:30:00-01:00')).toBe('0000-01-01T01:30:00.000Z')
    expect(parseTimestamp('0000-01-01T00:30:00+01:00')).toBeUndefined() // year -1
    expect(parseTimestamp('9999-12-31T23:30:00-01:00')).toBeUndefined() // year 10000
  })

  it('reports every problem at once', () => {
    const issues = issuesOf(() => parseParameters(analytics, { period: 'x', start: 'y', bogus: '1' }))
    expect(issues.map((i) => i.name).sort()).toEqual(['bogus', 'measure', 'period', 'start'])
  })
})

describe('bindQuery', () => {
  it('binds user values as execution parameters and substitutes only the enum', () => {
    const p = parseParameters(analytics, { measure: 'pageviews', start: '2024-01-01', period: 'week' })
    const { sql, executionParameters } = bindQuery(analytics, p)
    expect(sql).toContain("date_trunc('week', event_time)")
    expect(sql).not.toContain('pageviews')
    expect(sql).not.toContain('2024-01-01')
    expect(sql.match(/\?/g)?.length).toBe(3)
    expect(executionParameters).toEqual(["'pageviews'", "'2024-01-01'", "'2024-02-01'"])
  })

  it('renders integers bare and escapes quotes in strings', () => {
    const doc = {
      queries: {
        q: {
          ttlSeconds: 60,
          parameters: { s: { type: 'string', required: true }, n: { type: 'integer', required: true } },
          sql: 'SELECT \':not_a_param\', "col:x" FROM t -- :nor_this\nWHERE a = :s AND b < :n /* :nor_that */',
        },
      },
    }
    const def = parseCatalog(doc, 'inline.yaml').queries.get('q')
    if (!def) throw new Error('q missing')
    const { sql, executionParameters } = bindQuery(def, parseParameters(def, { s: "it's", n: '7' }))
    expect(sql).toBe(
      'SELECT \':not_a_param\', "col:x" FROM t -- :nor_this\nWHERE a = ? AND b < ? /* :nor_that */',
    )
    expect(executionParameters).toEqual(["'it''s'", '7'])
  })
})

describe('catalog validation', () => {
  const base = { ttlSeconds: 60, sql: 'SELECT 1', parameters: {} }
  it.each([
    [
      'undeclared parameter',
      { ...base, sql: 'SELECT :x' },
      "query 'q', sql: references undeclared parameter 'x'",
    ],
    [
      'substituted non-enum',
      { ...base, sql: "SELECT '{{x}}'", parameters: { x: { type: 'string' } } },
      "query 'q', sql: {{x}} substitutes text",
    ],
    [
      'unused parameter',
      { ...base, parameters: { x: { type: 'string' } } },
      "query 'q', parameters.x: is declared but never used",
    ],
    ['bare ?', { ...base, sql: 'SELECT ?' }, "query 'q', sql: a bare '?' placeholder"],
    ['bad ttl', { ...base, ttlSeconds: 0 }, "query 'q', ttlSeconds:"],
    [
      'bad type',
      { ...base, parameters: { x: { type: 'uuid' } }, sql: 'SELECT :x' },
      "query 'q', parameters.x.type",
    ],
    [
      'bad pattern',
      { ...base, parameters: { x: { type: 'string', pattern: '(' } }, sql: 'SELECT :x' },
      'parameters.x.pattern',
    ],
    [
      'enum value that could leave a literal',
      { ...base, parameters: { x: { type: 'enum', values: ["day'"] } }, sql: "SELECT '{{x}}'" },
      "query 'q', parameters.x.values.0",
    ],
    [
      'a parameter named like the service’s own (format)',
      { ...base, parameters: { format: { type: 'string' } }, sql: 'SELECT :format' },
      'is reserved for the service',
    ],
  ])('names file, query and field: %s', (_n, q, fragment) => {
    expect(() => parseCatalog({ queries: { q } }, 'conf/queries.yaml')).toThrow(ConfigError)
    expect(() => parseCatalog({ queries: { q } }, 'conf/queries.yaml')).toThrow(/conf\/queries\.yaml/)
    expect(() => parseCatalog({ queries: { q } }, 'conf/queries.yaml')).toThrow(fragment)
  })

  it('fails clearly on a missing file', async () => {
    await expect(loadCatalog('/nonexistent-dir')).rejects.toThrow(
      /nonexistent-dir\/queries\.yaml: cannot be read/,
    )
  })

  it('ships analytics, top_pages, by_country, events and country_daily', () => {
    expect([...catalog.queries.keys()].sort()).toEqual([
      'analytics',
      'by_country',
      'country_daily',
      'events',
      'top_pages',
    ])
  })
})

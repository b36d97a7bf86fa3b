import { describe, expect, it } from 'vitest'
import { loadCatalog, parseCatalog } from '../../src/config/catalog.ts'
import { loadLandingSettings, parseLandingSettings, queriesReadingTable } from '../../src/config/landing.ts'
import { ConfigError, ValidationError } from '../../src/errors.ts'
import { coarsen } from '../../src/prewarm/landing.ts'
import {
  decodeObjectKey,
  isLandingEvent,
  type LandingEvent,
  mergeSpans,
  readLandingEvent,
} from '../../src/prewarm/landing-events.ts'
import { spanText } from '../../src/service/invalidation.ts'
import { glueTableChange, s3ObjectCreated } from '../helpers/landing-events.ts'

const BUCKET = 'acme-analytics-data'
const settings = parseLandingSettings(
  {
    tables: {
      analytics: { bucket: BUCKET, prefix: ['analytics/', 'analytics/analytics/'] },
      hourly: {
        prefix: 'raw/hourly/',
        partition: { key: 'day', granularity: 'hour', hourKey: 'hour', columns: ['region', 'day', 'hour'] },
      },
    },
  },
  'landing.yaml',
)

const day = (d: string) => Date.parse(`${d}T00:00:00Z`)
const read = (event: Record<string, unknown>) =>
  readLandingEvent(event as unknown as LandingEvent, settings, 'analytics')
const spansOf = (event: Record<string, unknown>) => {
  const r = read(event)
  return r.kind === 'change' ? r.change.spans.map(spanText) : r.reason
}

describe('landing events: an S3 object key → the span of its partition', () => {
  it.each([
    ['analytics/dt=2024-01-15/part-00000.snappy.parquet', { start: '2024-01-15', end: '2024-01-16' }],
    // The local data directory's layout: the longest prefix wins.
    ['analytics/analytics/dt=2024-02-29/part-0.parquet', { start: '2024-02-29', end: '2024-03-01' }],
    // Other hive directories before or after the date.
    ['analytics/dt=2024-01-15/country=US/part-0.parquet', { start: '2024-01-15', end: '2024-01-16' }],
    ['analytics/dt=2024-12-31/sub dir/file name.parquet', { start: '2024-12-31', end: '2025-01-01' }],
  ])('%s', (key, span) => {
    expect(spansOf(s3ObjectCreated(BUCKET, key))).toEqual([span])
    // As written by S3 (URL-encoded) and as a hand-made event would have it: the same span.
    expect(spansOf(s3ObjectCreated(BUCKET, key, { encode: false }))).toEqual([span])
  })

  it('decodes keys as S3 encodes them in events (a form value), and keeps a key that does not decode', () => {
    expect(decodeObjectKey('analytics/dt%3D2024-01-15/red+flower%281%29.parquet')).toBe(
      'analytics/dt=2024-01-15/red flower(1).parquet',
    )
    expect(decodeObjectKey('analytics/dt=2024-01-15/100%.parquet')).toBe(
      'analytics/dt=2024-01-15/100%.parquet',
    )
    const r = read(s3ObjectCreated(BUCKET, 'analytics/dt=2024-01-15/a.parquet'))
    expect(r).toMatchObject({
      kind: 'change',
      change: { table: 'analytics', landed: true, what: 'analytics/dt=2024-01-15/a.parquet' },
    })
  })

  it('an hourly table: the hour, or the whole day when the file is in the day directory', () => {
    expect(spansOf(s3ObjectCreated('any-bucket', 'raw/hourly/day=2024-01-15/hour=07/f.json'))).toEqual([
      { start: '2024-01-15T07:00:00Z', end: '2024-01-15T08:00:00Z' },
    ])
    expect(spansOf(s3ObjectCreated('any-bucket', 'raw/hourly/day=2024-01-15/hour=23/f.json'))).toEqual([
      { start: '2024-01-15T23:00:00Z', end: '2024-01-16T00:00:00Z' },
    ])
    expect(spansOf(s3ObjectCreated('any-bucket', 'raw/hourly/day=2024-01-15/f.json'))).toEqual([
      { start: '2024-01-15', end: '2024-01-16' },
    ])
  })

  it.each([
    ['analytics/dt=2024-01-15/_SUCCESS', /_SUCCESS is a marker/],
    ['analytics/_temporary/0/dt=2024-01-15/part-0.parquet', /_temporary is a marker/],
    ['analytics/dt=2024-01-15/.part-0.parquet.crc', /\.part-0\.parquet\.crc is a marker/],
    ['analytics/dt=2024-01-15/', /directory marker/],
    ['analytics/part-0.parquet', /no dt= partition/],
    ['analytics/dt=2024-02-30/part-0.parquet', /dt=2024-02-30 is not a date/],
    ['analytics/dt=yesterday/part-0.parquet', /is not a date/],
    ['other/dt=2024-01-15/part-0.parquet', /under no table's prefix/],
    ['analyticsx/dt=2024-01-15/part-0.parquet', /under no table's prefix/],
    ['raw/hourly/day=2024-01-15/hour=24/f.json', /hour=24 is not an hour/],
  ])('ignores %s', (key, reason) => {
    const r = read(s3ObjectCreated(key.startsWith('raw/') ? 'any' : BUCKET, key))
    expect(r.kind).toBe('ignored')
    expect(r.kind === 'ignored' ? r.reason : '').toMatch(reason)
  })

  it('ignores objects of another bucket, and S3 events that are not Object Created', () => {
    expect(read(s3ObjectCreated('someone-else', 'analytics/dt=2024-01-15/a.parquet'))).toMatchObject({
      kind: 'ignored',
      reason: expect.stringMatching(/s3:\/\/someone-else\/analytics\/dt=2024-01-15\/a\.parquet is under no/),
    })
    const deleted = {
      ...s3ObjectCreated(BUCKET, 'analytics/dt=2024-01-15/a.parquet'),
      'detail-type': 'Object Deleted',
    }
    expect(read(deleted)).toMatchObject({ kind: 'ignored', reason: expect.stringMatching(/Object Deleted/) })
  })

  it('a malformed Object Created event is a ValidationError naming the field', () => {
    const event = s3ObjectCreated(BUCKET, 'analytics/dt=2024-01-15/a.parquet')
    const broken = { ...event, detail: { bucket: { name: BUCKET }, object: {} } }
    expect(() => read(broken)).toThrow(ValidationError)
    try {
      read(broken)
    } catch (err) {
      expect((err as ValidationError).issues[0]?.name).toBe('detail.object.key')
    }
  })
})

describe('landing events: Glue partition changes', () => {
  it('BatchCreatePartition: every partition listed, in the table’s column order', () => {
    const r = read(
      glueTableChange({
        database: 'analytics',
        table: 'analytics',
        typeOfChange: 'BatchCreatePartition',
        partitions: [['2024-01-15'], ['2024-01-16'], ['2024-01-20']],
      }),
    )
    expect(r).toMatchObject({ kind: 'change', change: { table: 'analytics', landed: true } })
    expect(r.kind === 'change' ? mergeSpans(r.change.spans).map(spanText) : []).toEqual([
      { start: '2024-01-15', end: '2024-01-17' },
      { start: '2024-01-20', end: '2024-01-21' },
    ])
  })

  it('values of several columns, timestamps rendered with a time, deletes that land nothing', () => {
    const hourly = glueTableChange({
      database: 'analytics',
      table: 'hourly',
      typeOfChange: 'UpdatePartition',
      partitions: [['eu', '2024-01-15 00:00:00', '07']],
    })
    expect(spansOf(hourly)).toEqual([{ start: '2024-01-15T07:00:00Z', end: '2024-01-15T08:00:00Z' }])
    const deleted = glueTableChange({
      database: 'analytics',
      table: 'analytics',
      typeOfChange: 'BatchDeletePartition',
      partitions: [['2024-01-15']],
    })
    expect(read(deleted)).toMatchObject({ kind: 'change', change: { landed: false } })
  })

  it('ignores other databases, other tables, table-level changes and unparseable partitions', () => {
    const base = { table: 'analytics', typeOfChange: 'CreatePartition', partitions: [['2024-01-15']] }
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [glueTableChange({ ...base, database: 'staging' }), /staging\.analytics is not a table/],
      [
        glueTableChange({ ...base, database: 'analytics', table: 'users' }),
        /analytics\.users is not a table/,
      ],
      [
        glueTableChange({ ...base, database: 'analytics', typeOfChange: 'UpdateTable', partitions: [] }),
        /UpdateTable/,
      ],
      [glueTableChange({ ...base, database: 'analytics', partitions: [['not-a-day']] }), /not a date/],
      [
        {
          ...glueTableChange({ ...base, database: 'analytics' }),
          'detail-type': 'Glue Crawler State Change',
        },
        /Crawler/,
      ],
    ]
    for (const [event, reason] of cases) {
      const r = read(event)
      expect(r.kind).toBe('ignored')
      expect(r.kind === 'ignored' ? r.reason : '').toMatch(reason)
    }
  })
})

describe('landing events: recognising them, merging spans', () => {
  it('isLandingEvent takes S3 and Glue EventBridge events only', () => {
    expect(isLandingEvent(s3ObjectCreated(BUCKET, 'a'))).toBe(true)
    expect(
      isLandingEvent(glueTableChange({ database: 'd', table: 't', typeOfChange: 'x', partitions: [] })),
    ).toBe(true)
    for (const other of [null, 'aws.s3', [], { source: 'aws.s3' }, { source: 'aws.ec2', 'detail-type': 'x' }])
      expect(isLandingEvent(other)).toBe(false)
  })

  it('mergeSpans joins overlapping and touching spans; coarsen closes the smallest gaps first', () => {
    const s = (a: string, b: string) => ({ startMs: day(a), endMs: day(b) })
    const merged = mergeSpans([
      s('2024-01-20', '2024-01-21'),
      s('2024-01-15', '2024-01-16'),
      s('2024-01-16', '2024-01-17'),
      s('2024-01-15', '2024-01-16'),
      s('2024-01-10', '2024-01-11'),
    ])
    expect(merged.map(spanText)).toEqual([
      { start: '2024-01-10', end: '2024-01-11' },
      { start: '2024-01-15', end: '2024-01-17' },
      { start: '2024-01-20', end: '2024-01-21' },
    ])
    // Gaps of 4 and 3 days: the 3-day one closes first.
    expect(coarsen(merged, 2).map(spanText)).toEqual([
      { start: '2024-01-10', end: '2024-01-11' },
      { start: '2024-01-15', end: '2024-01-21' },
    ])
    expect(coarsen(merged, 1).map(spanText)).toEqual([{ start: '2024-01-10', end: '2024-01-21' }])
    expect(coarsen(merged, 5)).toEqual(merged)
  })
})

describe('landing.yaml', () => {
  it('the shipped file: the analytics table under both prefixes, a 30 s window and rewarm', async () => {
    const shipped = await loadLandingSettings('wrangler-free-config')
    expect(shipped?.debounceMs).toBe(30_000)
    expect(shipped?.rewarm).toBe(true)
    expect(shipped?.tables.get('analytics')).toEqual({
      name: 'analytics',
      bucket: undefined,
      prefixes: ['analytics/analytics/', 'analytics/'],
      database: undefined,
      key: 'dt',
      granularity: 'day',
      hourKey: 'hr',
      columns: ['dt'],
    })
    expect(await loadLandingSettings('/nonexistent-dir')).toBeUndefined()
  })

  it('every shipped query reads analytics; a query without tables is reached by any table', async () => {
    const catalog = await loadCatalog('wrangler-free-config')
    expect([...catalog.queries.values()].map((q) => q.tables)).toEqual(
      [...catalog.queries.keys()].map(() => ['analytics']),
    )
    expect(queriesReadingTable(catalog, 'analytics')).toEqual([...catalog.queries.keys()])
    expect(queriesReadingTable(catalog, 'users')).toEqual([])
    const mixed = parseCatalog(
      {
        queries: {
          a: { sql: 'SELECT 1 FROM analytics', ttlSeconds: 60, tables: ['analytics'] },
          u: { sql: 'SELECT 1 FROM users', ttlSeconds: 60, tables: ['users'] },
          any: { sql: 'SELECT 1', ttlSeconds: 60 },
        },
      },
      'queries.yaml',
    )
    expect(queriesReadingTable(mixed, 'analytics')).toEqual(['a', 'any'])
    expect(queriesReadingTable(mixed, 'users')).toEqual(['u', 'any'])
  })

  it.each([
    [{ tables: {} }, /tables: name at least one table/],
    [{ tables: { analytics: {} } }, /tables\.analytics\.prefix/],
    [{ tables: { analytics: { prefix: '/analytics/' } } }, /must be empty or end with '\/'/],
    [{ tables: { analytics: { prefix: 'analytics' } } }, /must be empty or end with '\/'/],
    [{ tables: { Analytics: { prefix: 'a/' } } }, /lower_snake_case/],
    [{ debounceSeconds: 601, tables: { a: { prefix: 'a/' } } }, /debounceSeconds/],
    [{ tables: { a: { prefix: 'a/', partition: { granularity: 'minute' } } } }, /granularity/],
    [
      { tables: { a: { prefix: 'a/', partition: { granularity: 'hour', columns: ['dt'] } } } },
      /must include 'hr'/,
    ],
    [{ tables: { a: { prefix: 'a/', unknown: 1 } } }, /unknown/i],
  ])('refuses %j, naming the field', (doc, message) => {
    expect(() => parseLandingSettings(doc, 'landing.yaml')).toThrow(ConfigError)
    expect(() => parseLandingSettings(doc, 'landing.yaml')).toThrow(message)
  })
})

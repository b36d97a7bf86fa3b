import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseInvalidateRequest } from '../../src/service/invalidation.ts'
import { type Stack, startStack } from '../helpers/stack.ts'

/** One day of raw events: a few thousand rows, more than one GetQueryResults page. */
const EVENTS = '/queries/events?start=2024-01-03'
const SMALL = '/queries/top_pages?measure=pageviews&start=2024-01-01'

interface JsonBody {
  columns: Array<{ name: string; type: string }>
  rows: Array<Record<string, unknown>>
  meta: { rowCount: number; queryExecutionId: string }
}

/** RFC 4180 lines → fields (test-side reader, independent of the service's code). */
function parseCsv(text: string): Array<Array<string | null>> {
  const records: Array<Array<string | null>> = []
  let record: Array<string | null> = []
  let i = 0
  while (i < text.length) {
    if (text[i] === '"') {
      let value = ''
      i++
      for (;;) {
        const q = text.indexOf('"', i)
        if (text[q + 1] === '"') {
          value += text.slice(i, q + 1)
          i = q + 2
        } else {
          value += text.slice(i, q)
          i = q + 1
          break
        }
      }
      record.push(value)
    } else {
      let j = i
      while (j < text.length && text[j] !== ',' && text[j] !== '\r') j++
      record.push(j === i ? null : text.slice(i, j))
      i = j
    }
    if (text[i] === ',') i++
    else if (text.startsWith('\r\n', i)) {
      records.push(record)
      record = []
      i += 2
    } else throw new Error(`bad CSV at ${i}`)
  }
  return records
}

/** A JSON value as the CSV writes it. */
function csvText(value: unknown): string | null {
  if (value === null) return null
  return typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value)
}

describe('result formats: JSON, CSV, NDJSON (real Redis, local Athena and its S3 API through the AWS SDK)', () => {
  let s: Stack
  let json: JsonBody
  beforeAll(async () => {
    s = await startStack()
    const pages0 = s.local.stats().calls.GetQueryResults ?? 0
    const res = await s.app.request(EVENTS)
    // The rows came from the result file: one GetQueryResults (the column types), not one per 1,000 rows.
    expect((s.local.stats().calls.GetQueryResults ?? 0) - pages0).toBe(1)
    expect(res.status).toBe(200)
    json = (await res.json()) as JsonBody
    expect(json.meta.rowCount).toBeGreaterThan(1000)
  })
  afterAll(async () => {
    await s?.close()
  })

  it('CSV (Accept: text/csv): RFC 4180 with a header row, the same typed values as JSON, a download', async () => {
    const before = s.local.stats().executionsStarted
    const res = await s.app.request(EVENTS, { headers: { accept: 'text/csv' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8; header=present')
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="events.csv"')
    expect(res.headers.get('vary')).toContain('Accept')
    const records = parseCsv(await res.text())
    expect(records[0]).toEqual(json.columns.map((c) => c.name))
    expect(records.length - 1).toBe(json.rows.length)
    for (const [i, row] of json.rows.entries())
      expect(records[i + 1], `row ${i}`).toEqual(json.columns.map((c) => csvText(row[c.name] ?? null)))
    // Rendered from the JSON entry's execution (its result file): no query ran for it.
    expect(s.local.stats().executionsStarted).toBe(before)
  })

  it('NDJSON (Accept: application/x-ndjson): one row object per line, equal to the JSON rows', async () => {
    const res = await s.app.request(EVENTS, { headers: { accept: 'application/x-ndjson' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/x-ndjson')
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="events.ndjson"')
    const text = await res.text()
    expect(text.endsWith('\n')).toBe(true)
    const lines = text.slice(0, -1).split('\n')
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual(json.rows)
  })

  it('each format is stored once: its own ETag, a HIT with the same bytes, gzip as stored, 304 on its ETag', async () => {
    const csv1 = await s.app.request(`${EVENTS}&format=csv`)
    const csv2 = await s.app.request(`${EVENTS}&format=csv`, { headers: { 'accept-encoding': 'gzip' } })
    expect(csv2.headers.get('x-cache')).toBe('HIT')
    expect(csv2.headers.get('content-encoding')).toBe('gzip')
    const plain = Buffer.from(await csv1.arrayBuffer())
    expect(gunzipSync(Buffer.from(await csv2.arrayBuffer())).equals(plain)).toBe(true)
    const etags = new Set<string | null>()
    for (const format of ['json', 'csv', 'ndjson']) {
      const res = await s.app.request(`${EVENTS}&format=${format}`)
      etags.add(res.headers.get('etag'))
      await res.arrayBuffer()
    }
    expect(etags.size).toBe(3)
    const etag = csv1.headers.get('etag') ?? ''
    const notModified = await s.app.request(`${EVENTS}&format=csv`, { headers: { 'if-none-match': etag } })
    expect(notModified.status).toBe(304)
    // The JSON entry does not answer a CSV validator.
    const jsonRead = await s.app.request(EVENTS, { headers: { 'if-none-match': etag } })
    expect(jsonRead.status).toBe(200)
  })

  it('?format= wins over Accept; q-values pick among acceptable types; JSON is the default', async () => {
    const byParam = await s.app.request(`${SMALL}&format=ndjson`, { headers: { accept: 'text/csv' } })
    expect(byParam.headers.get('content-type')).toBe('application/x-ndjson')
    const byQ = await s.app.request(SMALL, { headers: { accept: 'application/json;q=0.5, text/csv;q=0.9' } })
    expect(byQ.headers.get('content-type')).toBe('text/csv; charset=utf-8; header=present')
    const browser = await s.app.request(SMALL, {
      headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' },
    })
    expect(browser.headers.get('content-type')).toBe('application/json; charset=utf-8')
  })

  it('an unknown format is a 400 naming the parameter; an Accept that allows none is a 406', async () => {
    const bad = await s.app.request(`${SMALL}&format=xml`)
    expect(bad.status).toBe(400)
    expect(bad.headers.get('content-type')).toBe('application/problem+json')
    expect(((await bad.json()) as { errors: Array<{ name: string }> }).errors[0]?.name).toBe('format')
    const none = await s.app.request(SMALL, { headers: { accept: 'text/html, image/png' } })
    expect(none.status).toBe(406)
    expect(none.headers.get('content-type')).toBe('application/problem+json')
    expect(((await none.json()) as { detail: string }).detail).toContain('text/csv')
  })

  it('an invalidation reaches every format of the entry', async () => {
    const before = await s.app.request(`${SMALL}&format=csv`)
    await before.arrayBuffer()
    const expire = await s.deps.operations.invalidate(
      parseInvalidateRequest({ query: 'top_pages', mode: 'delete' }),
    )
    expect(expire.queries).toEqual(['top_pages'])
    const after = await s.app.request(`${SMALL}&format=csv`)
    expect(after.status).toBe(200)
    expect(after.headers.get('x-cache')).not.toBe('HIT')
  })

  it('100k rows with the default limits, in every format, through the S3 read', async () => {
    const path = '/queries/events?start=2024-01-01&end=2024-02-19'
    const pages0 = s.local.stats().calls.GetQueryResults ?? 0
    const res = await s.app.request(path, { headers: { 'accept-encoding': 'gzip' } })
    expect(res.status).toBe(200)
    expect((s.local.stats().calls.GetQueryResults ?? 0) - pages0).toBe(1)
    const body = JSON.parse(gunzipSync(Buffer.from(await res.arrayBuffer())).toString()) as JsonBody
    expect(body.meta.rowCount).toBeGreaterThanOrEqual(100_000)
    const csv = await (await s.app.request(`${path}&format=csv`)).text()
    expect(csv.split('\r\n').length - 2).toBe(body.meta.rowCount)
    const ndjson = await (await s.app.request(`${path}&format=ndjson`)).text()
    expect(ndjson.split('\n').length - 1).toBe(body.meta.rowCount)
  }, 60_000)

  it('the format is not a query parameter: the catalog may not declare one, and it does not split the JSON entry', async () => {
    const plain = await s.app.request(SMALL)
    const explicit = await s.app.request(`${SMALL}&format=json`)
    expect(explicit.headers.get('x-cache')).toBe('HIT')
    expect(explicit.headers.get('etag')).toBe(plain.headers.get('etag'))
  })
})

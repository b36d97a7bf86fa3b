import { NotAcceptableError, ValidationError } from '../errors.ts'
import { RESULT_FORMATS, type ResultFormat } from '../service/result-body.ts'

/** The request parameter that picks a format over the Accept header (links and `<a download>` cannot set headers). */
export const FORMAT_PARAMETER = 'format'

/** What each format is sent as. */
export const FORMAT_MEDIA_TYPES: Readonly<Record<ResultFormat, string>> = {
  json: 'application/json; charset=utf-8',
  csv: 'text/csv; charset=utf-8; header=present',
  ndjson: 'application/x-ndjson',
}

/** File name extension of a download. */
const EXTENSIONS: Readonly<Record<ResultFormat, string>> = { json: 'json', csv: 'csv', ndjson: 'ndjson' }

/** Media types (lower case, without parameters) → the format they ask for; wildcards prefer JSON, then CSV. */
const BY_MEDIA_TYPE = new Map<string, ResultFormat>([
  ['application/json', 'json'],
  ['text/csv', 'csv'],
  ['application/x-ndjson', 'ndjson'],
  ['application/ndjson', 'ndjson'],
  ['application/jsonl', 'ndjson'],
  ['application/*', 'json'],
  ['text/*', 'csv'],
  ['*/*', 'json'],
])

const isFormat = (value: string): value is ResultFormat =>
  (RESULT_FORMATS as readonly string[]).includes(value)

/**
 * The body format of a read: `?format=` when given, else the Accept header (RFC 9110 §12.5.1: the acceptable type
 * of highest quality; the first listed among equals), else JSON. An unknown `format` is a 400; an Accept header
 * that allows none of the formats is a 406.
 */
export function negotiateFormat(parameter: string | undefined, accept: string | undefined): ResultFormat {
  if (parameter !== undefined) {
    const value = parameter.toLowerCase()
    if (isFormat(value)) return value
    throw new ValidationError(`Unknown format "${parameter.slice(0, 32)}"`, [
      { name: FORMAT_PARAMETER, message: `must be one of ${RESULT_FORMATS.join(', ')}` },
    ])
  }
  // What dashboards and browsers send: no parsing.
  if (accept === undefined || accept === '' || accept === '*/*' || accept === 'application/json')
    return 'json'
  let best: ResultFormat | undefined
  let bestQ = 0
  for (const range of accept.split(',')) {
    const [type, ...params] = range.split(';')
    const format = BY_MEDIA_TYPE.get((type ?? '').trim().toLowerCase())
    if (format === undefined) continue
    const qParam = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('q='))
    const q = qParam === undefined ? 1 : Number(qParam.slice(2))
    if (!(q > bestQ)) continue
    best = format
    bestQ = q
  }
  if (best === undefined)
    throw new NotAcceptableError(
      `None of the accepted media types can be served; a result is available as ${Object.values(
        FORMAT_MEDIA_TYPES,
      )
        .map((t) => t.split(';')[0])
        .join(', ')} (or ask with ?format=${RESULT_FORMATS.join('|')})`,
    )
  return best
}

/** The `format` parameter of a raw query string, without parsing the rest (absent on nearly every read). */
export function formatParameterOf(search: string): string | undefined {
  if (!search.includes(`${FORMAT_PARAMETER}=`)) return undefined
  return new URLSearchParams(search).get(FORMAT_PARAMETER) ?? undefined
}

/** `Content-Disposition` of a download: CSV and NDJSON are files to save; JSON is what dashboards read inline. */
export function contentDisposition(format: ResultFormat, query: string): string | undefined {
  if (format === 'json') return undefined
  return `attachment; filename="${query}.${EXTENSIONS[format]}"`
}

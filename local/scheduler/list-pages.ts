import { validationError } from './scheduler-api-error.ts'
import type { ListQuery } from './scheduler-requests.ts'

const DEFAULT_PAGE_SIZE = 100

/**
 * One page after the key a NextToken names. Keyed rather than positional, so schedules created or deleted
 * between pages (a sync deleting while it lists) neither repeat nor skip the others.
 */
export function paginate<T>(
  sorted: Array<[string, T]>,
  q: ListQuery,
  scope: string,
): { page: Array<[string, T]>; nextToken: string | undefined } {
  const size = q.MaxResults ?? DEFAULT_PAGE_SIZE
  let start = 0
  if (q.NextToken !== undefined) {
    const after = decodeToken(q.NextToken, scope)
    start = sorted.findIndex(([key]) => key > after)
    if (start === -1) start = sorted.length
  }
  const page = sorted.slice(start, start + size)
  const last = page.at(-1)
  const more = start + size < sorted.length
  return { page, nextToken: more && last ? encodeToken(last[0], scope) : undefined }
}

function encodeToken(afterKey: string, scope: string): string {
  return Buffer.from(JSON.stringify({ s: scope, a: afterKey })).toString('base64url')
}

function decodeToken(token: string, scope: string): string {
  let decoded: unknown
  try {
    decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'))
  } catch {
    throw validationError('Invalid NextToken.')
  }
  const { s, a } = (typeof decoded === 'object' && decoded !== null ? decoded : {}) as {
    s?: unknown
    a?: unknown
  }
  if (s !== scope || typeof a !== 'string') throw validationError('Invalid NextToken.')
  return a
}

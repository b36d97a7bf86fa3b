import { invalidRequest } from './athena-api-error.ts'

/**
 * Opaque NextToken values: base64url JSON naming what they continue, so a token from another
 * execution (or a tampered one) is rejected instead of silently returning the wrong page.
 */
export function encodePageToken(scope: string, position: number): string {
  return Buffer.from(JSON.stringify({ s: scope, p: position })).toString('base64url')
}

/** Decodes a token issued by `encodePageToken` for `scope`; InvalidRequestException otherwise. */
export function decodePageToken(token: string, scope: string, maxPosition: number): number {
  let decoded: unknown
  try {
    decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'))
  } catch {
    throw invalidRequest('Invalid NextToken')
  }
  if (typeof decoded !== 'object' || decoded === null) throw invalidRequest('Invalid NextToken')
  const { s, p } = decoded as { s?: unknown; p?: unknown }
  if (s !== scope || typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > maxPosition) {
    throw invalidRequest('Invalid NextToken')
  }
  return p
}

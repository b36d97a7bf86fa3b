import { randomBytes } from 'node:crypto'
import { crc32 } from 'node:zlib'
import type { CacheStore } from '../../src/cache/cache-store.ts'
import { etagOf } from '../../src/cache/entry-codec.ts'
import type { TimeSpan } from '../../src/cache/generations.ts'

/** Offsets of the entry layout (format 3), for damage made on purpose. */
export const ENTRY = { crcAt: 6, etagLengthAt: 66, etagAt: 67 } as const

/** Recomputes an entry's CRC-32 after an edit made on purpose: the damage then passes the checksum. */
export function reseal(buf: Buffer): Buffer {
  buf.writeUInt32BE(crc32(buf.subarray(10), crc32(buf.subarray(4, 6))), ENTRY.crcAt)
  return buf
}

/** An entry that decodes (its checksum matches) but whose body is not the one its ETag names. */
export function withForeignEtag(entry: Buffer): Buffer {
  const copy = Buffer.from(entry)
  copy.write(etagOf('{"someone":"else"}'), ENTRY.etagAt, 'latin1')
  return reseal(copy)
}

/** Ways stored bytes go bad. */
export const CORRUPTIONS = {
  /** A write cut short. */
  truncate: (b: Buffer) => b.subarray(0, Math.max(0, b.length - 5)),
  /** One bit flipped in the gzip body. */
  'flip-body': (b: Buffer) => flip(b, b.length - 30),
  /** One bit flipped in the header (rowCount). */
  'flip-header': (b: Buffer) => flip(b, 52),
  /** An ETag holding a control character (resealed: only the field check can catch it). */
  'control-char-etag': (b: Buffer) => {
    const copy = Buffer.from(b)
    copy.writeUInt8(0x0a, ENTRY.etagAt + 3)
    return reseal(copy)
  },
  /** The previous entry format (version byte 2). */
  'old-format': (b: Buffer) => {
    const copy = Buffer.from(b)
    copy.writeUInt8(2, 4)
    return reseal(copy)
  },
  /** Something else entirely under the key. */
  garbage: (_b: Buffer) => randomBytes(200),
  empty: (_b: Buffer) => Buffer.alloc(0),
} as const satisfies Record<string, (b: Buffer) => Buffer>

export type Corruption = keyof typeof CORRUPTIONS

function flip(b: Buffer, at: number): Buffer {
  const copy = Buffer.from(b)
  const i = Math.max(0, Math.min(copy.length - 1, at))
  copy[i] = (copy[i] as number) ^ 0x10
  return copy
}

/**
 * Wraps a real store and damages the values it returns, for keys that `armed` selects, a given number of times: the
 * store keeps the good bytes, the reader sees bad ones (a truncated reply, a flipped bit, a foreign value). Writes
 * go through untouched, so a repair is visible in the real store.
 */
export class CorruptingCacheStore implements CacheStore {
  private armed: { match: (key: string) => boolean; damage: (b: Buffer) => Buffer; times: number } | undefined
  /** How many values were damaged so far. */
  damaged = 0

  constructor(private readonly inner: CacheStore) {}

  get kind(): CacheStore['kind'] {
    return this.inner.kind
  }

  /** Damages the next `times` values read under keys that `match` selects. */
  arm(match: (key: string) => boolean, corruption: Corruption | ((b: Buffer) => Buffer), times = 1): void {
    const damage = typeof corruption === 'function' ? corruption : CORRUPTIONS[corruption]
    this.armed = { match, damage, times }
  }

  private pass(key: string, value: Buffer | null): Buffer | null {
    const armed = this.armed
    if (!value || !armed || armed.times <= 0 || !armed.match(key)) return value
    armed.times--
    this.damaged++
    return armed.damage(value)
  }

  async get(key: string) {
    return this.pass(key, await this.inner.get(key))
  }
  set(key: string, value: Buffer, ttlMs: number) {
    return this.inner.set(key, value, ttlMs)
  }
  setIfAbsent(key: string, value: Buffer, ttlMs: number) {
    return this.inner.setIfAbsent(key, value, ttlMs)
  }
  replaceIfEquals(key: string, expected: Buffer, value: Buffer, ttlMs: number) {
    return this.inner.replaceIfEquals(key, expected, value, ttlMs)
  }
  deleteIfEquals(key: string, expected: Buffer) {
    return this.inner.deleteIfEquals(key, expected)
  }
  delete(keys: readonly string[]) {
    return this.inner.delete(keys)
  }
  async getWithStamps(key: string, hashKey: string, fields: readonly string[]) {
    const got = await this.inner.getWithStamps(key, hashKey, fields)
    return { value: this.pass(key, got.value), stamps: got.stamps }
  }
  getStamps(hashKey: string, fields: readonly string[]) {
    return this.inner.getStamps(hashKey, fields)
  }
  writeStamp(hashKeys: readonly string[], field: string, dropPrefixes: readonly string[], span?: TimeSpan) {
    return this.inner.writeStamp(hashKeys, field, dropPrefixes, span)
  }
  publish(channel: string, message: string) {
    return this.inner.publish?.(channel, message) ?? Promise.resolve()
  }
  subscribe(channel: string, onMessage: (message: string) => void) {
    return this.inner.subscribe?.(channel, onMessage) ?? Promise.resolve(async () => {})
  }
  ping() {
    return this.inner.ping()
  }
  close() {
    return this.inner.close()
  }
}

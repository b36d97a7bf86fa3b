import { Cluster, type Redis } from 'ioredis'
import type { CacheStore } from './cache-store.ts'
import { RANGE_RECORDS, type TimeSpan } from './generations.ts'

// Compare-and-set / compare-and-delete must be atomic: a lease released by a slow owner after it expired must not
// delete the next owner's lease. Lua scripts run atomically on the server (one key each, so Cluster-safe).
const REPLACE_IF_EQUALS = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 end return 0`
const DELETE_IF_EQUALS = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`

// CacheStore.writeStamp, atomically over every hash of one invalidation, stamped with the Redis server's clock so
// that stamps written by different processes are comparable (no client clock skew). ARGV: the field; the span of a
// range record (start, end; both empty for a plain stamp) and the records kept; then prefixes of fields to drop. A
// range record is appended to the field's records (a plain stamp there stands for all time, garbage is replaced),
// the oldest two merged while there are more than kept — as generations.ts appendRangeRecord. All stamp hashes share
// one hash tag, so this is a single-slot script on Cluster.
const WRITE_STAMP = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local field = ARGV[1]
local spanStart = tonumber(ARGV[2])
local spanEnd = tonumber(ARGV[3])
local keep = tonumber(ARGV[4]) or 0
local out = {}
for i, key in ipairs(KEYS) do
  local stamp = math.max(now, (tonumber(redis.call('HGET', key, 's') or '0') or 0) + 1)
  local s = string.format('%d', stamp)
  if #ARGV > 4 then
    for _, f in ipairs(redis.call('HKEYS', key)) do
      for p = 5, #ARGV do
        if string.sub(f, 1, #ARGV[p]) == ARGV[p] then redis.call('HDEL', key, f) break end
      end
    end
  end
  local value = s
  if spanStart and spanEnd then
    local old = redis.call('HGET', key, field)
    local recs = {}
    if old then
      if string.match(old, '^%d+$') then
        recs[1] = {0, 253402300800000, tonumber(old)}
      elseif string.match(old, '^[%d,;]+$') then
        for a, b, c in string.gmatch(old, '(%d+),(%d+),(%d+)') do recs[#recs + 1] = {tonumber(a), tonumber(b), tonumber(c)} end
      end
    end
    recs[#recs + 1] = {spanStart, spanEnd, stamp}
    while #recs > keep do
      local a, b = recs[1], recs[2]
      recs[2] = {math.min(a[1], b[1]), math.max(a[2], b[2]), math.max(a[3], b[3])}
      table.remove(recs, 1)
    end
    local parts = {}
    for j, r in ipairs(recs) do parts[j] = string.format('%d,%d,%d', r[1], r[2], r[3]) end
    value = table.concat(parts, ';')
  end
  redis.call('HSET', key, field, value, 's', s)
  out[i] = s
end
return out`

type ScriptClient = (Redis | Cluster) & {
  acpReplaceIfEquals(key: string, expected: Buffer, value: Buffer, ttlMs: number): Promise<number>
  acpDeleteIfEquals(key: string, expected: Buffer): Promise<number>
  acpWriteStamp(numKeys: number, ...args: string[]): Promise<string[]>
}

const px = (ttlMs: number) => Math.max(1, Math.ceil(ttlMs))

/** CacheStore on Redis (standalone or Cluster). Values are binary-safe Buffers; expiry is Redis's own PX. */
/** Values larger than this are written in slices of this size (see setInSlices). */
const WRITE_SLICE_BYTES = 1024 * 1024
/** A key with a hash tag of its own: `{key}` would not name its slot, so it is written whole. */
const HASH_TAGGED = /[{}]/

export class RedisCacheStore implements CacheStore {
  readonly kind = 'redis'
  private readonly client: ScriptClient
  private readonly cluster: boolean
  private subscriber: Redis | Cluster | undefined

  constructor(client: Redis | Cluster) {
    // defineCommand sends EVALSHA and falls back to EVAL once per connection: no script text on every call.
    if (!('acpReplaceIfEquals' in client)) {
      client.defineCommand('acpReplaceIfEquals', { numberOfKeys: 1, lua: REPLACE_IF_EQUALS })
      client.defineCommand('acpDeleteIfEquals', { numberOfKeys: 1, lua: DELETE_IF_EQUALS })
      client.defineCommand('acpWriteStamp', { lua: WRITE_STAMP })
    }
    this.client = client as ScriptClient
    this.cluster = client.isCluster
  }

  get(key: string): Promise<Buffer | null> {
    return this.client.getBuffer(key)
  }

  async set(key: string, value: Buffer, ttlMs: number): Promise<void> {
    if (value.length > WRITE_SLICE_BYTES && !HASH_TAGGED.test(key)) {
      await this.setInSlices(key, value, ttlMs, false)
      return
    }
    await this.client.set(key, value, 'PX', px(ttlMs))
  }

  async setIfAbsent(key: string, value: Buffer, ttlMs: number): Promise<boolean> {
    if (value.length > WRITE_SLICE_BYTES && !HASH_TAGGED.test(key))
      return this.setInSlices(key, value, ttlMs, true)
    return (await this.client.set(key, value, 'PX', px(ttlMs), 'NX')) === 'OK'
  }

  /**
   * A large value written in slices: ioredis copies a command's arguments into one buffer before it writes it, which
   * for a large result entry was a second copy of the whole entry in memory. The slices build a key of their own (in
   * the key's slot: its hash tag is the key) that one transaction renames into place, so no reader ever sees a part.
   */
  private async setInSlices(
    key: string,
    value: Buffer,
    ttlMs: number,
    onlyIfAbsent: boolean,
  ): Promise<boolean> {
    const partial = `{${key}}:partial`
    const tx = this.client.multi().set(partial, value.subarray(0, WRITE_SLICE_BYTES), 'PX', px(ttlMs))
    for (let at = WRITE_SLICE_BYTES; at < value.length; at += WRITE_SLICE_BYTES)
      tx.append(partial, value.subarray(at, at + WRITE_SLICE_BYTES))
    if (onlyIfAbsent) tx.renamenx(partial, key).del(partial)
    else tx.rename(partial, key)
    const replies = (await tx.exec()) ?? []
    for (const [err] of replies) if (err) throw err
    const renamed = replies[replies.length - (onlyIfAbsent ? 2 : 1)]?.[1]
    return onlyIfAbsent ? renamed === 1 : true
  }

  async replaceIfEquals(key: string, expected: Buffer, value: Buffer, ttlMs: number): Promise<boolean> {
    return (await this.client.acpReplaceIfEquals(key, expected, value, px(ttlMs))) === 1
  }

  async deleteIfEquals(key: string, expected: Buffer): Promise<boolean> {
    return (await this.client.acpDeleteIfEquals(key, expected)) === 1
  }

  async delete(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0
    // DEL of several keys fails across Cluster slots; single DELs issued together are auto-pipelined per node.
    if (this.cluster)
      return (await Promise.all(keys.map((k) => this.client.del(k)))).reduce((a, b) => a + b, 0)
    return this.client.del(...keys)
  }

  async getWithStamps(
    key: string,
    hashKey: string,
    fields: readonly string[],
  ): Promise<{ value: Buffer | null; stamps: Array<string | null> }> {
    // Issued in the same tick: auto-pipelining sends both in one write, so this is one round trip. Promise.all, not
    // two awaits: when Redis is down both reject, and a second promise nobody awaits would be an unhandled rejection.
    const [value, stamps] = await Promise.all([
      this.client.getBuffer(key),
      this.client.hmget(hashKey, ...fields),
    ])
    return { value, stamps }
  }

  getStamps(hashKey: string, fields: readonly string[]): Promise<Array<string | null>> {
    return this.client.hmget(hashKey, ...fields)
  }

  async writeStamp(
    hashKeys: readonly string[],
    field: string,
    dropPrefixes: readonly string[],
    span?: TimeSpan,
  ): Promise<number[]> {
    if (hashKeys.length === 0) return []
    const stamps = await this.client.acpWriteStamp(
      hashKeys.length,
      ...hashKeys,
      field,
      span ? String(span.startMs) : '',
      span ? String(span.endMs) : '',
      String(RANGE_RECORDS),
      ...dropPrefixes,
    )
    return stamps.map(Number)
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.client.publish(channel, message)
  }

  async subscribe(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>> {
    // A subscribed connection can run no other command: a second one, created on first use. Its offline queue is
    // on so that the subscription is renewed after a reconnect.
    if (!this.subscriber) {
      const client = this.client
      this.subscriber =
        client instanceof Cluster
          ? client.duplicate(undefined, { enableOfflineQueue: true })
          : client.duplicate({ enableOfflineQueue: true })
      // Errors of this connection are the main connection's errors too, and are logged there.
      this.subscriber.on('error', () => {})
    }
    const subscriber = this.subscriber
    const listener = (from: string, message: string) => {
      if (from === channel) onMessage(message)
    }
    subscriber.on('message', listener)
    await subscriber.subscribe(channel)
    return async () => {
      subscriber.off('message', listener)
      await subscriber.unsubscribe(channel).catch(() => {})
    }
  }

  async ping(): Promise<void> {
    await this.client.ping()
  }

  async close(): Promise<void> {
    this.subscriber?.disconnect()
    await this.client.quit().catch(() => this.client.disconnect())
  }
}

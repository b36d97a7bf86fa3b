import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { inject } from 'vitest'

/** A client of the test Redis plus a key prefix of this test's own; `cleanup()` deletes every key under it. */
export async function testRedis(): Promise<{
  redis: Redis
  url: string
  prefix: string
  cleanup(): Promise<void>
}> {
  const url = inject('redisUrl')
  const redis = new Redis(url, { maxRetriesPerRequest: 1 })
  const prefix = `acptest:${randomUUID().slice(0, 8)}`
  return {
    redis,
    url,
    prefix,
    async cleanup() {
      let cursor = '0'
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
        cursor = next
        if (keys.length > 0) await redis.del(...keys)
      } while (cursor !== '0')
      redis.disconnect()
    },
  }
}

import { inject } from 'vitest'
import { type LocalAthena, startLocalAthena } from '../../local/athena-server.ts'
import { createApp } from '../../src/app.ts'
import { buildDeps, type Deps } from '../../src/build-deps.ts'
import type { CacheStore } from '../../src/cache/cache-store.ts'
import { MemoryCacheStore } from '../../src/cache/memory-cache-store.ts'
import { RedisCacheStore } from '../../src/cache/redis-cache-store.ts'
import { RedisCounterStore } from '../../src/cache/redis-counter-store.ts'
import { loadSettings } from '../../src/config/settings.ts'
import { createLogger } from '../../src/logger.ts'
import { testRedis } from './redis-client.ts'

export interface Stack {
  app: ReturnType<typeof createApp>
  deps: Deps
  local: LocalAthena
  redis: Awaited<ReturnType<typeof testRedis>>
  close(): Promise<void>
}

/**
 * The real service in-process: the embedded local Athena endpoint reached through the real AthenaClient, and a real
 * Redis under a key prefix of this test's own (or the memory store). No part of our code is replaced.
 */
export async function startStack(
  options: {
    env?: Record<string, string>
    minQueryMs?: number
    cache?: 'redis' | 'memory'
    now?: () => number
    background?: 'continue' | 'detach'
    /** Wraps the real store, e.g. in a ChaosCacheStore. */
    wrapStore?: (store: CacheStore) => CacheStore
    /** The data the local Athena serves (default: the shared test data set, which must not be changed). */
    dataDir?: string
  } = {},
): Promise<Stack> {
  const redis = await testRedis()
  const local = await startLocalAthena({
    dataDir: options.dataDir ?? inject('dataDir'),
    port: 0,
    minQueryMs: options.minQueryMs ?? 0,
  })
  const config = await loadSettings(
    { CACHE_PREFIX: redis.prefix, LOG_LEVEL: 'silent', QUERY_ENGINE: 'local', ...options.env },
    { defaultEngine: 'local' },
  )
  const logger = createLogger({ level: config.logLevel, sync: true })
  const real =
    options.cache === 'memory'
      ? new MemoryCacheStore({ maxBytes: 64 * 1024 * 1024 })
      : new RedisCacheStore(redis.redis)
  const store = options.wrapStore ? options.wrapStore(real) : real
  const deps = await buildDeps(config, {
    logger,
    athenaEndpoint: local.endpoint,
    store,
    ...(options.cache === 'memory' ? {} : { counters: new RedisCounterStore(redis.redis) }),
    ...(options.now ? { now: options.now } : {}),
    ...(options.background ? { background: options.background } : {}),
  })
  return {
    app: createApp(deps),
    deps,
    local,
    redis,
    async close() {
      deps.athena.destroy()
      await local.close()
      await redis.cleanup()
    },
  }
}

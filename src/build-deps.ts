import { AthenaClient } from '@aws-sdk/client-athena'
import { S3Client } from '@aws-sdk/client-s3'
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import type { Logger } from 'pino'
import type { AppDeps } from './app.ts'
import { AthenaRunner } from './athena/athena-runner.ts'
import { ResultReader } from './athena/result-reader.ts'
import { CacheHealth } from './cache/cache-health.ts'
import { CacheKeys } from './cache/cache-key.ts'
import type { CacheStore } from './cache/cache-store.ts'
import { CircuitBreaker } from './cache/circuit-breaker.ts'
import type { CounterStore } from './cache/counter-store.ts'
import { GuardedCacheStore, GuardedCounterStore } from './cache/guarded-cache-store.ts'
import { MemoryCacheStore } from './cache/memory-cache-store.ts'
import { MemoryCounterStore } from './cache/memory-counter-store.ts'
import { PlainBodies } from './cache/plain-bodies.ts'
import { RedisCacheStore } from './cache/redis-cache-store.ts'
import { RedisCounterStore } from './cache/redis-counter-store.ts'
import type { Settings } from './config/settings.ts'
import { errorMessage } from './errors.ts'
import { AccessLog } from './http/access-log.ts'
import { EmfMetrics } from './metrics/emf.ts'
import { PrometheusMetrics } from './metrics/prometheus.ts'
import { ReadSeries } from './metrics/read-series.ts'
import { Telemetry, type TelemetrySink } from './metrics/telemetry.ts'
import { InvalidationLog } from './prewarm/invalidation-log.ts'
import { readLandedUntil } from './prewarm/landing.ts'
import { Operations } from './prewarm/operations.ts'
import { Prewarmer } from './prewarm/prewarm-job.ts'
import { ClosedWindows } from './service/closed-windows.ts'
import { Invalidator } from './service/invalidation.ts'
import { type BackgroundMode, QueryService } from './service/query-service.ts'
import { RuntimeHistory } from './service/runtime-history.ts'
import { TenantBudgets } from './service/tenant-budgets.ts'
import { popularityKeep, UsageRecorder } from './service/usage.ts'

export interface Deps extends AppDeps {
  store: GuardedCacheStore
  runner: AthenaRunner
  athena: AthenaClient
  keys: CacheKeys
  redis: Redis | Cluster | undefined
  usage: UsageRecorder
  telemetry: Telemetry
  series: ReadSeries
  /** The Prometheus registry (the Node server's `/metrics`); absent with EMF. */
  prometheus: PrometheusMetrics | undefined
  close(): Promise<void>
}

/** Inflated bodies kept for clients without gzip (remembered by ETag; see plain-bodies.ts). */
const PLAIN_BODIES_MAX_BYTES = 32 * 1024 * 1024

/** Popularity buckets are hourly: prewarm looks at windows of hours to days. */
const POPULARITY_BUCKET_MS = 3_600_000

/**
 * An error the Redis server answered (OOM, READONLY, WRONGTYPE…), as opposed to no answer at all: ioredis reports
 * those as `ReplyError`s.
 */
function isServerReply(err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError'
}

/**
 * Connects to Redis with settings that fail fast: a slow cache must never hold a dashboard read hostage. With
 * `cluster` (REDIS_CLUSTER, e.g. ElastiCache Serverless, which speaks only the Cluster protocol) the URL is the seed
 * node of a Cluster client.
 */
export async function connectRedis(
  url: string,
  commandTimeoutMs: number,
  logger: Logger,
  cluster = false,
): Promise<Redis | Cluster> {
  const options: RedisOptions = {
    enableOfflineQueue: false,
    // One timer per connection ("no reply for this long": the socket is dropped and pending commands fail) rather
    // than ioredis's commandTimeout, which arms a timer per command: at tens of thousands of hits a second those
    // timers alone doubled the garbage collector's work.
    // Reconnects a connection that stopped answering; what a caller waits is bounded apart from this, by the
    // breaker's shared deadline (circuit-breaker.ts), since a stalled server may keep its socket open for a long time.
    socketTimeout: commandTimeoutMs,
    // No resend after a reconnect: the socket is dropped only once the caller's deadline has passed, so a resent
    // command could only ever wait on a server that already stalled once (SIGSTOP, CLIENT PAUSE, a failover).
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
    lazyConnect: true,
    retryStrategy: (times) => Math.min(100 * 2 ** times, 2_000),
  }
  let redis: Redis | Cluster
  if (cluster) {
    const { hostname, port, protocol, username, password } = new URL(url)
    redis = new Cluster([{ host: hostname, port: Number(port || 6379) }], {
      enableOfflineQueue: false,
      lazyConnect: true,
      enableAutoPipelining: true,
      clusterRetryStrategy: (times) => Math.min(100 * 2 ** times, 2_000),
      // TLS certificates name the configuration endpoint, not the nodes' addresses the cluster announces.
      dnsLookup: (address, callback) => callback(null, address),
      redisOptions: {
        ...options,
        ...(protocol === 'rediss:' ? { tls: {} } : {}),
        ...(username ? { username: decodeURIComponent(username) } : {}),
        ...(password ? { password: decodeURIComponent(password) } : {}),
      },
    })
  } else {
    // Commands issued in one event-loop turn (many concurrent hits) go out in one write: a syscall per GET was
    // the largest single cost of a cache hit under load.
    redis = new Redis(url, { ...options, enableAutoPipelining: true })
  }
  redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis error'))
  try {
    await redis.connect()
  } catch (err) {
    // Start anyway: reads bypass the cache until Redis answers, and ioredis keeps reconnecting.
    logger.warn(
      { err: (err as Error).message },
      'redis not reachable at start-up; serving uncached until it is',
    )
  }
  return redis
}

/**
 * Builds every client and service from the loaded settings (environment and files, see `loadSettings`): the only
 * place that constructs them. It reads no file and no variable itself.
 */
export async function buildDeps(
  config: Settings,
  options: {
    logger: Logger
    athenaEndpoint?: string
    store?: CacheStore
    /** The counter store (tests pass their own with `store`); default: beside the cache. */
    counters?: CounterStore
    logSync?: boolean
    /** `continue` for a long-running server, `detach` for Lambda (nothing runs after the response). */
    background?: BackgroundMode
    /** The clock (ms since epoch); tests move it to walk an entry through fresh, stale and expired. */
    now?: () => number
    /** How often usage counters are written (0: the caller flushes, as the Lambda handler does after each event). */
    usageFlushMs?: number
    /** Where metrics go: Prometheus (`/metrics`, the default) or CloudWatch EMF log lines (Lambda). */
    metrics?: 'prometheus' | 'emf'
  },
): Promise<Deps> {
  const { logger } = options
  const { catalog, prewarm: prewarmSettings, schedules } = config
  const redis =
    options.store || !config.redis
      ? undefined
      : await connectRedis(config.redis.url, config.redis.commandTimeoutMs, logger, config.redis.cluster)
  const inner: CacheStore =
    options.store ??
    (redis ? new RedisCacheStore(redis) : new MemoryCacheStore({ maxBytes: config.memoryCacheMaxBytes }))
  const counters: CounterStore =
    options.counters ?? (redis ? new RedisCounterStore(redis) : new MemoryCounterStore())
  // Sinks are added as what they need is built; the breaker's callbacks below already report to them.
  const sinks: TelemetrySink[] = []
  const telemetry = new Telemetry(sinks)
  // Every cache call goes through one breaker: a down Redis costs one fast failure, not a timeout per request. An
  // in-process store cannot stall, so only a remote one gets the call deadline.
  const breaker = new CircuitBreaker({
    failureThreshold: config.cacheBreaker.failures,
    openMs: config.cacheBreaker.openMs,
    ...(inner.kind === 'memory' ? {} : { callTimeoutMs: config.cacheBreaker.callTimeoutMs }),
    isOutage: (err) => !isServerReply(err),
    onStateChange: (state, cause) => {
      telemetry.breakerState(state)
      logger.warn({ state, err: cause instanceof Error ? cause.message : undefined }, 'cache circuit breaker')
    },
    onFailure: () => telemetry.cacheError(),
  })
  const store = new GuardedCacheStore(inner, breaker)
  const endpoint = options.athenaEndpoint ?? config.athena.endpoint
  const athena = new AthenaClient({
    region: config.athena.region,
    maxAttempts: config.athena.maxAttempts,
    // Without these an endpoint that accepts the connection and never answers holds a call for ever; the request
    // timeout must be opted into as an error, else the SDK only logs a warning.
    requestHandler: {
      connectionTimeout: config.athena.connectionTimeoutMs,
      requestTimeout: config.athena.requestTimeoutMs,
      throwOnRequestTimeout: true,
    },
    ...(endpoint ? { endpoint } : {}),
    // The embedded engine checks no signatures; real Athena uses the default credential chain.
    ...(config.engine === 'local' ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  })
  const s3Endpoint = options.athenaEndpoint ?? config.athena.s3Endpoint
  // Result files: the same region, timeouts and credentials as Athena; a custom endpoint (the local one serves S3's
  // API on the Athena port) is addressed path-style, as such endpoints are.
  const s3 =
    config.athena.resultRead === 'api'
      ? undefined
      : new S3Client({
          region: config.athena.region,
          maxAttempts: config.athena.maxAttempts,
          requestHandler: {
            connectionTimeout: config.athena.connectionTimeoutMs,
            requestTimeout: config.athena.requestTimeoutMs,
            throwOnRequestTimeout: true,
          },
          ...(s3Endpoint ? { endpoint: s3Endpoint, forcePathStyle: true } : {}),
          ...(config.engine === 'local'
            ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
            : {}),
        })
  const reader = new ResultReader({ athena, s3, mode: config.athena.resultRead, logger })
  const runner = new AthenaRunner({
    client: athena,
    catalog: config.athena.catalog,
    outputLocation: config.athena.outputLocation,
    poll: { initialDelayMs: config.query.pollInitialDelayMs, maxIntervalMs: config.query.pollMaxIntervalMs },
    maxRows: config.query.maxRows,
    maxResultBytes: config.query.maxResultBytes,
  })
  const keys = new CacheKeys(config.cachePrefix)
  const guardedCounters = new GuardedCounterStore(counters, breaker)
  const budgets = new TenantBudgets({ counters: guardedCounters, keys, now: options.now ?? Date.now })
  const series = new ReadSeries({
    store: guardedCounters,
    keys,
    logger,
    flushIntervalMs: options.usageFlushMs ?? 1_000,
    ...(options.now ? { now: options.now } : {}),
  })
  sinks.push(series)
  const usage = new UsageRecorder(guardedCounters, keys, {
    telemetry,
    bucketMs: POPULARITY_BUCKET_MS,
    retainMs: prewarmSettings.windowMs,
    keepPerBucket: popularityKeep(prewarmSettings.topN),
    flushIntervalMs: options.usageFlushMs ?? 1_000,
    logger,
    ...(options.now ? { now: options.now } : {}),
  })
  // Closed windows: how far each table's data has landed (landing.ts writes it), read when a result is stored.
  const closedWindows = config.landing
    ? new ClosedWindows({
        logger,
        landedUntil: async (def) => {
          const tables = def.tables ?? []
          if (tables.length === 0) return undefined
          const ends = await Promise.all(tables.map((t) => readLandedUntil(guardedCounters, keys, t)))
          return ends.every((e) => e !== undefined) ? Math.min(...(ends as number[])) : undefined
        },
      })
    : undefined
  const service = new QueryService({
    closedWindows,
    catalog,
    tenants: config.tenants,
    budgets,
    store,
    runner,
    reader,
    keys,
    history: new RuntimeHistory(store, keys, logger),
    logger,
    database: config.athena.database,
    workgroup: config.athena.workgroup,
    queryTimeoutMs: config.query.timeoutMs,
    syncDeadlineMs: config.query.syncDeadlineMs,
    leaseTtlMs: config.query.leaseTtlMs,
    errorTtlSeconds: config.query.errorTtlSeconds,
    background: options.background ?? 'continue',
    l1: config.l1,
    usage,
    ...(options.now ? { now: options.now } : {}),
  })
  // Invalidations are announced on a channel (where the store has one) so that every process drops its in-process
  // tier at once; without L1 there is nothing to drop.
  const unsubscribe =
    store.subscribe && config.l1.ttlMs > 0
      ? await store
          .subscribe(keys.invalidationChannel, () => service.dropL1())
          .catch((err: unknown) => {
            logger.warn({ err: errorMessage(err) }, 'invalidation channel unavailable')
            return undefined
          })
      : undefined
  const prometheus =
    options.metrics === 'emf'
      ? undefined
      : new PrometheusMetrics({ cluster: async () => (await usage.snapshot()).shared })
  sinks.push(
    prometheus ??
      new EmfMetrics({ namespace: config.metrics.namespace, serviceName: config.metrics.serviceName }),
  )
  const invalidator = new Invalidator({ service, store, keys, tenants: config.tenants })
  const prewarmer = new Prewarmer({ service, store, keys, usage, settings: prewarmSettings, logger })
  const operations = new Operations({
    invalidator,
    prewarmer,
    usage,
    schedules,
    logger,
    tenants: { defs: config.tenants, budgets },
    invalidationLog: new InvalidationLog({ counters: guardedCounters, keys, logger }),
    // The window of a burst of landed files: waited out in the invocation on Lambda, on a timer on a server.
    landing: {
      settings: config.landing,
      catalog,
      database: config.athena.database,
      store,
      counters: guardedCounters,
      keys,
      logger,
      wait: options.background === 'detach' ? 'inline' : 'background',
      requestBudgetMs: config.query.syncDeadlineMs,
    },
  })
  const accessLog = config.logRequests ? new AccessLog(logger, { sync: options.logSync ?? false }) : undefined
  if (config.apiKeys.length === 0 && config.tenants.byId.size === 0)
    logger.warn(
      'API_KEYS is not set and there are no tenants: query routes are open to anyone who can reach them',
    )
  return {
    service,
    store,
    logger,
    engine: config.engine,
    apiKeys: config.apiKeys,
    adminApiKeys: config.adminApiKeys,
    tenants: config.tenants,
    accessLog,
    operations,
    usage,
    telemetry,
    series,
    prometheus,
    corsOrigin: config.corsOrigin,
    plainBodies: new PlainBodies({ maxBytes: PLAIN_BODIES_MAX_BYTES }),
    health: new CacheHealth({
      store,
      timeoutMs: config.cacheBreaker.callTimeoutMs,
      probeKey: keys.healthProbe,
    }),
    ...(options.now ? { now: options.now } : {}),
    runner,
    athena,
    keys,
    redis,
    async close() {
      await operations.close()
      accessLog?.flush()
      series.close()
      await telemetry.flush()
      await usage.close()
      athena.destroy()
      s3?.destroy()
      await unsubscribe?.()
      await store.close()
    },
  }
}

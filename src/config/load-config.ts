import { z } from 'zod'
import { ConfigError } from '../errors.ts'
import { SCHEDULE_NAME_PATTERN } from './schedules.ts'

/** The process environment, as entry points hand it to the loader (nothing else reads it). */
export type Env = Readonly<Record<string, string | undefined>>

/** Where queries run: `local` = the embedded Athena-compatible endpoint on DuckDB; `athena` = the SDK against AWS or ATHENA_ENDPOINT. */
export type QueryEngineMode = 'local' | 'athena'

const intFromEnv = (min: number, max: number) => z.coerce.number().int().min(min).max(max)

const csv = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((k) => k.trim())
      .filter((k) => k.length > 0),
  )
  .pipe(z.array(z.string().min(8, 'each key must be at least 8 characters')))

const TRUE_SPELLINGS = ['true', '1', 'yes', 'on']
const FALSE_SPELLINGS = ['false', '0', 'no', 'off']

/** The spellings a boolean variable accepts (any case), as error messages name them. */
const BOOLEAN_SPELLINGS = 'true/false, 1/0, yes/no or on/off (any case)'

// Shells, Compose files and Terraform spell switches every which way; each variable accepts all of them, so that
// `PREWARM_SCHEDULES=false` cannot silently mean something other than `off`.
const bool = z.string().transform((v, ctx) => {
  const word = v.trim().toLowerCase()
  if (TRUE_SPELLINGS.includes(word)) return true
  if (FALSE_SPELLINGS.includes(word)) return false
  ctx.addIssue({ code: 'custom', message: `'${v}' is not a boolean: use ${BOOLEAN_SPELLINGS}` })
  return z.NEVER
})

const arn = z.string().regex(/^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:\S+$/, 'must be an ARN')
// The pattern the Scheduler service applies to Target.RoleArn.
const roleArn = z
  .string()
  .regex(/^arn:aws(-[a-z]+)?:iam::\d{12}:role\/[\w+=,.@/-]+$/, 'must be an IAM role ARN')

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
/** A pino level name. */
export type LogLevel = (typeof LOG_LEVELS)[number]

/** The environment contract: every variable the service reads, with its default. */
const envSchema = z.object({
  PORT: intFromEnv(0, 65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
    .optional(),
  REDIS_COMMAND_TIMEOUT_MS: intFromEnv(1, 60_000).default(500),
  REDIS_CLUSTER: bool.default(false),
  QUERY_ENGINE: z.enum(['local', 'athena']).optional(),
  ATHENA_ENDPOINT: z.url().optional(),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  ATHENA_WORKGROUP: z.string().min(1).default('primary'),
  ATHENA_DATABASE: z.string().min(1).default('analytics'),
  ATHENA_CATALOG: z.string().min(1).default('AwsDataCatalog'),
  ATHENA_OUTPUT_LOCATION: z
    .string()
    .regex(/^s3:\/\/[^/]+/, 'must be an s3:// URL')
    .optional(),
  ATHENA_MAX_ATTEMPTS: intFromEnv(1, 10).default(4),
  ATHENA_CONNECTION_TIMEOUT_MS: intFromEnv(100, 60_000).default(3_000),
  ATHENA_REQUEST_TIMEOUT_MS: intFromEnv(100, 10 * 60_000).default(10_000),
  QUERY_TIMEOUT_MS: intFromEnv(100, 60 * 60_000).default(10 * 60_000),
  SYNC_DEADLINE_MS: intFromEnv(100, 15 * 60_000).default(25_000),
  LEASE_TTL_MS: intFromEnv(100, 10 * 60_000).default(15_000),
  ERROR_TTL_SECONDS: intFromEnv(0, 86_400).default(30),
  L1_TTL_MS: intFromEnv(0, 60_000).optional(),
  L1_MAX_BYTES: intFromEnv(0, 16 * 1024 * 1024 * 1024).default(64 * 1024 * 1024),
  CACHE_BREAKER_FAILURES: intFromEnv(1, 1000).default(3),
  CACHE_BREAKER_OPEN_MS: intFromEnv(10, 600_000).default(1_000),
  POLL_INITIAL_DELAY_MS: intFromEnv(10, 60_000).default(500),
  POLL_MAX_INTERVAL_MS: intFromEnv(50, 60_000).default(5_000),
  MAX_RESULT_ROWS: intFromEnv(1, 10_000_000).default(1_000_000),
  MAX_RESULT_BYTES: intFromEnv(1024, 2 * 1024 * 1024 * 1024).optional(),
  ATHENA_RESULT_READ: z.enum(['auto', 'api']).default('auto'),
  S3_ENDPOINT: z.url().optional(),
  API_KEYS: csv.optional(),
  ADMIN_API_KEYS: csv.optional(),
  // A key of the authorizer's context: API Gateway passes on only string, number and boolean values under a key.
  TENANT_AUTHORIZER_FIELD: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,128}$/, 'must be a context key: letters, digits and _ . - (1–128 characters)')
    .optional(),
  CACHE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_.-]{1,64}$/, 'letters, digits and : _ . - only (1–64 characters)')
    .default('acp'),
  MEMORY_CACHE_MAX_BYTES: intFromEnv(1024 * 1024, 64 * 1024 * 1024 * 1024).default(256 * 1024 * 1024),
  DATA_DIR: z.string().min(1).default('./data'),
  CONFIG_DIR: z.string().min(1).default('./wrangler-free-config'),
  LOCAL_ATHENA_MIN_QUERY_MS: intFromEnv(0, 10 * 60_000).optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS).optional(),
  LOG_REQUESTS: bool.default(true),
  METRICS_PORT: intFromEnv(0, 65535).optional(),
  METRICS_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9./#:_-]{1,255}$/, 'a CloudWatch namespace: letters, digits and . / # : _ - (1–255)')
    .default('AthenaCacheProxy'),
  POWERTOOLS_SERVICE_NAME: z.string().min(1).max(255).default('athena-cache-proxy'),
  CORS_ORIGIN: z.string().min(1).optional(),
  PREWARM_SCHEDULES: bool.default(true),
  SCHEDULER_ENDPOINT: z.url().optional(),
  PREWARM_TARGET_ARN: arn.optional(),
  SCHEDULER_ROLE_ARN: roleArn.optional(),
  SCHEDULE_GROUP: z.string().optional(),
  ACP_ADMIN_KEY: z.string().optional(),
  TENANTS_SOURCE: z
    .string()
    .regex(
      /^(ssm:\S+|secretsmanager:\S+)$/,
      "must be 'ssm:<parameter name or ARN>' or 'secretsmanager:<secret id or ARN>' (unset: tenants.yaml of CONFIG_DIR)",
    )
    .optional(),
  SSM_ENDPOINT: z.url().optional(),
  SECRETS_MANAGER_ENDPOINT: z.url().optional(),
})

/**
 * What a deployed Lambda must be given (the Terraform in infra/ sets them; a test checks it does). Without them it
 * would run on defaults meant for a laptop: an in-memory cache per container, the `primary` workgroup.
 */
export const LAMBDA_REQUIRED_ENV = [
  'QUERY_ENGINE',
  'REDIS_URL',
  'ATHENA_WORKGROUP',
  'ATHENA_DATABASE',
  'CACHE_PREFIX',
  'CONFIG_DIR',
] as const

/** Fails with one message naming every variable of `names` that is unset (or empty). */
function requireEnv(env: Env, names: readonly string[]): void {
  const missing = names.filter((n) => !env[n])
  if (missing.length > 0)
    throw new ConfigError(
      `Invalid configuration:\n  ${missing.map((n) => `${n}: required here`).join('\n  ')}`,
    )
}

export interface AppConfig {
  /** Allowed browser origin(s) for CORS (comma-separated, or `*`); unset = no CORS headers. */
  corsOrigin: string | undefined
  port: number
  host: string
  /** `cluster`: connect with the Cluster protocol (ElastiCache Serverless, Redis Cluster). */
  redis: { url: string; commandTimeoutMs: number; cluster: boolean } | undefined
  engine: QueryEngineMode
  athena: {
    /** Unset = AWS's regional endpoint; set for the local endpoint or a proxy. */
    endpoint: string | undefined
    region: string
    workgroup: string
    database: string
    catalog: string
    outputLocation: string | undefined
    /** `auto`: a result longer than one GetQueryResults page is read from its CSV file in S3; `api`: paging only. */
    resultRead: 'auto' | 'api'
    /** S3 endpoint for result files; unset = ATHENA_ENDPOINT when that is set (one local endpoint serves both). */
    s3Endpoint: string | undefined
    maxAttempts: number
    /** Longest an SDK call may take to connect (per attempt). */
    connectionTimeoutMs: number
    /** Longest one SDK call may take, request and response (per attempt; the SDK retries up to maxAttempts). */
    requestTimeoutMs: number
  }
  query: {
    /** Longest a computation may take, start + polls + result fetch, before its query is stopped (504). */
    timeoutMs: number
    /**
     * Longest a request waits for a miss, the start included: past it, 202 with the execution when one is recorded
     * (the query goes on), else the stale entry or a 504 with Retry-After.
     */
    syncDeadlineMs: number
    /** Lease of a computation that has not recorded its execution yet (owner died while starting). */
    leaseTtlMs: number
    /** How long a user error (engine category 2) is cached. */
    errorTtlSeconds: number
    pollInitialDelayMs: number
    pollMaxIntervalMs: number
    /** MAX_RESULT_ROWS: a longer result is answered 413 (and that answer cached briefly). */
    maxRows: number
    /** MAX_RESULT_BYTES: the plain body as sent, in any format; the deployment's default when unset. */
    maxResultBytes: number
  }
  /** Empty = reads are open (a warning is logged at start). */
  apiKeys: string[]
  /** Keys of admin routes; empty = admin routes answer 403. */
  adminApiKeys: string[]
  /**
   * TENANT_AUTHORIZER_FIELD: the key of an API Gateway Lambda authorizer's context naming the request's tenant (read
   * by the Lambda entry point only); undefined = tenants come from keys alone.
   */
  tenantAuthorizerField: string | undefined
  /** In-process L1 tier in front of Redis: entry lifetime (0 = off) and bound. */
  l1: { ttlMs: number; maxBytes: number }
  /** `callTimeoutMs` (REDIS_COMMAND_TIMEOUT_MS): longest a cache call may take from its caller's view. */
  cacheBreaker: { failures: number; openMs: number; callTimeoutMs: number }
  cachePrefix: string
  memoryCacheMaxBytes: number
  dataDir: string
  configDir: string
  localAthenaMinQueryMs: number
  logLevel: LogLevel
  logRequests: boolean
  /**
   * METRICS_PORT: a port serving `/metrics` without a key (the Node server; unset = `/metrics` on the main port,
   * behind the admin key). METRICS_NAMESPACE and POWERTOOLS_SERVICE_NAME: CloudWatch EMF on Lambda.
   */
  metrics: { port: number | undefined; namespace: string; serviceName: string }
  /**
   * PREWARM_SCHEDULES: whether `acp serve` fires the schedules of schedules.yaml itself when no SCHEDULER_ENDPOINT
   * is set (through the embedded local Scheduler in `local` engine mode, on in-process timers otherwise).
   */
  prewarmSchedules: boolean
  scheduler: SchedulerConfig
  /** TENANTS_SOURCE and where its service answers; unset source = `tenants.yaml` of CONFIG_DIR. */
  secrets: SecretsConfig
  /** ACP_ADMIN_KEY: the admin key the CLI sends to a running server's admin API (`--url`) without `--admin-key`. */
  cliAdminKey: string | undefined
}

/** Where the tenants file is read from: SSM Parameter Store or Secrets Manager instead of CONFIG_DIR. */
export type TenantsSource =
  | { kind: 'ssm'; name: string; label: string }
  | { kind: 'secretsmanager'; secretId: string; label: string }

/** TENANTS_SOURCE and the endpoints of the services it may name. */
export interface SecretsConfig {
  /** Undefined = `tenants.yaml` of CONFIG_DIR. */
  tenantsSource: TenantsSource | undefined
  region: string
  /** SSM_ENDPOINT: unset = AWS's regional endpoint (never guessed from ATHENA_ENDPOINT). */
  ssmEndpoint: string | undefined
  /** SECRETS_MANAGER_ENDPOINT: unset = AWS's regional endpoint. */
  secretsManagerEndpoint: string | undefined
}

/** `ssm:<name>` or `secretsmanager:<id>` (the schema has checked the shape); the label is the variable's value. */
function tenantsSource(value: string | undefined): TenantsSource | undefined {
  if (value === undefined) return undefined
  if (value.startsWith('ssm:')) return { kind: 'ssm', name: value.slice('ssm:'.length), label: value }
  return { kind: 'secretsmanager', secretId: value.slice('secretsmanager:'.length), label: value }
}

/** Where the prewarm schedules live and what they invoke. */
export interface SchedulerConfig {
  /** Unset = AWS's regional endpoint; set for the local endpoint (`acp local-scheduler`) or an external one. */
  endpoint: string | undefined
  region: string
  /** The Lambda the schedules invoke; needed only to sync. */
  targetArn: string | undefined
  /** The role EventBridge Scheduler assumes to invoke it; needed only to sync. */
  roleArn: string | undefined
  /** SCHEDULE_GROUP, default `<CACHE_PREFIX>-prewarm`: the group holding exactly the schedules of `schedules.yaml`. */
  groupName: string
}

export interface LoadConfigOptions {
  /** Engine when QUERY_ENGINE is unset: `local` for the Node server, `athena` for Lambda. */
  defaultEngine?: QueryEngineMode
  /** LOCAL_ATHENA_MIN_QUERY_MS when unset (`npm start` uses 500 so a miss looks like a miss). */
  defaultLocalMinQueryMs?: number
  /** L1_TTL_MS when unset: on (1 s) for the Node server, off for Lambda. */
  defaultL1TtlMs?: number
  /** MAX_RESULT_BYTES when unset (DEFAULT_MAX_RESULT_BYTES; Lambda: LAMBDA_MAX_RESULT_BYTES). */
  defaultMaxResultBytes?: number
  /** LOG_LEVEL when unset (`info`; the one-off CLI commands use `warn`). */
  defaultLogLevel?: LogLevel
  /** Overrides CONFIG_DIR (the CLI's `--config-dir`). */
  configDir?: string
  /** Variables that must be set here (the Lambda handler: LAMBDA_REQUIRED_ENV). */
  requiredEnv?: readonly string[]
}

/**
 * MAX_RESULT_BYTES of the Node server: bodies are built and sent as streams and stored compressed (a JSON body
 * compresses about tenfold), so what this bounds is a download's size, not the server's memory.
 */
export const DEFAULT_MAX_RESULT_BYTES = 512 * 1024 * 1024
/**
 * MAX_RESULT_BYTES on Lambda: a streamed response may carry 200 MB (Lambda's response streaming limit); a client
 * that does not accept gzip receives the plain body, so the plain body is what must fit.
 */
export const LAMBDA_MAX_RESULT_BYTES = 200 * 1000 * 1000

/**
 * Parses and validates the environment once (the first, synchronous step of `loadSettings`, which adds the
 * configuration files); a bad value throws a ConfigError naming the variable.
 */
export function loadConfig(env: Env, options: LoadConfigOptions = {}): AppConfig {
  if (options.requiredEnv) requireEnv(env, options.requiredEnv)
  // Empty strings mean "unset": docker-compose and shells often export VAR= for optional settings.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''))
  const parsed = envSchema.safeParse(cleaned)
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${String(i.path[0] ?? '(env)')}: ${i.message}`)
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`)
  }
  const e = parsed.data
  const engine = e.QUERY_ENGINE ?? options.defaultEngine ?? 'athena'
  // Key prefixes may hold ':' (Redis namespaces), which group names do not allow: the default maps it to '-'.
  const groupName = e.SCHEDULE_GROUP ?? `${e.CACHE_PREFIX.replaceAll(':', '-')}-prewarm`
  if (!SCHEDULE_NAME_PATTERN.test(groupName))
    throw new ConfigError(
      `Invalid configuration:\n  SCHEDULE_GROUP: '${groupName}' is not a valid group name: group names ` +
        'allow only letters, digits, - _ and . (1–64 characters)',
    )
  return {
    port: e.PORT,
    host: e.HOST,
    redis: e.REDIS_URL
      ? { url: e.REDIS_URL, commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS, cluster: e.REDIS_CLUSTER }
      : undefined,
    engine,
    athena: {
      endpoint: e.ATHENA_ENDPOINT,
      region: e.AWS_REGION,
      workgroup: e.ATHENA_WORKGROUP,
      database: e.ATHENA_DATABASE,
      catalog: e.ATHENA_CATALOG,
      outputLocation: e.ATHENA_OUTPUT_LOCATION,
      resultRead: e.ATHENA_RESULT_READ,
      s3Endpoint: e.S3_ENDPOINT ?? e.ATHENA_ENDPOINT,
      maxAttempts: e.ATHENA_MAX_ATTEMPTS,
      connectionTimeoutMs: e.ATHENA_CONNECTION_TIMEOUT_MS,
      requestTimeoutMs: e.ATHENA_REQUEST_TIMEOUT_MS,
    },
    query: {
      timeoutMs: e.QUERY_TIMEOUT_MS,
      syncDeadlineMs: e.SYNC_DEADLINE_MS,
      leaseTtlMs: e.LEASE_TTL_MS,
      errorTtlSeconds: e.ERROR_TTL_SECONDS,
      pollInitialDelayMs: e.POLL_INITIAL_DELAY_MS,
      pollMaxIntervalMs: e.POLL_MAX_INTERVAL_MS,
      maxRows: e.MAX_RESULT_ROWS,
      maxResultBytes: e.MAX_RESULT_BYTES ?? options.defaultMaxResultBytes ?? DEFAULT_MAX_RESULT_BYTES,
    },
    apiKeys: e.API_KEYS ?? [],
    adminApiKeys: e.ADMIN_API_KEYS ?? [],
    tenantAuthorizerField: e.TENANT_AUTHORIZER_FIELD,
    l1: { ttlMs: e.L1_TTL_MS ?? options.defaultL1TtlMs ?? 0, maxBytes: e.L1_MAX_BYTES },
    cacheBreaker: {
      failures: e.CACHE_BREAKER_FAILURES,
      openMs: e.CACHE_BREAKER_OPEN_MS,
      callTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
    },
    cachePrefix: e.CACHE_PREFIX,
    memoryCacheMaxBytes: e.MEMORY_CACHE_MAX_BYTES,
    dataDir: e.DATA_DIR,
    configDir: options.configDir ?? e.CONFIG_DIR,
    localAthenaMinQueryMs: e.LOCAL_ATHENA_MIN_QUERY_MS ?? options.defaultLocalMinQueryMs ?? 0,
    logLevel: e.LOG_LEVEL ?? options.defaultLogLevel ?? 'info',
    logRequests: e.LOG_REQUESTS,
    metrics: { port: e.METRICS_PORT, namespace: e.METRICS_NAMESPACE, serviceName: e.POWERTOOLS_SERVICE_NAME },
    corsOrigin: e.CORS_ORIGIN,
    prewarmSchedules: e.PREWARM_SCHEDULES,
    scheduler: {
      endpoint: e.SCHEDULER_ENDPOINT,
      region: e.AWS_REGION,
      targetArn: e.PREWARM_TARGET_ARN,
      roleArn: e.SCHEDULER_ROLE_ARN,
      groupName,
    },
    secrets: {
      tenantsSource: tenantsSource(e.TENANTS_SOURCE),
      region: e.AWS_REGION,
      ssmEndpoint: e.SSM_ENDPOINT,
      secretsManagerEndpoint: e.SECRETS_MANAGER_ENDPOINT,
    },
    cliAdminKey: e.ACP_ADMIN_KEY,
  }
}

/** The target and role a sync needs; a ConfigError naming what is missing otherwise. */
export function requireSyncTargets(config: SchedulerConfig): { targetArn: string; roleArn: string } {
  const missing = [
    config.targetArn === undefined
      ? 'PREWARM_TARGET_ARN (the ARN of the Lambda the schedules invoke)'
      : undefined,
    config.roleArn === undefined
      ? 'SCHEDULER_ROLE_ARN (the IAM role EventBridge Scheduler assumes to invoke it)'
      : undefined,
  ].filter((m) => m !== undefined)
  if (config.targetArn === undefined || config.roleArn === undefined)
    throw new ConfigError(`Syncing schedules needs ${missing.join(' and ')}`)
  return { targetArn: config.targetArn, roleArn: config.roleArn }
}

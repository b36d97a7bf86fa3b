import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/load-config.ts'
import { ConfigError } from '../../src/errors.ts'

describe('loadConfig', () => {
  it('applies defaults', () => {
    const c = loadConfig({}, { defaultEngine: 'local', defaultLocalMinQueryMs: 500 })
    expect(c).toMatchObject({
      port: 3000,
      redis: undefined,
      engine: 'local',
      apiKeys: [],
      cachePrefix: 'acp',
      dataDir: './data',
      configDir: './wrangler-free-config',
      localAthenaMinQueryMs: 500,
      athena: { region: 'us-east-1', workgroup: 'primary', database: 'analytics', endpoint: undefined },
      query: { timeoutMs: 600_000, syncDeadlineMs: 25_000, maxRows: 1_000_000, errorTtlSeconds: 30 },
      adminApiKeys: [],
      l1: { ttlMs: 0 },
    })
    expect(loadConfig({}).engine).toBe('athena')
  })

  it('bounds every wait by default: cache calls, Athena connections and requests', () => {
    expect(loadConfig({})).toMatchObject({
      cacheBreaker: { callTimeoutMs: 500 },
      athena: { connectionTimeoutMs: 3_000, requestTimeoutMs: 10_000 },
    })
    expect(
      loadConfig({
        REDIS_COMMAND_TIMEOUT_MS: '200',
        ATHENA_CONNECTION_TIMEOUT_MS: '1500',
        ATHENA_REQUEST_TIMEOUT_MS: '4000',
      }),
    ).toMatchObject({
      cacheBreaker: { callTimeoutMs: 200 },
      athena: { connectionTimeoutMs: 1_500, requestTimeoutMs: 4_000 },
    })
  })

  it('parses every variable', () => {
    const c = loadConfig({
      PORT: '8080',
      REDIS_URL: 'rediss://cache.example:6380',
      QUERY_ENGINE: 'athena',
      ATHENA_ENDPOINT: 'http://127.0.0.1:4566',
      AWS_REGION: 'eu-west-2',
      ATHENA_WORKGROUP: 'dashboards',
      ATHENA_DATABASE: 'web',
      ATHENA_OUTPUT_LOCATION: 's3://results/athena/',
      API_KEYS: ' key-one-123 , key-two-456 ,',
      CACHE_PREFIX: 'dash',
      DATA_DIR: '/data',
      CONFIG_DIR: '/conf',
      LOCAL_ATHENA_MIN_QUERY_MS: '0',
    })
    expect(c).toMatchObject({
      port: 8080,
      redis: { url: 'rediss://cache.example:6380' },
      engine: 'athena',
      athena: {
        endpoint: 'http://127.0.0.1:4566',
        region: 'eu-west-2',
        workgroup: 'dashboards',
        database: 'web',
        outputLocation: 's3://results/athena/',
      },
      apiKeys: ['key-one-123', 'key-two-456'],
      cachePrefix: 'dash',
      dataDir: '/data',
      configDir: '/conf',
      localAthenaMinQueryMs: 0,
    })
  })

  it('treats empty strings as unset', () => {
    expect(loadConfig({ REDIS_URL: '', API_KEYS: '' })).toMatchObject({ redis: undefined, apiKeys: [] })
  })

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['REDIS_URL', 'http://localhost:6379'],
    ['QUERY_ENGINE', 'presto'],
    ['ATHENA_ENDPOINT', 'not a url'],
    ['ATHENA_OUTPUT_LOCATION', '/tmp/results'],
    ['API_KEYS', 'short'],
    ['CACHE_PREFIX', 'has space'],
    ['LOCAL_ATHENA_MIN_QUERY_MS', '-1'],
    ['LOG_LEVEL', 'loud'],
    ['ATHENA_REQUEST_TIMEOUT_MS', '0'],
    ['ATHENA_CONNECTION_TIMEOUT_MS', 'soon'],
  ])('rejects %s=%s naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError)
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`${name}:`))
  })
})

describe('loadConfig: boolean variables', () => {
  const BOOLEANS = ['REDIS_CLUSTER', 'LOG_REQUESTS', 'PREWARM_SCHEDULES'] as const
  const read = (name: (typeof BOOLEANS)[number], value: string): boolean => {
    const c = loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', [name]: value })
    if (name === 'REDIS_CLUSTER') return c.redis?.cluster ?? false
    return name === 'LOG_REQUESTS' ? c.logRequests : c.prewarmSchedules
  }

  it.each(BOOLEANS)('%s accepts the usual spellings in any case', (name) => {
    for (const value of ['true', 'TRUE', 'True', '1', 'yes', 'Yes', 'on', 'ON', ' on '])
      expect(read(name, value), value).toBe(true)
    for (const value of ['false', 'FALSE', 'False', '0', 'no', 'NO', 'off', 'Off'])
      expect(read(name, value), value).toBe(false)
  })

  it('defaults: REDIS_CLUSTER off, LOG_REQUESTS and PREWARM_SCHEDULES on (empty = unset)', () => {
    const c = loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', PREWARM_SCHEDULES: '' })
    expect([c.redis?.cluster, c.logRequests, c.prewarmSchedules]).toEqual([false, true, true])
  })

  it.each(BOOLEANS.flatMap((name) => ['maybe', 'enabled', '2', 'y'].map((value) => [name, value])))(
    'rejects %s=%s naming the variable and the accepted spellings',
    (name, value) => {
      expect(() => loadConfig({ [name]: value })).toThrow(ConfigError)
      expect(() => loadConfig({ [name]: value })).toThrow(
        `${name}: '${value}' is not a boolean: use true/false, 1/0, yes/no or on/off (any case)`,
      )
    },
  )
})

describe('loadConfig: what the entry points used to read themselves', () => {
  it('ACP_ADMIN_KEY, LOG_LEVEL with the entry point default, CONFIG_DIR overridden by --config-dir', () => {
    expect(loadConfig({}).cliAdminKey).toBeUndefined()
    expect(loadConfig({ ACP_ADMIN_KEY: 'admin-key-1' }).cliAdminKey).toBe('admin-key-1')
    expect(loadConfig({}).logLevel).toBe('info')
    expect(loadConfig({}, { defaultLogLevel: 'warn' }).logLevel).toBe('warn')
    expect(loadConfig({ LOG_LEVEL: 'debug' }, { defaultLogLevel: 'warn' }).logLevel).toBe('debug')
    expect(loadConfig({ CONFIG_DIR: '/a' }, { configDir: '/b' }).configDir).toBe('/b')
  })

  it('requiredEnv names every missing variable', () => {
    expect(() =>
      loadConfig({ QUERY_ENGINE: 'athena' }, { requiredEnv: ['QUERY_ENGINE', 'REDIS_URL', 'CONFIG_DIR'] }),
    ).toThrow(/REDIS_URL: required here\n {2}CONFIG_DIR: required here$/)
  })
})

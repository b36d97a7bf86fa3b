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
      query: { timeoutMs: 600_000, syncDeadlineMs: 25_000, maxRows: 100_000, errorTtlSeconds: 30 },
      adminApiKeys: [],
      l1: { ttlMs: 0 },
    })
    expect(loadConfig({}).engine).toBe('athena')
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
  ])('rejects %s=%s naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError)
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`${name}:`))
  })
})

import { copyFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { startEmbeddedStack } from '../../local/embedded-stack.ts'
import { loadSettings } from '../../src/config/settings.ts'
import { SERVER_DEFAULTS, startServer } from '../../src/entry/server.ts'
import { type ServeProcess, startServeProcess, stopAllChildren } from '../helpers/processes.ts'
import { testRedis } from '../helpers/redis-client.ts'

describe('acp serve as child processes sharing one Redis', () => {
  let redis: Awaited<ReturnType<typeof testRedis>>
  let one: ServeProcess
  let two: ServeProcess

  beforeAll(async () => {
    redis = await testRedis()
    const env = {
      REDIS_URL: redis.url,
      CACHE_PREFIX: redis.prefix,
      DATA_DIR: inject('dataDir'),
      LOCAL_ATHENA_MIN_QUERY_MS: '300',
    }
    ;[one, two] = await Promise.all([startServeProcess(env), startServeProcess(env)])
  })
  afterAll(async () => {
    // Every child this file started, even when one failed to come up.
    await stopAllChildren()
    await redis.cleanup()
  })

  it('MISS on the first process, HIT on it again and HIT on the second', async () => {
    const path = '/queries/top_pages?measure=pageviews&start=2024-03-01&limit=5'
    const t0 = performance.now()
    const miss = await fetch(`${one.url}${path}`)
    const missMs = performance.now() - t0
    expect(miss.headers.get('x-cache')).toBe('MISS')
    expect(missMs).toBeGreaterThanOrEqual(300) // the engine's minimum query time: a miss looks like a miss
    const body = await miss.text()
    const hit = await fetch(`${one.url}${path}`)
    expect(hit.headers.get('x-cache')).toBe('HIT')
    const other = await fetch(`${two.url}${path}`)
    expect(other.headers.get('x-cache')).toBe('HIT')
    expect(await other.text()).toBe(body)
    const parsed = JSON.parse(body) as { rows: Array<{ page: string; total: number }> }
    expect(parsed.rows).toHaveLength(5)
    expect(parsed.rows.map((r) => r.total)).toEqual(
      [...parsed.rows.map((r) => r.total)].sort((a, b) => b - a),
    )
  })

  it('a large plain body is inflated as it is sent, with its Content-Length; a client leaving mid-body harms nothing', async () => {
    // Two weeks of raw events: several MB of JSON, over the size inflated whole (1 MiB).
    const path = '/queries/events?start=2024-02-01&end=2024-02-15'
    const gzip = await fetch(`${one.url}${path}`, { headers: { 'accept-encoding': 'gzip' } })
    const expected = Buffer.from(await gzip.arrayBuffer())
    const { request } = await import('node:http')
    const plain = await new Promise<{ length: string | undefined; body: Buffer }>((resolve, reject) => {
      request(`${one.url}${path}`, { headers: { 'accept-encoding': 'identity' } }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ length: res.headers['content-length'], body: Buffer.concat(chunks) }))
        res.on('error', reject)
      })
        .on('error', reject)
        .end()
    })
    expect(plain.body.length).toBeGreaterThan(1024 * 1024)
    expect(plain.length).toBe(String(plain.body.length))
    expect(plain.body.equals(expected)).toBe(true)
    // A client that reads a little and goes away.
    await new Promise<void>((resolve) => {
      const req = request(`${one.url}${path}`, { headers: { 'accept-encoding': 'identity' } }, (res) => {
        res.once('data', () => {
          req.destroy()
          resolve()
        })
      })
      req.on('error', () => resolve())
      req.end()
    })
    const after = await fetch(`${one.url}${path}`, { headers: { 'accept-encoding': 'identity' } })
    expect(after.status).toBe(200)
    expect(Buffer.from(await after.arrayBuffer()).equals(expected)).toBe(true)
  })

  it('reports health with the Redis cache and the local engine, and logs one JSON line per request', async () => {
    expect(await (await fetch(`${two.url}/health`)).json()).toEqual({
      status: 'ok',
      cache: 'redis',
      engine: 'local',
    })
    await fetch(`${two.url}/analytics?measure=nope`)
    await new Promise((r) => setTimeout(r, 300)) // log lines are written asynchronously
    const lines = two
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines.some((l) => l.msg === 'athena-cache-proxy listening')).toBe(true)
    const firstLines = one
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(firstLines).toContainEqual(
      expect.objectContaining({
        msg: 'request',
        status: 200,
        cache: 'HIT',
        query: 'top_pages',
        key: expect.stringMatching(new RegExp(`^${redis.prefix}:v3:e:`)),
        cacheMs: expect.any(Number),
      }),
    )
    expect(lines).toContainEqual(
      expect.objectContaining({
        msg: 'request',
        method: 'GET',
        path: '/analytics',
        status: 400,
        durationMs: expect.any(Number),
      }),
    )
  })
})

describe('acp serve: hot reads from the in-process tier (fast path)', () => {
  let redis: Awaited<ReturnType<typeof testRedis>>
  let server: ServeProcess

  beforeAll(async () => {
    redis = await testRedis()
    server = await startServeProcess({
      REDIS_URL: redis.url,
      CACHE_PREFIX: redis.prefix,
      DATA_DIR: inject('dataDir'),
      LOCAL_ATHENA_MIN_QUERY_MS: '0',
      L1_TTL_MS: '5000',
      API_KEYS: 'reader-key-0001',
    })
  })
  afterAll(async () => {
    await stopAllChildren()
    await redis.cleanup()
  })

  it('answers like the full path: same body and headers, keys still checked, 304 and gzip', async () => {
    const path = '/analytics?measure=signups&start=2024-01-10&period=week'
    const key = { 'x-api-key': 'reader-key-0001' }
    const miss = await fetch(`${server.url}${path}`, { headers: key })
    expect(miss.headers.get('x-cache')).toBe('MISS')
    const missBody = await miss.text()
    const hit = await fetch(`${server.url}${path}`, { headers: key })
    expect(hit.headers.get('x-cache')).toBe('HIT')
    expect(await hit.text()).toBe(missBody)
    for (const h of ['etag', 'content-type', 'vary', 'cache-control'])
      expect(hit.headers.get(h)?.replace(/max-age=\d+/, '')).toBe(
        miss.headers.get(h)?.replace(/max-age=\d+/, ''),
      )
    expect(hit.headers.get('cache-status')).toMatch(/^athena-cache-proxy; hit; ttl=\d+$/)
    expect((await fetch(`${server.url}${path}`)).status).toBe(401)
    expect(
      (await fetch(`${server.url}${path}`, { headers: { 'x-api-key': 'reader-key-0002' } })).status,
    ).toBe(403)
    const notModified = await fetch(`${server.url}${path}`, {
      headers: { ...key, 'if-none-match': hit.headers.get('etag') as string },
    })
    expect(notModified.status).toBe(304)
    // fetch() inflates gzip transparently: the decoded bytes must equal the plain body
    const gz = await fetch(`${server.url}${path}`, { headers: { ...key, 'accept-encoding': 'gzip' } })
    expect(gz.headers.get('content-encoding')).toBe('gzip')
    expect(await gz.text()).toBe(missBody)
    expect((await fetch(`${server.url}/analytics?measure=signups&start=bad`, { headers: key })).status).toBe(
      400,
    )
  })
})

describe('startServer and the embedded stack, in process', () => {
  let redis: Awaited<ReturnType<typeof testRedis>>
  /** The shipped catalog without schedules: the embedded Scheduler starts, nothing fires during the test. */
  let configDir: string

  beforeAll(async () => {
    redis = await testRedis()
    configDir = await mkdtemp(join(tmpdir(), 'acp-serve-'))
    await copyFile('wrangler-free-config/queries.yaml', join(configDir, 'queries.yaml'))
  })
  afterAll(async () => {
    await redis.cleanup()
    await rm(configDir, { recursive: true, force: true })
  })

  const env = (extra: Record<string, string> = {}) => ({
    REDIS_URL: redis.url,
    CACHE_PREFIX: redis.prefix,
    DATA_DIR: inject('dataDir'),
    CONFIG_DIR: configDir,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    LOCAL_ATHENA_MIN_QUERY_MS: '0',
    ...extra,
  })

  it('engine local: the local Athena and Scheduler start beside the server and close with it', async () => {
    const server = await startEmbeddedStack(await loadSettings(env(), SERVER_DEFAULTS))
    const athena = server.localAthena?.endpoint
    try {
      expect(server.config.engine).toBe('local')
      expect(athena).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(server.localScheduler?.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(await (await fetch(`${server.url}/health`)).json()).toEqual({
        status: 'ok',
        cache: 'redis',
        engine: 'local',
      })
      const read = await fetch(`${server.url}/queries/top_pages?measure=pageviews&start=2024-03-01&limit=3`)
      expect(read.status).toBe(200)
      expect(server.localAthena?.stats().executionsStarted).toBe(1)
    } finally {
      await server.close()
    }
    await expect(fetch(`${athena}/_local/health`)).rejects.toThrow()
  })

  it('startServer alone: queries go to ATHENA_ENDPOINT; the local engine without one is a ConfigError', async () => {
    const athena = await startEmbeddedStack(
      await loadSettings(env({ PREWARM_SCHEDULES: 'off' }), SERVER_DEFAULTS),
    )
    try {
      expect(athena.localScheduler).toBeUndefined()
      const endpoint = athena.localAthena?.endpoint ?? ''
      const server = await startServer(
        await loadSettings(env({ ATHENA_ENDPOINT: endpoint }), SERVER_DEFAULTS),
      )
      try {
        // Nothing embedded: schedules (none in this directory) would fire on in-process timers.
        expect([server.localAthena, server.localScheduler]).toEqual([undefined, undefined])
        const read = await fetch(`${server.url}/queries/top_pages?measure=pageviews&start=2024-03-02&limit=3`)
        expect(read.status).toBe(200)
        expect(athena.localAthena?.stats().executionsStarted).toBe(1)
      } finally {
        await server.close()
      }
      await expect(startServer(await loadSettings(env(), SERVER_DEFAULTS))).rejects.toThrow(
        /QUERY_ENGINE=local needs ATHENA_ENDPOINT/,
      )
    } finally {
      await athena.close()
    }
  })
})

import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { createServer } from 'node:net'
import { Redis } from 'ioredis'

/** A Redis the tests can use, and how to stop it if we started it. */
export interface ProvidedRedis {
  url: string
  source: 'REDIS_URL' | 'local' | 'spawned' | 'testcontainers'
  stop(): Promise<void>
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address()
      const port = typeof address === 'object' && address ? address.port : 0
      srv.close(() => resolve(port))
    })
  })
}

/** True when a Redis answers PING at `url` within a short timeout. */
export async function redisAnswers(url: string, timeoutMs = 1_000): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  })
  client.on('error', () => {})
  try {
    await client.connect()
    return (await client.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

/** Starts a throw-away `redis-server` (no persistence) on a free port. */
export async function spawnRedisServer(
  port?: number,
  extraArgs: readonly string[] = [],
): Promise<{ url: string; port: number; process: ChildProcess; stop(): Promise<void> }> {
  const p = port ?? (await freePort())
  const child = spawn(
    'redis-server',
    ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs],
    {
      stdio: 'ignore',
    },
  )
  const url = `redis://127.0.0.1:${p}`
  const deadline = Date.now() + 10_000
  while (!(await redisAnswers(url, 200))) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`redis-server did not start on port ${p}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    url,
    port: p,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGKILL')
      }),
  }
}

function hasRedisServerBinary(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0
}

/**
 * Finds a real Redis for the test run: REDIS_URL, else 127.0.0.1:6379, else a spawned `redis-server`, else a
 * testcontainers container when a container runtime exists. Fails with a clear message when none is possible.
 */
export async function provideRedis(): Promise<ProvidedRedis> {
  const none = async () => {}
  if (process.env.REDIS_URL) {
    if (!(await redisAnswers(process.env.REDIS_URL, 3_000)))
      throw new Error(`REDIS_URL=${process.env.REDIS_URL} does not answer PING`)
    return { url: process.env.REDIS_URL, source: 'REDIS_URL', stop: none }
  }
  if (await redisAnswers('redis://127.0.0.1:6379'))
    return { url: 'redis://127.0.0.1:6379', source: 'local', stop: none }
  if (hasRedisServerBinary()) {
    const spawned = await spawnRedisServer()
    return { url: spawned.url, source: 'spawned', stop: spawned.stop }
  }
  const { getContainerRuntimeClient, GenericContainer } = await import('testcontainers')
  try {
    await getContainerRuntimeClient()
  } catch (err) {
    throw new Error(
      `No Redis for the tests: REDIS_URL is unset, nothing answers on 127.0.0.1:6379, redis-server is not installed and no container runtime is available (${(err as Error).message})`,
    )
  }
  const container = await new GenericContainer('redis:7-alpine').withExposedPorts(6379).start()
  return {
    url: `redis://${container.getHost()}:${container.getMappedPort(6379)}`,
    source: 'testcontainers',
    stop: async () => {
      await container.stop()
    },
  }
}

/**
 * A one-node Redis Cluster (all 16384 slots on one spawned `redis-server`): enough to exercise the Cluster protocol
 * and its CROSSSLOT rules, which ElastiCache Serverless enforces. Null when `redis-server` cannot be spawned here.
 */
export async function spawnRedisCluster(): Promise<{ url: string; stop(): Promise<void> } | null> {
  const { mkdtemp, rm } = await import('node:fs/promises')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const dir = await mkdtemp(join(tmpdir(), 'acp-cluster-'))
  let server: Awaited<ReturnType<typeof spawnRedisServer>>
  try {
    server = await spawnRedisServer(undefined, [
      '--cluster-enabled',
      'yes',
      // Alone, a node does not know its own address and announces "", which clients cannot connect to.
      '--cluster-announce-ip',
      '127.0.0.1',
      '--cluster-config-file',
      join(dir, 'nodes.conf'),
      '--dir',
      dir,
    ])
  } catch {
    await rm(dir, { recursive: true, force: true })
    return null
  }
  const { Redis } = await import('ioredis')
  const admin = new Redis(server.url)
  await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383')
  for (let i = 0; i < 100; i++) {
    if (String(await admin.call('CLUSTER', 'INFO')).includes('cluster_state:ok')) break
    await new Promise((r) => setTimeout(r, 50))
  }
  admin.disconnect()
  return {
    url: server.url,
    async stop() {
      await server.stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

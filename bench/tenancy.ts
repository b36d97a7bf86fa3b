// `npx tsx bench/tenancy.ts`: what tenancy costs a cache hit. Two `acp serve` processes on the same Redis and the
// same local Athena: (plain) one read key in API_KEYS; (tenants) tenants.yaml with BENCH_TENANTS tenants (default 100,
// one key each), read as one of them. Both answer fresh hits from
// Redis (L1 off) and from L1 (on), in interleaved rounds; autocannon as in `npm run bench`. The key that matches is
// the last of the ring's digests, though every one is compared whichever matches.
import { randomUUID } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { freePort, provideRedis, spawnRedisServer } from '../test/helpers/redis-server.ts'
import { sha256Digest, tenantConfigDir } from '../test/helpers/tenant-config.ts'
import { children, OUT_DIR, start, waitFor } from './children.ts'
import { type LoadResult, load, median } from './load.ts'
import { SAMPLE_START } from './sample-start.ts'

const TENANTS = Number(process.env.BENCH_TENANTS ?? 100)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5)

async function main(): Promise<void> {
  await mkdir(OUT_DIR, { recursive: true })
  const spawned = process.env.REDIS_URL ? undefined : await spawnRedisServer().catch(() => undefined)
  const redis = spawned ? { url: spawned.url, stop: spawned.stop } : await provideRedis()
  const athenaPort = await freePort()
  const endpoint = `http://127.0.0.1:${athenaPort}`
  start(
    'tenancy-athena',
    [
      'bin/acp.js',
      'local-athena',
      '--port',
      String(athenaPort),
      '--data-dir',
      process.env.DATA_DIR ?? './data',
      '--sample-data',
      '--sample-start',
      SAMPLE_START,
    ],
    {},
  )
  await waitFor(`${endpoint}/_local/health`)
  const countries = ['US', 'GB', 'DE', 'IN', 'FR']
  const keys = Array.from({ length: TENANTS }, (_, i) => `bench-tenant-key-${i}-0123456789`)
  const tenantsYaml = `tenants:\n${keys
    .map(
      (k, i) =>
        `  t${i}:\n    keys: ["${sha256Digest(k)}"]\n    parameters: { country: ${countries[i % countries.length]} }\n`,
    )
    .join('')}`
  const configDir = await tenantConfigDir({ 'tenants.yaml': tenantsYaml })
  const plainKey = 'bench-plain-key-0123456789'
  const server = async (name: string, env: Record<string, string>) => {
    const port = await freePort()
    const child = start(name, ['bin/acp.js', 'serve'], {
      PORT: String(port),
      HOST: '127.0.0.1',
      REDIS_URL: redis.url,
      QUERY_ENGINE: 'athena',
      ATHENA_ENDPOINT: endpoint,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      CACHE_PREFIX: `acptenancy-${randomUUID().slice(0, 8)}`,
      PREWARM_SCHEDULES: 'off',
      ...env,
    })
    const url = `http://127.0.0.1:${port}`
    await waitFor(`${url}/health`)
    return { child, url, pid: child.pid ?? 0 }
  }
  const results: Record<string, LoadResult[]> = {}
  const lines: string[] = []
  for (const l1 of ['0', '1000']) {
    const plain = await server(`tenancy-plain-l1-${l1}`, { API_KEYS: plainKey, L1_TTL_MS: l1 })
    const tenants = await server(`tenancy-tenants-l1-${l1}`, { CONFIG_DIR: configDir, L1_TTL_MS: l1 })
    // The same unbound query on both: the plain server's caller has no tenant, the other's is one of many; what
    // differs is the per-request work of tenancy (the key ring, the tenant in the resolution memo and the key).
    const path = '/queries/by_country?measure=signups&start=2024-01-01&end=2024-01-08'
    const runs = {
      plain: { url: `${plain.url}${path}`, key: plainKey, pid: plain.pid },
      tenants: { url: `${tenants.url}${path}`, key: keys[TENANTS - 1] as string, pid: tenants.pid },
    }
    for (const [name, r] of Object.entries(runs)) {
      const warm = await fetch(r.url, { headers: { 'x-api-key': r.key } })
      if (warm.status !== 200) throw new Error(`${name}: ${warm.status} ${await warm.text()}`)
    }
    for (let round = 0; round < ROUNDS; round++)
      for (const [name, r] of Object.entries(runs)) {
        const out = await load(r.url, {
          connections: 50,
          durationS: DURATION_S,
          headers: { 'accept-encoding': 'gzip', 'x-api-key': r.key },
          pid: r.pid,
        })
        const label = `${name}, L1 ${l1 === '0' ? 'off' : 'on'}`
        results[label] = [...(results[label] ?? []), out]
      }
    plain.child.kill('SIGTERM')
    tenants.child.kill('SIGTERM')
  }
  for (const [label, runs] of Object.entries(results)) {
    const m = median(runs)
    const line = `${label}: ${m.rps} req/s, p50 ${m.p50} ms, ${m.cpuMicrosPerRequest ?? '?'} µs CPU/req (median of ${runs.length})`
    lines.push(line)
    process.stdout.write(`${line}\n`)
  }
  await writeFile(`${OUT_DIR}/tenancy.json`, JSON.stringify({ tenants: TENANTS, results, lines }, null, 2))
  for (const child of children) child.kill('SIGTERM')
  await redis.stop()
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    for (const child of children) child.kill('SIGKILL')
    process.exit(1)
  },
)

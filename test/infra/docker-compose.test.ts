// The local stack (docker-compose.yml + Dockerfile) checked without a container engine: the compose file is parsed
// (anchors and merge keys resolved, ${VAR:-default} substituted as Compose does), each service's environment goes
// through the real loadConfig (the environment step of the one configuration loader), each command is checked against the real `acp` command line,
// and the Dockerfile against what those commands need.
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname, join, posix, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import {
  type AppConfig,
  LAMBDA_REQUIRED_ENV,
  loadConfig,
  requireSyncTargets,
} from '../../src/config/load-config.ts'
import { ConfigError } from '../../src/errors.ts'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8')

// --- docker-compose.yml, as Compose sees it ------------------------------------------------------------------------

type Env = Record<string, string | undefined>

interface Service {
  image?: string
  build?: string | { context?: string; dockerfile?: string }
  command?: unknown
  environment?: Record<string, unknown> | string[]
  ports?: unknown[]
  depends_on?: string[] | Record<string, { condition?: string }>
  healthcheck?: { test?: string[] | string; disable?: boolean }
  volumes?: unknown[]
  restart?: string
}

interface ComposeFile {
  services: Record<string, Service>
  volumes?: Record<string, unknown>
}

const SUBSTITUTION = /\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g

/** Compose's interpolation of one value: `$$`, `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:+x}`. */
function interpolate(value: string, host: Env): string {
  return value.replace(SUBSTITUTION, (whole, braced?: string, op?: string, arg?: string, bare?: string) => {
    if (whole === '$$') return '$'
    const name = braced ?? bare ?? ''
    const v = host[name]
    switch (op) {
      case ':-':
        return v ? v : (arg ?? '')
      case '-':
        return v ?? arg ?? ''
      case ':+':
        return v ? (arg ?? '') : ''
      case '+':
        return v !== undefined ? (arg ?? '') : ''
      case ':?':
      case '?':
        if (v === undefined || (op === ':?' && v === '')) throw new Error(`${name} is required: ${arg}`)
        return v
      default:
        return v ?? ''
    }
  })
}

function interpolateDeep(node: unknown, host: Env): unknown {
  if (typeof node === 'string') return interpolate(node, host)
  if (Array.isArray(node)) return node.map((n) => interpolateDeep(n, host))
  if (node && typeof node === 'object')
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateDeep(v, host)]))
  return node
}

const composeText = read('docker-compose.yml')

/** The file after YAML anchors, merge keys and interpolation against `host` (the shell running `docker compose`). */
function loadCompose(host: Env = {}): ComposeFile {
  return interpolateDeep(parse(composeText, { merge: true }), host) as ComposeFile
}

const compose = loadCompose()

function service(name: string, file: ComposeFile = compose): Service {
  const s = file.services[name]
  if (!s) throw new Error(`docker-compose.yml has no service '${name}'`)
  return s
}

/** The script of an exec-form `['CMD', 'node', '-e', <script>]` health check; throws when the check has no script. */
function nodeCheckScript(name: string): string {
  const test = service(name).healthcheck?.test
  const script = Array.isArray(test) ? test[3] : undefined
  if (script === undefined) throw new Error(`${name}: the health check has no \`node -e\` script`)
  return script
}

/** `environment:` as the container sees it (map or list form; a bare name passes the host's value through). */
function environment(s: Service, host: Env = {}): Env {
  const entries: [string, unknown][] = Array.isArray(s.environment)
    ? s.environment.map((line) => {
        const i = line.indexOf('=')
        return i < 0 ? [line, null] : [line.slice(0, i), line.slice(i + 1)]
      })
    : Object.entries(s.environment ?? {})
  return Object.fromEntries(entries.map(([k, v]) => [k, v === null ? host[k] : String(v)]))
}

function command(s: Service): string[] {
  if (!Array.isArray(s.command) || !s.command.every((a) => typeof a === 'string'))
    throw new Error(`command must be a list of strings (exec form), got ${JSON.stringify(s.command)}`)
  return s.command
}

/** Published ports as {published, target} (short `host:container[/proto]` and long syntax). */
function ports(s: Service): { published: number; target: number }[] {
  return (s.ports ?? []).map((p) => {
    if (typeof p === 'object' && p !== null) {
      const { published, target } = p as { published?: unknown; target?: unknown }
      return { published: Number(published), target: Number(target) }
    }
    const parts = String(p).split('/')[0]?.split(':') ?? []
    const target = Number(parts.at(-1))
    return { published: parts.length > 1 ? Number(parts.at(-2)) : Number.NaN, target }
  })
}

function dependsOn(s: Service): Record<string, string> {
  const d = s.depends_on ?? {}
  return Array.isArray(d)
    ? Object.fromEntries(d.map((n) => [n, 'service_started']))
    : Object.fromEntries(Object.entries(d).map(([n, v]) => [n, v.condition ?? 'service_started']))
}

/** Host and port of an http(s)/redis URL, with the scheme's default port. */
function hostPort(url: string): { host: string; port: number } {
  const u = new URL(url)
  const defaults: Record<string, number> = { 'http:': 80, 'https:': 443, 'redis:': 6379, 'rediss:': 6379 }
  return { host: u.hostname, port: u.port ? Number(u.port) : (defaults[u.protocol] ?? Number.NaN) }
}

// --- the acp command line --------------------------------------------------------------------------------------

interface Invocation {
  /** e.g. ['schedules', 'sync'] */
  path: string[]
  /** Options given, by long flag: the value, or true for a switch. */
  options: Record<string, string | true>
}

interface CommandHelp {
  usage: string
  /** Long flag → whether it takes a value. */
  flags: Map<string, boolean>
}

const ACP_SERVICES = ['athena', 'scheduler', 'schedules', 'api'] as const
const helps = new Map<string, CommandHelp>()

function subcommandPath(args: string[]): string[] {
  const i = args.findIndex((a) => a.startsWith('-'))
  return i < 0 ? args : args.slice(0, i)
}

/** `node bin/acp.js <path…> --help` in a child process: cli.ts parses process.argv when imported. */
function cliHelp(path: string[]): Promise<CommandHelp> {
  return new Promise((res, rej) => {
    execFile(process.execPath, ['bin/acp.js', ...path, '--help'], { cwd: ROOT }, (err, stdout) => {
      if (err) return rej(err)
      const flags = new Map<string, boolean>()
      for (const line of stdout.split('\n')) {
        const m = /^ {2}(?:-\w, )?(--[a-z][\w-]*)( <[^>]+>)?/.exec(line)
        if (m?.[1]) flags.set(m[1], m[2] !== undefined)
      }
      res({ usage: stdout.split('\n')[0] ?? '', flags })
    })
  })
}

/** A service's command as an `acp` invocation: the subcommand must exist and take every option given. */
function invocation(name: string): Invocation {
  const argv = command(service(name))
  expect(argv.slice(0, 2), `${name} runs the CLI`).toEqual(['node', 'bin/acp.js'])
  const args = argv.slice(2)
  const path = subcommandPath(args)
  const help = helps.get(path.join(' '))
  if (!help) throw new Error(`no help for ${path.join(' ')}`)
  expect(help.usage, `'acp ${path.join(' ')}' is a command of acp`).toBe(
    `Usage: acp ${path.join(' ')} [options]`,
  )
  const options: Record<string, string | true> = {}
  const rest = args.slice(path.length)
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i] ?? ''
    const takesValue = help.flags.get(flag)
    expect(takesValue, `${name}: '${flag}' is an option of 'acp ${path.join(' ')}'`).toBeDefined()
    if (takesValue) {
      const value = rest[++i]
      expect(value !== undefined && !value.startsWith('-'), `${name}: ${flag} has a value`).toBe(true)
      options[flag] = value ?? ''
    } else options[flag] = true
  }
  return { path, options }
}

// --- probing the configuration schemas ------------------------------------------------------------------------

/**
 * Whether `load` reads the variable `name`. The schema is not exported (and src is not changed for a test), so
 * they are probed: a value no field accepts as is either fails validation naming the variable or changes the result,
 * while zod drops a name it does not know without a trace.
 */
function reads(load: (env: Env) => unknown, name: string): boolean {
  const probe = '%not a valid value%'
  const base = JSON.stringify(load({}))
  try {
    return JSON.stringify(load({ [name]: probe })) !== base
  } catch (err) {
    if (err instanceof ConfigError) return err.message.includes(`${name}:`)
    throw err
  }
}
/** Whether the one environment schema (service, scheduler and CLI variables alike) reads `name`. */
const readByLoader = (name: string) => reads((e) => loadConfig(e), name)
/** Read by the AWS SDK's default credential chain, not by the project. */
const SDK_ENV = new Set(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'])

// --- Dockerfile ------------------------------------------------------------------------------------------------

interface Instruction {
  op: string
  args: string
}

function dockerfile(text: string): Instruction[] {
  const joined = text.replace(/\\\r?\n/g, ' ')
  return joined
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('#'))
    .map((l) => {
      const m = /^(\w+)\s+(.*)$/.exec(l)
      return { op: (m?.[1] ?? l).toUpperCase(), args: m?.[2] ?? '' }
    })
}

const instructions = dockerfile(read('Dockerfile'))
const ops = (op: string) => instructions.filter((i) => i.op === op)

/** Each COPY: its position, its sources (relative to the context) and where they land in the image. */
const copies = instructions.flatMap((instruction, index) => {
  if (instruction.op !== 'COPY') return []
  const parts = instruction.args.startsWith('[')
    ? (JSON.parse(instruction.args) as string[])
    : instruction.args.split(/\s+/).filter((p) => !p.startsWith('--'))
  const dest = parts.at(-1) ?? ''
  return parts.slice(0, -1).map((p) => {
    const source = posix.normalize(p).replace(/\/$/, '')
    // `COPY a b ./` puts a and b into the directory; `COPY src ./src` puts src's content at ./src.
    const target = dest.endsWith('/') ? posix.join(dest, posix.basename(source)) : dest
    return { index, source, target: posix.resolve(workdirAt(index), target) }
  })
})
function workdirAt(index: number): string {
  return instructions
    .slice(0, index)
    .reduce((dir, i) => (i.op === 'WORKDIR' ? posix.resolve(dir, i.args) : dir), '/')
}
const workdir = workdirAt(instructions.length)
/** The COPY that puts `path` (relative to the working directory, where the commands run) into the image. */
const copyOf = (path: string) => copies.find((c) => c.target === posix.resolve(workdir, path))

// --- the tests -------------------------------------------------------------------------------------------------

beforeAll(async () => {
  const paths = new Map<string, string[]>()
  for (const name of ACP_SERVICES) {
    const s = compose.services[name]
    if (Array.isArray(s?.command)) {
      const path = subcommandPath((s.command as string[]).slice(2))
      paths.set(path.join(' '), path)
    }
  }
  await Promise.all([...paths].map(async ([key, path]) => helps.set(key, await cliHelp(path))))
})

describe('docker-compose.yml: services and the acp command line', () => {
  it('runs redis, the local Athena and Scheduler endpoints, the API and a one-shot schedule sync', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'athena', 'redis', 'scheduler', 'schedules'])
    expect(service('redis').image).toMatch(/^redis:7(-alpine)?$/)
    expect(service('schedules').restart).toBe('no')
  })

  it('builds every project service from the project Dockerfile', () => {
    for (const name of ACP_SERVICES) {
      const b = service(name).build
      const context = typeof b === 'string' ? b : b?.context
      const file = typeof b === 'object' ? (b.dockerfile ?? 'Dockerfile') : 'Dockerfile'
      expect(context, `${name} builds the project`).toBeDefined()
      expect(resolve(ROOT, context ?? '')).toBe(ROOT)
      expect(file).toBe('Dockerfile')
    }
  })

  it('runs existing acp subcommands with options they take', () => {
    expect(invocation('api').path).toEqual(['serve'])
    expect(invocation('athena').path).toEqual(['local-athena'])
    expect(invocation('scheduler').path).toEqual(['local-scheduler'])
    expect(invocation('schedules').path).toEqual(['schedules', 'sync'])
    expect(invocation('schedules').options).not.toHaveProperty('--dry-run')
  })

  it('binds the endpoints to every interface on the ports it publishes', () => {
    for (const [name, port] of [
      ['athena', 4566],
      ['scheduler', 4567],
    ] as const) {
      const { options } = invocation(name)
      // The commands' default, 127.0.0.1, is unreachable from the other containers.
      expect(options['--host'], `${name} --host`).toBe('0.0.0.0')
      expect(Number(options['--port']), `${name} --port`).toBe(port)
      expect(ports(service(name))).toEqual([{ published: port, target: port }])
    }
    const api = loadConfig(environment(service('api')), { defaultEngine: 'local' })
    expect(api.host).toBe('0.0.0.0')
    expect(ports(service('api'))).toEqual([{ published: 3000, target: api.port }])
    expect(api.port).toBe(3000)
    expect(ports(service('redis'))).toEqual([{ published: 6379, target: 6379 }])
    expect(service('schedules').ports ?? []).toEqual([])
  })

  it('keeps the Athena data in a volume and Redis without persistence', () => {
    const { options } = invocation('athena')
    expect(options['--sample-data']).toBe(true)
    expect(Number(options['--min-query-ms'])).toBeGreaterThan(0)
    const dataDir = options['--data-dir']
    const mount = (service('athena').volumes ?? []).map(String).find((v) => v.split(':')[1] === dataDir)
    expect(mount, `a volume on ${dataDir}`).toBeDefined()
    expect(Object.keys(compose.volumes ?? {})).toContain(mount?.split(':')[0])
    const redis = command(service('redis'))
    expect(redis[0]).toBe('redis-server')
    expect(redis.indexOf('--save')).toBeGreaterThan(0)
    expect(redis[redis.indexOf('--save') + 1]).toBe('')
    expect(redis[redis.indexOf('--appendonly') + 1]).toBe('no')
    expect(service('redis').volumes ?? []).toEqual([])
  })
})

describe('docker-compose.yml: health checks and start order', () => {
  it('checks redis with redis-cli ping', () => {
    expect(service('redis').healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping'])
  })

  const httpChecks = [
    ['athena', '/_local/health', 'local/http-app.ts'],
    ['scheduler', '/_local/health', 'local/scheduler/scheduler-http-app.ts'],
    ['api', '/health', 'src/app.ts'],
  ] as const

  it.each(httpChecks)(
    'checks %s on the port it listens on and a route it has (%s)',
    (name, route, source) => {
      const test = service(name).healthcheck?.test
      expect(Array.isArray(test) && test.slice(0, 3)).toEqual(['CMD', 'node', '-e'])
      const url = /http:\/\/127\.0\.0\.1:(\d+)(\/[^'"`]*)/.exec(nodeCheckScript(name))
      expect(url, 'a URL on 127.0.0.1').not.toBeNull()
      const listening =
        name === 'api'
          ? loadConfig(environment(service('api')), { defaultEngine: 'local' }).port
          : Number(invocation(name).options['--port'])
      expect(Number(url?.[1])).toBe(listening)
      expect(url?.[2]).toBe(route)
      expect(read(source)).toContain(`app.get('${route}'`)
    },
  )

  it.concurrent.each(httpChecks)(
    '%s: the check script exits 0 when the route answers and 1 when it does not',
    async (name) => {
      const script = nodeCheckScript(name)
      const target = /127\.0\.0\.1:\d+(\/[^'"`]*)/
      const route = target.exec(script)?.[1]
      // The script, pointed at `port` and `path` instead of the container's; resolves to its exit code.
      const run = (port: number, path = route) =>
        new Promise<number>((res) => {
          const moved = script.replace(target, `127.0.0.1:${port}${path}`)
          execFile(process.execPath, ['-e', moved], { timeout: 5_000 }, (err) =>
            res(err ? Number((err as { code?: unknown }).code ?? -1) : 0),
          )
        })
      const server = createServer((req, res) => {
        res.statusCode = req.url === route ? 200 : 404
        res.end('{}')
      })
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
      const { port } = server.address() as AddressInfo
      try {
        expect(await Promise.all([run(port), run(port, '/not-the-route')])).toEqual([0, 1])
      } finally {
        await new Promise<void>((r) => server.close(() => r()))
      }
      expect(await run(port)).toBe(1) // connection refused
    },
  )

  it('starts every service after what it talks to is healthy', () => {
    const svc = (n: string) => environment(service(n))
    const needs: Record<string, string[]> = {
      api: [svc('api').REDIS_URL ?? '', svc('api').ATHENA_ENDPOINT ?? ''],
      scheduler: [svc('scheduler').REDIS_URL ?? '', svc('scheduler').ATHENA_ENDPOINT ?? ''],
      schedules: [svc('schedules').SCHEDULER_ENDPOINT ?? ''],
    }
    for (const [name, urls] of Object.entries(needs))
      for (const url of urls) {
        const { host } = hostPort(url)
        expect(dependsOn(service(name))[host], `${name} waits for ${host}`).toBe('service_healthy')
      }
    for (const [name, s] of Object.entries(compose.services))
      for (const [dep, condition] of Object.entries(dependsOn(s))) {
        expect(compose.services[dep], `${name} depends on a service`).toBeDefined()
        if (condition === 'service_healthy') {
          expect(service(dep).healthcheck?.test, `${dep} has a health check`).toBeDefined()
          expect(service(dep).healthcheck?.disable).not.toBe(true)
        }
      }
  })
})

describe('docker-compose.yml: the environment, through loadConfig', () => {
  const apiEnv = environment(service('api'))
  const schedulerEnv = environment(service('scheduler'))
  const jobEnv = environment(service('schedules'))
  // `acp serve` defaults to the embedded engine, the Lambda handler (run by the scheduler) to Athena: the file must
  // choose, so both roles are checked under both defaults.
  const configs = (env: Env): AppConfig[] =>
    (['local', 'athena'] as const).map((defaultEngine) => loadConfig(env, { defaultEngine }))

  it('probes the schema faithfully', () => {
    for (const name of [
      'REDIS_URL',
      'QUERY_ENGINE',
      'HOST',
      'CONFIG_DIR',
      'API_KEYS',
      'CACHE_PREFIX',
      'SCHEDULER_ENDPOINT',
      'SCHEDULE_GROUP',
      'PREWARM_TARGET_ARN',
      'PREWARM_SCHEDULES',
      'ACP_ADMIN_KEY',
    ])
      expect(readByLoader(name), name).toBe(true)
    for (const name of ['REDIS_HOST', 'ATHENA_URL', 'SCHEDULER_URL', 'AWS_ACCESS_KEY_ID'])
      expect(readByLoader(name), name).toBe(false)
  })

  it('gives the API and the scheduler the same variables (the API adds only PORT)', () => {
    const { PORT, ...apiRest } = apiEnv
    expect(PORT).toBeDefined()
    expect(apiRest).toEqual(schedulerEnv)
  })

  it.each([
    ['api', apiEnv],
    ['scheduler', schedulerEnv],
  ] as const)('%s: every variable is one the project or the AWS SDK reads', (_, env) => {
    const unknown = Object.keys(env).filter((n) => !readByLoader(n) && !SDK_ENV.has(n))
    expect(unknown).toEqual([])
  })

  it('schedules: every variable is one the loader reads', () => {
    expect(Object.keys(jobEnv).filter((n) => !readByLoader(n))).toEqual([])
  })

  it.each([
    ['api', apiEnv],
    ['scheduler', schedulerEnv],
  ] as const)('%s: Redis and the Athena endpoint are the compose services', (_, env) => {
    const athenaPort = Number(invocation('athena').options['--port'])
    for (const config of configs(env)) {
      expect(config.engine).toBe('athena')
      expect(config.redis?.url).toBeDefined()
      expect(hostPort(config.redis?.url ?? '')).toEqual({
        host: 'redis',
        port: ports(service('redis'))[0]?.target,
      })
      expect(config.athena.endpoint).toBeDefined()
      expect(new URL(config.athena.endpoint ?? '').protocol).toBe('http:')
      expect(hostPort(config.athena.endpoint ?? '')).toEqual({ host: 'athena', port: athenaPort })
      expect(config.athena.database).toBe('analytics')
      expect(config.cachePrefix).toBe(loadConfig(apiEnv).cachePrefix)
      expect(config.apiKeys.length).toBeGreaterThan(0)
      expect(config.adminApiKeys.length).toBeGreaterThan(0)
    }
    // Engine `athena` takes the SDK's credential chain (build-deps.ts sets dummies for `local` only): the local
    // endpoint checks no signature, but the SDK will not sign without credentials.
    expect(env.AWS_ACCESS_KEY_ID).toBeTruthy()
    expect(env.AWS_SECRET_ACCESS_KEY).toBeTruthy()
  })

  it('the scheduler invokes the Lambda handler with what a deployed Lambda must be given', () => {
    expect(() => loadConfig(schedulerEnv, { requiredEnv: LAMBDA_REQUIRED_ENV })).not.toThrow()
  })

  it('the API embeds no engine and fires no schedules: the athena and scheduler services do', () => {
    const config = loadConfig(apiEnv, { defaultEngine: 'local' })
    // `acp serve` embeds DuckDB (local/embedded-stack.ts) only for engine `local` without ATHENA_ENDPOINT …
    expect(config.engine === 'local' && !config.athena.endpoint).toBe(false)
    // … and fires schedules itself only without SCHEDULER_ENDPOINT.
    const schedulerPort = Number(invocation('scheduler').options['--port'])
    expect(hostPort(config.scheduler.endpoint ?? '')).toEqual({
      host: 'scheduler',
      port: schedulerPort,
    })
    expect(apiEnv.PREWARM_SCHEDULES).toBeUndefined()
  })

  it('the sync job fills the group the scheduler fires and targets valid placeholders', () => {
    const job = loadConfig(jobEnv).scheduler
    expect(job.endpoint).toBe(loadConfig(apiEnv).scheduler.endpoint)
    expect(job.groupName).toBe(loadConfig(apiEnv).scheduler.groupName)
    expect(job.groupName).toBe(loadConfig(schedulerEnv).scheduler.groupName)
    expect(job.groupName).toBe(`${loadConfig(schedulerEnv).cachePrefix.replaceAll(':', '-')}-prewarm`)
    expect(loadConfig(jobEnv).configDir).toBe(loadConfig(schedulerEnv).configDir)
    expect(job.region).toBe(loadConfig(schedulerEnv).athena.region)
    expect(() => requireSyncTargets(job)).not.toThrow()
  })

  it('CONFIG_DIR is the configuration the image copies', () => {
    const configDir = loadConfig(apiEnv).configDir
    const copy = copyOf(configDir)
    expect(copy, `COPY … ${posix.resolve(workdir, configDir)}`).toBeDefined()
    for (const file of ['queries.yaml', 'prewarm.yaml', 'schedules.yaml'])
      expect(existsSync(join(ROOT, copy?.source ?? '', file)), file).toBe(true)
  })

  it('keys come from the host environment, with working defaults', () => {
    const subs = [...composeText.matchAll(/\$\{[^}]*\}|\$[A-Za-z_]\w*/g)].map((m) => m[0])
    expect(subs.length).toBeGreaterThan(0)
    // Every substitution has a default: `docker compose up` needs no .env.
    for (const s of subs) expect(s).toMatch(/^\$\{[A-Z_][A-Z0-9_]*:-[^}]+\}$/)
    const host = { API_KEYS: 'host-read-key-1,host-read-key-2', ADMIN_API_KEYS: 'host-admin-key-1' }
    const fromHost = loadCompose(host)
    for (const name of ['api', 'scheduler']) {
      const config = loadConfig(environment(service(name, fromHost)))
      expect(config.apiKeys).toEqual(['host-read-key-1', 'host-read-key-2'])
      expect(config.adminApiKeys).toEqual(['host-admin-key-1'])
    }
    const defaults = loadConfig(apiEnv)
    expect(defaults.apiKeys.some((k) => defaults.adminApiKeys.includes(k))).toBe(false)
  })
})

describe('Dockerfile and .dockerignore', () => {
  it('is one Node 20 image whose default command is the API', () => {
    expect(ops('FROM')).toHaveLength(1)
    expect(ops('FROM')[0]?.args).toMatch(/^node:20(\.\d+)*-bookworm-slim$/)
    expect(JSON.parse(ops('CMD').at(-1)?.args ?? 'null')).toEqual(command(service('api')))
    expect(ops('EXPOSE').map((i) => Number(i.args))).toContain(3000)
  })

  it('copies everything the commands run', () => {
    const needed = new Set([
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'src',
      'wrangler-free-config',
    ])
    // The entry point of every command (bin/acp.js → bin) and what it imports (../src/entry/cli.ts → src).
    for (const name of ACP_SERVICES) {
      const entry = command(service(name))[1] ?? ''
      needed.add(entry.split('/')[0] ?? '')
      for (const m of read(entry).matchAll(/import\(['"]\.\.\/([^/'"]+)/g)) needed.add(m[1] ?? '')
    }
    for (const path of needed) {
      // Where the commands look for it (relative to WORKDIR, their working directory) is where it was copied.
      expect(copyOf(path)?.source, `COPY ${path} into ${posix.resolve(workdir, path)}`).toBe(path)
      expect(existsSync(join(ROOT, path)), path).toBe(true)
    }
    const dataDir = String(invocation('athena').options['--data-dir'])
    const user = ops('USER').at(-1)?.args ?? ''
    expect(
      ops('RUN').some((r) => new RegExp(`chown\\s+${user}(:\\S+)?\\s+.*${dataDir}`).test(r.args)),
      `${dataDir} writable by ${user}`,
    ).toBe(true)
  })

  it('installs the runtime dependencies only, from the lockfile, before the sources', () => {
    const ciIndex = instructions.findIndex((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args))
    expect(ciIndex).toBeGreaterThan(0)
    expect(instructions[ciIndex]?.args).toMatch(/--omit=dev\b/)
    // npm ci runs in WORKDIR on the lockfile copied before it; the sources come after (a change keeps the layer).
    expect(workdirAt(ciIndex)).toBe(workdir)
    expect(copyOf('package-lock.json')?.index).toBeLessThan(ciIndex)
    expect(copyOf('package.json')?.index).toBeLessThan(ciIndex)
    expect(copyOf('src')?.index).toBeGreaterThan(ciIndex)
  })

  it('the sources import nothing that --omit=dev leaves out', () => {
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> }
    const files = (dir: string): string[] =>
      readdirSync(join(ROOT, dir)).flatMap((f) =>
        statSync(join(ROOT, dir, f)).isDirectory() ? files(`${dir}/${f}`) : [`${dir}/${f}`],
      )
    const imported = new Set<string>()
    // What the Dockerfile copies: the emulators in local/ run in the image too.
    const sources = [...files('src'), ...files('local'), ...files('bin')].filter((f) => /\.(ts|js)$/.test(f))
    for (const file of sources) {
      const text = read(file)
      const specifiers = [
        ...[...text.matchAll(/^\s*(?:import|export)\s+(?!type\s)[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1]),
        ...[...text.matchAll(/^\s*import\s+'([^']+)'/gm)].map((m) => m[1]),
        ...[...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)].map((m) => m[1]),
      ]
      for (const s of specifiers) {
        if (!s || s.startsWith('.') || s.startsWith('node:')) continue
        const parts = s.split('/')
        imported.add(s.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? s))
      }
    }
    expect(imported).toContain('tsx')
    expect(imported).toContain('@duckdb/node-api')
    expect([...imported].filter((p) => !(p in pkg.dependencies))).toEqual([])
    // DuckDB's native binding for the image's platform (glibc Linux) is a production package of the lockfile.
    const lock = JSON.parse(read('package-lock.json')) as {
      packages: Record<string, { dev?: boolean; libc?: string[] }>
    }
    for (const arch of ['x64', 'arm64']) {
      const binding = lock.packages[`node_modules/@duckdb/node-bindings-linux-${arch}`]
      expect(binding, arch).toBeDefined()
      expect(binding?.dev).not.toBe(true)
      expect(binding?.libc ?? ['glibc']).toContain('glibc')
    }
  })

  it('runs as a non-root user', () => {
    const user = ops('USER').at(-1)?.args.split(':')[0]
    expect(user).toBeDefined()
    expect(['root', '0']).not.toContain(user)
    const userIndex = instructions.findIndex((i) => i.op === 'USER' && i.args.split(':')[0] === user)
    expect(instructions.findIndex((i) => i.op === 'CMD')).toBeGreaterThan(userIndex)
  })

  it('.dockerignore keeps host artefacts out and everything copied in', () => {
    const patterns = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))
    const toRegExp = (p: string) =>
      new RegExp(
        `^${p
          .replace(/^\//, '')
          .replace(/[.+^$()|[\]{}]/g, '\\$&')
          .replace(/\*/g, '[^/]*')
          .replace(/\?/g, '[^/]')}(/.*)?$`,
      )
    const ignored = (path: string) => {
      let out = false
      for (const p of patterns) if (toRegExp(p.replace(/^!/, '')).test(path)) out = !p.startsWith('!')
      return out
    }
    // A host node_modules would replace the image's (another platform's DuckDB binding, dev packages).
    for (const path of ['node_modules', 'data', '.git', 'dist', 'coverage', '.bench'])
      expect(ignored(path), path).toBe(true)
    expect(copies.length).toBeGreaterThan(0)
    for (const { source } of copies) expect(ignored(source), source).toBe(false)
  })
})

// Child-process helpers for multi-process tests and benchmarks: `acp local-athena`, `acp serve`, their control
// routes, and a registry that stops every child this process started (also when a test or a benchmark fails).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { cpus } from 'node:os'
import { AthenaClient, ListQueryExecutionsCommand } from '@aws-sdk/client-athena'
import { freePort } from './redis-server.ts'

/** Where the repository root is: `bin/acp.js` is resolved against the current directory, as `npm` scripts do. */
const ACP = 'bin/acp.js'
/** Output kept in memory per child (the tail), for error messages. */
const OUTPUT_LIMIT = 256 * 1024

/** True when children can be pinned to a CPU (taskset exists and there are at least two CPUs). */
export const CAN_PIN = cpus().length >= 2 && spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0

/** Pins a running process (all its threads) to one CPU, when pinning is possible. */
export function pinPid(pid: number, cpu: number): void {
  if (CAN_PIN) spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' })
}

export interface Child {
  name: string
  process: ChildProcess
  /** The tail of stdout + stderr (empty when the output goes to a file). */
  output(): string
  /** True once the process has exited. */
  exited(): boolean
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>
  /** SIGKILL; resolves when the process is gone. */
  kill(): Promise<void>
}

const live = new Set<ChildProcess>()
let exitHookInstalled = false

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  // Last resort: a runner that exits without running its cleanup must not leave servers behind.
  process.once('exit', () => {
    for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

/**
 * Spawns `node <args>` (pinned to `cpu` with taskset when possible). Output is kept in memory, or written to
 * `logFile` (a file costs this process nothing: use it when this process is the load generator).
 */
export function startChild(
  name: string,
  args: string[],
  env: Record<string, string>,
  options: { cpu?: number; logFile?: string } = {},
): Child {
  installExitHook()
  const [command, argv] =
    options.cpu !== undefined && CAN_PIN
      ? ['taskset', ['-c', String(options.cpu), process.execPath, ...args]]
      : [process.execPath, args]
  let output = ''
  let child: ChildProcess
  if (options.logFile) {
    const fd = openSync(options.logFile, 'w')
    child = spawn(command, argv, { env: { ...process.env, ...env }, stdio: ['ignore', fd, fd] })
    closeSync(fd)
  } else {
    child = spawn(command, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    const append = (d: Buffer) => {
      output += d.toString()
      if (output.length > OUTPUT_LIMIT * 2) output = output.slice(-OUTPUT_LIMIT)
    }
    child.stdout?.on('data', append)
    child.stderr?.on('data', append)
  }
  live.add(child)
  child.once('exit', () => live.delete(child))
  const exited = () => child.exitCode !== null || child.signalCode !== null
  return {
    name,
    process: child,
    output: () => output,
    exited,
    async stop(graceMs = 5_000) {
      if (exited()) return
      const gone = waitExit(child)
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await gone
      clearTimeout(timer)
    },
    async kill() {
      if (exited()) return
      const gone = waitExit(child)
      child.kill('SIGKILL')
      await gone
    },
  }
}

/** Stops every child still running (SIGTERM, then SIGKILL). */
export async function stopAllChildren(graceMs = 3_000): Promise<void> {
  await Promise.all(
    [...live].map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const gone = waitExit(child)
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await gone
      clearTimeout(timer)
    }),
  )
}

export interface LocalAthenaProcess extends Child {
  endpoint: string
  port: number
}

/** Starts `acp local-athena` on a free port and resolves once it prints its endpoint. */
export async function startLocalAthenaProcess(options: {
  dataDir: string
  minQueryMs?: number
  /** `--sample-data`: the last 91 days, or with `sampleStart` the 91 days from that date (`--sample-start`). */
  sampleData?: boolean
  sampleStart?: string
  cpu?: number
  logFile?: string
  timeoutMs?: number
}): Promise<LocalAthenaProcess> {
  const port = await freePort()
  const args = [ACP, 'local-athena', '--port', String(port), '--data-dir', options.dataDir]
  args.push('--min-query-ms', String(options.minQueryMs ?? 0))
  if (options.sampleData) args.push('--sample-data')
  if (options.sampleStart !== undefined) args.push('--sample-start', options.sampleStart)
  const child = startChild(
    'local-athena',
    args,
    {},
    {
      ...(options.cpu !== undefined ? { cpu: options.cpu } : {}),
      ...(options.logFile ? { logFile: options.logFile } : {}),
    },
  )
  const endpoint = `http://127.0.0.1:${port}`
  // Readiness: the control route answers (works whether the output is piped or written to a file).
  await waitUntil(async () => (await fetch(`${endpoint}/_local/health`)).ok, {
    timeoutMs: options.timeoutMs ?? 120_000,
    what: `local Athena on port ${port}`,
    child,
  })
  return { ...child, endpoint, port }
}

export interface ServeProcess extends Child {
  url: string
  port: number
}

/** The environment of an `acp serve` talking to a standalone local Athena endpoint and a shared Redis. */
export function serveEnv(options: {
  redisUrl: string
  prefix: string
  athenaEndpoint: string
  dataDir: string
  extra?: Record<string, string>
}): Record<string, string> {
  return {
    REDIS_URL: options.redisUrl,
    CACHE_PREFIX: options.prefix,
    QUERY_ENGINE: 'athena',
    ATHENA_ENDPOINT: options.athenaEndpoint,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_REGION: 'us-east-1',
    DATA_DIR: options.dataDir,
    // Scheduled prewarms fire on the wall clock (every quarter hour): tests that count executions must not meet one.
    // Tests of the schedules turn them back on through `extra`.
    PREWARM_SCHEDULES: 'off',
    ...options.extra,
  }
}

/**
 * Starts `acp serve` on a free port (PORT, HOST set here) and resolves once `/health` answers. A port found free can
 * be taken before the server binds it (the server's own embedded endpoints listen on ephemeral ports first): on
 * EADDRINUSE it retries on another port.
 */
export async function startServeProcess(
  env: Record<string, string>,
  options: { name?: string; cpu?: number; logFile?: string; timeoutMs?: number } = {},
): Promise<ServeProcess> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    const child = startChild(
      options.name ?? 'serve',
      [ACP, 'serve'],
      { ...env, PORT: String(port), HOST: '127.0.0.1' },
      {
        ...(options.cpu !== undefined ? { cpu: options.cpu } : {}),
        ...(options.logFile ? { logFile: options.logFile } : {}),
      },
    )
    const url = `http://127.0.0.1:${port}`
    try {
      await waitUntil(async () => (await fetch(`${url}/health`)).ok, {
        timeoutMs: options.timeoutMs ?? 60_000,
        what: `acp serve on port ${port}`,
        child,
      })
      return { ...child, url, port }
    } catch (err) {
      if (attempt >= 3 || !String((err as Error).message).includes('EADDRINUSE')) throw err
    }
  }
}

/** Polls `check` (exceptions count as "not yet") until it is true; fails with the child's output on timeout. */
export async function waitUntil(
  check: () => Promise<boolean>,
  options: { timeoutMs: number; what: string; child?: Child; intervalMs?: number },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs
  for (;;) {
    if (options.child?.exited())
      throw new Error(`${options.what}: process exited early\n${options.child.output()}`)
    try {
      if (await check()) return
    } catch {
      // not yet
    }
    if (Date.now() > deadline)
      throw new Error(
        `${options.what}: not ready after ${options.timeoutMs} ms\n${options.child?.output() ?? ''}`,
      )
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100))
  }
}

export interface LocalStats {
  calls: Record<string, number>
  executionsStarted: number
  statusCallsByExecution: Record<string, number>
}

/** `GET /_local/stats` of a local Athena endpoint. */
export async function localStats(endpoint: string): Promise<LocalStats> {
  const res = await fetch(`${endpoint}/_local/stats`)
  if (!res.ok) throw new Error(`GET /_local/stats: ${res.status}`)
  return (await res.json()) as LocalStats
}

/** POSTs a JSON body to a local Athena control route (`/_local/faults`, `/_local/config`, …). */
export async function localControl(endpoint: string, path: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${endpoint}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const json = (await res.json()) as unknown
  if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(json)}`)
  return json
}

/** The ids of every execution of a work group, through the real AWS SDK (ListQueryExecutions, paginated). */
export async function listExecutionIds(endpoint: string, workGroup = 'primary'): Promise<string[]> {
  const client = new AthenaClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  })
  try {
    const ids: string[] = []
    let token: string | undefined
    do {
      const page = await client.send(
        new ListQueryExecutionsCommand({ WorkGroup: workGroup, MaxResults: 50, NextToken: token }),
      )
      ids.push(...(page.QueryExecutionIds ?? []))
      token = page.NextToken
    } while (token)
    return ids
  } finally {
    client.destroy()
  }
}

/** Runs `task` over `items` with at most `limit` in flight; results keep the order of `items`. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const worker = async () => {
    for (;;) {
      const i = next++
      if (i >= items.length) return
      results[i] = await task(items[i] as T, i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

export interface NodeRun {
  /** Exit code (null when killed by a signal). */
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  durationMs: number
}

/**
 * Runs `node <args>` to completion and collects its output: the environment is this process's with `env` over it
 * (an `undefined` value removes a variable). SIGKILLed after `timeoutMs`; registered like every child, so a failing
 * test never leaves one behind.
 */
export function runNode(
  args: string[],
  env: Record<string, string | undefined>,
  options: { timeoutMs?: number } = {},
): Promise<NodeRun> {
  installExitHook()
  const merged: Record<string, string> = {}
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) merged[k] = v
  const t0 = performance.now()
  const child = spawn(process.execPath, args, { env: merged, stdio: ['ignore', 'pipe', 'pipe'] })
  live.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString()
  })
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000)
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      live.delete(child)
      resolve({ code, signal, stdout, stderr, durationMs: performance.now() - t0 })
    })
  })
}

/** Runs one `acp` command (`bin/acp.js`, through tsx) to completion; see `runNode`. */
export function runAcp(
  args: string[],
  env: Record<string, string | undefined>,
  options: { timeoutMs?: number } = {},
): Promise<NodeRun> {
  return runNode([ACP, ...args], env, options)
}

// Child processes of the benchmarks that start servers beside themselves (large-results.ts, tenancy.ts): each writes
// its output to `.bench/<name>.log` (piping it through the benchmark would spend the load generator's CPU), and all
// are remembered so the benchmark can stop them, however it ends.
import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'

export const OUT_DIR = '.bench'

/** Every child started so far. */
export const children: ChildProcess[] = []

/** Starts `node <args>` with `env` added to this process's environment. */
export function start(name: string, args: string[], env: Record<string, string>): ChildProcess {
  const fd = openSync(`${OUT_DIR}/${name}.log`, 'w')
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', fd, fd] })
  closeSync(fd)
  children.push(child)
  return child
}

/** Resolves once `url` answers below 500; throws past `timeoutMs`. */
export async function waitFor(url: string, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      if ((await fetch(url)).status < 500) return
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not come up`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

import { execFile } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import pLimit from 'p-limit'

const run = promisify(execFile)

function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, command)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not in this directory
    }
  }
  return undefined
}

/** The AWS CLI's executable, or undefined when it is not installed (the tests that need it are skipped). */
export const AWS_CLI: string | undefined = onPath('aws')

/** Why the CLI tests are skipped, for their titles and the log; undefined when they run. */
export const AWS_CLI_SKIP_REASON: string | undefined = AWS_CLI
  ? undefined
  : 'skipped: the AWS CLI (`aws`) is not on PATH (install Debian `awscli` to run it)'

if (AWS_CLI_SKIP_REASON) console.warn(`AWS CLI compatibility tests ${AWS_CLI_SKIP_REASON}`)

/**
 * At most two CLI processes at a time in this process: each spends 0.5–1 s of CPU starting Python and botocore,
 * and the machine has two cores.
 */
const cliSlots = pLimit(2)

/** How a CLI command that was expected to fail ended. */
export interface CliFailure {
  exitCode: number
  stderr: string
}

/** The AWS CLI pointed at one local endpoint, with a configuration of its own. */
export interface AwsCli {
  /**
   * Runs `aws <args> --endpoint-url <endpoint> --output json` and parses its output. The type is not checked: the
   * tests assert the shape they read.
   */
  json<T>(...args: string[]): Promise<T>
  /** Runs `aws <args> --endpoint-url <endpoint>` and returns stdout as it is (`aws s3 cp … -`). */
  text(...args: string[]): Promise<string>
  /** Runs a command that must fail and returns its exit code and stderr (a success fails the test). */
  failure(...args: string[]): Promise<CliFailure>
  /** How many CLI processes were started. */
  calls(): number
  /** Removes the configuration directory. */
  close(): Promise<void>
}

/**
 * Prepares the AWS CLI for `endpoint`: dummy credentials, region us-east-1, no pager, and empty config and
 * credentials files of its own, so nothing of the developer's ~/.aws is read or changed.
 */
export async function createAwsCli(
  endpoint: string,
  options: { s3AddressingStyle?: 'path' | 'virtual' } = {},
): Promise<AwsCli> {
  const executable = AWS_CLI
  if (!executable) throw new Error('the AWS CLI is not installed')
  const dir = await mkdtemp(path.join(tmpdir(), 'acp-compat-aws-cli-'))
  const configFile = path.join(dir, 'config')
  const credentialsFile = path.join(dir, 'credentials')
  await writeFile(
    configFile,
    options.s3AddressingStyle ? `[default]\ns3 =\n    addressing_style = ${options.s3AddressingStyle}\n` : '',
  )
  await writeFile(credentialsFile, '')
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')))
  const env: NodeJS.ProcessEnv = {
    ...inherited,
    AWS_CONFIG_FILE: configFile,
    AWS_SHARED_CREDENTIALS_FILE: credentialsFile,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_PAGER: '',
  }
  let calls = 0
  const exec = (args: string[]) =>
    cliSlots(() => {
      calls++
      return run(executable, [...args, '--endpoint-url', endpoint], {
        env,
        timeout: 60_000,
        maxBuffer: 64 * 1024 * 1024,
      })
    })

  return {
    async json<T>(...args: string[]) {
      const { stdout } = await exec([...args, '--output', 'json'])
      return (stdout.trim() === '' ? null : JSON.parse(stdout)) as T
    },
    async text(...args: string[]) {
      return (await exec(args)).stdout
    },
    async failure(...args: string[]) {
      try {
        await exec([...args, '--output', 'json'])
      } catch (err) {
        const e = err as { code?: unknown; stderr?: unknown }
        if (typeof e.code !== 'number') throw err
        return { exitCode: e.code, stderr: String(e.stderr ?? '') }
      }
      throw new Error(`expected \`aws ${args.join(' ')}\` to fail`)
    },
    calls: () => calls,
    close: () => rm(dir, { recursive: true, force: true }),
  }
}

import { execFile } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LocalS3Stack, type RunResult, startLocalS3Stack } from './support/local-s3-stack.ts'

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

const AWS = onPath('aws')
if (!AWS) console.warn('test/local/local-s3-aws-cli skipped: the AWS CLI (`aws`) is not on PATH')

describe.skipIf(!AWS)('the AWS CLI against the local S3', () => {
  let f: LocalS3Stack
  let r: RunResult
  let sdkBytes: Buffer
  let dir: string
  let env: NodeJS.ProcessEnv

  const aws = async (...args: string[]) => {
    const { stdout } = await run(AWS ?? 'aws', [...args, '--endpoint-url', f.local.endpoint], {
      env,
      timeout: 60_000,
      maxBuffer: 64 * 1024 * 1024,
    })
    return stdout
  }

  beforeAll(async () => {
    f = await startLocalS3Stack()
    r = await f.run(`SELECT i AS n, 'a "quoted", value' AS v FROM range(100) t(i) ORDER BY i`)
    sdkBytes = await f.object(r.bucket, r.key)
    dir = await mkdtemp(path.join(tmpdir(), 'acp-aws-cli-'))
    // An isolated CLI configuration: nothing of the developer's ~/.aws is read or changed.
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')))
    env = {
      ...inherited,
      AWS_CONFIG_FILE: path.join(dir, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'credentials'),
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_PAGER: '',
    }
    await run(AWS ?? 'aws', ['configure', 'set', 'default.s3.addressing_style', 'path'], { env })
  }, 120_000)

  afterAll(async () => {
    await f?.close()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('lists objects (list-objects-v2, and `aws s3 ls` with its delimiter)', async () => {
    const listed = JSON.parse(
      await aws('s3api', 'list-objects-v2', '--bucket', r.bucket, '--prefix', 'athena/'),
    )
    const keys = (listed.Contents as { Key: string }[]).map((c) => c.Key)
    expect(keys).toEqual(expect.arrayContaining([r.key, `${r.key}.metadata`]))
    const ls = await aws('s3', 'ls', `s3://${r.bucket}/`)
    expect(ls).toContain('PRE athena/')
    const files = await aws('s3', 'ls', `s3://${r.bucket}/athena/`)
    expect(files).toContain(`${sdkBytes.length} ${r.id}.csv`)
  })

  it('downloads the CSV, whole and by range, byte for byte what the SDK gets', async () => {
    const out = path.join(dir, 'whole.csv')
    const meta = JSON.parse(await aws('s3api', 'get-object', '--bucket', r.bucket, '--key', r.key, out))
    expect(meta).toMatchObject({ ContentLength: sdkBytes.length, ContentType: 'text/csv' })
    expect((await readFile(out)).equals(sdkBytes)).toBe(true)
    const part = path.join(dir, 'part.csv')
    const ranged = JSON.parse(
      await aws('s3api', 'get-object', '--bucket', r.bucket, '--key', r.key, '--range', 'bytes=4-15', part),
    )
    expect(ranged.ContentRange).toBe(`bytes 4-15/${sdkBytes.length}`)
    expect((await readFile(part)).equals(sdkBytes.subarray(4, 16))).toBe(true)
    const head = JSON.parse(await aws('s3api', 'head-object', '--bucket', r.bucket, '--key', r.key))
    expect(head.ETag).toBe(meta.ETag)
    const copied = path.join(dir, 'copied.csv')
    await aws('s3', 'cp', `s3://${r.bucket}/${r.key}`, copied)
    expect((await readFile(copied)).equals(sdkBytes)).toBe(true)
  })

  it('reports NoSuchKey', async () => {
    const failure = await aws(
      's3api',
      'get-object',
      '--bucket',
      r.bucket,
      '--key',
      'athena/none.csv',
      path.join(dir, 'x'),
    )
      .then(() => undefined)
      .catch((err: unknown) => err as { code?: number; stderr?: string })
    expect(failure?.code).not.toBe(0)
    expect(failure?.stderr).toContain('NoSuchKey')
  })
})

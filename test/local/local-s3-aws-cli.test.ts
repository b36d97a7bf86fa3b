import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AWS_CLI, type AwsCli, createAwsCli } from '../helpers/compat-aws-cli.ts'
import { type LocalS3Stack, type RunResult, startLocalS3Stack } from './support/local-s3-stack.ts'

describe.skipIf(!AWS_CLI)('the AWS CLI against the local S3', () => {
  let f: LocalS3Stack
  let r: RunResult
  let sdkBytes: Buffer
  let dir: string
  let cli: AwsCli | undefined

  const aws = (...args: string[]) => {
    if (!cli) throw new Error('the AWS CLI was not prepared')
    return cli.text(...args)
  }

  beforeAll(async () => {
    f = await startLocalS3Stack()
    r = await f.run(`SELECT i AS n, 'a "quoted", value' AS v FROM range(100) t(i) ORDER BY i`)
    sdkBytes = await f.object(r.bucket, r.key)
    dir = await mkdtemp(path.join(tmpdir(), 'acp-aws-cli-'))
    // An isolated CLI configuration (nothing of the developer's ~/.aws is read or changed), path-style S3.
    cli = await createAwsCli(f.local.endpoint, { s3AddressingStyle: 'path' })
  }, 120_000)

  afterAll(async () => {
    await f?.close()
    await cli?.close()
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

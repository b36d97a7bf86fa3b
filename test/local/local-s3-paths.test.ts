import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { GetObjectCommand, ListObjectsV2Command, NoSuchKey } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rawHttp } from '../helpers/raw-http.ts'
import { rejection } from '../helpers/rejection.ts'
import { type LocalS3Stack, startLocalS3Stack } from './support/local-s3-stack.ts'

const SECRET = 'TOP-SECRET-never-served'
let f: LocalS3Stack
let parent: string
let bucketDir: string

beforeAll(async () => {
  // <parent>/results is the results dir; <parent>/secret.txt and <results>/acp-local-results-evil/ are what a
  // traversal would reach.
  parent = await mkdtemp(path.join(tmpdir(), 'acp-s3-paths-'))
  const resultsDir = path.join(parent, 'results')
  f = await startLocalS3Stack({ resultsDir })
  bucketDir = path.join(f.local.resultsDir, 'acp-local-results')
  await writeFile(path.join(parent, 'secret.txt'), SECRET)
  await mkdir(path.join(f.local.resultsDir, 'acp-local-results-evil'), { recursive: true })
  await writeFile(path.join(f.local.resultsDir, 'acp-local-results-evil', 'secret.csv'), SECRET)
  await mkdir(path.join(bucketDir, 'links'), { recursive: true })
  await symlink(path.join(parent, 'secret.txt'), path.join(bucketDir, 'links', 'to-secret.csv'))
  await symlink(parent, path.join(bucketDir, 'links', 'to-parent'))
  await mkdir(path.join(bucketDir, 'odd names'), { recursive: true })
  await writeFile(path.join(bucketDir, 'odd names', 'a b+ü&=?.csv'), 'odd')
})

afterAll(async () => {
  await f?.close()
  if (parent) await rm(parent, { recursive: true, force: true })
})

async function rawGet(target: string): Promise<{ status: number; text: string }> {
  const answer = await rawHttp(
    f.local.port,
    `GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
  )
  return { status: Number(answer.split(' ')[1]), text: answer }
}

describe('keys that would leave the results directory', () => {
  const attempts = [
    '/acp-local-results/../secret.txt',
    '/acp-local-results/../../secret.txt',
    '/acp-local-results/..%2f..%2fsecret.txt',
    '/acp-local-results/..%2F..%2Fsecret.txt',
    '/acp-local-results/%2e%2e/%2e%2e/secret.txt',
    '/acp-local-results/athena/%2e%2e%2f%2e%2e%2f%2e%2e%2fsecret.txt',
    '/acp-local-results/..%2facp-local-results-evil%2fsecret.csv',
    '/acp-local-results/%2fetc%2fpasswd',
    '/acp-local-results//etc/passwd',
    '/acp-local-results/%2F..%2F..%2Fsecret.txt',
    '/acp-local-results/x%00.csv',
    '/acp-local-results/..%5c..%5csecret.txt',
    '/acp-local-results/links/to-secret.csv',
    '/acp-local-results/links/to-parent/secret.txt',
    '/%2e%2e/secret.txt',
    '/..%2fsecret.txt',
    '/..%2f..%2f..%2fetc/passwd',
    '/acp-local-results/%E0%A4%A',
  ]

  it.each(attempts)('%s is a 4xx that reads nothing', async (target) => {
    const { status, text } = await rawGet(target)
    expect([400, 404]).toContain(status)
    expect(text).not.toContain(SECRET)
    expect(text).not.toContain('root:')
    expect(text.toLowerCase()).toContain('x-amz-request-id')
  })

  it('answers NoSuchKey through the SDK, which sends such keys encoded', async () => {
    for (const key of [
      '../../secret.txt',
      '../acp-local-results-evil/secret.csv',
      'links/to-secret.csv',
      '/etc/passwd',
    ]) {
      const err = await rejection(() =>
        f.s3.send(new GetObjectCommand({ Bucket: 'acp-local-results', Key: key })),
      )
      expect(err, key).toBeInstanceOf(NoSuchKey)
    }
  })

  it('lists nothing outside the bucket and skips symlinks', async () => {
    for (const prefix of ['../', '../../', '/', 'links/to-parent/']) {
      const out = await f.s3.send(new ListObjectsV2Command({ Bucket: 'acp-local-results', Prefix: prefix }))
      expect(out.KeyCount, prefix).toBe(0)
    }
    const links = await f.s3.send(new ListObjectsV2Command({ Bucket: 'acp-local-results', Prefix: 'links/' }))
    expect(links.KeyCount).toBe(0)
  })
})

describe('key decoding', () => {
  it('URL-decodes keys as S3 does (a + stays a +)', async () => {
    const key = 'odd names/a b+ü&=?.csv'
    expect((await f.object('acp-local-results', key)).toString()).toBe('odd')
    const listed = await f.s3.send(
      new ListObjectsV2Command({ Bucket: 'acp-local-results', Prefix: 'odd names/' }),
    )
    expect(listed.Contents?.map((c) => c.Key)).toEqual([key])
    const raw = await fetch(`${f.local.endpoint}/acp-local-results/odd%20names/a%20b%2B%C3%BC%26%3D%3F.csv`)
    expect(await raw.text()).toBe('odd')
  })
})

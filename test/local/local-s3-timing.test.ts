import { GetQueryExecutionCommand } from '@aws-sdk/client-athena'
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LocalS3Stack, startLocalS3Stack } from './support/local-s3-stack.ts'

let f: LocalS3Stack

beforeAll(async () => {
  f = await startLocalS3Stack({ requestLatencyMs: 150 })
})

afterAll(async () => {
  await f?.close()
})

async function elapsedMs(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now()
  await fn()
  return performance.now() - t0
}

describe('request latency injection', () => {
  it('delays every Athena call and every S3 request alike, never the control routes', async () => {
    const config = async () => (await fetch(`${f.local.endpoint}/_local/config`)).json()
    expect(await config()).toEqual({ minQueryMs: 0, requestLatencyMs: 150 })
    const r = await f.run('SELECT 1 AS one')
    const set = await fetch(`${f.local.endpoint}/_local/config`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requestLatencyMs: 600 }),
    })
    expect(await set.json()).toEqual({ minQueryMs: 0, requestLatencyMs: 600 })

    const athena = await elapsedMs(() =>
      f.athena.send(new GetQueryExecutionCommand({ QueryExecutionId: r.id })),
    )
    const get = await elapsedMs(async () => {
      const out = await f.s3.send(new GetObjectCommand({ Bucket: r.bucket, Key: r.key }))
      await out.Body?.transformToString()
    })
    const head = await elapsedMs(() => f.s3.send(new HeadObjectCommand({ Bucket: r.bucket, Key: r.key })))
    const control = await elapsedMs(() =>
      fetch(`${f.local.endpoint}/_local/health`).then((res) => res.json()),
    )
    expect(athena).toBeGreaterThanOrEqual(590)
    expect(get).toBeGreaterThanOrEqual(590)
    expect(head).toBeGreaterThanOrEqual(590)
    expect(control).toBeLessThan(590)

    f.local.setRequestLatencyMs(0)
    expect(await config()).toEqual({ minQueryMs: 0, requestLatencyMs: 0 })
    const bad = await fetch(`${f.local.endpoint}/_local/config`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requestLatencyMs: -1 }),
    })
    expect(bad.status).toBe(400)
  })
})

describe('a million-row result file', () => {
  it('is written streaming before SUCCEEDED and read back streaming through the SDK', {
    timeout: 180_000,
  }, async () => {
    const rows = 1_000_000
    const t0 = performance.now()
    const r = await f.run(`
      SELECT i AS id, 'name-' || CAST(i AS VARCHAR) AS name, i * 1.5 AS score, i % 2 = 0 AS even,
        TIMESTAMP '2024-01-01 00:00:00' + INTERVAL (i) SECOND AS ts,
        CASE WHEN i % 10 = 0 THEN NULL ELSE 'x"y,z' END AS note
      FROM range(${rows}) t(i)`)
    const queryMs = performance.now() - t0

    const t1 = performance.now()
    const out = await f.s3.send(new GetObjectCommand({ Bucket: r.bucket, Key: r.key }))
    let bytes = 0
    let lines = 0
    let last = 0
    for await (const chunk of out.Body as AsyncIterable<Uint8Array>) {
      bytes += chunk.length
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++
      last = chunk[chunk.length - 1] ?? last
    }
    const getMs = performance.now() - t1
    console.log(
      `1M rows x 6 columns: ${(bytes / 1e6).toFixed(1)} MB; start → SUCCEEDED (query, render, write) ${Math.round(queryMs)} ms ` +
        `(engine ${r.execution.Statistics?.EngineExecutionTimeInMillis} ms); GetObject streamed in ${Math.round(getMs)} ms`,
    )
    expect(bytes).toBe(out.ContentLength)
    expect(lines).toBe(rows + 1)
    expect(last).toBe(10)
    // Generous bounds: the figures that matter are logged above; these catch a regression to whole-file strings.
    expect(queryMs).toBeLessThan(60_000)
    expect(getMs).toBeLessThan(30_000)
  })
})

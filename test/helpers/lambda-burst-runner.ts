// One Lambda container (src/entry/lambda.ts, in a process of its own) taking part in a burst of events, as
// lambda-runner.ts does for single invocations. Usage:
//   node --import tsx test/helpers/lambda-burst-runner.ts '<JSON array of items>'
// An item is {"handler": "handler" | "streamingHandler", "event": …}, invoked in order, or {"waitForKey": "<key>"},
// which waits (60 s at most) until the key exists in REDIS_URL's Redis: a container joins a burst only once another
// has opened its window, whatever the time each process took to start. The last stdout line is
//   RESULTS <JSON array: {returned} | {threw} for invocations, the streamed body parsed as JSON for streamingHandler,
//   {waitedMs} for waits>
import type { LambdaContext } from 'hono/aws-lambda'
import { Redis } from 'ioredis'
import { installLambdaStreamRuntime, invokeStreaming } from './lambda-stream-runtime.ts'

type Item = { handler: 'handler' | 'streamingHandler'; event: unknown } | { waitForKey: string }

const items = JSON.parse(process.argv[2] ?? '[]') as Item[]
installLambdaStreamRuntime()
const lambda = await import('../../src/entry/lambda.ts')
const context = {
  functionName: 'athena-cache-proxy',
  awsRequestId: 'local-burst',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as LambdaContext

const WAIT_DEADLINE_MS = 60_000
const results: unknown[] = []
for (const item of items) {
  if ('waitForKey' in item) {
    const redis = new Redis(process.env.REDIS_URL ?? '', { maxRetriesPerRequest: 1 })
    const t0 = Date.now()
    while ((await redis.exists(item.waitForKey)) === 0) {
      if (Date.now() - t0 > WAIT_DEADLINE_MS) throw new Error(`${item.waitForKey} never appeared`)
      await new Promise((r) => setTimeout(r, 20))
    }
    redis.disconnect()
    results.push({ waitedMs: Date.now() - t0 })
    continue
  }
  if (item.handler === 'streamingHandler') {
    const streamed = await invokeStreaming(lambda.streamingHandler, item.event, context)
    const body = Buffer.from(streamed.bodyBase64, 'base64').toString('utf8')
    results.push({
      streamed: { contentType: streamed.contentType, ended: streamed.ended, body: JSON.parse(body) },
    })
    continue
  }
  try {
    results.push({ returned: await lambda.handler(item.event, context) })
  } catch (err) {
    results.push({ threw: (err as Error).message })
  }
}
process.stdout.write(`\nRESULTS ${JSON.stringify(results)}\n`, () => process.exit(0))

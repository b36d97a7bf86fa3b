// Runs the Lambda handlers — the source module (src/entry/lambda.ts), or the built bundle when LAMBDA_MODULE names it —
// in a process of its own, so that its configuration (read from process.env once per module instance) and its module
// state belong to one test. Usage:
//   [LAMBDA_MODULE=dist/lambda/index.mjs] node --import tsx test/helpers/lambda-runner.ts '<JSON array of events>'
//   [LAMBDA_MODULE=…] node --import tsx test/helpers/lambda-runner.ts --invocations \
//     '<JSON array of {"handler": "handler" | "streamingHandler", "event": …}>'
// The first form invokes `handler` with each event. The events are handled in order by one module instance (a warm
// container), with the runtime's `awslambda` global installed before the module is loaded (lambda-stream-runtime.ts),
// as the Lambda runtime does; the last stdout line is
//   RESULTS <JSON array of {returned} | {threw} | {streamed: StreamedInvocation}>
// preceded by `EXPORTS <JSON {name: "function" | "streaming function"}>`, and the process exits (the handler keeps
// its Redis connection open, as a warm container does).
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { LambdaContext } from 'hono/aws-lambda'
import type { StreamingHandler } from '../../src/entry/awslambda.d.ts'
import {
  installLambdaStreamRuntime,
  invokeStreaming,
  isStreamingHandler,
  type StreamedInvocation,
} from './lambda-stream-runtime.ts'

type Handler = (event: unknown, context: LambdaContext) => Promise<unknown>
type Invocation = { handler: 'handler' | 'streamingHandler'; event: unknown }

const invocations: Invocation[] =
  process.argv[2] === '--invocations'
    ? (JSON.parse(process.argv[3] ?? '[]') as Invocation[])
    : (JSON.parse(process.argv[2] ?? '[]') as unknown[]).map((event) => ({ handler: 'handler', event }))

installLambdaStreamRuntime()
const module = (
  process.env.LAMBDA_MODULE
    ? await import(pathToFileURL(resolve(process.env.LAMBDA_MODULE)).href)
    : await import('../../src/entry/lambda.ts')
) as { handler: Handler; streamingHandler: StreamingHandler }
const context = {
  functionName: 'athena-cache-proxy',
  awsRequestId: 'local-test',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as LambdaContext

const exported = Object.fromEntries(
  Object.entries(module).map(([name, value]) => [
    name,
    isStreamingHandler(value) ? 'streaming function' : typeof value,
  ]),
)
process.stdout.write(`\nEXPORTS ${JSON.stringify(exported)}\n`)

const results: Array<{ returned: unknown } | { threw: string } | { streamed: StreamedInvocation }> = []
for (const { handler, event } of invocations) {
  if (handler === 'streamingHandler') {
    results.push({ streamed: await invokeStreaming(module.streamingHandler, event, context) })
    continue
  }
  try {
    results.push({ returned: await module.handler(event, context) })
  } catch (err) {
    results.push({ threw: (err as Error).message })
  }
}
// Exit once stdout has taken it all: a pipe is written asynchronously, and a streamed body can be megabytes.
process.stdout.write(`\nRESULTS ${JSON.stringify(results)}\n`, () => process.exit(0))

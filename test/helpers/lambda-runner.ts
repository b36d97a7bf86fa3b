// Runs a Lambda handler — the source one (src/entry/lambda.ts), or the built bundle when LAMBDA_MODULE names it — in
// a process of its own, so that its configuration (read from process.env once per module instance) and its module
// state belong to one test. Usage:
//   [LAMBDA_MODULE=dist/lambda/index.mjs] node --import tsx test/helpers/lambda-runner.ts '<JSON array of events>'
// The events are handled in order by one module instance (a warm container); the last stdout line is
//   RESULTS <JSON array of {returned} | {threw}>
// and the process exits (the handler keeps its Redis connection open, as a warm container does).
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { LambdaContext } from 'hono/aws-lambda'

type Handler = (event: unknown, context: LambdaContext) => Promise<unknown>

const events = JSON.parse(process.argv[2] ?? '[]') as unknown[]
const { handler } = (
  process.env.LAMBDA_MODULE
    ? await import(pathToFileURL(resolve(process.env.LAMBDA_MODULE)).href)
    : await import('../../src/entry/lambda.ts')
) as { handler: Handler }
const context = {
  functionName: 'athena-cache-proxy',
  awsRequestId: 'local-test',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as LambdaContext

const results: Array<{ returned: unknown } | { threw: string }> = []
for (const event of events) {
  try {
    results.push({ returned: await handler(event, context) })
  } catch (err) {
    results.push({ threw: (err as Error).message })
  }
}
process.stdout.write(`\nRESULTS ${JSON.stringify(results)}\n`)
process.exit(0)

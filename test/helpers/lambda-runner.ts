// Runs the source Lambda handler (src/entry/lambda.ts) in a process of its own, so that its configuration (read from
// process.env once per module instance) and its module state belong to one test. Usage:
//   node --import tsx test/helpers/lambda-runner.ts '<JSON array of events>'
// The events are handled in order by one module instance (a warm container); the last stdout line is
//   RESULTS <JSON array of {returned} | {threw}>
// and the process exits (the handler keeps its Redis connection open, as a warm container does).
import type { LambdaContext } from 'hono/aws-lambda'

const events = JSON.parse(process.argv[2] ?? '[]') as unknown[]
const { handler } = await import('../../src/entry/lambda.ts')
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

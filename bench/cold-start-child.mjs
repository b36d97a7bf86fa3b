// One Lambda cold start, timed from inside the process: import of the built handler, then its first request.
// Plain JavaScript so that no TypeScript loader is part of what is measured. Usage: node bench/cold-start-child.mjs
// <bundle> '<event JSON>'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const [bundle, eventJson] = process.argv.slice(2)
const t0 = performance.now()
const { handler } = await import(pathToFileURL(resolve(bundle)).href)
const t1 = performance.now()
const result = await handler(JSON.parse(eventJson), {
  awsRequestId: 'cold-start',
  functionName: 'athena-cache-proxy',
  getRemainingTimeInMillis: () => 30_000,
})
const t2 = performance.now()
process.stdout.write(
  `${JSON.stringify({ importMs: t1 - t0, firstRequestMs: t2 - t1, status: result.statusCode, cache: result.headers?.['x-cache'] ?? result.multiValueHeaders?.['x-cache']?.[0] })}\n`,
)
process.exit(0)

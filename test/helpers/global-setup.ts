import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { generateSampleData, hasData, REFERENCE_START } from '../../local/sample-data.ts'
import { buildUiIfStale } from '../../scripts/build-ui.ts'
import { provideRedis } from './redis-server.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string
    dataDir: string
  }
}

/** Rows of the shared test data set: the real generator at a size that keeps the suite fast. */
export const TEST_ROWS = 200_000

/** Provides one real Redis (started here only when none is running) and one sample data dir to every test file. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await provideRedis()
  process.stderr.write(`tests use Redis at ${redis.url} (${redis.source})\n`)
  project.provide('redisUrl', redis.url)
  // The fixed range 2024-01-01 … 2024-03-31 the tests' dates are written for. Deterministic data, so a directory
  // made by an earlier run is reused as is; the name carries the range (v1 directories had no marker file).
  const dataDir = join(tmpdir(), `acp-test-data-v3-${REFERENCE_START}-91d-${TEST_ROWS}`)
  if (!(await hasData(dataDir)))
    await generateSampleData({ dataDir, start: REFERENCE_START, days: 91, rows: TEST_ROWS })
  project.provide('dataDir', dataDir)
  // The pages `acp serve` serves (dist/ui), rebuilt when ui/ changed since: a test never sees a stale bundle.
  if (await buildUiIfStale()) process.stderr.write('built the pages into dist/ui\n')
  return () => redis.stop()
}

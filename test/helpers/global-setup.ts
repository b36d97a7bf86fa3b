import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { generateSampleData, hasData } from '../../local/sample-data.ts'
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
  // Deterministic data, so a directory made by an earlier run is reused as is.
  const dataDir = join(tmpdir(), `acp-test-data-v1-${TEST_ROWS}`)
  if (!(await hasData(dataDir))) await generateSampleData({ dataDir, rows: TEST_ROWS })
  project.provide('dataDir', dataDir)
  // The pages `acp serve` serves (dist/ui), rebuilt when ui/ changed since: a test never sees a stale bundle.
  if (await buildUiIfStale()) process.stderr.write('built the pages into dist/ui\n')
  return () => redis.stop()
}

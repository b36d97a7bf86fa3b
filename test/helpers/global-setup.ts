import type { TestProject } from 'vitest/node'
import { provideRedis } from './redis-server.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string
  }
}

/** Provides one real Redis to every test file, started here only when none is running. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await provideRedis()
  process.stderr.write(`tests use Redis at ${redis.url} (${redis.source})\n`)
  project.provide('redisUrl', redis.url)
  return () => redis.stop()
}

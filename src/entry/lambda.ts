import type { Hono } from 'hono'
import { handle } from 'hono/aws-lambda'
import { createApp } from '../app.ts'
import { buildDeps } from '../build-deps.ts'
import { loadConfig } from '../config/load-config.ts'
import { createLogger } from '../logger.ts'

// Built once per container on the first invocation and reused while the container is warm.
let honoHandler: ReturnType<typeof handle> | undefined

async function init(): Promise<ReturnType<typeof handle>> {
  const config = loadConfig(process.env, { defaultEngine: 'athena' })
  const logger = createLogger({ level: config.logLevel, sync: true })
  const deps = await buildDeps(config, { logger, logSync: true, background: 'detach' })
  return handle(createApp(deps) as unknown as Hono)
}

/** Lambda entry point (`index.handler`): API Gateway REST/HTTP API events. */
export const handler: ReturnType<typeof handle> = async (event, context) => {
  honoHandler ??= await init()
  return honoHandler(event, context)
}

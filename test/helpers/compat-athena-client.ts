import { createRequire } from 'node:module'
import type { AthenaClient, AthenaClientConfig, AwsConfig } from 'athena-client'
import { v2Options } from './compat-aws-sdk-v2.ts'

const require = createRequire(import.meta.url)

// Loaded after the SDK v2 helper, which silences the SDK's end-of-support notice before anything loads the SDK.
const { createClient } = require('athena-client') as typeof import('athena-client')

/**
 * An athena-client for the local endpoint, polling every 20 ms. athena-client passes its AWS options to the SDK's
 * global config (`aws.config.update`), which also takes the endpoint and path-style options.
 */
export function athenaClientFor(endpoint: string, config: AthenaClientConfig): AthenaClient {
  const aws: AwsConfig & ReturnType<typeof v2Options> = v2Options(endpoint)
  return createClient({ pollingInterval: 20, ...config }, aws)
}

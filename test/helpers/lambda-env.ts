/**
 * The environment of a deployed Lambda (everything infra/lambda.tf sets that matters locally), pointed at the local
 * Athena endpoint and a Redis of the caller's: the AWS SDK runs in `athena` mode with dummy credentials, which the
 * local endpoint does not check.
 */
export function deployedLambdaEnv(options: {
  athenaEndpoint: string
  redisUrl: string
  prefix: string
  apiKeys: string
}): Record<string, string> {
  return {
    QUERY_ENGINE: 'athena',
    ATHENA_ENDPOINT: options.athenaEndpoint,
    AWS_REGION: 'eu-west-2',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    REDIS_URL: options.redisUrl,
    CACHE_PREFIX: options.prefix,
    ATHENA_WORKGROUP: 'primary',
    ATHENA_DATABASE: 'analytics',
    CONFIG_DIR: 'wrangler-free-config',
    API_KEYS: options.apiKeys,
  }
}

import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { ConfigError, errorMessage } from '../errors.ts'
import type { Catalog } from './catalog.ts'
import type { Env, SecretsConfig, TenantsSource } from './load-config.ts'
import { parseTenantsText, type Tenants } from './tenants.ts'

/**
 * A cold start waits for this read, and a Lambda's first invocation fails if it fails: a few quick attempts, then a
 * loud error rather than a request held until the function's timeout.
 */
const MAX_ATTEMPTS = 3
const CONNECTION_TIMEOUT_MS = 3_000
const REQUEST_TIMEOUT_MS = 5_000

/** What each service's errors mean for the operator, by the SDK's error name. */
const EXPLAINED: Readonly<Record<string, string>> = {
  ParameterNotFound: 'no such parameter',
  ParameterVersionNotFound: 'no such parameter version',
  ResourceNotFoundException: 'no such secret',
  AccessDeniedException: 'access denied (does the role allow reading exactly this parameter or secret?)',
  InvalidKeyId: 'the KMS key cannot be used (access denied or disabled)',
  DecryptionFailure: 'the KMS key cannot decrypt it (access denied or disabled)',
}

/**
 * The credentials of the environment loadSettings was given (on Lambda: the execution role's, which Lambda puts in
 * the environment); none there = the SDK's default chain (profile, container or instance role).
 */
function credentialsFrom(
  env: Env,
): { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined {
  const accessKeyId = env.AWS_ACCESS_KEY_ID
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY
  if (!accessKeyId || !secretAccessKey) return undefined
  const sessionToken = env.AWS_SESSION_TOKEN
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) }
}

function clientConfig(config: SecretsConfig, endpoint: string | undefined, env: Env) {
  const credentials = credentialsFrom(env)
  return {
    region: config.region,
    maxAttempts: MAX_ATTEMPTS,
    requestHandler: {
      connectionTimeout: CONNECTION_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      throwOnRequestTimeout: true,
    },
    ...(endpoint ? { endpoint } : {}),
    ...(credentials ? { credentials } : {}),
  }
}

/** The text held by `source`: a parameter's value (SecureString decrypted) or a secret's SecretString. */
async function readSource(source: TenantsSource, config: SecretsConfig, env: Env): Promise<string> {
  if (source.kind === 'ssm') {
    const client = new SSMClient(clientConfig(config, config.ssmEndpoint, env))
    try {
      const out = await client.send(new GetParameterCommand({ Name: source.name, WithDecryption: true }))
      const value = out.Parameter?.Value
      if (value === undefined) throw new ConfigError(`${source.label}: the parameter has no value`)
      return value
    } finally {
      client.destroy()
    }
  }
  const client = new SecretsManagerClient(clientConfig(config, config.secretsManagerEndpoint, env))
  try {
    const out = await client.send(new GetSecretValueCommand({ SecretId: source.secretId }))
    if (out.SecretString === undefined)
      throw new ConfigError(
        `${source.label}: the secret holds no SecretString (a binary secret cannot be YAML)`,
      )
    return out.SecretString
  } finally {
    client.destroy()
  }
}

/**
 * Reads the tenants file from TENANTS_SOURCE (SSM Parameter Store or Secrets Manager) and validates it against the
 * catalog exactly like `tenants.yaml`. Any failure (not found, access denied, KMS, network, bad YAML) is a
 * ConfigError beginning with the source, so a Lambda fails its first invocation naming what it could not read.
 */
export async function loadTenantsFromSource(
  source: TenantsSource,
  config: SecretsConfig,
  env: Env,
  catalog: Catalog,
): Promise<Tenants> {
  let text: string
  try {
    text = await readSource(source, config, env)
  } catch (err) {
    if (err instanceof ConfigError) throw err
    const name = err instanceof Error ? err.name : 'Error'
    const meaning = EXPLAINED[name]
    throw new ConfigError(
      `${source.label}: cannot be read: ${meaning ? `${meaning} ` : ''}(${name}: ${errorMessage(err)})`,
      { cause: err },
    )
  }
  return parseTenantsText(text, source.label, catalog)
}

// TENANTS_SOURCE: the tenants file read from SSM Parameter Store or Secrets Manager by loadSettings, with the real
// SDK clients against the local endpoint (local/secrets), validated against the catalog like tenants.yaml.
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LocalSecrets, startLocalSecrets } from '../../local/secrets/secrets-server.ts'
import { loadConfig } from '../../src/config/load-config.ts'
import { loadSettings } from '../../src/config/settings.ts'
import { ConfigError } from '../../src/errors.ts'
import { KeyRing } from '../../src/http/api-key-auth.ts'
import { rejection } from '../helpers/rejection.ts'
import { sha256Digest, TENANT_KEYS, tenantConfigDir } from '../helpers/tenant-config.ts'

const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: 'us-east-1' }

/** The tenants held by the service, not the directory: only acme and a tenant of its own. */
const HELD_TENANTS = `tenants:
  acme:
    keys: ["${sha256Digest(TENANT_KEYS.acme)}"]
    parameters: { country: US }
  umbrella:
    keys: ["${sha256Digest('umbrella-held-key-0123456789')}"]
    parameters: { country: GB }
`

let local: LocalSecrets
let configDir: string
let secretArn = ''

beforeAll(async () => {
  local = await startLocalSecrets({ deny: ['/acp/denied'] })
  configDir = await tenantConfigDir()
  const client = {
    endpoint: local.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  }
  const ssm = new SSMClient(client)
  const sm = new SecretsManagerClient(client)
  try {
    await ssm.send(
      new PutParameterCommand({ Name: '/acp/tenants', Value: HELD_TENANTS, Type: 'SecureString' }),
    )
    await ssm.send(
      new PutParameterCommand({ Name: '/acp/bad-yaml', Value: 'tenants: [', Type: 'SecureString' }),
    )
    await ssm.send(
      new PutParameterCommand({
        Name: '/acp/unknown-query',
        Value: `tenants:\n  acme:\n    keys: ["${sha256Digest(TENANT_KEYS.acme)}"]\n    queries: [no_such_query]\n`,
        Type: 'SecureString',
      }),
    )
    const created = await sm.send(
      new CreateSecretCommand({ Name: 'acp/tenants', SecretString: HELD_TENANTS }),
    )
    secretArn = created.ARN ?? ''
  } finally {
    ssm.destroy()
    sm.destroy()
  }
})

afterAll(async () => {
  await local.close()
  await rm(configDir, { recursive: true, force: true })
})

const env = (extra: Record<string, string>) => ({ CONFIG_DIR: configDir, ...CREDENTIALS, ...extra })

async function configError(call: Promise<unknown>): Promise<ConfigError> {
  const err = await rejection(() => call)
  if (!(err instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(err)}`)
  return err
}

describe('TENANTS_SOURCE', () => {
  it('parses ssm: and secretsmanager: sources and rejects anything else', () => {
    expect(loadConfig({ TENANTS_SOURCE: 'ssm:/acp/tenants' }).secrets.tenantsSource).toEqual({
      kind: 'ssm',
      name: '/acp/tenants',
      label: 'ssm:/acp/tenants',
    })
    expect(loadConfig({ TENANTS_SOURCE: 'secretsmanager:acp/tenants' }).secrets.tenantsSource).toEqual({
      kind: 'secretsmanager',
      secretId: 'acp/tenants',
      label: 'secretsmanager:acp/tenants',
    })
    expect(loadConfig({}).secrets.tenantsSource).toBeUndefined()
    expect(() => loadConfig({ TENANTS_SOURCE: 's3://bucket/tenants.yaml' })).toThrow(
      /TENANTS_SOURCE: must be/,
    )
    expect(() => loadConfig({ TENANTS_SOURCE: 'ssm:' })).toThrow(/TENANTS_SOURCE/)
  })

  it('never guesses the SSM or Secrets Manager endpoint from ATHENA_ENDPOINT', () => {
    const { secrets } = loadConfig({ ATHENA_ENDPOINT: 'http://127.0.0.1:4566' })
    expect(secrets.ssmEndpoint).toBeUndefined()
    expect(secrets.secretsManagerEndpoint).toBeUndefined()
  })

  it('reads the tenants from an SSM SecureString instead of tenants.yaml', async () => {
    const settings = await loadSettings(
      env({ TENANTS_SOURCE: 'ssm:/acp/tenants', SSM_ENDPOINT: local.endpoint }),
    )
    expect([...settings.tenants.byId.keys()]).toEqual(['acme', 'umbrella'])
    expect(settings.tenants.byId.get('umbrella')?.parameters).toEqual({ country: 'GB' })
    // The directory's own tenants.yaml (with globex) is not read.
    expect(await readFile(join(configDir, 'tenants.yaml'), 'utf8')).toContain('globex')
    expect(settings.tenants.byId.has('globex')).toBe(false)
  })

  it('reads them from a Secrets Manager SecretString, by name or ARN', async () => {
    for (const id of ['acp/tenants', secretArn]) {
      const settings = await loadSettings(
        env({ TENANTS_SOURCE: `secretsmanager:${id}`, SECRETS_MANAGER_ENDPOINT: local.endpoint }),
      )
      expect([...settings.tenants.byId.keys()]).toEqual(['acme', 'umbrella'])
    }
  })

  it('authenticates a key whose digest only the SSM-held tenants have, as its tenant', async () => {
    const settings = await loadSettings(
      env({ TENANTS_SOURCE: 'ssm:/acp/tenants', SSM_ENDPOINT: local.endpoint }),
    )
    const ring = new KeyRing(settings.apiKeys, settings.tenants)
    expect(ring.identify('umbrella-held-key-0123456789')).toMatchObject({
      verdict: 'ok',
      tenant: { id: 'umbrella' },
    })
    expect(ring.identify(TENANT_KEYS.acme)).toMatchObject({ verdict: 'ok', tenant: { id: 'acme' } })
    expect(ring.identify(TENANT_KEYS.globex).verdict).toBe('wrong')
  })

  it('fails with a ConfigError naming a missing parameter or secret', async () => {
    const ssm = await configError(
      loadSettings(env({ TENANTS_SOURCE: 'ssm:/acp/absent', SSM_ENDPOINT: local.endpoint })),
    )
    expect(ssm.message).toMatch(/^ssm:\/acp\/absent: cannot be read: no such parameter \(ParameterNotFound/)
    const sm = await configError(
      loadSettings(
        env({ TENANTS_SOURCE: 'secretsmanager:absent', SECRETS_MANAGER_ENDPOINT: local.endpoint }),
      ),
    )
    expect(sm.message).toMatch(
      /^secretsmanager:absent: cannot be read: no such secret \(ResourceNotFoundException/,
    )
  })

  it('fails with a ConfigError naming a parameter the role may not read', async () => {
    const err = await configError(
      loadSettings(env({ TENANTS_SOURCE: 'ssm:/acp/denied', SSM_ENDPOINT: local.endpoint })),
    )
    expect(err.message).toMatch(/^ssm:\/acp\/denied: cannot be read: access denied .*AccessDeniedException/)
  })

  it('fails with a ConfigError on bad YAML, and on tenants the catalog does not allow', async () => {
    const yaml = await configError(
      loadSettings(env({ TENANTS_SOURCE: 'ssm:/acp/bad-yaml', SSM_ENDPOINT: local.endpoint })),
    )
    expect(yaml.message).toMatch(/^ssm:\/acp\/bad-yaml: not valid YAML/)
    const invalid = await configError(
      loadSettings(env({ TENANTS_SOURCE: 'ssm:/acp/unknown-query', SSM_ENDPOINT: local.endpoint })),
    )
    expect(invalid.message).toBe(
      "ssm:/acp/unknown-query: tenant 'acme', queries: 'no_such_query' is not a catalog query",
    )
  })

  it('fails with a ConfigError naming the source when the endpoint does not answer', async () => {
    const err = await configError(
      loadSettings(env({ TENANTS_SOURCE: 'ssm:/acp/tenants', SSM_ENDPOINT: 'http://127.0.0.1:9' })),
    )
    expect(err.message).toMatch(/^ssm:\/acp\/tenants: cannot be read: /)
  })
})

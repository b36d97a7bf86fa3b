// The local SSM Parameter Store + Secrets Manager endpoint, driven by the unmodified AWS SDK clients: what the
// service reads at cold start (GetParameter, GetSecretValue) and what seeds it (PutParameter, CreateSecret,
// PutSecretValue), with the services' error classes.
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager'
import {
  GetParameterCommand,
  ParameterAlreadyExists,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LocalSecrets, startLocalSecrets } from '../../local/secrets/secrets-server.ts'
import { rejection } from '../helpers/rejection.ts'

/** The error a call fails with, as the SDK raises it (with the response's metadata). */
async function rejectionOf(
  call: Promise<unknown>,
): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  const err = await rejection(() => call)
  if (!(err instanceof Error)) throw new Error(`expected an Error, got ${String(err)}`)
  return err
}

let local: LocalSecrets
let ssm: SSMClient
let sm: SecretsManagerClient

beforeAll(async () => {
  local = await startLocalSecrets({ deny: ['/acp/forbidden', 'forbidden-secret'] })
  const config = {
    endpoint: local.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  }
  ssm = new SSMClient(config)
  sm = new SecretsManagerClient(config)
})

afterAll(async () => {
  ssm.destroy()
  sm.destroy()
  await local.close()
})

describe('local secrets: SSM Parameter Store', () => {
  it('stores a SecureString and returns it decrypted, by name or ARN, and encrypted without WithDecryption', async () => {
    const put = await ssm.send(
      new PutParameterCommand({ Name: '/acp/one', Value: 'tenants: {}', Type: 'SecureString' }),
    )
    expect(put.Version).toBe(1)
    const got = await ssm.send(new GetParameterCommand({ Name: '/acp/one', WithDecryption: true }))
    expect(got.Parameter).toMatchObject({
      Name: '/acp/one',
      Type: 'SecureString',
      Value: 'tenants: {}',
      Version: 1,
      ARN: 'arn:aws:ssm:us-east-1:000000000000:parameter/acp/one',
    })
    expect(got.Parameter?.LastModifiedDate).toBeInstanceOf(Date)
    const byArn = await ssm.send(
      new GetParameterCommand({ Name: got.Parameter?.ARN ?? '', WithDecryption: true }),
    )
    expect(byArn.Parameter?.Value).toBe('tenants: {}')
    const encrypted = await ssm.send(new GetParameterCommand({ Name: '/acp/one' }))
    expect(encrypted.Parameter?.Value).not.toBe('tenants: {}')
  })

  it('overwrites only when asked, counting versions', async () => {
    await ssm.send(new PutParameterCommand({ Name: '/acp/two', Value: 'a', Type: 'String' }))
    const again = await rejectionOf(ssm.send(new PutParameterCommand({ Name: '/acp/two', Value: 'b' })))
    expect(again).toBeInstanceOf(ParameterAlreadyExists)
    const put = await ssm.send(new PutParameterCommand({ Name: '/acp/two', Value: 'b', Overwrite: true }))
    expect(put.Version).toBe(2)
    const got = await ssm.send(new GetParameterCommand({ Name: '/acp/two' }))
    expect(got.Parameter).toMatchObject({ Value: 'b', Version: 2, Type: 'String' })
  })

  it('answers ParameterNotFound, AccessDeniedException and the Standard tier’s size limit as SSM does', async () => {
    const missing = await rejectionOf(ssm.send(new GetParameterCommand({ Name: '/acp/absent' })))
    expect(missing).toBeInstanceOf(ParameterNotFound)
    expect(missing.$metadata?.httpStatusCode).toBe(400)
    const denied = await rejectionOf(ssm.send(new GetParameterCommand({ Name: '/acp/forbidden' })))
    expect(denied.name).toBe('AccessDeniedException')
    expect(denied.message).toContain('ssm:GetParameter')
    const big = await rejectionOf(
      ssm.send(new PutParameterCommand({ Name: '/acp/big', Value: 'x'.repeat(5000), Type: 'SecureString' })),
    )
    expect(big.name).toBe('ValidationException')
    const advanced = await ssm.send(
      new PutParameterCommand({
        Name: '/acp/big',
        Value: 'x'.repeat(5000),
        Type: 'SecureString',
        Tier: 'Advanced',
      }),
    )
    expect(advanced.Tier).toBe('Advanced')
  })
})

describe('local secrets: Secrets Manager', () => {
  it('creates a secret and reads its current value by name, ARN and partial ARN', async () => {
    const created = await sm.send(new CreateSecretCommand({ Name: 'acp/tenants', SecretString: 'v1' }))
    expect(created.ARN).toMatch(
      /^arn:aws:secretsmanager:us-east-1:000000000000:secret:acp\/tenants-[0-9a-f]{6}$/,
    )
    for (const id of [created.Name, created.ARN, created.ARN?.slice(0, -7)]) {
      const got = await sm.send(new GetSecretValueCommand({ SecretId: id }))
      expect(got).toMatchObject({ SecretString: 'v1', Name: 'acp/tenants', VersionStages: ['AWSCURRENT'] })
    }
  })

  it('puts a new current version, the old one staying AWSPREVIOUS', async () => {
    await sm.send(new CreateSecretCommand({ Name: 'rotated', SecretString: 'old' }))
    const put = await sm.send(new PutSecretValueCommand({ SecretId: 'rotated', SecretString: 'new' }))
    expect(put.VersionStages).toEqual(['AWSCURRENT'])
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'rotated' }))).SecretString).toBe('new')
    const previous = await sm.send(
      new GetSecretValueCommand({ SecretId: 'rotated', VersionStage: 'AWSPREVIOUS' }),
    )
    expect(previous.SecretString).toBe('old')
    const byId = await sm.send(new GetSecretValueCommand({ SecretId: 'rotated', VersionId: put.VersionId }))
    expect(byId.SecretString).toBe('new')
  })

  it('answers ResourceNotFoundException, ResourceExistsException and AccessDeniedException', async () => {
    const missing = await rejectionOf(sm.send(new GetSecretValueCommand({ SecretId: 'absent' })))
    expect(missing).toBeInstanceOf(ResourceNotFoundException)
    expect(missing.$metadata?.httpStatusCode).toBe(400)
    await sm.send(new CreateSecretCommand({ Name: 'twice', SecretString: 'x' }))
    const exists = await rejectionOf(sm.send(new CreateSecretCommand({ Name: 'twice', SecretString: 'y' })))
    expect(exists).toBeInstanceOf(ResourceExistsException)
    const denied = await rejectionOf(sm.send(new GetSecretValueCommand({ SecretId: 'forbidden-secret' })))
    expect(denied.name).toBe('AccessDeniedException')
  })

  it('answers an unknown operation with UnknownOperationException', async () => {
    const res = await fetch(local.endpoint, {
      method: 'POST',
      headers: { 'x-amz-target': 'AmazonSSM.DeleteParameter', 'content-type': 'application/x-amz-json-1.1' },
      body: '{}',
    })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ __type: 'UnknownOperationException' })
  })
})

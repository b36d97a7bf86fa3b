import { randomBytes, randomUUID } from 'node:crypto'
import { z } from 'zod'
import { AcpError, type ErrorCode } from '../../src/errors.ts'

/** Error types the local endpoint answers with, named exactly as SSM's and Secrets Manager's `__type`. */
export type SecretsErrorType =
  | 'ParameterNotFound'
  | 'ParameterAlreadyExists'
  | 'ResourceNotFoundException'
  | 'ResourceExistsException'
  | 'AccessDeniedException'
  | 'ValidationException'
  | 'InvalidParameterException'
  | 'InvalidRequestException'
  | 'SerializationException'
  | 'UnknownOperationException'
  | 'InternalServerError'

/**
 * An error of the emulated APIs. The HTTP layer answers it as awsJson1_1 does (`__type`, `Message`, status 400; 500
 * for an internal error) so the SDK raises the matching exception class.
 */
export class SecretsApiError extends AcpError {
  readonly code: ErrorCode
  readonly status: number
  constructor(
    readonly type: SecretsErrorType,
    message: string,
  ) {
    super(message)
    this.code = type === 'AccessDeniedException' ? 'FORBIDDEN' : 'VALIDATION'
    this.status = type === 'InternalServerError' ? 500 : 400
  }
}

/** SSM's value limits by tier (characters; the service counts bytes of UTF-8, close enough for YAML). */
const VALUE_LIMIT = { Standard: 4096, Advanced: 8192, 'Intelligent-Tiering': 8192 } as const
/** Secrets Manager's limit on a SecretString. */
const SECRET_LIMIT = 65_536
const ACCOUNT = '000000000000'

const putParameter = z.object({
  Name: z.string().min(1).max(2048),
  Value: z.string(),
  Type: z.enum(['String', 'StringList', 'SecureString']).optional(),
  Overwrite: z.boolean().optional(),
  Tier: z.enum(['Standard', 'Advanced', 'Intelligent-Tiering']).optional(),
})
const getParameter = z.object({ Name: z.string().min(1), WithDecryption: z.boolean().optional() })
const createSecret = z.object({
  Name: z.string().min(1).max(512),
  SecretString: z.string().max(SECRET_LIMIT).optional(),
  ClientRequestToken: z.string().optional(),
})
const putSecretValue = z.object({
  SecretId: z.string().min(1),
  SecretString: z.string().max(SECRET_LIMIT).optional(),
  ClientRequestToken: z.string().optional(),
})
const getSecretValue = z.object({
  SecretId: z.string().min(1),
  VersionId: z.string().optional(),
  VersionStage: z.string().optional(),
})

interface ParameterRecord {
  name: string
  type: 'String' | 'StringList' | 'SecureString'
  value: string
  version: number
  modifiedAtMs: number
}

interface SecretVersion {
  id: string
  value: string
  createdAtMs: number
}

interface SecretRecord {
  name: string
  arn: string
  /** Oldest first; the last is AWSCURRENT, the one before it AWSPREVIOUS. */
  versions: SecretVersion[]
}

/** The operations, by their X-Amz-Target. */
export type SecretsOperation =
  | 'AmazonSSM.GetParameter'
  | 'AmazonSSM.PutParameter'
  | 'secretsmanager.CreateSecret'
  | 'secretsmanager.PutSecretValue'
  | 'secretsmanager.GetSecretValue'

export const SECRETS_OPERATIONS: readonly SecretsOperation[] = [
  'AmazonSSM.GetParameter',
  'AmazonSSM.PutParameter',
  'secretsmanager.CreateSecret',
  'secretsmanager.PutSecretValue',
  'secretsmanager.GetSecretValue',
]

function parse<T>(schema: z.ZodType<T>, body: unknown, type: SecretsErrorType): T {
  const parsed = schema.safeParse(body)
  if (!parsed.success)
    throw new SecretsApiError(
      type,
      parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '),
    )
  return parsed.data
}

/**
 * In-memory SSM parameters and Secrets Manager secrets, answering the few operations the service and its tests
 * need with the services' shapes and errors. Names on the deny list answer AccessDeniedException, as an IAM policy
 * without them would.
 */
export class LocalSecretsService {
  private readonly parameters = new Map<string, ParameterRecord>()
  private readonly secrets = new Map<string, SecretRecord>()
  private readonly denied = new Set<string>()

  constructor(
    private readonly region: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Calls to `name` (a parameter name or a secret name) answer AccessDeniedException from now on. */
  deny(name: string): void {
    this.denied.add(name)
  }

  call(operation: SecretsOperation, body: unknown): Record<string, unknown> {
    switch (operation) {
      case 'AmazonSSM.GetParameter':
        return this.getParameter(parse(getParameter, body, 'ValidationException'))
      case 'AmazonSSM.PutParameter':
        return this.putParameter(parse(putParameter, body, 'ValidationException'))
      case 'secretsmanager.CreateSecret':
        return this.createSecret(parse(createSecret, body, 'InvalidParameterException'))
      case 'secretsmanager.PutSecretValue':
        return this.putSecretValue(parse(putSecretValue, body, 'InvalidParameterException'))
      case 'secretsmanager.GetSecretValue':
        return this.getSecretValue(parse(getSecretValue, body, 'InvalidParameterException'))
    }
  }

  private checkAccess(name: string, action: string, resource: string): void {
    if (this.denied.has(name))
      throw new SecretsApiError(
        'AccessDeniedException',
        `User: arn:aws:sts::${ACCOUNT}:assumed-role/local/local is not authorized to perform: ${action} on resource: ${resource}`,
      )
  }

  private parameterArn(name: string): string {
    return `arn:aws:ssm:${this.region}:${ACCOUNT}:parameter/${name.replace(/^\//, '')}`
  }

  /** A Name may be the parameter's ARN. */
  private parameterName(nameOrArn: string): string {
    const match = /^arn:aws[a-z-]*:ssm:[^:]*:\d{12}:parameter(\/.*)$/.exec(nameOrArn)
    if (!match?.[1]) return nameOrArn
    // ARNs drop the leading slash of hierarchical names; plain names have none.
    const path = match[1]
    return this.parameters.has(path) ? path : path.slice(1)
  }

  private putParameter(input: z.infer<typeof putParameter>): Record<string, unknown> {
    this.checkAccess(input.Name, 'ssm:PutParameter', this.parameterArn(input.Name))
    const tier = input.Tier ?? 'Standard'
    if (input.Value.length > VALUE_LIMIT[tier])
      throw new SecretsApiError(
        'ValidationException',
        `Parameter value exceeds the ${VALUE_LIMIT[tier]} characters of the ${tier} tier`,
      )
    const existing = this.parameters.get(input.Name)
    if (existing && input.Overwrite !== true)
      throw new SecretsApiError('ParameterAlreadyExists', 'The parameter already exists.')
    const version = (existing?.version ?? 0) + 1
    this.parameters.set(input.Name, {
      name: input.Name,
      type: input.Type ?? existing?.type ?? 'String',
      value: input.Value,
      version,
      modifiedAtMs: this.now(),
    })
    return { Version: version, Tier: tier === 'Intelligent-Tiering' ? 'Standard' : tier }
  }

  private getParameter(input: z.infer<typeof getParameter>): Record<string, unknown> {
    const name = this.parameterName(input.Name)
    this.checkAccess(name, 'ssm:GetParameter', this.parameterArn(name))
    const p = this.parameters.get(name)
    if (!p) throw new SecretsApiError('ParameterNotFound', `Parameter ${input.Name} not found.`)
    // Without decryption a SecureString comes back as its ciphertext: here, an opaque stand-in for one.
    const value =
      p.type === 'SecureString' && input.WithDecryption !== true
        ? Buffer.from(`local-kms:${p.value}`).toString('base64')
        : p.value
    return {
      Parameter: {
        Name: p.name,
        Type: p.type,
        Value: value,
        Version: p.version,
        LastModifiedDate: p.modifiedAtMs / 1000,
        ARN: this.parameterArn(p.name),
        DataType: 'text',
      },
    }
  }

  /** A SecretId is the name, the full ARN, or the ARN without its six random characters. */
  private findSecret(secretId: string): SecretRecord | undefined {
    const byName = this.secrets.get(secretId)
    if (byName) return byName
    for (const s of this.secrets.values())
      if (s.arn === secretId || s.arn.slice(0, -'-xxxxxx'.length) === secretId) return s
    return undefined
  }

  private secretNamed(secretId: string, action: string): SecretRecord {
    const s = this.findSecret(secretId)
    this.checkAccess(s?.name ?? secretId, action, s?.arn ?? secretId)
    if (!s)
      throw new SecretsApiError(
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret.",
      )
    return s
  }

  private addVersion(s: SecretRecord, value: string | undefined, token: string | undefined): SecretVersion {
    if (value === undefined)
      throw new SecretsApiError(
        'InvalidRequestException',
        'You must provide a SecretString (SecretBinary is not emulated).',
      )
    const version = { id: token ?? randomUUID(), value, createdAtMs: this.now() }
    s.versions.push(version)
    return version
  }

  private createSecret(input: z.infer<typeof createSecret>): Record<string, unknown> {
    this.checkAccess(input.Name, 'secretsmanager:CreateSecret', input.Name)
    if (this.secrets.has(input.Name))
      throw new SecretsApiError(
        'ResourceExistsException',
        `The operation failed because the secret ${input.Name} already exists.`,
      )
    const suffix = randomBytes(3).toString('hex')
    const s: SecretRecord = {
      name: input.Name,
      arn: `arn:aws:secretsmanager:${this.region}:${ACCOUNT}:secret:${input.Name}-${suffix}`,
      versions: [],
    }
    const version = this.addVersion(s, input.SecretString, input.ClientRequestToken)
    this.secrets.set(input.Name, s)
    return { ARN: s.arn, Name: s.name, VersionId: version.id }
  }

  private putSecretValue(input: z.infer<typeof putSecretValue>): Record<string, unknown> {
    const s = this.secretNamed(input.SecretId, 'secretsmanager:PutSecretValue')
    const version = this.addVersion(s, input.SecretString, input.ClientRequestToken)
    return { ARN: s.arn, Name: s.name, VersionId: version.id, VersionStages: ['AWSCURRENT'] }
  }

  private getSecretValue(input: z.infer<typeof getSecretValue>): Record<string, unknown> {
    const s = this.secretNamed(input.SecretId, 'secretsmanager:GetSecretValue')
    const stage = input.VersionStage ?? (input.VersionId === undefined ? 'AWSCURRENT' : undefined)
    const index =
      input.VersionId !== undefined
        ? s.versions.findIndex((v) => v.id === input.VersionId)
        : stage === 'AWSCURRENT'
          ? s.versions.length - 1
          : stage === 'AWSPREVIOUS'
            ? s.versions.length - 2
            : -1
    const version = index >= 0 ? s.versions[index] : undefined
    if (!version)
      throw new SecretsApiError(
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret value for the given version or staging label.",
      )
    const stages =
      index === s.versions.length - 1
        ? ['AWSCURRENT']
        : index === s.versions.length - 2
          ? ['AWSPREVIOUS']
          : []
    return {
      ARN: s.arn,
      Name: s.name,
      VersionId: version.id,
      SecretString: version.value,
      VersionStages: stages,
      CreatedDate: version.createdAtMs / 1000,
    }
  }
}

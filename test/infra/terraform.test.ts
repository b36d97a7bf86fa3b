// Static checks of the Terraform in infra/ (no network, no AWS account): every file is parsed with hcl2json and
// the resulting JSON is checked for dangling references, API keys on every method, wildcard IAM actions, the
// Redis/Lambda wiring, the deployment's redeployment hash, Athena/Glue settings, the Scheduler's role, the S3
// reads, the MOCKs' text conversion and the streamed Lambda integrations. `terraform fmt -check` and `terraform
// console` (the integrations' values, and the patch command run against a fake aws CLI) run when terraform is on
// PATH; `terraform validate` and offline `terraform plan`s (streaming on and off) run when a local provider mirror
// is available too (TF_PLUGIN_MIRROR, default /opt/tf-plugins).
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: expected values are Terraform `${…}`, not JS templates
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LAMBDA_REQUIRED_ENV } from '../../src/config/load-config.ts'
import { loadSchedules, scheduleInput } from '../../src/config/schedules.ts'
import {
  allReferences,
  type Body,
  blocks,
  CHILD_ENV,
  declaredBlocks,
  expressionsIn,
  first,
  HAS_MIRROR,
  HAS_TERRAFORM,
  isBody,
  isDeclared,
  type Json,
  loadInfra,
  only,
  type Plan,
  parseModel,
  planned,
  policyDocument,
  ROOT,
  referencesIn,
  refersTo,
  resource,
  resourcesOfType,
  statementsOf,
  stringList,
  strings,
  TerraformWorkspace,
  type TfModel,
  terraform,
  undeclaredReferences,
} from '../helpers/terraform.ts'

/**
 * MOCK integrations that do not convert the request to text, of an API whose binary media types hold the catch-all
 * range (star slash star): API Gateway treats every request as binary and skips the MOCK's request template, so the
 * MOCK gets no statusCode and answers 500 (a CORS preflight fails).
 */
function mocksWithoutTextConversion(model: TfModel): string[] {
  const binaryApis = resourcesOfType(model, 'aws_api_gateway_rest_api')
    .filter(([, api]) => stringList(api.binary_media_types).includes('*/*'))
    .map(([address]) => address)
  return resourcesOfType(model, 'aws_api_gateway_integration')
    .filter(([, i]) => i.type === 'MOCK' && binaryApis.some((api) => refersTo(i.rest_api_id, api)))
    .filter(([, i]) => i.content_handling !== 'CONVERT_TO_TEXT')
    .map(([address]) => address)
}

/**
 * A value of the parsed configuration as an HCL expression: a string that is one whole interpolation is written as
 * its expression (HCL gives such a template the expression's own value, not a string), anything else as JSON,
 * which HCL reads too (templates inside strings included).
 */
function hclExpression(value: Json): string {
  if (typeof value === 'string') {
    const [only] = expressionsIn(value)
    return only !== undefined && value === `\${${only}}` ? `(${only})` : JSON.stringify(value)
  }
  if (Array.isArray(value)) return `[${value.map(hclExpression).join(', ')}]`
  if (isBody(value))
    return `{\n${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)} = ${hclExpression(v)}`)
      .join('\n')}\n}`
  return JSON.stringify(value)
}

/**
 * Evaluates `expression` with terraform console over a throwaway configuration (no providers, nothing fetched);
 * console prints JSON-compatible output for what jsonencode returns.
 */
async function terraformConsole(mainTf: string, expression: string, vars: string[] = []): Promise<Json> {
  const dir = await mkdtemp(join(tmpdir(), 'acp-tf-console-'))
  try {
    await writeFile(join(dir, 'main.tf'), mainTf)
    const result = spawnSync('terraform', ['console', ...vars], {
      cwd: dir,
      env: CHILD_ENV,
      input: `jsonencode(${expression})\n`,
      encoding: 'utf8',
      timeout: 60_000,
    })
    expect(result.status, result.stderr).toBe(0)
    return JSON.parse(JSON.parse(result.stdout.trim()) as string) as Json
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------------------------------

describe('infra/ (Terraform)', () => {
  let model: TfModel
  let files: string[]

  beforeAll(async () => {
    ;({ model, files } = await loadInfra())
  })

  it.skipIf(!HAS_TERRAFORM)('is formatted (terraform fmt -check -recursive infra)', () => {
    const result = terraform(['fmt', '-check', '-recursive', '-diff', 'infra'], ROOT)
    expect(result.stdout, 'files terraform fmt would change').toBe('')
    expect(result.status).toBe(0)
  })

  it('is split into the expected files and every declaration parses once', () => {
    for (const f of [
      'versions.tf',
      'variables.tf',
      'locals.tf',
      'api.tf',
      'lambda.tf',
      'iam.tf',
      'redis.tf',
      'network.tf',
      'athena.tf',
      'glue.tf',
      'scheduler.tf',
      'monitoring.tf',
      'outputs.tf',
    ])
      expect(files).toContain(f)
    expect(model.duplicates).toEqual([])
    expect(model.resources.size).toBeGreaterThan(40)
  })

  describe('(a) references', () => {
    it('resolves every aws_*, data.*, var.* and local.* reference to a declaration', async () => {
      const refs = await allReferences(model)
      // Not vacuous: the scan sees the configuration's wiring.
      expect(refs.length).toBeGreaterThan(150)
      expect(refs.some((r) => r.ref === 'aws_api_gateway_rest_api.analytics_api')).toBe(true)
      expect(refs.some((r) => r.ref === 'data.aws_iam_policy_document.lambda')).toBe(true)
      expect(await undeclaredReferences(model)).toEqual([])
    })

    it('reports undeclared references (the original article’s mistakes)', async () => {
      const seed = await parseModel([
        {
          name: 'seed.tf',
          content: `
resource "aws_api_gateway_rest_api" "analytics_api" {
  name = "analytics_api"
}
resource "aws_api_gateway_resource" "analytics_api" {
  rest_api_id = aws_api_gateway_rest_api.analytics.id
  parent_id   = aws_api_gateway_rest_api.analytics.root_resource_id
  path_part   = "analytics"
}
resource "aws_api_gateway_request_validator" "analytics_api" {
  name        = "\${var.namespace}-analytics-api-\${var.environment}"
  rest_api_id = aws_api_gateway_rest_api.analytics_api.id
}
resource "aws_api_gateway_deployment" "analytics_api" {
  rest_api_id = aws_api_gateway_rest_api.analytics_api.id
  triggers = {
    redeployment = sha1(join(",", [
      jsonencode(aws_api_gateway_rest_api.analytics_api),
      jsonencode(aws_api_gateway_resource.analytics_api_measure),
    ]))
  }
}
variable "namespace" {
  type = string
}
locals {
  ids = [for r in var.regions : data.aws_region.missing.name if local.enabled]
  template = "s3://bucket/dt=$\${dt}/"
}
`,
        },
      ])
      expect(await undeclaredReferences(seed)).toEqual([
        'aws_api_gateway_resource.analytics_api_measure (in resource.aws_api_gateway_deployment.analytics_api)',
        'aws_api_gateway_rest_api.analytics (in resource.aws_api_gateway_resource.analytics_api)',
        'data.aws_region.missing (in local.ids)',
        'local.enabled (in local.ids)',
        'var.environment (in resource.aws_api_gateway_request_validator.analytics_api)',
        'var.regions (in local.ids)',
      ])
    })

    it('uses every variable and local it declares', async () => {
      // A variable's own validation does not count as a use.
      const refs = await allReferences(model)
      const used = new Set(refs.filter((r) => !r.where.startsWith('variable.')).map((r) => r.ref))
      const unused = [
        ...[...model.variables.keys()].map((v) => `var.${v}`),
        ...[...model.locals.keys()].map((l) => `local.${l}`),
      ].filter((name) => !used.has(name))
      expect(unused).toEqual([])
    })

    it('gives every variable a type and a description, and every output a description', () => {
      for (const [name, body] of model.variables) {
        expect(body.type, `variable ${name} type`).toBeDefined()
        expect(typeof body.description, `variable ${name} description`).toBe('string')
      }
      for (const [name, body] of model.outputs)
        expect(typeof body.description, `output ${name} description`).toBe('string')
      for (const key of ['admin_api_keys', 'api_key_value'])
        expect(model.variables.get(key)?.sensitive, `${key} is sensitive`).toBe(true)
      expect(model.outputs.get('api_key_value')?.sensitive).toBe(true)
    })
  })

  describe('(b) API Gateway', () => {
    it('requires the API key on every method but OPTIONS, and answers OPTIONS with a MOCK', () => {
      const methods = resourcesOfType(model, 'aws_api_gateway_method')
      expect(methods.length).toBeGreaterThanOrEqual(4)
      const integrations = resourcesOfType(model, 'aws_api_gateway_integration')
      for (const [address, method] of methods) {
        const integration = integrations.find(([, i]) => refersTo(i.http_method, address))
        expect(integration, `${address} has an integration`).toBeDefined()
        if (method.http_method === 'OPTIONS') {
          expect(method.api_key_required, `${address} (OPTIONS) needs no key`).not.toBe(true)
          expect(integration?.[1].type, `${address} is a MOCK`).toBe('MOCK')
        } else {
          expect(method.api_key_required, `${address} requires the API key`).toBe(true)
          expect(integration?.[1].type).toBe('AWS_PROXY')
          expect(refersTo(integration?.[1].uri, 'aws_lambda_function.analytics_api')).toBe(true)
        }
      }
      expect(methods.map(([, m]) => m.http_method).sort()).toEqual(['ANY', 'GET', 'OPTIONS', 'OPTIONS'])
    })

    it('validates measure, period and start on GET /analytics and proxies {proxy+} with ANY', () => {
      const get = resource(model, 'aws_api_gateway_method.analytics_api')
      expect(get.request_parameters).toMatchObject({
        'method.request.querystring.measure': true,
        'method.request.querystring.period': true,
        'method.request.querystring.start': true,
      })
      const [validatorAddress, validator] = only(model, 'aws_api_gateway_request_validator')
      expect(validator.validate_request_parameters).toBe(true)
      expect(refersTo(get.request_validator_id, validatorAddress)).toBe(true)
      expect(resource(model, 'aws_api_gateway_resource.proxy').path_part).toBe('{proxy+}')
      expect(resource(model, 'aws_api_gateway_method.proxy').http_method).toBe('ANY')
      expect(resource(model, 'aws_api_gateway_rest_api.analytics_api').binary_media_types).toEqual(['*/*'])
    })

    it('answers preflights with the CORS headers and var.cors_origin', () => {
      for (const [address, response] of resourcesOfType(model, 'aws_api_gateway_integration_response')) {
        const params = response.response_parameters as Body
        expect(params['method.response.header.Access-Control-Allow-Origin'], address).toBe(
          "'${var.cors_origin}'",
        )
        expect(params['method.response.header.Access-Control-Allow-Headers'], address).toBeDefined()
        expect(params['method.response.header.Access-Control-Allow-Methods'], address).toMatch(/OPTIONS/)
      }
      expect(String(model.locals.get('cors_allow_headers'))).toContain('X-Api-Key')
    })

    it('logs INFO and metrics for */* with the account CloudWatch role, and throttles with a quota', () => {
      const [, settings] = only(model, 'aws_api_gateway_method_settings')
      expect(settings.method_path).toBe('*/*')
      expect(first(settings.settings)).toMatchObject({ metrics_enabled: true, logging_level: 'INFO' })
      const [, account] = only(model, 'aws_api_gateway_account')
      expect(refersTo(account.cloudwatch_role_arn, 'aws_iam_role.api_gateway_cloudwatch')).toBe(true)
      const [, plan] = only(model, 'aws_api_gateway_usage_plan')
      expect(first(plan.throttle_settings)).toMatchObject({
        rate_limit: '${var.throttle_rate_limit}',
        burst_limit: '${var.throttle_burst_limit}',
      })
      expect(first(plan.quota_settings)).toMatchObject({
        limit: '${var.quota_limit}',
        period: '${var.quota_period}',
      })
      const planKey = resource(model, 'aws_api_gateway_usage_plan_key.analytics_api')
      expect(refersTo(planKey.key_id, 'aws_api_gateway_api_key.analytics_api')).toBe(true)
      expect(planKey.key_type).toBe('API_KEY')
    })

    it('registers the admin keys as API Gateway keys too (one x-api-key passes gateway and service)', () => {
      const key = resource(model, 'aws_api_gateway_api_key.admin')
      expect(key.value).toBe('${var.admin_api_keys[count.index]}')
      const planKey = resource(model, 'aws_api_gateway_usage_plan_key.admin')
      expect(refersTo(planKey.key_id, 'aws_api_gateway_api_key.admin')).toBe(true)
      expect(refersTo(planKey.usage_plan_id, 'aws_api_gateway_usage_plan.analytics_api')).toBe(true)
      const env = first(
        first(resource(model, 'aws_lambda_function.analytics_api').environment)?.variables as Json,
      )
      expect(env?.ADMIN_API_KEYS).toBe('${join(",", var.admin_api_keys)}')
    })

    it('lets only this API’s stage invoke the Lambda, streamed or not', () => {
      // The other permissions are EventBridge's rules of landed data (test/infra/events.test.ts).
      const permission = resource(model, 'aws_lambda_permission.api_gateway')
      expect(permission.principal).toBe('apigateway.amazonaws.com')
      // Lambda's API reference: InvokeWithResponseStream "requires permission for the lambda:InvokeFunction action".
      expect(permission.action).toBe('lambda:InvokeFunction')
      expect(refersTo(permission.function_name, 'aws_lambda_function.analytics_api')).toBe(true)
      expect(permission.qualifier).toBeUndefined()
      expect(permission.source_arn).toBe(
        '${aws_api_gateway_rest_api.analytics_api.execution_arn}/${var.stage_name}/*/*',
      )
    })

    it('converts requests to text on every MOCK integration, since binary_media_types holds the catch-all', () => {
      expect(
        stringList(resource(model, 'aws_api_gateway_rest_api.analytics_api').binary_media_types),
      ).toContain('*/*')
      const mocks = resourcesOfType(model, 'aws_api_gateway_integration').filter(([, i]) => i.type === 'MOCK')
      expect(mocks.map(([a]) => a).sort()).toEqual([
        'aws_api_gateway_integration.analytics_api_options',
        'aws_api_gateway_integration.proxy_options',
      ])
      expect(mocksWithoutTextConversion(model)).toEqual([])
      // The proxies pass the body through (base64 with isBase64Encoded): no conversion there.
      for (const [address, integration] of resourcesOfType(model, 'aws_api_gateway_integration'))
        if (integration.type === 'AWS_PROXY') expect(integration.content_handling, address).toBeUndefined()
    })

    it('reports a MOCK without CONVERT_TO_TEXT on an API with the catch-all binary media type', async () => {
      const integration = (name: string, api: string, extra = '') => `
resource "aws_api_gateway_integration" "${name}" {
  rest_api_id = aws_api_gateway_rest_api.${api}.id
  resource_id = "r"
  http_method = "OPTIONS"
  type        = "MOCK"
  ${extra}
}`
      const seed = await parseModel([
        {
          name: 'seed.tf',
          content: `
resource "aws_api_gateway_rest_api" "binary" {
  name               = "binary"
  binary_media_types = ["*/*"]
}
resource "aws_api_gateway_rest_api" "text" {
  name = "text"
}
${integration('bare', 'binary')}
${integration('converted', 'binary', 'content_handling = "CONVERT_TO_TEXT"')}
${integration('to_binary', 'binary', 'content_handling = "CONVERT_TO_BINARY"')}
${integration('on_text_api', 'text')}
`,
        },
      ])
      expect(mocksWithoutTextConversion(seed)).toEqual([
        'aws_api_gateway_integration.bare',
        'aws_api_gateway_integration.to_binary',
      ])
    })
  })

  describe('(c) IAM', () => {
    it('has no statement with a wildcard in an action, and * resources only for the VPC ENI calls', () => {
      const actions: string[] = []
      for (const [name, doc] of model.data) {
        if (!name.startsWith('aws_iam_policy_document.')) continue
        for (const statement of statementsOf(doc)) {
          const own = [...stringList(statement.actions), ...stringList(statement.not_actions)]
          expect(own.length, `${name}: statement ${String(statement.sid)} has actions`).toBeGreaterThan(0)
          actions.push(...own)
          const resources = stringList(statement.resources)
          if (resources.includes('*'))
            expect(
              own.every((a) => a.startsWith('ec2:')),
              `${name}: ${String(statement.sid)} on *`,
            ).toBe(true)
        }
      }
      // Inline policies written with jsonencode(...) or heredoc JSON anywhere else.
      for (const { where, body } of declaredBlocks(model))
        for (const { text } of strings(body, where))
          for (const match of text.matchAll(/"?(?:Not)?Action"?\s*[=:]\s*(\[[^\]]*\]|"[^"]*")/g))
            actions.push(...(match[1]?.match(/"([^"]*)"/g) ?? []).map((a) => a.slice(1, -1)))
      expect(actions.length).toBeGreaterThan(20)
      expect(actions.filter((a) => a.includes('*'))).toEqual([])
    })

    it('scopes the Lambda to its workgroup, database, data prefix, results prefix and log group', () => {
      const [, doc] = policyDocument(model, resource(model, 'aws_iam_role_policy.lambda').policy)
      const bySid = new Map(statementsOf(doc).map((s) => [String(s.sid), s]))
      const athena = bySid.get('AthenaWorkgroup')
      expect(stringList(athena?.actions).sort()).toEqual(
        [
          'athena:GetQueryExecution',
          'athena:GetQueryResults',
          'athena:GetWorkGroup',
          'athena:StartQueryExecution',
          'athena:StopQueryExecution',
        ].sort(),
      )
      expect(stringList(athena?.resources)).toEqual(['${aws_athena_workgroup.analytics.arn}'])
      expect(stringList(bySid.get('GlueCatalogRead')?.resources).join(' ')).toMatch(
        /:catalog.*database\/.*table\//,
      )
      expect(stringList(bySid.get('DataRead')?.resources)).toEqual([
        'arn:${local.partition}:s3:::${var.data_bucket_name}/${var.data_prefix}*',
      ])
      expect(first(bySid.get('DataList')?.condition)).toMatchObject({ variable: 's3:prefix' })
      expect(stringList(bySid.get('ResultsWrite')?.actions).sort()).toEqual([
        's3:AbortMultipartUpload',
        's3:ListMultipartUploadParts',
        's3:PutObject',
      ])
      expect(stringList(bySid.get('ResultsWrite')?.resources)).toEqual([
        '${aws_s3_bucket.athena_results.arn}/${local.results_prefix}*',
      ])
      expect(stringList(bySid.get('OwnLogs')?.resources)).toEqual([
        '${aws_cloudwatch_log_group.lambda.arn}:*',
      ])
      expect(stringList(bySid.get('VpcNetworkInterfaces')?.actions)).toContain('ec2:CreateNetworkInterface')
    })

    it('reads objects only under the data prefix and the Athena results prefix (result files read directly)', () => {
      const [, doc] = policyDocument(model, resource(model, 'aws_iam_role_policy.lambda').policy)
      const statements = statementsOf(doc)
      const results = '${aws_s3_bucket.athena_results.arn}/${local.results_prefix}*'
      // The read of <id>.csv (Range) and <id>.csv.metadata at the execution's OutputLocation: GetObject, there only.
      const read = statements.find((s) => s.sid === 'ResultsRead')
      expect(stringList(read?.actions)).toEqual(['s3:GetObject'])
      expect(stringList(read?.resources)).toEqual([results])
      expect(read?.condition).toBeUndefined()
      // Every GetObject of the role: the data prefix (Athena scans it as the caller) and the results prefix.
      const getObject = statements.filter((s) => stringList(s.actions).includes('s3:GetObject'))
      expect(getObject.flatMap((s) => stringList(s.resources)).sort()).toEqual(
        [results, 'arn:${local.partition}:s3:::${var.data_bucket_name}/${var.data_prefix}*'].sort(),
      )
      // Nothing on the results bucket's objects outside the prefix, and bucket-level calls on that bucket only.
      for (const statement of statements)
        for (const r of stringList(statement.resources).filter((r) =>
          r.includes('aws_s3_bucket.athena_results'),
        ))
          expect([results, '${aws_s3_bucket.athena_results.arn}'], String(statement.sid)).toContain(r)
      expect(stringList(statements.find((s) => s.sid === 'ResultsBucket')?.actions)).toContain(
        's3:ListBucket',
      )
      // The prefix the grant names is the one the workgroup (and so every execution's OutputLocation) writes to.
      expect(model.locals.get('results_prefix')).toMatch(/^[^/].*\/$/)
      expect(model.locals.get('athena_output_location')).toBe(
        's3://${aws_s3_bucket.athena_results.bucket}/${local.results_prefix}',
      )
    })
  })

  describe('(c2) tenants from SSM Parameter Store', () => {
    it('keeps the tenants in a SecureString whose later values Terraform leaves alone', () => {
      const parameter = resource(model, 'aws_ssm_parameter.tenants')
      expect(parameter).toMatchObject({ type: 'SecureString', tier: 'Intelligent-Tiering' })
      expect(refersTo(parameter.value, 'var.tenants_yaml')).toBe(true)
      expect(refersTo(parameter.key_id, 'var.tenants_kms_key_arn')).toBe(true)
      expect(first(parameter.lifecycle)?.ignore_changes).toEqual(['${value}'])
      expect(model.variables.get('tenants_yaml')?.sensitive).toBe(true)
    })

    it('points the Lambda at it (TENANTS_SOURCE=ssm:<name>)', () => {
      const lambda = resource(model, 'aws_lambda_function.analytics_api')
      const env = first(first(lambda.environment)?.variables as Json) ?? {}
      expect(env.TENANTS_SOURCE).toBe('ssm:${aws_ssm_parameter.tenants.name}')
    })

    it('lets the Lambda read exactly that parameter, and decrypt it only through SSM for that parameter', () => {
      const [, doc] = policyDocument(model, resource(model, 'aws_iam_role_policy.lambda').policy)
      const statements = statementsOf(doc)
      const read = statements.find((s) => s.sid === 'TenantsParameterRead')
      expect(stringList(read?.actions)).toEqual(['ssm:GetParameter'])
      expect(stringList(read?.resources)).toEqual(['${aws_ssm_parameter.tenants.arn}'])
      // No other statement grants anything of SSM or Secrets Manager.
      const secretActions = statements
        .filter((s) => s !== read)
        .flatMap((s) => stringList(s.actions))
        .filter((a) => a.startsWith('ssm:') || a.startsWith('secretsmanager:'))
      expect(secretActions).toEqual([])
      const decrypt = statements.find((s) => s.sid === 'TenantsParameterDecrypt')
      expect(stringList(decrypt?.actions)).toEqual(['kms:Decrypt'])
      expect(stringList(decrypt?.resources).join()).toContain('var.tenants_kms_key_arn')
      expect(blocks(decrypt?.condition)).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            test: 'StringEquals',
            variable: 'kms:ViaService',
            values: ['ssm.${var.region}.amazonaws.com'],
          }),
          expect.objectContaining({
            test: 'StringEquals',
            variable: 'kms:EncryptionContext:PARAMETER_ARN',
            values: ['${aws_ssm_parameter.tenants.arn}'],
          }),
        ]),
      )
    })
  })

  describe('(d) Redis', () => {
    it('is a serverless Valkey cache reached over TLS from the Lambda’s security group only', () => {
      const [cacheAddress, cache] = only(model, 'aws_elasticache_serverless_cache')
      expect(cache.engine).toBe('valkey')
      expect(cache.major_engine_version).toBe('${var.valkey_major_version}')
      expect(first(cache.cache_usage_limits)).toBeDefined()

      const lambda = resource(model, 'aws_lambda_function.analytics_api')
      const env = first(first(lambda.environment)?.variables as Json) ?? {}
      expect(String(env.REDIS_URL)).toMatch(/^rediss:\/\//)
      expect(refersTo(env.REDIS_URL, cacheAddress)).toBe(true)

      const lambdaSgs = stringList(first(lambda.vpc_config)?.security_group_ids)
      expect(lambdaSgs).toEqual(['${aws_security_group.lambda.id}'])
      const cacheSgs = stringList(cache.security_group_ids)
      expect(cacheSgs).toHaveLength(1)
      const redisSg = /aws_security_group\.([\w-]+)\.id/.exec(cacheSgs[0] ?? '')?.[0]?.replace(/\.id$/, '')
      expect(redisSg).toBe('aws_security_group.redis')

      // No inline rules on the group itself; every ingress rule on it comes from the Lambda's group.
      const group = resource(model, redisSg as string)
      expect(group.ingress).toBeUndefined()
      const rules = [
        ...resourcesOfType(model, 'aws_vpc_security_group_ingress_rule'),
        ...resourcesOfType(model, 'aws_security_group_rule').filter(([, r]) => r.type === 'ingress'),
      ].filter(([, r]) => refersTo(r.security_group_id, redisSg as string))
      expect(rules.length).toBeGreaterThan(0)
      for (const [address, rule] of rules) {
        const source = rule.referenced_security_group_id ?? rule.source_security_group_id
        expect(source, address).toBe('${aws_security_group.lambda.id}')
        for (const key of ['cidr_ipv4', 'cidr_ipv6', 'cidr_blocks', 'ipv6_cidr_blocks', 'prefix_list_id'])
          expect(rule[key], `${address} ${key}`).toBeUndefined()
        expect(Number(rule.from_port)).toBeGreaterThanOrEqual(6379)
        expect(Number(rule.to_port)).toBeLessThanOrEqual(6380)
      }
    })
  })

  describe('(e) Lambda', () => {
    it('sets every LAMBDA_REQUIRED_ENV name, QUERY_ENGINE=athena and never AWS_REGION', () => {
      const lambda = resource(model, 'aws_lambda_function.analytics_api')
      const env = first(first(lambda.environment)?.variables as Json) ?? {}
      for (const name of LAMBDA_REQUIRED_ENV) expect(Object.keys(env), name).toContain(name)
      expect(env.QUERY_ENGINE).toBe('athena')
      expect(env.CONFIG_DIR).toBe('${local.lambda_config_dir}')
      expect(model.locals.get('lambda_config_dir')).toBe('/var/task/wrangler-free-config')
      expect(Object.keys(env)).not.toContain('AWS_REGION')
      for (const name of ['ATHENA_OUTPUT_LOCATION', 'API_KEYS', 'ADMIN_API_KEYS', 'CORS_ORIGIN', 'LOG_LEVEL'])
        expect(Object.keys(env), name).toContain(name)
      expect(refersTo(env.API_KEYS, 'aws_api_gateway_api_key.analytics_api')).toBe(true)
      expect(refersTo(env.SYNC_DEADLINE_MS, 'var.sync_deadline_ms')).toBe(true)
    })

    it('runs nodejs22.x on arm64 from the built zip, in the VPC, after its log group', () => {
      const lambda = resource(model, 'aws_lambda_function.analytics_api')
      expect(lambda).toMatchObject({
        runtime: 'nodejs22.x',
        architectures: ['arm64'],
        handler: '${local.lambda_handler}',
        filename: '${local.lambda_zip_path}',
        source_code_hash: '${filebase64sha256(local.lambda_zip_path)}',
        memory_size: '${var.lambda_memory_mb}',
        timeout: '${var.lambda_timeout_seconds}',
        reserved_concurrent_executions: '${var.lambda_reserved_concurrency}',
      })
      expect(String(model.locals.get('lambda_zip_path'))).toContain('/../dist/lambda.zip')
      expect(stringList(lambda.depends_on)).toContain('${aws_cloudwatch_log_group.lambda}')
      expect(resource(model, 'aws_cloudwatch_log_group.lambda').name).toBe(
        '/aws/lambda/${local.function_name}',
      )
      expect(stringList(first(lambda.vpc_config)?.subnet_ids)).toEqual(['${var.private_subnet_ids}'])
    })

    it('keeps the sync deadline below the integration timeout, and below a streamed response’s idle timeout', () => {
      const validation = first(model.variables.get('sync_deadline_ms')?.validation)
      expect(String(validation?.condition)).toMatch(/<= 299000/)
      // The bound that depends on the mode (29 s buffered) is a precondition, where other values may be read.
      const patch = resource(model, 'terraform_data.lambda_integration')
      expect(blocks(first(patch.lifecycle)?.precondition).map((p) => p.condition)).toContain(
        '${var.sync_deadline_ms + 1000 <= local.lambda_integration.timeout_milliseconds}',
      )
      const lambda = resource(model, 'aws_lambda_function.analytics_api')
      expect(blocks(first(lambda.lifecycle)?.precondition).map((p) => p.condition)).toContain(
        '${var.lambda_timeout_seconds * 1000 > var.sync_deadline_ms}',
      )
    })
  })

  describe('(f) deployment', () => {
    it('redeploys on a hash of only declared resources, covering every method, integration and response', async () => {
      const [, deployment] = only(model, 'aws_api_gateway_deployment')
      const trigger = first(deployment.triggers)?.redeployment
      expect(typeof trigger).toBe('string')
      const hashed = new Set(await referencesIn(String(trigger)))
      for (const ref of hashed) expect(isDeclared(model, ref), `${ref} is declared`).toBe(true)
      for (const type of [
        'aws_api_gateway_resource',
        'aws_api_gateway_method',
        'aws_api_gateway_integration',
        'aws_api_gateway_method_response',
        'aws_api_gateway_integration_response',
        'aws_api_gateway_gateway_response',
        'aws_api_gateway_request_validator',
      ])
        for (const [address] of resourcesOfType(model, type))
          expect(hashed.has(address), `${address} is in the redeployment hash`).toBe(true)
      expect(first(deployment.lifecycle)?.create_before_destroy).toBe(true)
    })

    it('deploys only after the Lambda integrations are patched, and again whenever the patch re-runs', () => {
      const [, deployment] = only(model, 'aws_api_gateway_deployment')
      expect(stringList(deployment.depends_on)).toContain('${terraform_data.lambda_integration}')
      const trigger = String(first(deployment.triggers)?.redeployment)
      expect(trigger).toContain('terraform_data.lambda_integration,')
      // The attributes the patch owns read back unlike their creation values: hashing them would redeploy once
      // more on the apply after.
      for (const name of ['analytics_api', 'proxy'])
        expect(trigger).toContain(
          `{ for k, v in aws_api_gateway_integration.${name} : k => v if !contains(["uri", "timeout_milliseconds"], k) }`,
        )
    })
  })

  describe('(g) Athena and Glue', () => {
    it('enforces the workgroup configuration with engine v3 and a bytes-scanned cutoff', () => {
      const [, workgroup] = only(model, 'aws_athena_workgroup')
      const config = first(workgroup.configuration)
      expect(config?.enforce_workgroup_configuration).toBe(true)
      expect(first(config?.engine_version)?.selected_engine_version).toBe('Athena engine version 3')
      expect(config?.bytes_scanned_cutoff_per_query).toBe('${var.athena_bytes_scanned_cutoff}')
      expect(
        String(first(model.variables.get('athena_bytes_scanned_cutoff')?.validation)?.condition),
      ).toMatch(/>= 10485760/)
      expect(config?.publish_cloudwatch_metrics_enabled).toBeDefined()
      expect(first(config?.result_configuration)?.output_location).toBe('${local.athena_output_location}')
      expect(String(model.locals.get('athena_output_location'))).toContain(
        'aws_s3_bucket.athena_results.bucket',
      )
    })

    it('encrypts, blocks public access to and expires the results bucket', () => {
      const bucket = 'aws_s3_bucket.athena_results'
      const forBucket = (type: string) => {
        const found = resourcesOfType(model, type).filter(([, r]) => refersTo(r.bucket, bucket))
        expect(
          found.map(([a]) => a),
          `${type} of ${bucket}`,
        ).toHaveLength(1)
        return (found[0] as [string, Body])[1]
      }
      const sse = first(
        first(forBucket('aws_s3_bucket_server_side_encryption_configuration').rule)
          ?.apply_server_side_encryption_by_default as Json,
      )
      expect(['AES256', 'aws:kms']).toContain(sse?.sse_algorithm)
      expect(forBucket('aws_s3_bucket_public_access_block')).toMatchObject({
        block_public_acls: true,
        block_public_policy: true,
        ignore_public_acls: true,
        restrict_public_buckets: true,
      })
      const rule = first(forBucket('aws_s3_bucket_lifecycle_configuration').rule)
      expect(rule?.status).toBe('Enabled')
      expect(first(rule?.filter)?.prefix).toBe('${local.results_prefix}')
      expect(first(rule?.expiration)?.days).toBe('${var.athena_results_expiration_days}')
    })

    it('declares the analytics table over Parquet with partition projection on dt', () => {
      const table = resource(model, 'aws_glue_catalog_table.analytics')
      expect(table.name).toBe('${local.table_name}')
      expect(model.locals.get('table_name')).toBe('analytics')
      expect(refersTo(table.database_name, 'aws_glue_catalog_database.analytics')).toBe(true)
      const params = table.parameters as Body
      expect(params).toMatchObject({
        'projection.enabled': 'true',
        'projection.dt.type': 'date',
        'projection.dt.format': 'yyyy-MM-dd',
        'projection.dt.range': '${var.data_projection_start_date},NOW',
        'projection.dt.interval': '1',
        'projection.dt.interval.unit': 'DAYS',
      })
      // `$${dt}` is Athena's placeholder, escaped from Terraform's interpolation.
      expect(params['storage.location.template']).toBe('${local.data_location}dt=$${dt}/')
      expect(blocks(table.partition_keys).map((k) => [k.name, k.type])).toEqual([['dt', 'string']])
      const storage = first(table.storage_descriptor)
      expect(first(storage?.ser_de_info)?.serialization_library).toMatch(/ParquetHiveSerDe/)
      expect(blocks(storage?.columns).map((c) => `${String(c.name)} ${String(c.type)}`)).toEqual([
        'event_time timestamp',
        'measure string',
        'value double',
        'page string',
        'country string',
        'device string',
      ])
    })
  })

  describe('(h) EventBridge Scheduler', () => {
    it('gives the Scheduler a role that may only invoke the function', () => {
      const [scheduleAddress, schedule] = only(model, 'aws_scheduler_schedule')
      const target = first(schedule.target)
      expect(refersTo(target?.arn, 'aws_lambda_function.analytics_api'), scheduleAddress).toBe(true)
      const roleAddress = /aws_iam_role\.[\w-]+/.exec(String(target?.role_arn))?.[0] as string
      const role = resource(model, roleAddress)

      const [, assume] = policyDocument(model, role.assume_role_policy)
      const trust = statementsOf(assume)
      expect(trust).toHaveLength(1)
      expect(stringList(first(trust[0]?.principals)?.identifiers)).toEqual(['scheduler.amazonaws.com'])
      expect(first(trust[0]?.condition)).toMatchObject({ variable: 'aws:SourceAccount' })

      expect(
        [
          ...resourcesOfType(model, 'aws_iam_role_policy_attachment'),
          ...resourcesOfType(model, 'aws_iam_policy_attachment'),
        ].filter(([, a]) => refersTo(a.role ?? a.roles, roleAddress)),
        'no managed policies on the Scheduler role',
      ).toEqual([])
      const policies = resourcesOfType(model, 'aws_iam_role_policy').filter(([, p]) =>
        refersTo(p.role, roleAddress),
      )
      expect(policies).toHaveLength(1)
      for (const [, policy] of policies) {
        const [, doc] = policyDocument(model, policy.policy)
        const statements = statementsOf(doc)
        expect(statements.length).toBeGreaterThan(0)
        for (const statement of statements) {
          expect(statement.effect ?? 'Allow').toBe('Allow')
          expect(stringList(statement.actions)).toEqual(['lambda:InvokeFunction'])
          expect(statement.not_actions).toBeUndefined()
          const resources = stringList(statement.resources)
          expect(resources.length).toBeGreaterThan(0)
          for (const r of resources)
            expect(r).toMatch(/^\$\{aws_lambda_function\.analytics_api\.arn\}(:\*)?$/)
        }
      }
    })

    it('names the group <cache_prefix>-prewarm and fires every-15-minutes on time with retries', () => {
      const [groupAddress, group] = only(model, 'aws_scheduler_schedule_group')
      expect(group.name).toBe('${local.schedule_group_name}')
      expect(model.locals.get('schedule_group_name')).toBe('${replace(var.cache_prefix, ":", "-")}-prewarm')
      const [, schedule] = only(model, 'aws_scheduler_schedule')
      expect(refersTo(schedule.group_name, groupAddress)).toBe(true)
      expect(first(schedule.flexible_time_window)?.mode).toBe('OFF')
      expect(first(first(schedule.target)?.retry_policy)).toBeDefined()
      expect(first(schedule.target)?.input).toBe('${local.prewarm_schedule_input}')
    })

    it('defines every-15-minutes exactly as schedules.yaml, so `acp schedules sync` leaves it alone', async () => {
      const yaml = (await loadSchedules(join(ROOT, 'wrangler-free-config'))).find(
        (s) => s.name === 'every-15-minutes',
      )
      expect(yaml).toBeDefined()
      expect(model.locals.get('prewarm_schedule')).toEqual({
        name: yaml?.name,
        expression: yaml?.expression,
        timezone: yaml?.timezone,
        description: yaml?.description,
      })
      expect(yaml?.flexibleWindowMinutes).toBe(0)
      expect(yaml?.enabled).toBe(true)
    })

    it.skipIf(!HAS_TERRAFORM)(
      'sends the service’s Input, with a literal <aws.scheduler.scheduled-time>',
      async () => {
        // Evaluate local.prewarm_schedule_input with terraform console (no providers needed) after inlining the
        // literal locals it uses. Console prints the string quoted, JSON-compatible for these characters, so an
        // escaped \u003c would show up as such.
        const template = String(model.locals.get('prewarm_schedule_input'))
        const [expression] = expressionsIn(template)
        expect(`\${${expression}}`).toBe(template)
        const schedule = model.locals.get('prewarm_schedule') as Body
        const inlined = String(expression).replace(/local\.prewarm_schedule\.(\w+)/g, (_, key: string) =>
          JSON.stringify(schedule[key]),
        )
        expect(inlined).not.toMatch(/\b(local|var|aws_\w+|data)\./)
        const dir = await mkdtemp(join(tmpdir(), 'acp-tf-console-'))
        try {
          // console reads its input line by line: the (multi-line) expression goes into a local.
          await writeFile(join(dir, 'main.tf'), `locals {\n  input = ${inlined}\n}\n`)
          const result = spawnSync('terraform', ['console'], {
            cwd: dir,
            env: CHILD_ENV,
            input: 'local.input\n',
            encoding: 'utf8',
            timeout: 60_000,
          })
          expect(result.status, result.stderr).toBe(0)
          const input = JSON.parse(result.stdout.trim()) as string
          expect(input).toBe(scheduleInput('every-15-minutes'))
        } finally {
          await rm(dir, { recursive: true, force: true })
        }
      },
    )
  })

  describe('(i) Lambda integrations: response streaming', () => {
    const STREAMED = 'arn:aws:lambda:eu-west-2:123456789012:function:acme-analytics-api-dev'
    const INVOKE_ARN = `arn:aws:apigateway:eu-west-2:lambda:path/2015-03-31/functions/${STREAMED}/invocations`

    /** A configuration with the locals of infra/ that describe the integrations, the function's ARNs stubbed. */
    function integrationLocals(): string {
      const patch = resource(model, 'terraform_data.lambda_integration')
      const environment = first(first((patch.provisioner as Body | undefined)?.['local-exec'])?.environment)
      const rename = (expression: string) =>
        expression
          .replace(/\baws_lambda_function\.analytics_api\.(arn|invoke_arn)\b/g, 'local.function_$1')
          .replace(/\beach\.value\./g, 'local.each_value.')
      const locals = {
        lambda_integration: rename(hclExpression(model.locals.get('lambda_integration') ?? null)),
        lambda_handler: rename(hclExpression(model.locals.get('lambda_handler') ?? null)),
        environment: rename(hclExpression(environment ?? null)),
      }
      for (const [name, text] of Object.entries(locals))
        expect(text, `${name} refers to nothing else of infra/`).not.toMatch(/\b(aws_\w+|data|each)\./)
      return `variable "region" {
  type = string
}
variable "api_response_streaming" {
  type = bool
}
variable "lambda_timeout_seconds" {
  type = number
}
locals {
  partition           = "aws"
  function_arn        = ${JSON.stringify(STREAMED)}
  function_invoke_arn = ${JSON.stringify(INVOKE_ARN)}
  each_value          = { rest_api_id = "a1b2c3d4e5", resource_id = "abc123", http_method = "ANY" }
  lambda_integration  = ${locals.lambda_integration}
  lambda_handler      = ${locals.lambda_handler}
  environment         = ${locals.environment}
}
`
    }

    it('hands every Lambda proxy integration to terraform_data.lambda_integration, re-run on any change of it', () => {
      const proxies = resourcesOfType(model, 'aws_api_gateway_integration').filter(
        ([, i]) => i.type === 'AWS_PROXY',
      )
      expect(proxies.map(([a]) => a).sort()).toEqual([
        'aws_api_gateway_integration.analytics_api',
        'aws_api_gateway_integration.proxy',
      ])
      const patch = resource(model, 'terraform_data.lambda_integration')
      const lifecycle = first(patch.lifecycle)
      expect(Object.values(patch.for_each as Body).sort()).toEqual(proxies.map(([a]) => `\${${a}}`).sort())
      expect(stringList(lifecycle?.replace_triggered_by).sort()).toEqual(
        proxies.map(([a]) => `\${${a}}`).sort(),
      )
      for (const [address, integration] of proxies) {
        // Created in a state API Gateway accepts on its own (Invoke, BUFFERED, 29 s); URI and timeout are the patch's.
        expect(integration.uri, address).toBe('${aws_lambda_function.analytics_api.invoke_arn}')
        expect(integration.timeout_milliseconds, address).toBe(29000)
        expect(stringList(first(integration.lifecycle)?.ignore_changes).sort(), address).toEqual([
          '${timeout_milliseconds}',
          '${uri}',
        ])
      }
      expect(patch.input).toBe('${local.lambda_integration}')
      expect(patch.triggers_replace).toEqual({
        region: '${var.region}',
        rest_api_id: '${each.value.rest_api_id}',
        resource_id: '${each.value.resource_id}',
        http_method: '${each.value.http_method}',
        wanted: '${local.lambda_integration}',
      })
      expect(resource(model, 'aws_lambda_function.analytics_api').handler).toBe('${local.lambda_handler}')
      expect(model.variables.get('api_response_streaming')).toMatchObject({ type: '${bool}', default: true })
    })

    it.skipIf(!HAS_TERRAFORM)(
      'streams with the streaming URI, STREAM, the Lambda’s timeout and index.streamingHandler; else Invoke, BUFFERED, 29 s',
      async () => {
        const config = integrationLocals()
        const evaluate = (streaming: boolean, timeoutSeconds: number) =>
          terraformConsole(
            config,
            '{ integration = local.lambda_integration, handler = local.lambda_handler }',
            [
              '-var=region=eu-west-2',
              `-var=api_response_streaming=${streaming}`,
              `-var=lambda_timeout_seconds=${timeoutSeconds}`,
            ],
          )
        expect(await evaluate(true, 300)).toEqual({
          integration: {
            uri: `arn:aws:apigateway:eu-west-2:lambda:path/2021-11-15/functions/${STREAMED}/response-streaming-invocations`,
            response_transfer_mode: 'STREAM',
            timeout_milliseconds: 300_000,
          },
          handler: 'index.streamingHandler',
        })
        // API Gateway streams for up to 15 minutes, Lambda runs for up to 15: they end together.
        expect(await evaluate(true, 900)).toMatchObject({ integration: { timeout_milliseconds: 900_000 } })
        expect(await evaluate(false, 300)).toEqual({
          integration: { uri: INVOKE_ARN, response_transfer_mode: 'BUFFERED', timeout_milliseconds: 29_000 },
          handler: 'index.handler',
        })
      },
    )

    it.skipIf(!HAS_TERRAFORM)(
      'applies them with three update-integration calls, each leaving a state API Gateway accepts',
      async () => {
        const patch = resource(model, 'terraform_data.lambda_integration')
        const command = String(first((patch.provisioner as Body | undefined)?.['local-exec'])?.command)
        const config = integrationLocals()
        const dir = await mkdtemp(join(tmpdir(), 'acp-fake-aws-'))
        try {
          // A fake aws CLI that records its arguments, one per line, and fails when told to.
          const log = join(dir, 'calls.log')
          const END_OF_CALL = '=== end of call ==='
          await writeFile(
            join(dir, 'aws'),
            '#!/bin/sh\nfor a in "$@"; do printf \'%s\\n\' "$a"; done >> "$FAKE_AWS_LOG"\necho "$END_OF_CALL" >> "$FAKE_AWS_LOG"\nexit "${FAKE_AWS_EXIT:-0}"\n',
            { mode: 0o755 },
          )
          const run = async (streaming: boolean, exitCode = 0) => {
            const environment = (await terraformConsole(config, 'local.environment', [
              '-var=region=eu-west-2',
              `-var=api_response_streaming=${streaming}`,
              '-var=lambda_timeout_seconds=300',
            ])) as Record<string, string>
            await rm(log, { force: true })
            const result = spawnSync('/bin/sh', ['-c', command], {
              env: {
                ...environment,
                PATH: `${dir}:${process.env.PATH ?? ''}`,
                FAKE_AWS_LOG: log,
                FAKE_AWS_EXIT: String(exitCode),
                END_OF_CALL,
              },
              encoding: 'utf8',
              timeout: 30_000,
            })
            const calls = existsSync(log)
              ? (await readFile(log, 'utf8'))
                  .split(`${END_OF_CALL}\n`)
                  .filter((c) => c !== '')
                  .map((c) => c.split('\n').filter((a) => a !== ''))
              : []
            return { status: result.status, stderr: result.stderr, calls }
          }
          const target = [
            'apigateway',
            'update-integration',
            '--region',
            'eu-west-2',
            '--rest-api-id',
            'a1b2c3d4e5',
            '--resource-id',
            'abc123',
            '--http-method',
            'ANY',
            '--patch-operations',
          ]
          const patches = (calls: string[][]) =>
            calls.map((call) => {
              expect(call.slice(0, -1)).toEqual(target)
              return JSON.parse(call.at(-1) ?? '') as Json
            })
          const timeout = (ms: number) => [{ op: 'replace', path: '/timeoutInMillis', value: String(ms) }]

          const streamed = await run(true)
          expect(streamed.status, streamed.stderr).toBe(0)
          expect(patches(streamed.calls)).toEqual([
            timeout(29_000),
            [
              {
                op: 'replace',
                path: '/uri',
                value: `arn:aws:apigateway:eu-west-2:lambda:path/2021-11-15/functions/${STREAMED}/response-streaming-invocations`,
              },
              { op: 'replace', path: '/responseTransferMode', value: 'STREAM' },
            ],
            timeout(300_000),
          ])

          const buffered = await run(false)
          expect(buffered.status, buffered.stderr).toBe(0)
          expect(patches(buffered.calls)).toEqual([
            timeout(29_000),
            [
              { op: 'replace', path: '/responseTransferMode', value: 'BUFFERED' },
              { op: 'replace', path: '/uri', value: INVOKE_ARN },
            ],
            timeout(29_000),
          ])

          // A refused call fails the apply at once (set -e), so the deployment after it is never made.
          const refused = await run(true, 254)
          expect(refused.status).not.toBe(0)
          expect(refused.calls).toHaveLength(1)
        } finally {
          await rm(dir, { recursive: true, force: true })
        }
      },
    )
  })

  describe('with the local provider mirror', { skip: !HAS_TERRAFORM || !HAS_MIRROR }, () => {
    let workspace: TerraformWorkspace

    beforeAll(async () => {
      workspace = await TerraformWorkspace.create()
    }, 120_000)

    afterAll(async () => {
      await workspace?.dispose()
    })

    it('validates', () => {
      const result = workspace.run(['validate', '-json'])
      const report = JSON.parse(result.stdout) as { valid: boolean; diagnostics: unknown[] }
      expect(report.diagnostics).toEqual([])
      expect(report.valid).toBe(true)
    })

    const planOffline = (name: string, extraVars: string[] = []) => workspace.plan(name, extraVars)

    it('plans offline (fake credentials, account id stubbed) with the required variables only', async () => {
      const { status, stderr, plan } = await planOffline('defaults')
      expect(status, stderr).toBe(0)
      const json = plan as Plan
      const managed = json.resource_changes.filter((r) => r.mode === 'managed')
      expect(managed.every((r) => r.change.actions.join() === 'create')).toBe(true)
      // All but the alarm topic and its subscription, which exist only for alarm_email (monitoring.test.ts).
      for (const [address, body] of model.resources)
        expect(
          managed.some((r) => r.address === address || r.address.startsWith(`${address}[`)),
          `${address} is planned`,
        ).toBe(!refersTo(body.count, 'local.create_alarm_topic'))
      expect(first(planned(json, 'aws_scheduler_schedule.prewarm')?.target)?.input).toBe(
        scheduleInput('every-15-minutes'),
      )
      expect(planned(json, 'aws_scheduler_schedule_group.prewarm')?.name).toBe('acp-prewarm')
      const glueParameters = planned(json, 'aws_glue_catalog_table.analytics')?.parameters as Body | undefined
      expect(glueParameters?.['storage.location.template']).toBe('s3://my-analytics-data/analytics/dt=${dt}/')
      expect(
        first(first(planned(json, 'aws_athena_workgroup.analytics')?.configuration)?.result_configuration)
          ?.output_location,
      ).toBe('s3://acme-analytics-api-dev-results-123456789012/results/')
      // Streaming by default: the handler, and what the patch applies to both Lambda integrations.
      expect(planned(json, 'aws_lambda_function.analytics_api')).toMatchObject({
        handler: 'index.streamingHandler',
        timeout: 300,
      })
      for (const key of ['analytics_api', 'proxy'])
        expect(planned(json, `terraform_data.lambda_integration["${key}"]`)?.input, key).toMatchObject({
          response_transfer_mode: 'STREAM',
          timeout_milliseconds: 300_000,
        })
      for (const mock of ['analytics_api_options', 'proxy_options'])
        expect(planned(json, `aws_api_gateway_integration.${mock}`)?.content_handling, mock).toBe(
          'CONVERT_TO_TEXT',
        )
      expect(planned(json, 'aws_api_gateway_rest_api.analytics_api')?.binary_media_types).toEqual(['*/*'])
      // The tenants parameter, with no tenants until an operator puts the file (the Lambda's variables are unknown
      // until apply: REDIS_URL; TENANTS_SOURCE is checked on the configuration above).
      expect(planned(json, 'aws_ssm_parameter.tenants')).toMatchObject({
        name: '/acme-analytics-api-dev/tenants',
        type: 'SecureString',
        value: 'tenants: {}\n',
      })
    }, 120_000)

    it('plans with api_response_streaming=false: Invoke, BUFFERED, 29 s, index.handler', async () => {
      const { status, stderr, plan } = await planOffline('buffered', ['-var=api_response_streaming=false'])
      expect(status, stderr).toBe(0)
      const json = plan as Plan
      expect(
        json.resource_changes
          .filter((r) => r.mode === 'managed')
          .every((r) => r.change.actions.join() === 'create'),
      ).toBe(true)
      expect(planned(json, 'aws_lambda_function.analytics_api')?.handler).toBe('index.handler')
      for (const key of ['analytics_api', 'proxy'])
        expect(planned(json, `terraform_data.lambda_integration["${key}"]`)?.input, key).toMatchObject({
          response_transfer_mode: 'BUFFERED',
          timeout_milliseconds: 29_000,
        })
      // Still */*: the buffered Lambda returns gzip as base64 (isBase64Encoded).
      expect(planned(json, 'aws_api_gateway_rest_api.analytics_api')?.binary_media_types).toEqual(['*/*'])
    }, 120_000)

    it('refuses a sync deadline the buffered integration timeout cannot hold, and takes it when streamed', async () => {
      const refused = await planOffline('buffered-too-long', [
        '-var=api_response_streaming=false',
        '-var=sync_deadline_ms=28500',
      ])
      expect(refused.status).not.toBe(0)
      expect(refused.stderr).toMatch(/sync_deadline_ms must be at least 1000 below the integration timeout/)
      const streamed = await planOffline('streamed-long', ['-var=sync_deadline_ms=28500'])
      expect(streamed.status, streamed.stderr).toBe(0)
    }, 180_000)
  })
})

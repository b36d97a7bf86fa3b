// Tests of infra/events.tf: EventBridge delivering landed data to the Lambda — the data bucket's notifications, the
// S3 and Glue rules, their targets and the Lambda's permissions — on the parsed HCL, and on offline plans (local
// provider mirror) whose event patterns are matched against the same events the service's tests send, so that the
// rules deliver exactly what the service acts on.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: expected values are Terraform `${…}`, not JS templates
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadLandingSettings } from '../../src/config/landing.ts'
import { isLandingEvent, readLandingEvent } from '../../src/prewarm/landing-events.ts'
import { glueTableChange, s3ObjectCreated } from '../helpers/landing-events.ts'
import {
  type Body,
  first,
  HAS_MIRROR,
  HAS_TERRAFORM,
  isBody,
  type Json,
  loadInfra,
  type Plan,
  planned,
  refersTo,
  resource,
  resourcesOfType,
  TerraformWorkspace,
  type TfModel,
} from '../helpers/terraform.ts'

/** The data bucket every plan is given (requiredPlanVars). */
const DATA_BUCKET = 'my-analytics-data'

/**
 * EventBridge's matching, as much of it as these rules use: a field's array of values matches when one element equals
 * the event's value or is a `{prefix}` the value starts with; an object recurses; an absent field never matches.
 */
function matches(pattern: Json, event: Json | undefined): boolean {
  if (Array.isArray(pattern))
    return pattern.some((p) =>
      isBody(p) && typeof p.prefix === 'string'
        ? typeof event === 'string' && event.startsWith(p.prefix)
        : p === event,
    )
  if (isBody(pattern))
    return (
      isBody(event) &&
      Object.entries(pattern).every(([k, p]) => event[k] !== undefined && matches(p, event[k] as Json))
    )
  return false
}

const patternOf = (plan: Plan | undefined, address: string): Json =>
  JSON.parse(String(planned(plan, address)?.event_pattern ?? 'null')) as Json

function oneLine(stderr: string): string {
  return stderr.replace(/[│╷╵]/g, ' ').replace(/\s+/g, ' ')
}

describe('infra/events.tf (EventBridge → Lambda, landed data)', () => {
  let model: TfModel

  beforeAll(async () => {
    ;({ model } = await loadInfra())
  })

  describe('configuration', () => {
    it('switches every resource with landing_events_enabled, the bucket notification also with its own variable', () => {
      expect(resource(model, 'aws_s3_bucket_notification.data')).toMatchObject({
        count: '${var.landing_events_enabled && var.landing_manage_bucket_notification ? 1 : 0}',
        bucket: '${var.data_bucket_name}',
        eventbridge: true,
      })
      for (const rule of ['data_landed', 'glue_partitions'])
        expect(resource(model, `aws_cloudwatch_event_rule.${rule}`).count).toBe(
          '${var.landing_events_enabled ? 1 : 0}',
        )
      expect(resource(model, 'aws_cloudwatch_event_target.landing').for_each).toBe('${local.landing_rules}')
      expect(resource(model, 'aws_lambda_permission.landing').for_each).toBe('${local.landing_rules}')
      expect(model.variables.get('landing_events_enabled')).toMatchObject({ type: '${bool}', default: true })
      expect(model.variables.get('landing_manage_bucket_notification')).toMatchObject({
        type: '${bool}',
        default: true,
      })
    })

    it('targets the service’s Lambda, which only events.amazonaws.com may invoke, rule by rule', () => {
      const target = resource(model, 'aws_cloudwatch_event_target.landing')
      expect(refersTo(target.arn, 'aws_lambda_function.analytics_api')).toBe(true)
      expect(target.rule).toBe('${each.value.name}')
      // No input transformer: the service reads EventBridge's own shape.
      expect(target.input).toBeUndefined()
      expect(target.input_transformer).toBeUndefined()
      const permission = resource(model, 'aws_lambda_permission.landing')
      expect(permission).toMatchObject({
        action: 'lambda:InvokeFunction',
        principal: 'events.amazonaws.com',
        source_arn: '${each.value.arn}',
      })
      expect(refersTo(permission.function_name, 'aws_lambda_function.analytics_api')).toBe(true)
      // Every other permission is API Gateway's.
      for (const [address, p] of resourcesOfType(model, 'aws_lambda_permission'))
        expect(['apigateway.amazonaws.com', 'events.amazonaws.com'], address).toContain(p.principal)
    })

    it('keeps the variables’ defaults equal to the shipped landing.yaml: its prefixes hold data_prefix, the same window', async () => {
      const shipped = await loadLandingSettings('wrangler-free-config')
      const table = shipped?.tables.get('analytics')
      expect(table?.prefixes).toContain(model.variables.get('data_prefix')?.default)
      expect(model.variables.get('landing_debounce_seconds')?.default).toBe((shipped?.debounceMs ?? 0) / 1000)
      // Glue events are matched on the database the service reads (ATHENA_DATABASE) and the table's name.
      const env = first(
        first(resource(model, 'aws_lambda_function.analytics_api').environment)?.variables as Json,
      )
      expect(env?.ATHENA_DATABASE).toBe('${aws_glue_catalog_database.analytics.name}')
      expect(model.locals.get('table_name')).toBe('analytics')
    })

    it('checks the Lambda timeout against the window on both rules, and validates the variables', () => {
      for (const rule of ['data_landed', 'glue_partitions']) {
        const pre = first(first(resource(model, `aws_cloudwatch_event_rule.${rule}`).lifecycle)?.precondition)
        expect(pre?.condition, rule).toBe(
          '${var.lambda_timeout_seconds >= var.landing_debounce_seconds + 60}',
        )
      }
      for (const name of ['landing_prefixes', 'landing_debounce_seconds'])
        expect(first(model.variables.get(name)?.validation)?.condition, name).toBeDefined()
    })
  })

  describe('plans (local provider mirror)', { skip: !HAS_TERRAFORM || !HAS_MIRROR }, () => {
    let workspace: TerraformWorkspace
    let defaults: Plan | undefined

    beforeAll(async () => {
      workspace = await TerraformWorkspace.create()
      const result = await workspace.plan('events-defaults')
      expect(result.status, result.stderr).toBe(0)
      defaults = result.plan
    }, 180_000)

    afterAll(async () => {
      await workspace?.dispose()
    })

    it('turns on EventBridge notifications of the data bucket', () => {
      expect(planned(defaults, 'aws_s3_bucket_notification.data[0]')).toMatchObject({
        bucket: DATA_BUCKET,
        eventbridge: true,
      })
    })

    it('delivers Object Created under the table’s prefix of the data bucket: what the service acts on', async () => {
      const pattern = patternOf(defaults, 'aws_cloudwatch_event_rule.data_landed[0]')
      expect(pattern).toEqual({
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: { bucket: { name: [DATA_BUCKET] }, object: { key: [{ prefix: 'analytics/' }] } },
      })
      const shipped = await loadLandingSettings('wrangler-free-config')
      if (!shipped) throw new Error('the shipped landing.yaml is missing')
      const landed = s3ObjectCreated(DATA_BUCKET, 'analytics/dt=2024-01-15/part-00000.snappy.parquet') as Json
      expect(matches(pattern, landed)).toBe(true)
      expect(isLandingEvent(landed)).toBe(true)
      expect(readLandingEvent(landed as never, shipped, 'analytics')).toMatchObject({
        kind: 'change',
        change: {
          table: 'analytics',
          spans: [{ startMs: Date.UTC(2024, 0, 15), endMs: Date.UTC(2024, 0, 16) }],
        },
      })
      for (const [bucket, key] of [
        ['someone-else', 'analytics/dt=2024-01-15/part-0.parquet'],
        [DATA_BUCKET, 'staging/dt=2024-01-15/part-0.parquet'],
      ])
        expect(matches(pattern, s3ObjectCreated(bucket as string, key as string) as Json), key).toBe(false)
      const deleted = { ...(landed as Body), 'detail-type': 'Object Deleted' }
      expect(matches(pattern, deleted)).toBe(false)
    })

    it('delivers the Glue database’s partition changes, not its table changes', () => {
      const pattern = patternOf(defaults, 'aws_cloudwatch_event_rule.glue_partitions[0]')
      expect(pattern).toMatchObject({
        source: ['aws.glue'],
        'detail-type': ['Glue Data Catalog Table State Change'],
        detail: { databaseName: ['analytics'] },
      })
      const change = (typeOfChange: string, database = 'analytics') =>
        glueTableChange({ database, table: 'analytics', typeOfChange, partitions: [['2024-01-15']] }) as Json
      for (const type of [
        'CreatePartition',
        'BatchCreatePartition',
        'UpdatePartition',
        'BatchDeletePartition',
      ])
        expect(matches(pattern, change(type)), type).toBe(true)
      expect(matches(pattern, change('UpdateTable'))).toBe(false)
      expect(matches(pattern, change('CreatePartition', 'staging'))).toBe(false)
    })

    it('targets the Lambda from both rules, retried for an hour, and lets each rule invoke it', () => {
      for (const rule of ['data_landed', 'glue_partitions']) {
        expect(planned(defaults, `aws_cloudwatch_event_target.landing["${rule}"]`)).toMatchObject({
          target_id: 'lambda',
          retry_policy: [{ maximum_event_age_in_seconds: 3600, maximum_retry_attempts: 10 }],
        })
        expect(planned(defaults, `aws_lambda_permission.landing["${rule}"]`)).toMatchObject({
          action: 'lambda:InvokeFunction',
          principal: 'events.amazonaws.com',
          function_name: 'acme-analytics-api-dev',
        })
      }
      expect(defaults?.output_changes.landing_event_rules).toBeDefined()
    })

    it('follows landing_prefixes, leaves the bucket’s notifications alone when asked, and the root means every key', async () => {
      const custom = await workspace.plan('events-prefixes', [
        '-var=landing_prefixes=["analytics/","raw/events/"]',
        '-var=landing_manage_bucket_notification=false',
      ])
      expect(custom.status, custom.stderr).toBe(0)
      expect(planned(custom.plan, 'aws_s3_bucket_notification.data[0]')).toBeUndefined()
      const pattern = patternOf(custom.plan, 'aws_cloudwatch_event_rule.data_landed[0]') as Body
      expect((pattern.detail as Body).object).toEqual({
        key: [{ prefix: 'analytics/' }, { prefix: 'raw/events/' }],
      })
      const root = await workspace.plan('events-root', ['-var=data_prefix='])
      expect(root.status, root.stderr).toBe(0)
      expect(patternOf(root.plan, 'aws_cloudwatch_event_rule.data_landed[0]')).toEqual({
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: { bucket: { name: [DATA_BUCKET] } },
      })
    }, 120_000)

    it('plans nothing of it with landing_events_enabled=false', async () => {
      const off = await workspace.plan('events-off', ['-var=landing_events_enabled=false'])
      expect(off.status, off.stderr).toBe(0)
      const addresses = off.plan?.resource_changes.map((r) => r.address) ?? []
      expect(
        addresses.filter((a) => /event_rule|event_target|bucket_notification|permission\.landing/.test(a)),
      ).toEqual([])
      expect(addresses).toContain('aws_lambda_permission.api_gateway')
      expect(off.plan?.output_changes.landing_event_rules?.after).toEqual({})
    }, 120_000)

    it('refuses a Lambda timeout shorter than the window plus a minute, and malformed variables', async () => {
      const short = await workspace.plan('events-short', [
        '-var=lambda_timeout_seconds=80',
        '-var=landing_debounce_seconds=30',
      ])
      expect(short.status).not.toBe(0)
      expect(oneLine(short.stderr)).toContain(
        'lambda_timeout_seconds must be at least landing_debounce_seconds + 60',
      )
      const invalid = await workspace.plan('events-invalid', [
        '-var=landing_prefixes=["/analytics/"]',
        '-var=landing_debounce_seconds=601',
      ])
      expect(invalid.status).not.toBe(0)
      const text = oneLine(invalid.stderr)
      expect(text).toContain(
        'landing_prefixes holds at most 16 prefixes, each empty or ending with / and not starting with /.',
      )
      expect(text).toContain(
        'landing_debounce_seconds must be a whole number from 0 to 600, as in landing.yaml.',
      )
    }, 120_000)
  })
})

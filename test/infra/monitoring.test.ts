// Tests of infra/monitoring.tf: the CloudWatch dashboard, the alarms and their SNS topic, and the Lambda environment
// the service's metrics depend on. The wiring is checked on the parsed HCL; with terraform and a local provider
// mirror (TF_PLUGIN_MIRROR) the configuration is also planned offline and the plans (`terraform show -json`) are
// checked: the dashboard body every widget of which is parsed, each alarm's metric, threshold and actions with an
// existing topic, a new one for an email, and none, the switch-off, and the variables' validations.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: expected values are Terraform `${…}`, not JS templates
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
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
  plannedUnknown,
  policyDocument,
  refersTo,
  resource,
  resourcesOfType,
  statementsOf,
  stringList,
  TerraformWorkspace,
  type TfModel,
} from '../helpers/terraform.ts'

/** The metrics the Lambda publishes (src/metrics/): every one of them must be on the dashboard. */
const SERVICE_METRICS = [
  'ReadHit',
  'ReadStale',
  'ReadMiss',
  'ReadBypass',
  'ReadLatency',
  'Responses4xx',
  'Responses5xx',
  'AthenaExecutions',
  'AthenaScannedBytes',
  'AthenaReusedResults',
  'BytesSaved',
  'LeaseWaits',
  'LeaseWaitTime',
  'CacheErrors',
  'CacheBreakerOpen',
  'PrewarmRuns',
  'PrewarmRefreshed',
  'PrewarmFailed',
  'PrewarmSkipped',
  'PrewarmDuration',
]
/** Published under [service, query] too. */
const READ_METRICS = ['ReadHit', 'ReadStale', 'ReadMiss', 'ReadBypass', 'ReadLatency']

const ALARMS = [
  'hit_ratio',
  'responses_5xx',
  'api_gateway_5xx',
  'cache_breaker_open',
  'prewarm_failed',
  'prewarm_missing',
  'lambda_errors',
]

// ---------------------------------------------------------------------------------------------------------------
// CloudWatch metric math, as much of it as the dashboard and the alarms use: numbers, ids, + - * /, comparisons,
// parentheses, FILL(id, value) and IF(condition, then, else). A missing value is null and spreads like CloudWatch's
// missing data point; x / 0 gives none either.

type MathValue = number | null

function evaluateMetricMath(expression: string, values: Record<string, MathValue>): MathValue {
  const tokens = expression.match(/\d+(?:\.\d+)?|[A-Za-z_]\w*|>=|<=|==|!=|[-+*/(),<>]/g) ?? []
  expect(tokens.join(''), 'every character of the expression is understood').toBe(
    expression.replace(/\s+/g, ''),
  )
  let at = 0
  const peek = () => tokens[at]
  const take = (wanted?: string): string => {
    const token = tokens[at]
    if (token === undefined || (wanted !== undefined && token !== wanted))
      throw new Error(`expected ${wanted ?? 'a token'} at ${at} of ${expression}`)
    at += 1
    return token
  }
  const arith = (a: MathValue, b: MathValue, op: (x: number, y: number) => number): MathValue =>
    a === null || b === null ? null : op(a, b)

  function primary(): MathValue {
    const token = take()
    if (token === '(') {
      const value = comparison()
      take(')')
      return value
    }
    if (token === '-') return arith(-1, primary(), (x, y) => x * y)
    if (/^\d/.test(token)) return Number(token)
    if (token === 'FILL') {
      take('(')
      const id = take()
      if (!(id in values)) throw new Error(`unknown id ${id} in ${expression}`)
      take(',')
      const fill = comparison()
      take(')')
      return values[id] ?? fill
    }
    if (token === 'IF') {
      take('(')
      const condition = comparison()
      take(',')
      const then = comparison()
      take(',')
      const otherwise = comparison()
      take(')')
      return condition === null ? null : condition !== 0 ? then : otherwise
    }
    if (!(token in values)) throw new Error(`unknown id ${token} in ${expression}`)
    return values[token] ?? null
  }
  function product(): MathValue {
    let value = primary()
    while (peek() === '*' || peek() === '/') {
      const op = take()
      const right = primary()
      value =
        op === '*'
          ? arith(value, right, (x, y) => x * y)
          : arith(value, right, (x, y) => (y === 0 ? Number.NaN : x / y))
      if (value !== null && Number.isNaN(value)) value = null
    }
    return value
  }
  function sum(): MathValue {
    let value = product()
    while (peek() === '+' || peek() === '-') {
      const op = take()
      const right = product()
      value = arith(value, right, op === '+' ? (x, y) => x + y : (x, y) => x - y)
    }
    return value
  }
  function comparison(): MathValue {
    const left = sum()
    const op = peek()
    if (op !== '>=' && op !== '<=' && op !== '>' && op !== '<' && op !== '==' && op !== '!=') return left
    take()
    const right = sum()
    const holds: Record<string, (x: number, y: number) => boolean> = {
      '>=': (x, y) => x >= y,
      '<=': (x, y) => x <= y,
      '>': (x, y) => x > y,
      '<': (x, y) => x < y,
      '==': (x, y) => x === y,
      '!=': (x, y) => x !== y,
    }
    return arith(left, right, (x, y) => (holds[op]?.(x, y) ? 1 : 0))
  }

  const value = comparison()
  expect(at, `all of ${expression} is read`).toBe(tokens.length)
  return value
}

// ---------------------------------------------------------------------------------------------------------------
// The dashboard body, read as CloudWatch reads it.

interface MetricRow {
  kind: 'metric'
  namespace: string
  name: string
  dimensions: Record<string, string>
  options: Body
}
interface ExpressionRow {
  kind: 'expression'
  id: string
  expression: string
  options: Body
}
type Row = MetricRow | ExpressionRow

interface Widget {
  type: string
  x: number
  y: number
  width: number
  height: number
  properties: Body
}

/** A metric widget's `metrics` rows: [namespace, name, dim, value, …, {options}] or [{expression, id, …}]. */
function rowsOf(widget: Widget): Row[] {
  const metrics = widget.properties.metrics
  if (!Array.isArray(metrics)) return []
  return metrics.map((row) => {
    expect(Array.isArray(row), `${String(widget.properties.title)}: a row is an array`).toBe(true)
    const items = row as Json[]
    const last = items.at(-1)
    const options = isBody(last) ? last : {}
    const plain = isBody(last) ? items.slice(0, -1) : items
    if (plain.length === 0) {
      expect(typeof options.expression, 'an expression row has an expression').toBe('string')
      return { kind: 'expression', id: String(options.id), expression: String(options.expression), options }
    }
    // No "." shorthands: every row names its namespace and metric.
    expect(plain.every((p) => typeof p === 'string' && p !== '.' && p !== '')).toBe(true)
    const [namespace, name, ...dims] = plain as string[]
    expect(dims.length % 2, `${name}: dimension names and values in pairs`).toBe(0)
    const dimensions: Record<string, string> = {}
    for (let i = 0; i < dims.length; i += 2) dimensions[dims[i] as string] = dims[i + 1] as string
    return { kind: 'metric', namespace: namespace as string, name: name as string, dimensions, options }
  })
}

/** The ids an expression uses (lowercase-initial words outside quoted text: functions are upper case). */
function idsUsedBy(expression: string): string[] {
  const unquoted = expression.replace(/'(?:[^'\\]|\\.)*'/g, "''")
  return [...new Set(unquoted.match(/\b[a-z]\w*/g) ?? [])]
}

/** The metric names a SEARCH expression selects: its MetricName="…" terms. */
function searchedMetrics(expression: string): string[] {
  return [...expression.matchAll(/MetricName=\\?"(\w+)\\?"/g)].map((m) => m[1] as string)
}

function dashboardOf(plan: Plan | undefined): Widget[] {
  const dashboard = planned(plan, 'aws_cloudwatch_dashboard.service[0]')
  expect(dashboard, 'the dashboard is planned').toBeDefined()
  expect(typeof dashboard?.dashboard_body, 'the body is known at plan time').toBe('string')
  const body = JSON.parse(String(dashboard?.dashboard_body)) as { widgets: Widget[] }
  expect(Object.keys(body)).toEqual(['widgets'])
  return body.widgets
}

/** terraform's messages, wrapped in a box of lines, as one line. */
function oneLine(stderr: string): string {
  return stderr.replace(/[│╷╵]/g, ' ').replace(/\s+/g, ' ')
}

/** Names (deployment values) the plans are checked against. */
const NAME = 'acme-analytics-api-dev'
const STAGE = 'default'
const REGION = 'eu-west-2'
const TOPIC_ARN = 'arn:aws:sns:eu-west-2:123456789012:ops-alarms'

// ---------------------------------------------------------------------------------------------------------------

describe('infra/monitoring.tf (CloudWatch)', () => {
  let model: TfModel

  beforeAll(async () => {
    ;({ model } = await loadInfra())
  })

  describe('configuration', () => {
    it('gives the Lambda its metrics namespace and the service name the metrics carry', () => {
      const env = first(
        first(resource(model, 'aws_lambda_function.analytics_api').environment)?.variables as Json,
      )
      expect(env?.METRICS_NAMESPACE).toBe('${var.metrics_namespace}')
      expect(env?.POWERTOOLS_SERVICE_NAME).toBe('${local.function_name}')
      expect(model.variables.get('metrics_namespace')).toMatchObject({
        type: '${string}',
        default: 'AthenaCacheProxy',
      })
      // The dashboard and alarms select on that same service name.
      expect(model.locals.get('metrics_service')).toBe('${local.function_name}')
      expect(model.locals.get('metrics_namespace')).toBe('${var.metrics_namespace}')
    })

    it('lets the function publish through its log only: no CloudWatch API permission (EMF)', () => {
      const [, doc] = policyDocument(model, resource(model, 'aws_iam_role_policy.lambda').policy)
      const actions = statementsOf(doc).flatMap((s) => stringList(s.actions))
      expect(actions.filter((a) => a.toLowerCase().startsWith('cloudwatch:'))).toEqual([])
      const ownLogs = statementsOf(doc).find((s) => s.sid === 'OwnLogs')
      expect(stringList(ownLogs?.actions)).toContain('logs:PutLogEvents')
    })

    it('switches everything with monitoring_enabled and sends every alarm’s ALARM and OK to local.alarm_actions', () => {
      const alarms = resourcesOfType(model, 'aws_cloudwatch_metric_alarm')
      expect(alarms.map(([a]) => a.replace('aws_cloudwatch_metric_alarm.', '')).sort()).toEqual(
        [...ALARMS].sort(),
      )
      for (const [address, alarm] of alarms) {
        expect(alarm.count, address).toBe('${local.monitoring_count}')
        expect(alarm.alarm_actions, address).toBe('${local.alarm_actions}')
        expect(alarm.ok_actions, address).toBe('${local.alarm_actions}')
      }
      expect(resource(model, 'aws_cloudwatch_dashboard.service').count).toBe('${local.monitoring_count}')
      expect(model.locals.get('monitoring_count')).toBe('${var.monitoring_enabled ? 1 : 0}')
      // The topic given, else the created one (whose count also needs monitoring_enabled).
      const actions = model.locals.get('alarm_actions')
      expect(refersTo(actions, 'var.alarm_sns_topic_arn')).toBe(true)
      expect(refersTo(actions, 'aws_sns_topic.alarms')).toBe(true)
      expect(refersTo(model.locals.get('create_alarm_topic'), 'var.monitoring_enabled')).toBe(true)
      for (const address of ['aws_sns_topic.alarms', 'aws_sns_topic_subscription.alarm_email'])
        expect(resource(model, address).count, address).toBe('${local.create_alarm_topic ? 1 : 0}')
    })

    it('builds the dashboard body with jsonencode, not a heredoc', () => {
      const body = String(resource(model, 'aws_cloudwatch_dashboard.service').dashboard_body)
      expect(body).toBe('${jsonencode({ widgets = local.dashboard_widgets })}')
    })

    it('validates the monitoring variables that have a range or a format', () => {
      for (const name of [
        'metrics_namespace',
        'athena_price_per_tb_usd',
        'alarm_hit_ratio_threshold',
        'alarm_hit_ratio_min_reads',
        'alarm_5xx_threshold',
        'alarm_lambda_errors_threshold',
        'alarm_sns_topic_arn',
        'alarm_email',
      ])
        expect(first(model.variables.get(name)?.validation)?.condition, name).toBeDefined()
      expect(model.variables.get('monitoring_enabled')).toMatchObject({ type: '${bool}', default: true })
    })

    it('reads the hit ratio as the share of fresh and stale answers, and ignores hours with few reads', () => {
      const ratio = String(model.locals.get('hit_ratio_expression'))
      const reads = { hit: 90, stale: 5, miss: 4, bypass: 1 }
      expect(evaluateMetricMath(ratio, reads)).toBe(95)
      expect(evaluateMetricMath(ratio, { hit: 3, stale: 0, miss: 0, bypass: 1 })).toBe(75)
      // An outcome with no data point in the period counts 0 rather than blanking the ratio.
      expect(evaluateMetricMath(ratio, { hit: 40, stale: null, miss: 10, bypass: null })).toBe(80)
      // No reads at all: no value (the alarm treats that as not breaching).
      expect(evaluateMetricMath(ratio, { hit: null, stale: null, miss: null, bypass: null })).toBeNull()
    })
  })

  describe('plans (local provider mirror)', { skip: !HAS_TERRAFORM || !HAS_MIRROR }, () => {
    let workspace: TerraformWorkspace
    let defaults: Plan | undefined

    beforeAll(async () => {
      workspace = await TerraformWorkspace.create()
      const result = await workspace.plan('monitoring-defaults')
      expect(result.status, result.stderr).toBe(0)
      defaults = result.plan
    }, 180_000)

    afterAll(async () => {
      await workspace?.dispose()
    })

    const alarm = (plan: Plan | undefined, name: string) =>
      planned(plan, `aws_cloudwatch_metric_alarm.${name}[0]`)

    it('plans a dashboard whose every widget parses, on the 24-column grid, without overlaps', () => {
      const widgets = dashboardOf(defaults)
      expect(widgets.length).toBeGreaterThanOrEqual(15)
      const cells = new Set<string>()
      for (const w of widgets) {
        expect(['metric', 'text', 'alarm']).toContain(w.type)
        expect(w.x + w.width, `${String(w.properties.title)} fits the grid`).toBeLessThanOrEqual(24)
        for (let x = w.x; x < w.x + w.width; x += 1)
          for (let y = w.y; y < w.y + w.height; y += 1) {
            expect(cells.has(`${x},${y}`), `${String(w.properties.title)} overlaps at ${x},${y}`).toBe(false)
            cells.add(`${x},${y}`)
          }
        if (w.type === 'metric') {
          expect(w.properties.region).toBe(REGION)
          expect(typeof w.properties.title).toBe('string')
          expect(rowsOf(w).length, String(w.properties.title)).toBeGreaterThan(0)
        }
      }
    })

    it('shows every metric the service publishes, on the service’s dimension', () => {
      const widgets = dashboardOf(defaults).filter((w) => w.type === 'metric')
      const shown = new Set<string>()
      for (const row of widgets.flatMap(rowsOf)) {
        if (row.kind === 'metric' && row.namespace === 'AthenaCacheProxy') {
          expect(row.dimensions, row.name).toEqual({ service: NAME })
          shown.add(row.name)
        }
        if (row.kind === 'expression') for (const name of searchedMetrics(row.expression)) shown.add(name)
      }
      expect(SERVICE_METRICS.filter((m) => !shown.has(m))).toEqual([])
      expect([...shown].filter((m) => !SERVICE_METRICS.includes(m))).toEqual([])
    })

    it('defines every id a widget’s expressions use, and starts ids with a lowercase letter', () => {
      for (const widget of dashboardOf(defaults).filter((w) => w.type === 'metric')) {
        const rows = rowsOf(widget)
        const ids = rows.map((r) => r.options.id).filter((id): id is string => typeof id === 'string')
        expect(new Set(ids).size, String(widget.properties.title)).toBe(ids.length)
        for (const id of ids) expect(id).toMatch(/^[a-z]\w*$/)
        for (const row of rows)
          if (row.kind === 'expression')
            for (const used of idsUsedBy(row.expression))
              expect(ids, `${String(widget.properties.title)}: ${row.expression}`).toContain(used)
      }
    })

    it('graphs the hit ratio with the alarm’s threshold, and Athena spend at the price per TB', () => {
      const widgets = dashboardOf(defaults)
      const ratio = widgets.find((w) => String(w.properties.title).startsWith('Cache hit ratio'))
      const rows = rowsOf(ratio as Widget)
      const expression = rows.find((r) => r.kind === 'expression') as ExpressionRow
      expect(evaluateMetricMath(expression.expression, { hit: 70, stale: 10, miss: 15, bypass: 5 })).toBe(80)
      expect(
        rows
          .filter((r): r is MetricRow => r.kind === 'metric')
          .map((r) => [r.options.id, r.name, r.options.stat, r.options.visible]),
      ).toEqual([
        ['hit', 'ReadHit', 'Sum', false],
        ['stale', 'ReadStale', 'Sum', false],
        ['miss', 'ReadMiss', 'Sum', false],
        ['bypass', 'ReadBypass', 'Sum', false],
      ])
      expect(ratio?.properties.annotations).toEqual({ horizontal: [{ label: 'alarm below', value: 80 }] })

      const spend = widgets.find((w) => String(w.properties.title).startsWith('Athena spend'))
      const spent = rowsOf(spend as Widget).find((r) => r.options.id === 'spend') as ExpressionRow
      // 2 TB scanned at 5 USD/TB.
      expect(evaluateMetricMath(spent.expression, { scanned: 2e12 })).toBe(10)
      const scanned = rowsOf(spend as Widget).find((r) => r.options.id === 'scanned') as MetricRow
      expect([scanned.name, scanned.options.stat]).toEqual(['AthenaScannedBytes', 'Sum'])
    })

    it('has per-query widgets searching the [service, query] dimension set', () => {
      const searches = dashboardOf(defaults)
        .flatMap(rowsOf)
        .filter((r): r is ExpressionRow => r.kind === 'expression' && r.expression.startsWith('SEARCH('))
      expect(searches.length).toBeGreaterThanOrEqual(1)
      for (const search of searches) {
        expect(search.expression).toContain(`{"AthenaCacheProxy",service,query} service="${NAME}"`)
        expect(search.expression).toMatch(/, '(Sum|p\d+)', 300\)$/)
      }
      expect(searches.flatMap((s) => searchedMetrics(s.expression)).sort()).toEqual([...READ_METRICS].sort())
      expect(searches[0]?.options.label).toBe("${PROP('Dim.query')} ${PROP('MetricName')}")
    })

    it('shows API Gateway’s 4XX, 5XX and latency of the stage, Lambda’s errors, throttles and duration', () => {
      const rows = dashboardOf(defaults)
        .filter((w) => w.type === 'metric')
        .flatMap(rowsOf)
        .filter((r): r is MetricRow => r.kind === 'metric')
      const api = rows.filter((r) => r.namespace === 'AWS/ApiGateway')
      expect(planned(defaults, 'aws_api_gateway_rest_api.analytics_api')?.name).toBe(NAME)
      expect(planned(defaults, 'aws_api_gateway_stage.analytics_api')?.stage_name).toBe(STAGE)
      for (const row of api) expect(row.dimensions, row.name).toEqual({ ApiName: NAME, Stage: STAGE })
      expect(new Set(api.map((r) => r.name))).toEqual(
        new Set(['4XXError', '5XXError', 'Count', 'Latency', 'IntegrationLatency']),
      )
      expect(api.filter((r) => r.name === 'Latency').map((r) => r.options.stat)).toEqual([
        'p50',
        'p95',
        'p99',
      ])
      const lambda = rows.filter((r) => r.namespace === 'AWS/Lambda')
      for (const row of lambda) expect(row.dimensions, row.name).toEqual({ FunctionName: NAME })
      expect(new Set(lambda.map((r) => r.name))).toEqual(
        new Set(['Errors', 'Throttles', 'Invocations', 'Duration']),
      )
      const latency = rows.filter((r) => r.name === 'ReadLatency').map((r) => r.options.stat)
      expect(latency).toEqual(['p50', 'p95', 'p99'])
    })

    it('lists every alarm on the dashboard', () => {
      const widget = dashboardOf(defaults).find((w) => w.type === 'alarm')
      const arns = ALARMS.map(
        (a) => `arn:aws:cloudwatch:${REGION}:123456789012:alarm:${String(alarm(defaults, a)?.alarm_name)}`,
      )
      expect(stringList(widget?.properties.alarms).sort()).toEqual(arns.sort())
    })

    it('plans each alarm on its metric, with its threshold, comparison and missing-data treatment', () => {
      const service = { service: NAME }
      const expected: Record<string, Body> = {
        responses_5xx: {
          namespace: 'AthenaCacheProxy',
          metric_name: 'Responses5xx',
          dimensions: service,
          statistic: 'Sum',
          period: 300,
          comparison_operator: 'GreaterThanOrEqualToThreshold',
          threshold: 5,
          treat_missing_data: 'notBreaching',
        },
        api_gateway_5xx: {
          namespace: 'AWS/ApiGateway',
          metric_name: '5XXError',
          dimensions: { ApiName: NAME, Stage: STAGE },
          statistic: 'Sum',
          period: 300,
          comparison_operator: 'GreaterThanOrEqualToThreshold',
          threshold: 5,
          treat_missing_data: 'notBreaching',
        },
        cache_breaker_open: {
          namespace: 'AthenaCacheProxy',
          metric_name: 'CacheBreakerOpen',
          dimensions: service,
          statistic: 'Maximum',
          comparison_operator: 'GreaterThanOrEqualToThreshold',
          threshold: 1,
          treat_missing_data: 'notBreaching',
        },
        prewarm_failed: {
          namespace: 'AthenaCacheProxy',
          metric_name: 'PrewarmFailed',
          dimensions: service,
          statistic: 'Sum',
          period: 900,
          comparison_operator: 'GreaterThanThreshold',
          threshold: 0,
          treat_missing_data: 'notBreaching',
        },
        // Two periods of every-15-minutes without a run; no data is the failure.
        prewarm_missing: {
          namespace: 'AthenaCacheProxy',
          metric_name: 'PrewarmRuns',
          dimensions: service,
          statistic: 'Sum',
          period: 900,
          evaluation_periods: 2,
          datapoints_to_alarm: 2,
          comparison_operator: 'LessThanThreshold',
          threshold: 1,
          treat_missing_data: 'breaching',
        },
        lambda_errors: {
          namespace: 'AWS/Lambda',
          metric_name: 'Errors',
          dimensions: { FunctionName: NAME },
          statistic: 'Sum',
          period: 300,
          comparison_operator: 'GreaterThanOrEqualToThreshold',
          threshold: 1,
          treat_missing_data: 'notBreaching',
        },
        hit_ratio: {
          comparison_operator: 'LessThanThreshold',
          threshold: 80,
          evaluation_periods: 1,
          treat_missing_data: 'notBreaching',
        },
      }
      expect(Object.keys(expected).sort()).toEqual([...ALARMS].sort())
      for (const [name, attributes] of Object.entries(expected)) {
        const planned = alarm(defaults, name)
        expect(planned, name).toMatchObject({
          ...attributes,
          alarm_name: `${NAME}-${name.replaceAll('_', '-')}`,
        })
        expect(String(planned?.alarm_description), name).toContain('infra/README.md')
      }
    })

    it('alarms on the hit ratio by metric math, healthy below the minimum of reads', () => {
      const queries = (alarm(defaults, 'hit_ratio')?.metric_query as Body[]) ?? []
      const byId = new Map(queries.map((q) => [String(q.id), q]))
      expect([...byId.keys()].sort()).toEqual(['bypass', 'hit', 'miss', 'ratio', 'reads', 'stale'])
      for (const [id, metric] of [
        ['hit', 'ReadHit'],
        ['stale', 'ReadStale'],
        ['miss', 'ReadMiss'],
        ['bypass', 'ReadBypass'],
      ] as const)
        expect(first(byId.get(id)?.metric), id).toMatchObject({
          namespace: 'AthenaCacheProxy',
          metric_name: metric,
          dimensions: { service: NAME },
          period: 3600,
          stat: 'Sum',
        })
      expect(queries.filter((q) => q.return_data === true).map((q) => q.id)).toEqual(['ratio'])
      const evaluate = (values: Record<string, MathValue>) => {
        const reads = evaluateMetricMath(String(byId.get('reads')?.expression), values)
        return evaluateMetricMath(String(byId.get('ratio')?.expression), { ...values, reads })
      }
      expect(evaluate({ hit: 500, stale: 100, miss: 350, bypass: 50 })).toBe(60) // 1,000 reads: alarms below 80
      expect(evaluate({ hit: 950, stale: 0, miss: 50, bypass: null })).toBe(95)
      expect(evaluate({ hit: 10, stale: 0, miss: 89, bypass: 0 })).toBe(100) // 99 reads: a quiet hour
      expect(evaluate({ hit: 20, stale: 0, miss: 80, bypass: 0 })).toBe(20) // 100 reads count
      // No reads at all: FILL makes them 0 reads, below the minimum.
      expect(evaluate({ hit: null, stale: null, miss: null, bypass: null })).toBe(100)
    })

    it('gives the alarms no actions and creates no topic when neither a topic nor an email is given', () => {
      for (const name of ALARMS) {
        // An empty set is planned as null.
        expect(alarm(defaults, name)?.alarm_actions ?? [], name).toEqual([])
        expect(alarm(defaults, name)?.ok_actions ?? [], name).toEqual([])
        expect(
          plannedUnknown(defaults, `aws_cloudwatch_metric_alarm.${name}[0]`)?.alarm_actions,
          name,
        ).toBeFalsy()
      }
      expect(defaults?.resource_changes.filter((r) => r.type.startsWith('aws_sns_'))).toEqual([])
      expect(defaults?.output_changes.alarm_topic_arn?.after).toBeNull()
    })

    it('outputs the dashboard’s name and URL and the alarm names', () => {
      const outputs = defaults?.output_changes ?? {}
      expect(outputs.dashboard_name?.after).toBe(NAME)
      expect(outputs.dashboard_url?.after).toBe(
        `https://${REGION}.console.aws.amazon.com/cloudwatch/home?region=${REGION}#dashboards/dashboard/${NAME}`,
      )
      const names = outputs.alarm_names?.after as Record<string, string>
      expect(Object.keys(names).sort()).toEqual([...ALARMS].sort())
      for (const name of ALARMS) expect(names[name], name).toBe(alarm(defaults, name)?.alarm_name)
    })

    it('plans METRICS_NAMESPACE and POWERTOOLS_SERVICE_NAME into the Lambda’s environment', () => {
      // The environment is known only at apply (REDIS_URL): the plan shows what it is made of.
      const lambda = defaults?.configuration.root_module.resources.find(
        (r) => r.address === 'aws_lambda_function.analytics_api',
      )
      const references = stringList(
        (first(first(lambda?.expressions.environment)?.variables) as Body | undefined)?.references,
      )
      expect(references).toEqual(expect.arrayContaining(['var.metrics_namespace', 'local.function_name']))
      expect(defaults?.variables.metrics_namespace?.value).toBe('AthenaCacheProxy')
      expect(planned(defaults, 'aws_lambda_function.analytics_api')?.function_name).toBe(NAME)
    })

    it('notifies an existing topic, and follows the namespace, price and thresholds given', async () => {
      const { status, stderr, plan } = await workspace.plan('monitoring-topic', [
        `-var=alarm_sns_topic_arn=${TOPIC_ARN}`,
        // Every character CloudWatch allows in a namespace but space.
        '-var=metrics_namespace=Acp/prod.reads#1:x-y_z',
        '-var=athena_price_per_tb_usd=6.25',
        '-var=alarm_hit_ratio_threshold=90',
        '-var=alarm_hit_ratio_min_reads=500',
        '-var=alarm_5xx_threshold=20',
      ])
      expect(status, stderr).toBe(0)
      for (const name of ALARMS) {
        expect(alarm(plan, name)?.alarm_actions, name).toEqual([TOPIC_ARN])
        expect(alarm(plan, name)?.ok_actions, name).toEqual([TOPIC_ARN])
      }
      expect(plan?.resource_changes.filter((r) => r.type.startsWith('aws_sns_'))).toEqual([])
      expect(plan?.output_changes.alarm_topic_arn?.after).toBe(TOPIC_ARN)

      expect(alarm(plan, 'hit_ratio')?.threshold).toBe(90)
      const ratio = ((alarm(plan, 'hit_ratio')?.metric_query ?? []) as Body[]).find((q) => q.id === 'ratio')
      expect(String(ratio?.expression)).toMatch(/^IF\(reads >= 500, /)
      expect(alarm(plan, 'responses_5xx')).toMatchObject({
        namespace: 'Acp/prod.reads#1:x-y_z',
        threshold: 20,
      })
      expect(alarm(plan, 'api_gateway_5xx')?.threshold).toBe(20)

      const rows = dashboardOf(plan).flatMap(rowsOf)
      const namespaces = new Set(
        rows.filter((r): r is MetricRow => r.kind === 'metric').map((r) => r.namespace),
      )
      expect(namespaces).toEqual(new Set(['Acp/prod.reads#1:x-y_z', 'AWS/ApiGateway', 'AWS/Lambda']))
      const spent = rows.find((r) => r.options.id === 'spend') as ExpressionRow
      expect(evaluateMetricMath(spent.expression, { scanned: 2e12 })).toBe(12.5)
      for (const search of rows.filter(
        (r): r is ExpressionRow => r.kind === 'expression' && r.expression.startsWith('SEARCH('),
      ))
        expect(search.expression).toContain('{"Acp/prod.reads#1:x-y_z",service,query}')
    }, 120_000)

    it('creates a topic with an email subscription for alarm_email and notifies it', async () => {
      const { status, stderr, plan } = await workspace.plan('monitoring-email', [
        '-var=alarm_email=ops@example.com',
      ])
      expect(status, stderr).toBe(0)
      expect(planned(plan, 'aws_sns_topic.alarms[0]')?.name).toBe(`${NAME}-alarms`)
      expect(planned(plan, 'aws_sns_topic_subscription.alarm_email[0]')).toMatchObject({
        protocol: 'email',
        endpoint: 'ops@example.com',
      })
      expect(plannedUnknown(plan, 'aws_sns_topic_subscription.alarm_email[0]')?.topic_arn).toBe(true)
      // The topic's ARN exists only after apply: every alarm's actions wait for it.
      for (const name of ALARMS) {
        const unknown = plannedUnknown(plan, `aws_cloudwatch_metric_alarm.${name}[0]`)
        expect(unknown?.alarm_actions, name).toBe(true)
        expect(unknown?.ok_actions, name).toBe(true)
      }
      expect(plan?.output_changes.alarm_topic_arn?.after_unknown).toBe(true)
    }, 120_000)

    it('plans no dashboard, alarm or topic with monitoring_enabled=false, and keeps the Lambda’s variables', async () => {
      const { status, stderr, plan } = await workspace.plan('monitoring-off', [
        '-var=monitoring_enabled=false',
        '-var=alarm_email=ops@example.com',
      ])
      expect(status, stderr).toBe(0)
      expect(
        plan?.resource_changes
          .filter((r) => r.type.startsWith('aws_cloudwatch_metric_alarm') || r.type.startsWith('aws_sns_'))
          .concat(plan.resource_changes.filter((r) => r.type === 'aws_cloudwatch_dashboard')),
      ).toEqual([])
      expect(plan?.output_changes.dashboard_name?.after).toBeNull()
      expect(plan?.output_changes.dashboard_url?.after).toBeNull()
      expect(plan?.output_changes.alarm_names?.after).toEqual({})
      expect(plan?.output_changes.alarm_topic_arn?.after).toBeNull()
      const lambda = plan?.configuration.root_module.resources.find(
        (r) => r.address === 'aws_lambda_function.analytics_api',
      )
      expect(JSON.stringify(lambda?.expressions.environment)).toContain('var.metrics_namespace')
    }, 120_000)

    it('refuses out-of-range and malformed values, each with its message', async () => {
      const { status, stderr } = await workspace.plan('monitoring-invalid', [
        '-var=alarm_hit_ratio_threshold=101',
        '-var=alarm_hit_ratio_min_reads=0',
        '-var=alarm_5xx_threshold=2.5',
        '-var=alarm_lambda_errors_threshold=0',
        '-var=alarm_email=ops@localhost',
        '-var=alarm_sns_topic_arn=arn:aws:sns:eu-west-2:1234:ops',
        '-var=metrics_namespace=AWS/Lambda',
        '-var=athena_price_per_tb_usd=0',
      ])
      expect(status).not.toBe(0)
      const text = oneLine(stderr)
      for (const message of [
        'alarm_hit_ratio_threshold must be a percentage between 0 and 100.',
        'alarm_hit_ratio_min_reads must be a whole number >= 1.',
        'alarm_5xx_threshold must be a whole number >= 1.',
        'alarm_lambda_errors_threshold must be a whole number >= 1.',
        'alarm_email must be an email address such as ops@example.com.',
        'alarm_sns_topic_arn must be the ARN of a standard SNS topic',
        'metrics_namespace must be 1-255 letters, digits and . _ / # : - and must not start with AWS/.',
        'athena_price_per_tb_usd must be > 0 and <= 100.',
      ])
        expect(text, message).toContain(message)
      expect(text.match(/Invalid value for variable/g)).toHaveLength(8)
    }, 120_000)

    it('refuses a topic and an email together', async () => {
      const both = await workspace.plan('monitoring-both', [
        `-var=alarm_sns_topic_arn=${TOPIC_ARN}`,
        '-var=alarm_email=ops@example.com',
      ])
      expect(both.status).not.toBe(0)
      expect(oneLine(both.stderr)).toContain(
        'Set alarm_sns_topic_arn (an existing topic) or alarm_email (a new topic with that subscription), not both.',
      )
    }, 120_000)
  })
})

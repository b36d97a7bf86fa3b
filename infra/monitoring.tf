# CloudWatch: a dashboard of the metrics the service publishes, beside API Gateway's and Lambda's own, and the alarms
# that need a person (hit ratio, 5xx answers, the cache breaker, the prewarm, function errors), notifying an SNS topic
# when one is given. monitoring_enabled = false leaves all of it out; the function publishes its metrics either way.
#
# The service's metrics are EMF lines in the function's log (src/metrics/), in namespace var.metrics_namespace, each
# with the dimension service = the function name (POWERTOOLS_SERVICE_NAME, lambda.tf). The read metrics (ReadHit,
# ReadStale, ReadMiss, ReadBypass, ReadLatency) are published under [service, query] too.

locals {
  monitoring_count  = var.monitoring_enabled ? 1 : 0
  metrics_namespace = var.metrics_namespace
  metrics_service   = local.function_name

  # The default prewarm's period in seconds (every-15-minutes: 900). The "no prewarm runs" alarm waits two of them.
  # A cron or at() expression fails here on purpose: that alarm needs a fixed period.
  prewarm_rate           = regex("^rate\\(([0-9]+) (minute|hour|day)s?\\)$", local.prewarm_schedule.expression)
  prewarm_period_seconds = tonumber(local.prewarm_rate[0]) * { minute = 60, hour = 3600, day = 86400 }[local.prewarm_rate[1]]

  # Share of reads answered from the cache, fresh or stale, in %. FILL: an outcome without a data point in a period
  # (no misses at all, say) counts 0 instead of blanking the whole expression. Ids: hit, stale, miss, bypass.
  hit_ratio_expression = "100 * (FILL(hit, 0) + FILL(stale, 0)) / (FILL(hit, 0) + FILL(stale, 0) + FILL(miss, 0) + FILL(bypass, 0))"
  read_outcomes = [
    { id = "hit", metric = "ReadHit" },
    { id = "stale", metric = "ReadStale" },
    { id = "miss", metric = "ReadMiss" },
    { id = "bypass", metric = "ReadBypass" },
  ]

  # Athena bills scanned bytes per TB (10^12 bytes, written out in digits; the 10 MB minimum per query is left out).
  usd_per_byte_expression = "/ 1000000000000 * ${var.athena_price_per_tb_usd}"

  # The REST API's stage, as API Gateway's metrics name it.
  api_name  = aws_api_gateway_rest_api.analytics_api.name
  api_stage = aws_api_gateway_stage.analytics_api.stage_name

  alarm_names = {
    hit_ratio          = "${local.name}-hit-ratio"
    responses_5xx      = "${local.name}-responses-5xx"
    api_gateway_5xx    = "${local.name}-api-gateway-5xx"
    cache_breaker_open = "${local.name}-cache-breaker-open"
    prewarm_failed     = "${local.name}-prewarm-failed"
    prewarm_missing    = "${local.name}-prewarm-missing"
    lambda_errors      = "${local.name}-lambda-errors"
  }

  # Where alarms notify: the given topic, else the one created for alarm_email, else nowhere (the alarms still change
  # state and show on the dashboard).
  create_alarm_topic = var.monitoring_enabled && var.alarm_sns_topic_arn == null && var.alarm_email != null
  alarm_actions      = var.alarm_sns_topic_arn != null ? [var.alarm_sns_topic_arn] : aws_sns_topic.alarms[*].arn

  console_host = lookup({
    aws-cn     = "console.amazonaws.cn"
    aws-us-gov = "console.amazonaws-us-gov.com"
  }, local.partition, "console.aws.amazon.com")
}

# --- Notifications -----------------------------------------------------------------------------------------------

# Created only for alarm_email. SNS's default access policy lets this account's CloudWatch alarms publish. Not
# encrypted: CloudWatch cannot publish to a topic under the AWS managed SNS key, and a customer managed key would
# need a key policy for CloudWatch (give your own topic as alarm_sns_topic_arn for that).
resource "aws_sns_topic" "alarms" {
  count = local.create_alarm_topic ? 1 : 0

  name         = "${local.name}-alarms"
  display_name = "athena-cache-proxy ${var.environment} alarms"
}

# SNS mails a confirmation link first; nothing arrives until it is followed (an unconfirmed subscription expires
# after three days: apply again to resend).
resource "aws_sns_topic_subscription" "alarm_email" {
  count = local.create_alarm_topic ? 1 : 0

  topic_arn = aws_sns_topic.alarms[0].arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

# --- Alarms --------------------------------------------------------------------------------------------------------

# Fewer reads answered from the cache than alarm_hit_ratio_threshold % over an hour. Hours with fewer than
# alarm_hit_ratio_min_reads reads count as healthy (IF: a quiet night, where three misses would be a 0 % ratio), and
# so do hours without any reads (treat_missing_data).
resource "aws_cloudwatch_metric_alarm" "hit_ratio" {
  count = local.monitoring_count

  alarm_name          = local.alarm_names.hit_ratio
  alarm_description   = "Cache hit ratio (fresh + stale) below ${var.alarm_hit_ratio_threshold} % over an hour with at least ${var.alarm_hit_ratio_min_reads} reads: more reads go to Athena (cost, latency). See infra/README.md, Alarms."
  comparison_operator = "LessThanThreshold"
  threshold           = var.alarm_hit_ratio_threshold
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  dynamic "metric_query" {
    for_each = local.read_outcomes

    content {
      id          = metric_query.value.id
      return_data = false

      metric {
        namespace   = local.metrics_namespace
        metric_name = metric_query.value.metric
        dimensions  = { service = local.metrics_service }
        period      = 3600
        stat        = "Sum"
      }
    }
  }

  metric_query {
    id          = "reads"
    expression  = "FILL(hit, 0) + FILL(stale, 0) + FILL(miss, 0) + FILL(bypass, 0)"
    label       = "reads"
    return_data = false
  }

  metric_query {
    id          = "ratio"
    expression  = "IF(reads >= ${var.alarm_hit_ratio_min_reads}, ${local.hit_ratio_expression}, 100)"
    label       = "hit ratio (%), 100 below ${var.alarm_hit_ratio_min_reads} reads"
    return_data = true
  }

  lifecycle {
    # Checked here, once: variable validations cannot compare two variables on Terraform 1.6.
    precondition {
      condition     = var.alarm_sns_topic_arn == null || var.alarm_email == null
      error_message = "Set alarm_sns_topic_arn (an existing topic) or alarm_email (a new topic with that subscription), not both."
    }
  }
}

# The service answered 5xx: Athena failing or timing out past its retries, Redis and Athena both down, a bug.
resource "aws_cloudwatch_metric_alarm" "responses_5xx" {
  count = local.monitoring_count

  alarm_name          = local.alarm_names.responses_5xx
  alarm_description   = "At least ${var.alarm_5xx_threshold} 5xx answers from the service in 5 minutes (Responses5xx). See infra/README.md, Alarms."
  namespace           = local.metrics_namespace
  metric_name         = "Responses5xx"
  dimensions          = { service = local.metrics_service }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.alarm_5xx_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# API Gateway answered 5xx: the service's own 5xx plus what it never sees (the function crashing, timing out,
# throttled, or an integration misconfigured: 502/504).
resource "aws_cloudwatch_metric_alarm" "api_gateway_5xx" {
  count = local.monitoring_count

  alarm_name          = local.alarm_names.api_gateway_5xx
  alarm_description   = "At least ${var.alarm_5xx_threshold} 5XXError at API Gateway (${local.api_name}, stage ${local.api_stage}) in 5 minutes. See infra/README.md, Alarms."
  namespace           = "AWS/ApiGateway"
  metric_name         = "5XXError"
  dimensions          = { ApiName = local.api_name, Stage = local.api_stage }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.alarm_5xx_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# The cache breaker was open at the end of an invocation: Redis is failing or unreachable, every read goes to Athena.
resource "aws_cloudwatch_metric_alarm" "cache_breaker_open" {
  count = local.monitoring_count

  alarm_name          = local.alarm_names.cache_breaker_open
  alarm_description   = "The cache circuit breaker is open (CacheBreakerOpen): Redis fails, reads bypass the cache and run on Athena. See infra/README.md, Alarms."
  namespace           = local.metrics_namespace
  metric_name         = "CacheBreakerOpen"
  dimensions          = { service = local.metrics_service }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# A prewarm run could not refresh an entry (its query failed or timed out).
resource "aws_cloudwatch_metric_alarm" "prewarm_failed" {
  count = local.monitoring_count

  alarm_name          = local.alarm_names.prewarm_failed
  alarm_description   = "A prewarm run failed to refresh entries (PrewarmFailed > 0): those dashboards will miss. See infra/README.md, Alarms."
  namespace           = local.metrics_namespace
  metric_name         = "PrewarmFailed"
  dimensions          = { service = local.metrics_service }
  statistic           = "Sum"
  period              = local.prewarm_period_seconds
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# No prewarm run finished in two periods of the default schedule: the Scheduler stopped invoking, the schedule was
# disabled or deleted, or every run dies before it reports. No data is the failure here, so it is breaching; one
# quiet period (a run landing just past a period's edge) is not enough.
resource "aws_cloudwatch_metric_alarm" "prewarm_missing" {
  count = local.monitoring_count

  alarm_name          = local.alarm_names.prewarm_missing
  alarm_description   = "No prewarm run finished (PrewarmRuns) in two periods of ${local.prewarm_schedule.expression}. See infra/README.md, Alarms."
  namespace           = local.metrics_namespace
  metric_name         = "PrewarmRuns"
  dimensions          = { service = local.metrics_service }
  statistic           = "Sum"
  period              = local.prewarm_period_seconds
  evaluation_periods  = 2
  datapoints_to_alarm = 2
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# The function itself failed: an uncaught error, a timeout, an out-of-memory, a cold start refused (configuration).
resource "aws_cloudwatch_metric_alarm" "lambda_errors" {
  count = local.monitoring_count

  alarm_name          = local.alarm_names.lambda_errors
  alarm_description   = "At least ${var.alarm_lambda_errors_threshold} invocation errors of ${local.function_name} in 5 minutes (AWS/Lambda Errors). See infra/README.md, Alarms."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.analytics_api.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.alarm_lambda_errors_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# --- Dashboard -----------------------------------------------------------------------------------------------------

locals {
  # Rows of widgets, laid out below: each row as high as its height, its widgets sharing the 24 columns equally.
  dashboard_rows = [
    {
      height = 2
      widgets = [{
        type = "text"
        properties = {
          markdown = "## athena-cache-proxy: ${local.function_name}\nService metrics in namespace `${local.metrics_namespace}` (dimension `service`), API Gateway `${local.api_name}` stage `${local.api_stage}`, Lambda `${local.function_name}`. Per-period values are sums over 5 minutes unless a title says otherwise. What each alarm means and what to do: infra/README.md, Alarms."
        }
      }]
    },
    {
      height = 6
      widgets = [
        {
          type = "metric"
          properties = {
            title  = "Cache hit ratio (%): (hit + stale) / reads"
            view   = "timeSeries"
            region = var.region
            period = 300
            metrics = concat(
              [[{ id = "ratio", expression = local.hit_ratio_expression, label = "hit ratio (%)" }]],
              [for o in local.read_outcomes : [local.metrics_namespace, o.metric, "service", local.metrics_service, { id = o.id, stat = "Sum", visible = false }]],
            )
            yAxis       = { left = { min = 0, max = 100, showUnits = false } }
            annotations = { horizontal = [{ label = "alarm below", value = var.alarm_hit_ratio_threshold }] }
          }
        },
        {
          type = "metric"
          properties = {
            title   = "Reads by outcome"
            view    = "timeSeries"
            stacked = true
            region  = var.region
            period  = 300
            stat    = "Sum"
            metrics = [for o in local.read_outcomes : [local.metrics_namespace, o.metric, "service", local.metrics_service, { label = o.id }]]
          }
        },
        {
          type = "alarm"
          properties = {
            title  = "Alarms"
            alarms = [for name in values(local.alarm_names) : "arn:${local.partition}:cloudwatch:${var.region}:${local.account_id}:alarm:${name}"]
          }
        },
      ]
    },
    {
      height = 6
      widgets = [
        {
          type = "metric"
          properties = {
            title  = "Read latency (ms)"
            view   = "timeSeries"
            region = var.region
            period = 300
            metrics = [
              [local.metrics_namespace, "ReadLatency", "service", local.metrics_service, { stat = "p50", label = "p50" }],
              [local.metrics_namespace, "ReadLatency", "service", local.metrics_service, { stat = "p95", label = "p95" }],
              [local.metrics_namespace, "ReadLatency", "service", local.metrics_service, { stat = "p99", label = "p99" }],
            ]
          }
        },
        {
          type = "metric"
          properties = {
            title  = "Lease waits: reads waiting on another reader's query"
            view   = "timeSeries"
            region = var.region
            period = 300
            metrics = [
              [local.metrics_namespace, "LeaseWaits", "service", local.metrics_service, { stat = "Sum", label = "waits" }],
              [local.metrics_namespace, "LeaseWaitTime", "service", local.metrics_service, { stat = "p95", label = "wait p95 (ms)", yAxis = "right" }],
            ]
          }
        },
        {
          type = "metric"
          properties = {
            title  = "Service responses 4xx / 5xx"
            view   = "timeSeries"
            region = var.region
            period = 300
            stat   = "Sum"
            metrics = [
              [local.metrics_namespace, "Responses4xx", "service", local.metrics_service, { label = "4xx" }],
              [local.metrics_namespace, "Responses5xx", "service", local.metrics_service, { label = "5xx" }],
            ]
            annotations = { horizontal = [{ label = "5xx alarm", value = var.alarm_5xx_threshold }] }
          }
        },
      ]
    },
    {
      height = 6
      widgets = [
        {
          type = "metric"
          properties = {
            title  = "Athena executions"
            view   = "timeSeries"
            region = var.region
            period = 300
            stat   = "Sum"
            metrics = [
              [local.metrics_namespace, "AthenaExecutions", "service", local.metrics_service, { label = "started" }],
              [local.metrics_namespace, "AthenaReusedResults", "service", local.metrics_service, { label = "answered by Athena's result reuse" }],
            ]
          }
        },
        {
          type = "metric"
          properties = {
            title  = "Athena spend and spend avoided (USD per 5 minutes, ${var.athena_price_per_tb_usd} USD/TB)"
            view   = "timeSeries"
            region = var.region
            period = 300
            metrics = [
              [{ id = "spend", expression = "scanned ${local.usd_per_byte_expression}", label = "spent (scanned bytes)" }],
              [{ id = "avoided", expression = "saved ${local.usd_per_byte_expression}", label = "avoided (bytes saved by hits and stale answers)" }],
              [local.metrics_namespace, "AthenaScannedBytes", "service", local.metrics_service, { id = "scanned", stat = "Sum", visible = false }],
              [local.metrics_namespace, "BytesSaved", "service", local.metrics_service, { id = "saved", stat = "Sum", visible = false }],
            ]
          }
        },
        {
          type = "metric"
          properties = {
            title                = "Over the time range: Athena spend, spend avoided (USD), bytes scanned and saved"
            view                 = "singleValue"
            region               = var.region
            setPeriodToTimeRange = true
            metrics = [
              [{ id = "spendTotal", expression = "scannedTotal ${local.usd_per_byte_expression}", label = "spent (USD)" }],
              [{ id = "avoidedTotal", expression = "savedTotal ${local.usd_per_byte_expression}", label = "avoided (USD)" }],
              [local.metrics_namespace, "AthenaScannedBytes", "service", local.metrics_service, { id = "scannedTotal", stat = "Sum", label = "bytes scanned" }],
              [local.metrics_namespace, "BytesSaved", "service", local.metrics_service, { id = "savedTotal", stat = "Sum", label = "bytes saved" }],
            ]
          }
        },
      ]
    },
    {
      height = 6
      widgets = [
        {
          type = "metric"
          properties = {
            title  = "Prewarm: runs and entries per outcome (per ${local.prewarm_period_seconds / 60} minutes)"
            view   = "timeSeries"
            region = var.region
            period = local.prewarm_period_seconds
            stat   = "Sum"
            metrics = [
              [local.metrics_namespace, "PrewarmRuns", "service", local.metrics_service, { label = "runs" }],
              [local.metrics_namespace, "PrewarmRefreshed", "service", local.metrics_service, { label = "refreshed" }],
              [local.metrics_namespace, "PrewarmSkipped", "service", local.metrics_service, { label = "skipped" }],
              [local.metrics_namespace, "PrewarmFailed", "service", local.metrics_service, { label = "failed" }],
            ]
          }
        },
        {
          type = "metric"
          properties = {
            title  = "Prewarm run duration (ms, per ${local.prewarm_period_seconds / 60} minutes)"
            view   = "timeSeries"
            region = var.region
            period = local.prewarm_period_seconds
            metrics = [
              [local.metrics_namespace, "PrewarmDuration", "service", local.metrics_service, { stat = "Maximum", label = "max" }],
              [local.metrics_namespace, "PrewarmDuration", "service", local.metrics_service, { stat = "Average", label = "average" }],
            ]
            annotations = { horizontal = [{ label = "Lambda timeout", value = var.lambda_timeout_seconds * 1000 }] }
          }
        },
        {
          type = "metric"
          properties = {
            title  = "Cache errors and breaker (1 = open)"
            view   = "timeSeries"
            region = var.region
            period = 300
            metrics = [
              [local.metrics_namespace, "CacheErrors", "service", local.metrics_service, { stat = "Sum", label = "cache errors" }],
              [local.metrics_namespace, "CacheBreakerOpen", "service", local.metrics_service, { stat = "Maximum", label = "breaker open", yAxis = "right" }],
            ]
            yAxis = { right = { min = 0, max = 1 } }
          }
        },
      ]
    },
    {
      height = 6
      widgets = [
        {
          type = "metric"
          properties = {
            title  = "API Gateway: requests, 4XX, 5XX"
            view   = "timeSeries"
            region = var.region
            period = 300
            stat   = "Sum"
            metrics = [
              ["AWS/ApiGateway", "4XXError", "ApiName", local.api_name, "Stage", local.api_stage, { label = "4XX" }],
              ["AWS/ApiGateway", "5XXError", "ApiName", local.api_name, "Stage", local.api_stage, { label = "5XX" }],
              ["AWS/ApiGateway", "Count", "ApiName", local.api_name, "Stage", local.api_stage, { label = "requests", yAxis = "right" }],
            ]
          }
        },
        {
          type = "metric"
          properties = {
            title  = "API Gateway latency (ms)"
            view   = "timeSeries"
            region = var.region
            period = 300
            metrics = [
              ["AWS/ApiGateway", "Latency", "ApiName", local.api_name, "Stage", local.api_stage, { stat = "p50", label = "p50" }],
              ["AWS/ApiGateway", "Latency", "ApiName", local.api_name, "Stage", local.api_stage, { stat = "p95", label = "p95" }],
              ["AWS/ApiGateway", "Latency", "ApiName", local.api_name, "Stage", local.api_stage, { stat = "p99", label = "p99" }],
              ["AWS/ApiGateway", "IntegrationLatency", "ApiName", local.api_name, "Stage", local.api_stage, { stat = "p95", label = "integration p95" }],
            ]
          }
        },
        {
          type = "metric"
          properties = {
            title  = "Lambda: invocations, errors, throttles"
            view   = "timeSeries"
            region = var.region
            period = 300
            stat   = "Sum"
            metrics = [
              ["AWS/Lambda", "Errors", "FunctionName", local.function_name, { label = "errors" }],
              ["AWS/Lambda", "Throttles", "FunctionName", local.function_name, { label = "throttles" }],
              ["AWS/Lambda", "Invocations", "FunctionName", local.function_name, { label = "invocations", yAxis = "right" }],
            ]
          }
        },
        {
          type = "metric"
          properties = {
            title  = "Lambda duration (ms)"
            view   = "timeSeries"
            region = var.region
            period = 300
            metrics = [
              ["AWS/Lambda", "Duration", "FunctionName", local.function_name, { stat = "p50", label = "p50" }],
              ["AWS/Lambda", "Duration", "FunctionName", local.function_name, { stat = "p95", label = "p95" }],
              ["AWS/Lambda", "Duration", "FunctionName", local.function_name, { stat = "Maximum", label = "max" }],
            ]
            annotations = { horizontal = [{ label = "timeout", value = var.lambda_timeout_seconds * 1000 }] }
          }
        },
      ]
    },
    {
      height = 8
      widgets = [
        # One line per query and outcome: every [service, query] series of the read metrics, whatever queries the
        # catalog holds (SEARCH finds them; the label shows the query and the outcome).
        {
          type = "metric"
          properties = {
            title  = "Reads per query and outcome"
            view   = "timeSeries"
            region = var.region
            period = 300
            metrics = [[{
              id         = "perQuery"
              expression = "SEARCH('{\"${local.metrics_namespace}\",service,query} service=\"${local.metrics_service}\" (MetricName=\"ReadHit\" OR MetricName=\"ReadStale\" OR MetricName=\"ReadMiss\" OR MetricName=\"ReadBypass\")', 'Sum', 300)"
              label      = "$${PROP('Dim.query')} $${PROP('MetricName')}"
            }]]
          }
        },
        {
          type = "metric"
          properties = {
            title  = "Read latency p95 per query (ms)"
            view   = "timeSeries"
            region = var.region
            period = 300
            metrics = [[{
              id         = "latencyPerQuery"
              expression = "SEARCH('{\"${local.metrics_namespace}\",service,query} service=\"${local.metrics_service}\" MetricName=\"ReadLatency\"', 'p95', 300)"
              label      = "$${PROP('Dim.query')}"
            }]]
          }
        },
      ]
    },
  ]

  dashboard_widgets = flatten([
    for r, row in local.dashboard_rows : [
      for i, widget in row.widgets : merge(widget, {
        x      = i * floor(24 / length(row.widgets))
        y      = sum(concat([0], [for above in range(r) : local.dashboard_rows[above].height]))
        width  = floor(24 / length(row.widgets))
        height = row.height
      })
    ]
  ])
}

resource "aws_cloudwatch_dashboard" "service" {
  count = local.monitoring_count

  dashboard_name = local.name
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}

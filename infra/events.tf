# Freshness driven by landed data: EventBridge delivers the data bucket's `Object Created` events under the tables'
# prefixes, and the Glue database's partition changes, to the Lambda. The service reads each event's partition,
# debounces a burst in Redis and invalidates the landed days of the queries reading the table, then rewarms
# (src/prewarm/landing.ts; what lands where is wrangler-free-config/landing.yaml). With landing_events_enabled = false
# nothing here is created and the pipeline calls POST /cache/invalidate itself.
#
# The analytics table uses partition projection (glue.tf): no Glue partition is ever created for it, so its landings
# arrive as S3 events. The Glue rule serves tables whose partitions are added (a crawler, MSCK REPAIR, a job).

locals {
  landing_prefixes = length(var.landing_prefixes) > 0 ? var.landing_prefixes : [var.data_prefix]
  # EventBridge has no "prefix": "" (the bucket root): then every key of the bucket is delivered.
  landing_key_filter = {
    for k, v in { object = { key = [for p in local.landing_prefixes : { prefix = p }] } } :
    k => v if !contains(local.landing_prefixes, "")
  }
  # Glue's partition operations: a created, updated or deleted partition changes the results over its days.
  glue_partition_changes = [
    "CreatePartition",
    "BatchCreatePartition",
    "UpdatePartition",
    "BatchUpdatePartition",
    "DeletePartition",
    "BatchDeletePartition",
  ]
}

# EventBridge notifications of the data bucket (S3 then sends every event of the bucket to the default bus, where the
# rule below picks). This resource owns the bucket's whole notification configuration and would replace one managed
# elsewhere: landing_manage_bucket_notification = false leaves it alone (turn EventBridge on there).
resource "aws_s3_bucket_notification" "data" {
  count       = var.landing_events_enabled && var.landing_manage_bucket_notification ? 1 : 0
  bucket      = var.data_bucket_name
  eventbridge = true
}

resource "aws_cloudwatch_event_rule" "data_landed" {
  count       = var.landing_events_enabled ? 1 : 0
  name        = "${local.name}-data-landed"
  description = "Objects created under the tables' prefixes of ${var.data_bucket_name}: the ${local.function_name} Lambda invalidates the days they belong to"
  event_pattern = jsonencode({
    source        = ["aws.s3"]
    "detail-type" = ["Object Created"]
    detail        = merge({ bucket = { name = [var.data_bucket_name] } }, local.landing_key_filter)
  })

  lifecycle {
    # The event that opens a burst's window waits it out in its invocation, then invalidates and rewarms.
    precondition {
      condition     = var.lambda_timeout_seconds >= var.landing_debounce_seconds + 60
      error_message = "lambda_timeout_seconds must be at least landing_debounce_seconds + 60: the invocation that opens a landing window waits debounceSeconds, then invalidates and rewarms."
    }
  }
}

resource "aws_cloudwatch_event_rule" "glue_partitions" {
  count       = var.landing_events_enabled ? 1 : 0
  name        = "${local.name}-glue-partitions"
  description = "Partitions created, updated or deleted in the ${var.glue_database_name} Glue database: the ${local.function_name} Lambda invalidates their days"
  event_pattern = jsonencode({
    source        = ["aws.glue"]
    "detail-type" = ["Glue Data Catalog Table State Change"]
    detail = {
      databaseName = [aws_glue_catalog_database.analytics.name]
      typeOfChange = local.glue_partition_changes
    }
  })

  lifecycle {
    precondition {
      condition     = var.lambda_timeout_seconds >= var.landing_debounce_seconds + 60
      error_message = "lambda_timeout_seconds must be at least landing_debounce_seconds + 60: the invocation that opens a landing window waits debounceSeconds, then invalidates and rewarms."
    }
  }
}

locals {
  landing_rules = var.landing_events_enabled ? {
    data_landed     = aws_cloudwatch_event_rule.data_landed[0]
    glue_partitions = aws_cloudwatch_event_rule.glue_partitions[0]
  } : {}
}

# The event as it is (the service reads EventBridge's own shape). An invocation EventBridge could not deliver
# (throttled, the function being updated) is retried for an hour; a failed one Lambda retries twice by itself.
resource "aws_cloudwatch_event_target" "landing" {
  for_each  = local.landing_rules
  rule      = each.value.name
  target_id = "lambda"
  arn       = aws_lambda_function.analytics_api.arn

  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 10
  }
}

# Invoked by these rules only.
resource "aws_lambda_permission" "landing" {
  for_each      = local.landing_rules
  statement_id  = "AllowInvokeFromEventBridge-${replace(each.key, "_", "-")}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.analytics_api.function_name
  principal     = "events.amazonaws.com"
  source_arn    = each.value.arn
}

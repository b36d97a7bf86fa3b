# Names and values shared by several files.

# The account and partition the configuration is applied in (ARNs, bucket names, IAM conditions).
data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  # <namespace>-analytics-api-<environment>, the original article's naming; at most 37 characters.
  name       = "${var.namespace}-analytics-api-${var.environment}"
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  tags = merge(var.tags, {
    Project     = "athena-cache-proxy"
    Namespace   = var.namespace
    Environment = var.environment
    ManagedBy   = "terraform"
  })

  # The artifact of npm run build: index.mjs (handlers index.handler and index.streamingHandler) +
  # wrangler-free-config/*.yaml.
  lambda_zip_path = coalesce(var.lambda_zip_path, "${path.module}/../dist/lambda.zip")
  function_name   = local.name
  # Where the config files are inside the artifact (the function code is unpacked to /var/task).
  lambda_config_dir = "/var/task/wrangler-free-config"

  # Athena query results: one prefix of the results bucket, expired by a lifecycle rule.
  results_prefix         = "results/"
  athena_output_location = "s3://${aws_s3_bucket.athena_results.bucket}/${local.results_prefix}"

  # The analytics table's data: s3://<data bucket>/<data prefix>dt=YYYY-MM-DD/*.parquet.
  data_location = "s3://${var.data_bucket_name}/${var.data_prefix}"
  table_name    = "analytics" # the catalog's SQL says FROM analytics

  # The group `npx acp schedules sync` manages by default: <CACHE_PREFIX>-prewarm, with : mapped to -.
  schedule_group_name = "${replace(var.cache_prefix, ":", "-")}-prewarm"

  # The default prewarm schedule, exactly as wrangler-free-config/schedules.yaml defines it, so that
  # `acp schedules sync` finds it unchanged (a test compares them) and leaves Terraform's retry policy alone.
  prewarm_schedule = {
    name        = "every-15-minutes"
    expression  = "rate(15 minutes)"
    timezone    = "UTC"
    description = "Keeps every catalog query warm around the clock."
  }

  # The Scheduler's Input, byte for byte what the service's scheduleInput() writes. jsonencode escapes < and > as
  # \u003c / \u003e, and the Scheduler substitutes only the literal <aws.scheduler.scheduled-time>, so they are
  # put back (otherwise every run would get the placeholder instead of the time and be rejected).
  prewarm_schedule_input = replace(replace(jsonencode({
    action        = "prewarm"
    schedule      = local.prewarm_schedule.name
    scheduledTime = "<aws.scheduler.scheduled-time>"
  }), "\\u003c", "<"), "\\u003e", ">")

  # How API Gateway calls the Lambda (every AWS_PROXY integration). Streamed: InvokeWithResponseStream (its own URI,
  # which provider 5.x has no attribute for), the handler wrapped in awslambda.streamifyResponse, and an integration
  # timeout equal to the Lambda's, so that API Gateway and the function give up together. Buffered: Invoke, the
  # plain handler and API Gateway's default 29 s. A terraform_data in api.tf applies uri, mode and timeout
  # (docs/decisions/011-api-response-streaming.md).
  lambda_handler = var.api_response_streaming ? "index.streamingHandler" : "index.handler"
  lambda_integration = {
    uri                    = var.api_response_streaming ? "arn:${local.partition}:apigateway:${var.region}:lambda:path/2021-11-15/functions/${aws_lambda_function.analytics_api.arn}/response-streaming-invocations" : aws_lambda_function.analytics_api.invoke_arn
    response_transfer_mode = var.api_response_streaming ? "STREAM" : "BUFFERED"
    timeout_milliseconds   = var.api_response_streaming ? var.lambda_timeout_seconds * 1000 : 29000
  }

  # CORS: the original article's headers, plus the two request headers the service reads (Prefer: respond-async,
  # If-None-Match) so browsers may send them.
  cors_allow_headers = "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token,X-Amz-User-Agent,X-Amzn-Trace-Id,Prefer,If-None-Match"
  cors_response_parameters = {
    "method.response.header.Access-Control-Allow-Headers" = true
    "method.response.header.Access-Control-Allow-Methods" = true
    "method.response.header.Access-Control-Allow-Origin"  = true
  }
}

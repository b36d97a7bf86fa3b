# The service's Lambda (src/entry/lambda.ts, bundled by npm run build): API Gateway proxy events go to the Hono app,
# {"action":"prewarm"|"invalidate",...} events (EventBridge Scheduler, data pipelines) to the operations. Both
# handlers serve both kinds of event: index.streamingHandler (api_response_streaming, the default) writes API
# Gateway's streaming prelude and the body to the response stream, index.handler returns the buffered proxy result.

# Created before the function so Lambda never creates it without a retention.
resource "aws_cloudwatch_log_group" "lambda" {
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
}

resource "aws_lambda_function" "analytics_api" {
  function_name = local.function_name
  description   = "athena-cache-proxy: dashboard reads from Redis, Athena on misses, scheduled prewarming"
  role          = aws_iam_role.lambda.arn

  runtime       = "nodejs22.x"
  architectures = ["arm64"]
  handler       = local.lambda_handler

  filename         = local.lambda_zip_path
  source_code_hash = filebase64sha256(local.lambda_zip_path)

  memory_size                    = var.lambda_memory_mb
  timeout                        = var.lambda_timeout_seconds
  reserved_concurrent_executions = var.lambda_reserved_concurrency

  # In the private subnets, next to the serverless cache; AWS APIs through the VPC endpoints.
  vpc_config {
    subnet_ids         = var.private_subnet_ids
    security_group_ids = [aws_security_group.lambda.id]
  }

  # Every name of LAMBDA_REQUIRED_ENV (src/config/load-config.ts; the handler refuses to start without them, and a
  # test checks this list) plus the deployment's settings. AWS_REGION is set by Lambda itself (reserved).
  environment {
    variables = {
      QUERY_ENGINE = "athena"
      REDIS_URL    = "rediss://${aws_elasticache_serverless_cache.redis.endpoint[0].address}:${aws_elasticache_serverless_cache.redis.endpoint[0].port}"
      # ElastiCache Serverless speaks only the Cluster protocol.
      REDIS_CLUSTER          = "true"
      ATHENA_WORKGROUP       = aws_athena_workgroup.analytics.name
      ATHENA_DATABASE        = aws_glue_catalog_database.analytics.name
      ATHENA_OUTPUT_LOCATION = local.athena_output_location
      CACHE_PREFIX           = var.cache_prefix
      CONFIG_DIR             = local.lambda_config_dir
      # The tenants (key digests) from SSM at cold start, not tenants.yaml of CONFIG_DIR (secrets.tf).
      TENANTS_SOURCE = "ssm:${aws_ssm_parameter.tenants.name}"
      # Defence in depth: the service checks the same key API Gateway already required.
      API_KEYS         = aws_api_gateway_api_key.analytics_api.value
      ADMIN_API_KEYS   = join(",", var.admin_api_keys)
      CORS_ORIGIN      = var.cors_origin
      LOG_LEVEL        = var.log_level
      SYNC_DEADLINE_MS = tostring(var.sync_deadline_ms)
      # CloudWatch metrics, written as EMF lines to the function's log: their namespace and the `service` dimension
      # every one of them carries, which the dashboard and the alarms select on (monitoring.tf).
      METRICS_NAMESPACE       = var.metrics_namespace
      POWERTOOLS_SERVICE_NAME = local.function_name
    }
  }

  lifecycle {
    precondition {
      condition     = var.lambda_timeout_seconds * 1000 > var.sync_deadline_ms
      error_message = "lambda_timeout_seconds must exceed sync_deadline_ms, or requests time out before answering 202."
    }
  }

  # The log group first; the role's permissions (VPC ENIs) before Lambda checks them at creation.
  depends_on = [aws_cloudwatch_log_group.lambda, aws_iam_role_policy.lambda]
}

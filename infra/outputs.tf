# Outputs: what clients, `acp schedules sync` and operators need.

output "api_invoke_url" {
  description = "Base URL of the API stage (append /analytics?measure=...&period=...&start=...)."
  value       = aws_api_gateway_stage.analytics_api.invoke_url
}

output "analytics_url" {
  description = "URL of GET /analytics."
  value       = "${aws_api_gateway_stage.analytics_api.invoke_url}/analytics"
}

output "api_key_id" {
  description = "Id of the dashboards' API key (aws apigateway get-api-key --include-value --api-key <id>)."
  value       = aws_api_gateway_api_key.analytics_api.id
}

output "api_key_value" {
  description = "The dashboards' API key, sent as x-api-key (terraform output -raw api_key_value)."
  value       = aws_api_gateway_api_key.analytics_api.value
  sensitive   = true
}

output "api_lambda_integration" {
  description = "How API Gateway calls the Lambda: response transfer mode (STREAM or BUFFERED), integration timeout in ms, and the function's handler (api_response_streaming)."
  value = {
    response_transfer_mode = local.lambda_integration.response_transfer_mode
    timeout_milliseconds   = local.lambda_integration.timeout_milliseconds
    handler                = aws_lambda_function.analytics_api.handler
  }
}

output "redis_endpoint" {
  description = "Primary endpoint of the serverless cache (host:port, TLS; reachable from the Lambda's security group only)."
  value       = "${aws_elasticache_serverless_cache.redis.endpoint[0].address}:${aws_elasticache_serverless_cache.redis.endpoint[0].port}"
}

output "lambda_function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.analytics_api.function_name
}

output "lambda_function_arn" {
  description = "ARN of the Lambda function: PREWARM_TARGET_ARN of acp schedules sync."
  value       = aws_lambda_function.analytics_api.arn
}

output "schedule_group_name" {
  description = "EventBridge Scheduler group of the prewarm schedules: SCHEDULE_GROUP of acp schedules sync."
  value       = aws_scheduler_schedule_group.prewarm.name
}

output "scheduler_role_arn" {
  description = "Role EventBridge Scheduler invokes the Lambda with: SCHEDULER_ROLE_ARN of acp schedules sync."
  value       = aws_iam_role.scheduler.arn
}

output "athena_workgroup_name" {
  description = "Athena workgroup of the service (ATHENA_WORKGROUP)."
  value       = aws_athena_workgroup.analytics.name
}

output "athena_results_bucket" {
  description = "Bucket of Athena's query results."
  value       = aws_s3_bucket.athena_results.bucket
}

output "glue_database_name" {
  description = "Glue database of the analytics table (ATHENA_DATABASE)."
  value       = aws_glue_catalog_database.analytics.name
}

output "region" {
  description = "Region of the deployment (AWS_REGION for acp schedules sync)."
  value       = var.region
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard (null when monitoring_enabled is false)."
  value       = one(aws_cloudwatch_dashboard.service[*].dashboard_name)
}

output "dashboard_url" {
  description = "Console URL of the CloudWatch dashboard (null when monitoring_enabled is false)."
  value       = var.monitoring_enabled ? "https://${var.region}.${local.console_host}/cloudwatch/home?region=${var.region}#dashboards/dashboard/${local.name}" : null
}

output "alarm_names" {
  description = "The CloudWatch alarms by role (hit_ratio, responses_5xx, api_gateway_5xx, cache_breaker_open, prewarm_failed, prewarm_missing, lambda_errors); empty when monitoring_enabled is false."
  value       = var.monitoring_enabled ? local.alarm_names : {}
}

output "alarm_topic_arn" {
  description = "SNS topic the alarms notify: alarm_sns_topic_arn, or the topic created for alarm_email; null when neither is set."
  value       = var.monitoring_enabled ? one(local.alarm_actions) : null
}

output "landing_event_rules" {
  description = "EventBridge rules delivering landed data to the Lambda (events.tf): name → ARN; empty with landing_events_enabled = false."
  value       = { for k, r in local.landing_rules : k => r.arn }
}

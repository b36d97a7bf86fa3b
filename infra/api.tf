# API Gateway REST API in front of the Lambda (the original article's API, its undeclared references fixed and
# extended with a {proxy+} route for the rest of the service's routes).
#
#   GET     /analytics          API key, measure/period/start required (request validator) -> Lambda
#   OPTIONS /analytics          CORS preflight (MOCK, no key)
#   ANY     /{proxy+}           API key -> Lambda (/queries/*, /executions/*, /health, /openapi.json, admin routes)
#   OPTIONS /{proxy+}           CORS preflight (MOCK, no key)
#
# The two Lambda integrations stream the function's response by default (api_response_streaming): their URI,
# transfer mode and timeout are set by terraform_data.lambda_integration, since hashicorp/aws 5.x has no attribute
# for them (docs/decisions/011-api-response-streaming.md).

# The REST API. Binary media types */* let the buffered Lambda's base64 gzip bodies (isBase64Encoded) through as
# bytes; a streamed response is passed as bytes without them, so they only matter with api_response_streaming off,
# and are kept either way (one request encoding for the service, a working fallback). With */* every request is
# "binary", so the MOCK integrations convert it to text (content_handling) for their request template to apply.
resource "aws_api_gateway_rest_api" "analytics_api" {
  name               = local.name
  description        = "Analytics API (athena-cache-proxy): cached Athena query results for dashboards"
  binary_media_types = ["*/*"]

  endpoint_configuration {
    types = ["REGIONAL"]
  }
}

# --- /analytics --------------------------------------------------------------------------------------------------

# /analytics, the dashboards' main route.
resource "aws_api_gateway_resource" "analytics_api" {
  rest_api_id = aws_api_gateway_rest_api.analytics_api.id
  parent_id   = aws_api_gateway_rest_api.analytics_api.root_resource_id
  path_part   = "analytics"
}

# Rejects requests missing a required query string parameter before they reach (and bill) the Lambda.
resource "aws_api_gateway_request_validator" "analytics_api" {
  name                        = "${local.name}-parameters"
  rest_api_id                 = aws_api_gateway_rest_api.analytics_api.id
  validate_request_parameters = true
  validate_request_body       = false
}

# GET /analytics?measure=&period=&start=[&end=], protected by the API key.
resource "aws_api_gateway_method" "analytics_api" {
  rest_api_id          = aws_api_gateway_rest_api.analytics_api.id
  resource_id          = aws_api_gateway_resource.analytics_api.id
  http_method          = "GET"
  authorization        = "NONE"
  api_key_required     = true
  request_validator_id = aws_api_gateway_request_validator.analytics_api.id

  request_parameters = {
    "method.request.querystring.measure" = true
    "method.request.querystring.period"  = true
    "method.request.querystring.start"   = true
    "method.request.querystring.end"     = false
  }
}

# GET /analytics -> the Lambda (proxy integration: the Hono app sees the whole request).
resource "aws_api_gateway_integration" "analytics_api" {
  rest_api_id             = aws_api_gateway_rest_api.analytics_api.id
  resource_id             = aws_api_gateway_resource.analytics_api.id
  http_method             = aws_api_gateway_method.analytics_api.http_method
  integration_http_method = "POST"
  type                    = "AWS_PROXY"

  # Creation baseline only: the URI, transfer mode and timeout the API serves are local.lambda_integration's, set by
  # terraform_data.lambda_integration after every create or update of this integration (provider 5.x cannot).
  uri                  = aws_lambda_function.analytics_api.invoke_arn
  timeout_milliseconds = 29000

  lifecycle {
    ignore_changes = [uri, timeout_milliseconds]
  }
}

# OPTIONS /analytics: CORS preflight, answered by API Gateway itself (no key: browsers never send one here).
resource "aws_api_gateway_method" "analytics_api_options" {
  rest_api_id      = aws_api_gateway_rest_api.analytics_api.id
  resource_id      = aws_api_gateway_resource.analytics_api.id
  http_method      = "OPTIONS"
  authorization    = "NONE"
  api_key_required = false
}

resource "aws_api_gateway_integration" "analytics_api_options" {
  rest_api_id = aws_api_gateway_rest_api.analytics_api.id
  resource_id = aws_api_gateway_resource.analytics_api.id
  http_method = aws_api_gateway_method.analytics_api_options.http_method
  type        = "MOCK"

  # binary_media_types */* makes every request binary, and a binary request skips the request template: the MOCK
  # would get no statusCode and answer 500. Converted to text, the template applies.
  content_handling = "CONVERT_TO_TEXT"

  request_templates = {
    "application/json" = jsonencode({ statusCode = 200 })
  }
}

resource "aws_api_gateway_method_response" "analytics_api_options" {
  rest_api_id         = aws_api_gateway_rest_api.analytics_api.id
  resource_id         = aws_api_gateway_resource.analytics_api.id
  http_method         = aws_api_gateway_method.analytics_api_options.http_method
  status_code         = "200"
  response_parameters = local.cors_response_parameters
}

resource "aws_api_gateway_integration_response" "analytics_api_options" {
  rest_api_id = aws_api_gateway_rest_api.analytics_api.id
  resource_id = aws_api_gateway_resource.analytics_api.id
  http_method = aws_api_gateway_method_response.analytics_api_options.http_method
  status_code = aws_api_gateway_method_response.analytics_api_options.status_code

  response_parameters = {
    "method.response.header.Access-Control-Allow-Headers" = "'${local.cors_allow_headers}'"
    "method.response.header.Access-Control-Allow-Methods" = "'OPTIONS,GET'"
    "method.response.header.Access-Control-Allow-Origin"  = "'${var.cors_origin}'"
  }

  response_templates = {
    "application/json" = ""
  }

  # The integration must exist first, or API Gateway answers "No integration defined for method".
  depends_on = [aws_api_gateway_integration.analytics_api_options]
}

# --- /{proxy+} ---------------------------------------------------------------------------------------------------

# Every other path of the service.
resource "aws_api_gateway_resource" "proxy" {
  rest_api_id = aws_api_gateway_rest_api.analytics_api.id
  parent_id   = aws_api_gateway_rest_api.analytics_api.root_resource_id
  path_part   = "{proxy+}"
}

# ANY /{proxy+}, protected by the API key (admin routes additionally need an ADMIN_API_KEYS key in the service).
resource "aws_api_gateway_method" "proxy" {
  rest_api_id      = aws_api_gateway_rest_api.analytics_api.id
  resource_id      = aws_api_gateway_resource.proxy.id
  http_method      = "ANY"
  authorization    = "NONE"
  api_key_required = true

  request_parameters = {
    "method.request.path.proxy" = true
  }
}

resource "aws_api_gateway_integration" "proxy" {
  rest_api_id             = aws_api_gateway_rest_api.analytics_api.id
  resource_id             = aws_api_gateway_resource.proxy.id
  http_method             = aws_api_gateway_method.proxy.http_method
  integration_http_method = "POST"
  type                    = "AWS_PROXY"

  # Creation baseline only: the URI, transfer mode and timeout the API serves are local.lambda_integration's, set by
  # terraform_data.lambda_integration after every create or update of this integration (provider 5.x cannot).
  uri                  = aws_lambda_function.analytics_api.invoke_arn
  timeout_milliseconds = 29000

  lifecycle {
    ignore_changes = [uri, timeout_milliseconds]
  }
}

# OPTIONS /{proxy+}: CORS preflight (an explicit OPTIONS method takes precedence over ANY).
resource "aws_api_gateway_method" "proxy_options" {
  rest_api_id      = aws_api_gateway_rest_api.analytics_api.id
  resource_id      = aws_api_gateway_resource.proxy.id
  http_method      = "OPTIONS"
  authorization    = "NONE"
  api_key_required = false
}

resource "aws_api_gateway_integration" "proxy_options" {
  rest_api_id = aws_api_gateway_rest_api.analytics_api.id
  resource_id = aws_api_gateway_resource.proxy.id
  http_method = aws_api_gateway_method.proxy_options.http_method
  type        = "MOCK"

  # As on OPTIONS /analytics: the request template applies only to text.
  content_handling = "CONVERT_TO_TEXT"

  request_templates = {
    "application/json" = jsonencode({ statusCode = 200 })
  }
}

resource "aws_api_gateway_method_response" "proxy_options" {
  rest_api_id         = aws_api_gateway_rest_api.analytics_api.id
  resource_id         = aws_api_gateway_resource.proxy.id
  http_method         = aws_api_gateway_method.proxy_options.http_method
  status_code         = "200"
  response_parameters = local.cors_response_parameters
}

resource "aws_api_gateway_integration_response" "proxy_options" {
  rest_api_id = aws_api_gateway_rest_api.analytics_api.id
  resource_id = aws_api_gateway_resource.proxy.id
  http_method = aws_api_gateway_method_response.proxy_options.http_method
  status_code = aws_api_gateway_method_response.proxy_options.status_code

  response_parameters = {
    "method.response.header.Access-Control-Allow-Headers" = "'${local.cors_allow_headers}'"
    "method.response.header.Access-Control-Allow-Methods" = "'OPTIONS,GET,POST,DELETE'"
    "method.response.header.Access-Control-Allow-Origin"  = "'${var.cors_origin}'"
  }

  response_templates = {
    "application/json" = ""
  }

  depends_on = [aws_api_gateway_integration.proxy_options]
}

# --- Lambda integrations: URI, transfer mode, timeout ----------------------------------------------------------

# hashicorp/aws 5.x cannot set an integration's responseTransferMode (nor a timeout above 300 s), so this applies
# local.lambda_integration with the AWS CLI, after every create, update or replacement of a Lambda integration
# (replace_triggered_by) and whenever the wanted values change (triggers_replace). Three calls, each leaving a state
# API Gateway accepts: the timeout to 29 s, valid in both modes (BUFFERED allows no more without a quota increase);
# URI and mode in one call (a Lambda STREAM integration needs the streaming URI); the timeout wanted (AWS documents
# that switching to STREAM drops a custom timeout). The deployment depends on it. With hashicorp/aws >= 6 these
# become the integrations' own uri, response_transfer_mode and timeout_milliseconds (see decision 011).
resource "terraform_data" "lambda_integration" {
  for_each = {
    analytics_api = aws_api_gateway_integration.analytics_api
    proxy         = aws_api_gateway_integration.proxy
  }

  triggers_replace = {
    region      = var.region
    rest_api_id = each.value.rest_api_id
    resource_id = each.value.resource_id
    http_method = each.value.http_method
    wanted      = local.lambda_integration
  }

  input = local.lambda_integration

  provisioner "local-exec" {
    environment = {
      REGION      = var.region
      REST_API_ID = each.value.rest_api_id
      RESOURCE_ID = each.value.resource_id
      HTTP_METHOD = each.value.http_method
      PATCH_TIMEOUT_BOTH_MODES = jsonencode([
        { op = "replace", path = "/timeoutInMillis", value = "29000" },
      ])
      # Into STREAM the URI changes first, out of it the mode.
      PATCH_URI_AND_MODE = jsonencode(local.lambda_integration.response_transfer_mode == "STREAM" ? [
        { op = "replace", path = "/uri", value = local.lambda_integration.uri },
        { op = "replace", path = "/responseTransferMode", value = "STREAM" },
        ] : [
        { op = "replace", path = "/responseTransferMode", value = "BUFFERED" },
        { op = "replace", path = "/uri", value = local.lambda_integration.uri },
      ])
      PATCH_TIMEOUT = jsonencode([
        { op = "replace", path = "/timeoutInMillis", value = tostring(local.lambda_integration.timeout_milliseconds) },
      ])
    }
    command = <<-EOT
      set -eu
      patch() {
        aws apigateway update-integration --region "$REGION" --rest-api-id "$REST_API_ID" \
          --resource-id "$RESOURCE_ID" --http-method "$HTTP_METHOD" --patch-operations "$1" >/dev/null
      }
      patch "$PATCH_TIMEOUT_BOTH_MODES"
      patch "$PATCH_URI_AND_MODE"
      patch "$PATCH_TIMEOUT"
    EOT
  }

  lifecycle {
    replace_triggered_by = [aws_api_gateway_integration.analytics_api, aws_api_gateway_integration.proxy]

    precondition {
      condition     = var.sync_deadline_ms + 1000 <= local.lambda_integration.timeout_milliseconds
      error_message = "sync_deadline_ms must be at least 1000 below the integration timeout (29000 buffered, lambda_timeout_seconds * 1000 streamed), or requests are cut before they answer 202."
    }
  }
}

# Errors API Gateway answers itself (missing/wrong key 403, quota 429, validator 400, 5xx) carry the CORS origin
# too, so a browser sees the status instead of an opaque CORS failure. They have no integration, so no content
# handling: API Gateway renders its own (default) body and only these headers are added.
resource "aws_api_gateway_gateway_response" "cors" {
  for_each = toset(["DEFAULT_4XX", "DEFAULT_5XX"])

  rest_api_id   = aws_api_gateway_rest_api.analytics_api.id
  response_type = each.value

  response_parameters = {
    "gatewayresponse.header.Access-Control-Allow-Origin"  = "'${var.cors_origin}'"
    "gatewayresponse.header.Access-Control-Allow-Headers" = "'${local.cors_allow_headers}'"
  }
}

# --- Deployment, stage, logging ----------------------------------------------------------------------------------

# A new deployment whenever anything it serves changes: the hash covers every resource, method, integration,
# response and the validator (a test checks the list is complete and names only declared resources), and the
# URI/mode/timeout applied to the Lambda integrations. Of those two integrations it hashes everything but the
# attributes terraform_data.lambda_integration owns, which read back differently from their creation values and
# would otherwise redeploy once more on the next apply.
resource "aws_api_gateway_deployment" "analytics_api" {
  rest_api_id = aws_api_gateway_rest_api.analytics_api.id
  description = "Managed by Terraform"

  triggers = {
    redeployment = sha1(jsonencode([
      aws_api_gateway_rest_api.analytics_api,
      aws_api_gateway_resource.analytics_api,
      aws_api_gateway_resource.proxy,
      aws_api_gateway_request_validator.analytics_api,
      aws_api_gateway_method.analytics_api,
      { for k, v in aws_api_gateway_integration.analytics_api : k => v if !contains(["uri", "timeout_milliseconds"], k) },
      aws_api_gateway_method.analytics_api_options,
      aws_api_gateway_integration.analytics_api_options,
      aws_api_gateway_method_response.analytics_api_options,
      aws_api_gateway_integration_response.analytics_api_options,
      aws_api_gateway_method.proxy,
      { for k, v in aws_api_gateway_integration.proxy : k => v if !contains(["uri", "timeout_milliseconds"], k) },
      aws_api_gateway_method.proxy_options,
      aws_api_gateway_integration.proxy_options,
      aws_api_gateway_method_response.proxy_options,
      aws_api_gateway_integration_response.proxy_options,
      aws_api_gateway_gateway_response.cors,
      terraform_data.lambda_integration,
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }

  # The stage must never be deployed from an integration not yet patched.
  depends_on = [terraform_data.lambda_integration]
}

# Execution logs: API Gateway writes them to this name; created here so they get a retention.
resource "aws_cloudwatch_log_group" "api_execution" {
  name              = "API-Gateway-Execution-Logs_${aws_api_gateway_rest_api.analytics_api.id}/${var.stage_name}"
  retention_in_days = var.log_retention_days
}

# Access logs: one JSON line per request (which key, status, latency, Lambda latency, transfer mode).
resource "aws_cloudwatch_log_group" "api_access" {
  name              = "/aws/apigateway/${local.name}/access"
  retention_in_days = var.log_retention_days
}

# The stage the usage plan and the invoke URL refer to.
resource "aws_api_gateway_stage" "analytics_api" {
  deployment_id = aws_api_gateway_deployment.analytics_api.id
  rest_api_id   = aws_api_gateway_rest_api.analytics_api.id
  stage_name    = var.stage_name
  description   = "Dashboards stage"

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      ip                 = "$context.identity.sourceIp"
      apiKeyId           = "$context.identity.apiKeyId"
      requestTime        = "$context.requestTime"
      httpMethod         = "$context.httpMethod"
      path               = "$context.path"
      status             = "$context.status"
      responseLength     = "$context.responseLength"
      responseLatency    = "$context.responseLatency"
      integrationLatency = "$context.integrationLatency"
      errorMessage       = "$context.error.message"
      # BUFFERED or STREAMED per request: what the integrations really do, which provider 5.x cannot read back.
      responseTransferMode = "$context.integration.responseTransferMode"
    })
  }

  # Logging needs the account's CloudWatch role; the execution log group must exist before API Gateway makes it.
  depends_on = [aws_api_gateway_account.this, aws_cloudwatch_log_group.api_execution]
}

# Metrics and INFO execution logs for every method of the stage.
resource "aws_api_gateway_method_settings" "analytics_api" {
  rest_api_id = aws_api_gateway_rest_api.analytics_api.id
  stage_name  = aws_api_gateway_stage.analytics_api.stage_name
  method_path = "*/*"

  settings {
    metrics_enabled    = true
    logging_level      = "INFO"
    data_trace_enabled = false # full request/response bodies (and keys) would end up in the logs
  }

  depends_on = [aws_api_gateway_account.this]
}

# API Gateway's account-level (per region) setting: the role it writes CloudWatch logs with. Without it INFO
# logging fails. This is a regional singleton: applying it replaces whatever role the account had set.
resource "aws_api_gateway_account" "this" {
  cloudwatch_role_arn = aws_iam_role.api_gateway_cloudwatch.arn
}

# --- Usage plan and API key --------------------------------------------------------------------------------------

# Throttling and quota for the dashboards' key.
resource "aws_api_gateway_usage_plan" "analytics_api" {
  name        = local.name
  description = "Dashboards: throttled and with a quota"

  api_stages {
    api_id = aws_api_gateway_rest_api.analytics_api.id
    stage  = aws_api_gateway_stage.analytics_api.stage_name
  }

  throttle_settings {
    rate_limit  = var.throttle_rate_limit
    burst_limit = var.throttle_burst_limit
  }

  quota_settings {
    limit  = var.quota_limit
    period = var.quota_period
  }
}

# The dashboards' key (x-api-key); generated unless api_key_value is set. The Lambda checks it too (API_KEYS).
resource "aws_api_gateway_api_key" "analytics_api" {
  name        = local.name
  description = "Dashboards key of ${local.name}"
  enabled     = true
  value       = var.api_key_value
}

resource "aws_api_gateway_usage_plan_key" "analytics_api" {
  key_id        = aws_api_gateway_api_key.analytics_api.id
  key_type      = "API_KEY"
  usage_plan_id = aws_api_gateway_usage_plan.analytics_api.id
}

# Admin keys (ADMIN_API_KEYS) are API Gateway keys too: the service reads the admin key from the same x-api-key
# header API Gateway checks, so an admin call must pass both with one value. The number of keys is not secret.
resource "aws_api_gateway_api_key" "admin" {
  count = nonsensitive(length(var.admin_api_keys))

  name        = "${local.name}-admin-${count.index}"
  description = "Admin key ${count.index} of ${local.name} (also in the Lambda's ADMIN_API_KEYS)"
  enabled     = true
  value       = var.admin_api_keys[count.index]
}

resource "aws_api_gateway_usage_plan_key" "admin" {
  count = nonsensitive(length(var.admin_api_keys))

  key_id        = aws_api_gateway_api_key.admin[count.index].id
  key_type      = "API_KEY"
  usage_plan_id = aws_api_gateway_usage_plan.analytics_api.id
}

# API Gateway may invoke the function, from this API's stage only. lambda:InvokeFunction covers the streamed
# integrations too: Lambda's API reference names it as the permission InvokeWithResponseStream requires.
resource "aws_lambda_permission" "api_gateway" {
  statement_id  = "AllowInvokeFromApiGateway"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.analytics_api.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.analytics_api.execution_arn}/${var.stage_name}/*/*"
}

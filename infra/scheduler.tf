# EventBridge Scheduler: the prewarm schedule group, the role the Scheduler invokes the Lambda with, and the default
# schedule. The group is the one `npx acp schedules sync` manages (SCHEDULE_GROUP, default <CACHE_PREFIX>-prewarm):
# sync adds the other schedules of wrangler-free-config/schedules.yaml. every-15-minutes is defined here exactly as
# in that file, so sync leaves it unchanged; remove it from the file only together with this resource.

resource "aws_scheduler_schedule_group" "prewarm" {
  name = local.schedule_group_name
}

# Assumable by EventBridge Scheduler on behalf of this account only (confused-deputy guard).
data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    sid     = "SchedulerAssumesRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "${local.name}-scheduler"
  description        = "EventBridge Scheduler invokes the ${local.function_name} Lambda with prewarm events"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
}

# Invoking this function (and its versions or aliases), nothing else.
data "aws_iam_policy_document" "scheduler_invoke" {
  statement {
    sid     = "InvokePrewarmTarget"
    effect  = "Allow"
    actions = ["lambda:InvokeFunction"]
    resources = [
      aws_lambda_function.analytics_api.arn,
      "${aws_lambda_function.analytics_api.arn}:*",
    ]
  }
}

resource "aws_iam_role_policy" "scheduler_invoke" {
  name   = "invoke-prewarm-target"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler_invoke.json
}

# The default prewarm: every 15 minutes, on time, {"action":"prewarm","schedule":"every-15-minutes",...}.
resource "aws_scheduler_schedule" "prewarm" {
  name                         = local.prewarm_schedule.name
  group_name                   = aws_scheduler_schedule_group.prewarm.name
  description                  = local.prewarm_schedule.description
  schedule_expression          = local.prewarm_schedule.expression
  schedule_expression_timezone = local.prewarm_schedule.timezone
  state                        = "ENABLED"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.analytics_api.arn
    role_arn = aws_iam_role.scheduler.arn
    input    = local.prewarm_schedule_input

    # A run that could not be delivered within 10 minutes is dropped: the next one is due at 15.
    retry_policy {
      maximum_event_age_in_seconds = 600
      maximum_retry_attempts       = 3
    }
  }

  # The role must be allowed to invoke before the first run.
  depends_on = [aws_iam_role_policy.scheduler_invoke]
}

# IAM: the Lambda's execution role (least privilege) and API Gateway's CloudWatch role. The Scheduler's role is in
# scheduler.tf. No statement uses a wildcard in an action (a test checks it).

# --- Lambda execution role ---------------------------------------------------------------------------------------

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    sid     = "LambdaAssumesRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "lambda" {
  name               = "${local.name}-lambda"
  description        = "Execution role of the ${local.function_name} Lambda"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

data "aws_iam_policy_document" "lambda" {
  # Run, watch and stop queries in this workgroup only (the workgroup pins the result location and the cutoff).
  statement {
    sid    = "AthenaWorkgroup"
    effect = "Allow"
    actions = [
      "athena:StartQueryExecution",
      "athena:GetQueryExecution",
      "athena:GetQueryResults",
      "athena:StopQueryExecution",
      "athena:GetWorkGroup",
    ]
    resources = [aws_athena_workgroup.analytics.arn]
  }

  # Athena reads the table definition with the caller's permissions.
  statement {
    sid    = "GlueCatalogRead"
    effect = "Allow"
    actions = [
      "glue:GetDatabase",
      "glue:GetTable",
      "glue:GetPartition",
      "glue:GetPartitions",
    ]
    resources = [
      "arn:${local.partition}:glue:${var.region}:${local.account_id}:catalog",
      "arn:${local.partition}:glue:${var.region}:${local.account_id}:database/${aws_glue_catalog_database.analytics.name}",
      "arn:${local.partition}:glue:${var.region}:${local.account_id}:table/${aws_glue_catalog_database.analytics.name}/*",
    ]
  }

  # The Parquet files under the data prefix (read by Athena on the caller's behalf).
  statement {
    sid       = "DataRead"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["arn:${local.partition}:s3:::${var.data_bucket_name}/${var.data_prefix}*"]
  }

  # Listing the data bucket, under the data prefix only.
  statement {
    sid       = "DataList"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = ["arn:${local.partition}:s3:::${var.data_bucket_name}"]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.data_prefix}*"]
    }
  }

  statement {
    sid       = "DataBucketLocation"
    effect    = "Allow"
    actions   = ["s3:GetBucketLocation"]
    resources = ["arn:${local.partition}:s3:::${var.data_bucket_name}"]
  }

  # Reading query results under the results prefix, and nothing else of the bucket: Athena reads them back for
  # GetQueryResults with the caller's credentials, and the service reads <execution id>.csv (with Range) and the
  # optional <execution id>.csv.metadata at the execution's OutputLocation itself. (HeadObject would need no more.)
  statement {
    sid       = "ResultsRead"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.athena_results.arn}/${local.results_prefix}*"]
  }

  # Athena writes the results with the caller's credentials (multipart for large ones), under the same prefix.
  statement {
    sid    = "ResultsWrite"
    effect = "Allow"
    actions = [
      "s3:PutObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = ["${aws_s3_bucket.athena_results.arn}/${local.results_prefix}*"]
  }

  # Athena's bucket-level calls on the output location. ListBucket also makes S3 answer a missing key (the optional
  # .csv.metadata) with 404 instead of 403, so the service can tell "absent" from "denied".
  statement {
    sid    = "ResultsBucket"
    effect = "Allow"
    actions = [
      "s3:ListBucket",
      "s3:GetBucketLocation",
      "s3:ListBucketMultipartUploads",
    ]
    resources = [aws_s3_bucket.athena_results.arn]
  }

  # The function's own log group (it is created by Terraform, so no logs:CreateLogGroup). The service's metrics go
  # this way too: EMF lines in the log, which CloudWatch turns into metrics, so no cloudwatch:PutMetricData.
  statement {
    sid       = "OwnLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda.arn}:*"]
  }

  # What Lambda needs to attach the function to the VPC (the EC2 side of AWSLambdaVPCAccessExecutionRole, written
  # out so the managed policy's logs:* on every log group does not come with it). EC2 supports no resource-level
  # scoping for the Describe calls.
  statement {
    sid    = "VpcNetworkInterfaces"
    effect = "Allow"
    actions = [
      "ec2:CreateNetworkInterface",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeSubnets",
      "ec2:DeleteNetworkInterface",
      "ec2:AssignPrivateIpAddresses",
      "ec2:UnassignPrivateIpAddresses",
    ]
    resources = ["*"]
  }

  # The tenants parameter (secrets.tf), read once per cold start: this parameter only.
  statement {
    sid       = "TenantsParameterRead"
    effect    = "Allow"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.tenants.arn]
  }

  # Decrypting it: only through SSM and only for this parameter (SSM puts its ARN in the encryption context). On
  # the customer managed key when one is given; with SSM's AWS managed key (whose ARN is known only to an API call)
  # any key of the account, which the two conditions narrow to that key's use for this parameter.
  statement {
    sid       = "TenantsParameterDecrypt"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = [coalesce(var.tenants_kms_key_arn, "arn:${local.partition}:kms:${var.region}:${local.account_id}:key/*")]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["ssm.${var.region}.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:PARAMETER_ARN"
      values   = [aws_ssm_parameter.tenants.arn]
    }
  }

  # Only when the data bucket is SSE-KMS: decrypting its objects through S3.
  dynamic "statement" {
    for_each = var.data_kms_key_arn == null ? [] : [var.data_kms_key_arn]

    content {
      sid       = "DataKmsDecrypt"
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${var.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "lambda" {
  name   = "athena-cache-proxy"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.lambda.json
}

# --- API Gateway's CloudWatch role (aws_api_gateway_account) -----------------------------------------------------

data "aws_iam_policy_document" "api_gateway_assume" {
  statement {
    sid     = "ApiGatewayAssumesRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["apigateway.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "api_gateway_cloudwatch" {
  name               = "${local.name}-apigw-logs"
  description        = "Lets API Gateway write execution and access logs to CloudWatch"
  assume_role_policy = data.aws_iam_policy_document.api_gateway_assume.json
}

# AWS's managed policy for exactly this role (log groups, streams and events; no wildcard actions).
resource "aws_iam_role_policy_attachment" "api_gateway_cloudwatch" {
  role       = aws_iam_role.api_gateway_cloudwatch.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
}

# Athena: the workgroup the service runs every query in, and the bucket its results go to.

# Query results (and Athena's metadata files). Private, encrypted, expired after athena_results_expiration_days.
resource "aws_s3_bucket" "athena_results" {
  bucket        = "${local.name}-results-${local.account_id}"
  force_destroy = var.results_bucket_force_destroy
}

resource "aws_s3_bucket_ownership_controls" "athena_results" {
  bucket = aws_s3_bucket.athena_results.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "athena_results" {
  bucket                  = aws_s3_bucket.athena_results.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# SSE-S3 by default for everything in the bucket (the workgroup asks for SSE_S3 as well).
resource "aws_s3_bucket_server_side_encryption_configuration" "athena_results" {
  bucket = aws_s3_bucket.athena_results.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

# Results are disposable: the service keeps what it serves in Redis.
resource "aws_s3_bucket_lifecycle_configuration" "athena_results" {
  bucket = aws_s3_bucket.athena_results.id

  rule {
    id     = "expire-query-results"
    status = "Enabled"

    filter {
      prefix = local.results_prefix
    }

    expiration {
      days = var.athena_results_expiration_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

# TLS only (explicit actions: no statement in this configuration uses a wildcard action).
data "aws_iam_policy_document" "athena_results_tls_only" {
  statement {
    sid    = "DenyInsecureTransport"
    effect = "Deny"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:ListBucket",
    ]
    resources = [aws_s3_bucket.athena_results.arn, "${aws_s3_bucket.athena_results.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "athena_results" {
  bucket = aws_s3_bucket.athena_results.id
  policy = data.aws_iam_policy_document.athena_results_tls_only.json

  # A bucket policy is refused while the public access block is being created.
  depends_on = [aws_s3_bucket_public_access_block.athena_results]
}

# The service's workgroup (ATHENA_WORKGROUP, part of every cache key). Its settings override the client's, so
# every query gets this result location, encryption and scan cutoff whatever the caller sends.
resource "aws_athena_workgroup" "analytics" {
  name        = local.name
  description = "athena-cache-proxy queries of ${local.name}"
  state       = "ENABLED"

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = var.athena_publish_cloudwatch_metrics
    bytes_scanned_cutoff_per_query     = var.athena_bytes_scanned_cutoff
    requester_pays_enabled             = false

    # v3 (Trino): the catalog's SQL and Athena's result reuse need it.
    engine_version {
      selected_engine_version = "Athena engine version 3"
    }

    result_configuration {
      output_location       = local.athena_output_location
      expected_bucket_owner = local.account_id

      encryption_configuration {
        encryption_option = "SSE_S3"
      }
    }
  }
}

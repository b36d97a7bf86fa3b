# Inputs. Required: vpc_id, private_subnet_ids, data_bucket_name (and private_route_table_ids when
# create_vpc_endpoints is true). Everything else has a working default.

# --- Naming and region -------------------------------------------------------------------------------------------

variable "region" {
  type        = string
  description = "AWS region of every resource (Athena, the data bucket and the VPC must be in it)."
  default     = "eu-west-2"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region code such as eu-west-2."
  }
}

variable "namespace" {
  type        = string
  description = "Organisation or product prefix of every name (as in the original article: <namespace>-analytics-api-<environment>)."
  default     = "acme"

  validation {
    # Short and lowercase: the results bucket name (<namespace>-analytics-api-<environment>-results-<account id>)
    # must stay within S3's 63 characters and the serverless cache name within 40.
    condition     = can(regex("^[a-z][a-z0-9-]{0,11}$", var.namespace))
    error_message = "namespace must be 1-12 characters: lowercase letters, digits and -, starting with a letter."
  }
}

variable "environment" {
  type        = string
  description = "Deployment environment, the last segment of every name (dev, staging, prod, ...)."
  default     = "dev"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{0,9}$", var.environment))
    error_message = "environment must be 1-10 lowercase letters and digits, starting with a letter."
  }
}

variable "tags" {
  type        = map(string)
  description = "Extra tags for every taggable resource."
  default     = {}
}

# --- API Gateway -------------------------------------------------------------------------------------------------

variable "stage_name" {
  type        = string
  description = "API Gateway stage name (part of the invoke URL)."
  default     = "default"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,128}$", var.stage_name))
    error_message = "stage_name may contain only letters, digits, _ and - (1-128 characters)."
  }
}

variable "cors_origin" {
  type        = string
  description = "The browser origin allowed to call the API (Access-Control-Allow-Origin on preflights, gateway errors and the Lambda's responses): one origin such as https://dashboards.example.com, or *."
  default     = "*"

  validation {
    # One origin only: API Gateway's MOCK preflight answers a fixed header value.
    condition     = var.cors_origin == "*" || can(regex("^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$", var.cors_origin))
    error_message = "cors_origin must be * or a single origin like https://dashboards.example.com (scheme, host, optional port; no path, no trailing slash)."
  }
}

variable "api_response_streaming" {
  type        = bool
  description = "Stream the Lambda's responses through API Gateway (responseTransferMode STREAM, InvokeWithResponseStream, handler index.streamingHandler): bodies up to Lambda's 200 MB instead of 6 MB, an integration timeout of lambda_timeout_seconds instead of 29 s. false = BUFFERED, invoke_arn, index.handler (the service answers 413 for a body over 6 MB). Either way apply needs the AWS CLI (docs/decisions/011-api-response-streaming.md)."
  default     = true
}

variable "throttle_rate_limit" {
  type        = number
  description = "Usage plan steady-state request rate (requests per second) for the API key."
  default     = 100

  validation {
    condition     = var.throttle_rate_limit > 0 && var.throttle_rate_limit <= 10000
    error_message = "throttle_rate_limit must be > 0 and <= 10000 (the account default regional limit)."
  }
}

variable "throttle_burst_limit" {
  type        = number
  description = "Usage plan burst (token bucket size) for the API key."
  default     = 200

  validation {
    condition     = var.throttle_burst_limit >= 1 && var.throttle_burst_limit <= 5000 && floor(var.throttle_burst_limit) == var.throttle_burst_limit
    error_message = "throttle_burst_limit must be a whole number between 1 and 5000."
  }
}

variable "quota_limit" {
  type        = number
  description = "Usage plan quota: requests allowed per quota_period for the API key."
  default     = 1000000

  validation {
    condition     = var.quota_limit >= 1 && floor(var.quota_limit) == var.quota_limit
    error_message = "quota_limit must be a whole number >= 1."
  }
}

variable "quota_period" {
  type        = string
  description = "Usage plan quota period: DAY, WEEK or MONTH."
  default     = "MONTH"

  validation {
    condition     = contains(["DAY", "WEEK", "MONTH"], var.quota_period)
    error_message = "quota_period must be DAY, WEEK or MONTH."
  }
}

variable "api_key_value" {
  type        = string
  description = "Value of the dashboards' API key (x-api-key). null = API Gateway generates one (read it with terraform output -raw api_key_value)."
  default     = null
  sensitive   = true

  validation {
    # can() because regex(null) fails; || evaluates both sides.
    condition     = var.api_key_value == null || can(regex("^[A-Za-z0-9._~+/=-]{20,128}$", var.api_key_value))
    error_message = "api_key_value must be 20-128 characters (API Gateway's minimum is 20) without spaces or commas."
  }
}

variable "admin_api_keys" {
  type        = list(string)
  description = "Admin keys (ADMIN_API_KEYS: POST /cache/invalidate, /admin/*, DELETE /executions/{id}), sent as x-api-key. Each is also registered as an API Gateway key so admin calls pass the gateway. Empty = admin routes answer 403."
  default     = []
  sensitive   = true

  validation {
    # 20 characters: API Gateway's minimum for a key value (the service alone would take 8).
    condition     = alltrue([for k in var.admin_api_keys : can(regex("^[A-Za-z0-9._~+/=-]{20,128}$", k))])
    error_message = "each admin key must be 20-128 characters without spaces or commas (API Gateway's minimum is 20)."
  }
}

# --- Lambda ------------------------------------------------------------------------------------------------------

variable "lambda_zip_path" {
  type        = string
  description = "Path of the Lambda artifact built by npm run build (index.mjs + wrangler-free-config/). null = <module>/../dist/lambda.zip (a variable default cannot use path.module)."
  default     = null
}

variable "lambda_memory_mb" {
  type        = number
  description = "Lambda memory in MB (CPU scales with it; gzip and result conversion are CPU-bound)."
  default     = 1024

  validation {
    condition     = var.lambda_memory_mb >= 128 && var.lambda_memory_mb <= 10240 && floor(var.lambda_memory_mb) == var.lambda_memory_mb
    error_message = "lambda_memory_mb must be a whole number between 128 and 10240."
  }
}

variable "lambda_timeout_seconds" {
  type        = number
  description = "Lambda timeout in seconds, and with api_response_streaming also API Gateway's integration timeout (the two end together). API requests stop waiting at SYNC_DEADLINE_MS (202 + execution), then stream the body (beyond 10 MB at about 2 MB/s); prewarm runs use the rest of the invocation. So allow a few minutes."
  default     = 300

  validation {
    condition     = var.lambda_timeout_seconds >= 3 && var.lambda_timeout_seconds <= 900 && floor(var.lambda_timeout_seconds) == var.lambda_timeout_seconds
    error_message = "lambda_timeout_seconds must be a whole number between 3 and 900."
  }
}

variable "lambda_reserved_concurrency" {
  type        = number
  description = "Reserved concurrent executions of the Lambda (also caps the Athena queries it can start). -1 = no reservation (account pool); 0 would disable the function."
  default     = -1

  validation {
    condition     = var.lambda_reserved_concurrency >= -1 && floor(var.lambda_reserved_concurrency) == var.lambda_reserved_concurrency
    error_message = "lambda_reserved_concurrency must be -1 (unreserved) or a whole number >= 0."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the Lambda and API Gateway log groups, in days (0 = never expire)."
  default     = 30

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch Logs' values: 0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "log_level" {
  type        = string
  description = "LOG_LEVEL of the service (pino)."
  default     = "info"

  validation {
    condition     = contains(["fatal", "error", "warn", "info", "debug", "trace", "silent"], var.log_level)
    error_message = "log_level must be one of fatal, error, warn, info, debug, trace, silent."
  }
}

variable "sync_deadline_ms" {
  type        = number
  description = "SYNC_DEADLINE_MS: how long a request waits for a miss before answering 202 + /executions/{id}. Must stay at least 1 s below the integration timeout (29 s buffered, lambda_timeout_seconds streamed; a precondition checks it)."
  default     = 25000

  validation {
    # 299000: nothing is written while a request waits, and a streamed response idles out after 5 minutes on a
    # Regional endpoint. The tighter, mode-dependent bound is the precondition on terraform_data.lambda_integration.
    condition     = var.sync_deadline_ms >= 1000 && var.sync_deadline_ms <= 299000 && floor(var.sync_deadline_ms) == var.sync_deadline_ms
    error_message = "sync_deadline_ms must be a whole number between 1000 and 299000 (and below the integration timeout: 28000 at most when api_response_streaming is false)."
  }
}

variable "cache_prefix" {
  type        = string
  description = "CACHE_PREFIX: first segment of every Redis key, and (with : mapped to -) of the prewarm schedule group <prefix>-prewarm. Use a distinct prefix per environment sharing an account and region, since schedule group names are per region."
  default     = "acp"

  validation {
    # The service's rule (letters, digits and : _ . -), at most 56 characters so that "<prefix>-prewarm" fits the
    # Scheduler's 64-character group names.
    condition     = can(regex("^[A-Za-z0-9:_.-]{1,56}$", var.cache_prefix))
    error_message = "cache_prefix may contain only letters, digits and : _ . - (1-56 characters)."
  }
}

# --- Network -----------------------------------------------------------------------------------------------------

variable "vpc_id" {
  type        = string
  description = "VPC of the Lambda, the serverless cache and the VPC endpoints."

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must be a VPC id (vpc-...)."
  }
}

variable "private_subnet_ids" {
  type        = list(string)
  description = "Private subnets of the Lambda, the serverless cache and the interface endpoints: one per Availability Zone, two or three AZs recommended."

  validation {
    condition     = length(var.private_subnet_ids) > 0 && alltrue([for s in var.private_subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))])
    error_message = "private_subnet_ids must hold at least one subnet id (subnet-...)."
  }
}

variable "private_route_table_ids" {
  type        = list(string)
  description = "Route tables of the private subnets; the S3 gateway endpoint is added to them. Required when create_vpc_endpoints is true."
  default     = []

  validation {
    condition     = alltrue([for r in var.private_route_table_ids : can(regex("^rtb-[0-9a-f]{8,17}$", r))])
    error_message = "private_route_table_ids must be route table ids (rtb-...)."
  }
}

variable "create_vpc_endpoints" {
  type        = bool
  description = "Create the S3 gateway endpoint and the interface endpoints (interface_endpoint_services) so the Lambda reaches AWS without a NAT gateway. Set false when the VPC already has them (private DNS names can exist only once per VPC)."
  default     = true
}

variable "interface_endpoint_services" {
  type        = list(string)
  description = "AWS services reached through interface endpoints with private DNS (com.amazonaws.<region>.<service>). The Lambda calls Athena; glue is kept for catalog tooling."
  default     = ["athena", "glue"]

  validation {
    condition     = contains(var.interface_endpoint_services, "athena") && alltrue([for s in var.interface_endpoint_services : can(regex("^[a-z0-9.-]+$", s))])
    error_message = "interface_endpoint_services must include athena and contain only service names such as glue or logs."
  }
}

# --- Redis (ElastiCache Serverless, Valkey) ----------------------------------------------------------------------

variable "valkey_major_version" {
  type        = string
  description = "Major version of the Valkey engine of the serverless cache."
  default     = "8"

  validation {
    condition     = contains(["7", "8"], var.valkey_major_version)
    error_message = "valkey_major_version must be 7 or 8."
  }
}

variable "redis_max_data_storage_gb" {
  type        = number
  description = "Usage limit of the serverless cache: maximum data stored, in GB (bounds the bill; writes fail beyond it and the service answers from Athena)."
  default     = 5

  validation {
    condition     = var.redis_max_data_storage_gb >= 1 && var.redis_max_data_storage_gb <= 5000 && floor(var.redis_max_data_storage_gb) == var.redis_max_data_storage_gb
    error_message = "redis_max_data_storage_gb must be a whole number between 1 and 5000."
  }
}

variable "redis_max_ecpu_per_second" {
  type        = number
  description = "Usage limit of the serverless cache: maximum ElastiCache Processing Units per second."
  default     = 10000

  validation {
    condition     = var.redis_max_ecpu_per_second >= 1000 && var.redis_max_ecpu_per_second <= 15000000 && floor(var.redis_max_ecpu_per_second) == var.redis_max_ecpu_per_second
    error_message = "redis_max_ecpu_per_second must be a whole number between 1000 and 15000000."
  }
}

# --- Athena, Glue and data ---------------------------------------------------------------------------------------

variable "data_bucket_name" {
  type        = string
  description = "Existing S3 bucket holding the Parquet data (<data_prefix>dt=YYYY-MM-DD/*.parquet). Not managed here."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.data_bucket_name))
    error_message = "data_bucket_name must be an S3 bucket name (3-63 lowercase letters, digits, . and -)."
  }
}

variable "data_prefix" {
  type        = string
  description = "Key prefix of the analytics table in the data bucket, ending in / (empty = the bucket root). Partitions live at <prefix>dt=YYYY-MM-DD/."
  default     = "analytics/"

  validation {
    condition     = var.data_prefix == "" || can(regex("^[^/].*/$", var.data_prefix))
    error_message = "data_prefix must be empty or end with / and not start with /."
  }
}

variable "data_kms_key_arn" {
  type        = string
  description = "KMS key encrypting the data bucket (SSE-KMS), so the Lambda may decrypt through S3. null = the data is SSE-S3."
  default     = null

  validation {
    condition     = var.data_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.data_kms_key_arn))
    error_message = "data_kms_key_arn must be a KMS key ARN."
  }
}

variable "data_projection_start_date" {
  type        = string
  description = "First day (YYYY-MM-DD) of the dt partition projection; the range runs to NOW."
  default     = "2024-01-01"

  validation {
    condition     = can(regex("^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$", var.data_projection_start_date))
    error_message = "data_projection_start_date must be a date YYYY-MM-DD."
  }
}

variable "glue_database_name" {
  type        = string
  description = "Glue catalog database of the analytics table (ATHENA_DATABASE; part of every cache key). The catalog's SQL reads FROM analytics in it."
  default     = "analytics"

  validation {
    condition     = can(regex("^[a-z0-9_]{1,255}$", var.glue_database_name))
    error_message = "glue_database_name may contain only lowercase letters, digits and _ (Athena-friendly)."
  }
}

variable "athena_bytes_scanned_cutoff" {
  type        = number
  description = "Workgroup limit on the bytes one query may scan (Athena cancels it beyond); the service reports it as an engine failure. Minimum 10 MB."
  default     = 10737418240 # 10 GiB

  validation {
    condition     = var.athena_bytes_scanned_cutoff >= 10485760 && floor(var.athena_bytes_scanned_cutoff) == var.athena_bytes_scanned_cutoff
    error_message = "athena_bytes_scanned_cutoff must be a whole number of bytes >= 10485760 (10 MB, Athena's minimum)."
  }
}

variable "athena_publish_cloudwatch_metrics" {
  type        = bool
  description = "Publish the workgroup's query metrics to CloudWatch."
  default     = true
}

variable "athena_results_expiration_days" {
  type        = number
  description = "Days after which Athena's result files expire (the service keeps results in Redis; Athena's result reuse needs them only for an hour)."
  default     = 7

  validation {
    condition     = var.athena_results_expiration_days >= 1 && var.athena_results_expiration_days <= 3650 && floor(var.athena_results_expiration_days) == var.athena_results_expiration_days
    error_message = "athena_results_expiration_days must be a whole number between 1 and 3650."
  }
}

variable "results_bucket_force_destroy" {
  type        = bool
  description = "Let terraform destroy delete the results bucket with its objects."
  default     = false
}

# --- Landed data (EventBridge, events.tf) ------------------------------------------------------------------------

variable "landing_events_enabled" {
  type        = bool
  description = "Deliver the data bucket's Object Created events (under landing_prefixes) and the Glue database's partition changes to the Lambda, which invalidates the landed days of the queries reading the table and rewarms (wrangler-free-config/landing.yaml). false: nothing in events.tf is created."
  default     = true
}

variable "landing_manage_bucket_notification" {
  type        = bool
  description = "Turn on the data bucket's EventBridge notifications here (aws_s3_bucket_notification). That resource owns the bucket's whole notification configuration and replaces one managed elsewhere: set false when another configuration manages the bucket's notifications, and enable EventBridge there."
  default     = true
}

variable "landing_prefixes" {
  type        = list(string)
  description = "Key prefixes of the data bucket whose Object Created events are delivered: the tables' prefixes of landing.yaml, as keys appear in S3's events (URL-encoded: write = as %3D). Empty = [data_prefix]; \"\" = the whole bucket."
  default     = []

  validation {
    condition     = length(var.landing_prefixes) <= 16 && alltrue([for p in var.landing_prefixes : p == "" || can(regex("^[^/].*/$", p))])
    error_message = "landing_prefixes holds at most 16 prefixes, each empty or ending with / and not starting with /."
  }
}

variable "landing_debounce_seconds" {
  type        = number
  description = "debounceSeconds of the deployed landing.yaml (a test keeps both defaults equal). The invocation that opens a burst's window waits it out, then invalidates and rewarms: lambda_timeout_seconds must be at least this + 60 (a precondition checks it)."
  default     = 30

  validation {
    condition     = var.landing_debounce_seconds >= 0 && var.landing_debounce_seconds <= 600 && floor(var.landing_debounce_seconds) == var.landing_debounce_seconds
    error_message = "landing_debounce_seconds must be a whole number from 0 to 600, as in landing.yaml."
  }
}

# --- Tenants (SSM Parameter Store) -------------------------------------------------------------------------------

variable "tenants_yaml" {
  type        = string
  description = "First value of the tenants parameter (the text of a tenants.yaml: key digests, never keys). Terraform writes it when it creates the parameter and ignores it afterwards, so tenants added or keys rotated with aws ssm put-parameter --overwrite stay; the Lambda reads the parameter at each cold start (TENANTS_SOURCE)."
  default     = "tenants: {}\n"
  sensitive   = true

  validation {
    condition     = length(var.tenants_yaml) > 0 && length(var.tenants_yaml) <= 8192
    error_message = "tenants_yaml must be 1-8192 characters (an SSM parameter's limit in the Advanced tier; Secrets Manager holds 64 KB)."
  }
}

variable "tenants_kms_key_arn" {
  type        = string
  description = "Customer managed KMS key encrypting the tenants parameter. null = SSM's AWS managed key (alias/aws/ssm)."
  default     = null

  validation {
    condition     = var.tenants_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.tenants_kms_key_arn))
    error_message = "tenants_kms_key_arn must be a KMS key ARN."
  }
}

# --- Monitoring (CloudWatch, monitoring.tf) ----------------------------------------------------------------------

variable "monitoring_enabled" {
  type        = bool
  description = "Create the CloudWatch dashboard and alarms (and the alarm topic for alarm_email). false = none of them; the function publishes its metrics either way."
  default     = true
}

variable "metrics_namespace" {
  type        = string
  description = "CloudWatch namespace of the service's metrics (METRICS_NAMESPACE of the Lambda), read by the dashboard and alarms."
  default     = "AthenaCacheProxy"

  validation {
    # CloudWatch's namespace characters, without spaces (they would need quoting in SEARCH); AWS/ is AWS's own.
    condition     = can(regex("^[A-Za-z0-9._/#:-]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be 1-255 letters, digits and . _ / # : - and must not start with AWS/."
  }
}

variable "athena_price_per_tb_usd" {
  type        = number
  description = "Athena's price per TB scanned in USD (5 in most regions), for the dashboard's spend: AthenaScannedBytes / 10^12 * price."
  default     = 5

  validation {
    condition     = var.athena_price_per_tb_usd > 0 && var.athena_price_per_tb_usd <= 100
    error_message = "athena_price_per_tb_usd must be > 0 and <= 100."
  }
}

variable "alarm_hit_ratio_threshold" {
  type        = number
  description = "Alarm when the cache hit ratio ((hit + stale) / reads, in %) over an hour falls below this."
  default     = 80

  validation {
    condition     = var.alarm_hit_ratio_threshold >= 0 && var.alarm_hit_ratio_threshold <= 100
    error_message = "alarm_hit_ratio_threshold must be a percentage between 0 and 100."
  }
}

variable "alarm_hit_ratio_min_reads" {
  type        = number
  description = "The hit ratio alarm ignores hours with fewer reads than this (a quiet night's few misses are not a low hit ratio)."
  default     = 100

  validation {
    condition     = var.alarm_hit_ratio_min_reads >= 1 && floor(var.alarm_hit_ratio_min_reads) == var.alarm_hit_ratio_min_reads
    error_message = "alarm_hit_ratio_min_reads must be a whole number >= 1."
  }
}

variable "alarm_5xx_threshold" {
  type        = number
  description = "Alarm when the service (Responses5xx) or API Gateway (5XXError) answers at least this many 5xx in 5 minutes."
  default     = 5

  validation {
    condition     = var.alarm_5xx_threshold >= 1 && floor(var.alarm_5xx_threshold) == var.alarm_5xx_threshold
    error_message = "alarm_5xx_threshold must be a whole number >= 1."
  }
}

variable "alarm_lambda_errors_threshold" {
  type        = number
  description = "Alarm when the function has at least this many invocation errors (AWS/Lambda Errors) in 5 minutes."
  default     = 1

  validation {
    condition     = var.alarm_lambda_errors_threshold >= 1 && floor(var.alarm_lambda_errors_threshold) == var.alarm_lambda_errors_threshold
    error_message = "alarm_lambda_errors_threshold must be a whole number >= 1."
  }
}

variable "alarm_sns_topic_arn" {
  type        = string
  description = "Existing SNS topic the alarms notify (ALARM and OK). null = none, or the topic created for alarm_email. Not together with alarm_email."
  default     = null

  validation {
    # Standard topics only: CloudWatch alarms cannot notify FIFO topics.
    condition     = var.alarm_sns_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", var.alarm_sns_topic_arn))
    error_message = "alarm_sns_topic_arn must be the ARN of a standard SNS topic (arn:aws:sns:<region>:<account id>:<name>)."
  }
}

variable "alarm_email" {
  type        = string
  description = "Address to mail alarms to: a topic <name>-alarms is created with this email subscription (confirm the link SNS sends). null = no topic. Not together with alarm_sns_topic_arn."
  default     = null

  validation {
    condition     = var.alarm_email == null || can(regex("^[^@[:space:]]+@[^@[:space:]]+\\.[^@[:space:].]+$", var.alarm_email))
    error_message = "alarm_email must be an email address such as ops@example.com."
  }
}

# The shared cache: ElastiCache Serverless with the Valkey engine (Redis-compatible). TLS is always on for
# serverless caches, hence rediss:// in REDIS_URL. Reachable only from the Lambda's security group.

# The cache's security group: no egress, ingress only from the Lambda (rules below).
resource "aws_security_group" "redis" {
  name        = "${local.name}-redis"
  description = "ElastiCache Serverless (Valkey) of ${local.name}: reachable from its Lambda only"
  vpc_id      = var.vpc_id

  tags = {
    Name = "${local.name}-redis"
  }
}

# 6379 is the primary endpoint, 6380 serverless's reader endpoint.
resource "aws_vpc_security_group_ingress_rule" "redis_from_lambda" {
  security_group_id            = aws_security_group.redis.id
  description                  = "Valkey (6379 primary, 6380 reader) from the Lambda"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6380
  referenced_security_group_id = aws_security_group.lambda.id
}

resource "aws_elasticache_serverless_cache" "redis" {
  name                 = local.name
  description          = "Result cache of ${local.name} (athena-cache-proxy)"
  engine               = "valkey"
  major_engine_version = var.valkey_major_version

  subnet_ids         = var.private_subnet_ids
  security_group_ids = [aws_security_group.redis.id]

  # Upper bounds of what the cache may use (and cost); beyond them writes fail and the service answers from Athena.
  cache_usage_limits {
    data_storage {
      maximum = var.redis_max_data_storage_gb
      unit    = "GB"
    }

    ecpu_per_second {
      maximum = var.redis_max_ecpu_per_second
    }
  }

  # Everything in it can be recomputed from Athena: no snapshots.
  snapshot_retention_limit = 0
}

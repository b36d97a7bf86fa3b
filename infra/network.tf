# Networking: the Lambda's security group and the VPC endpoints that let it reach AWS APIs without a NAT gateway.
# The VPC and its subnets are not managed here (vpc_id, private_subnet_ids, private_route_table_ids).

# The Lambda's security group: no ingress (nothing connects to a Lambda), egress to HTTPS and to the cache only.
resource "aws_security_group" "lambda" {
  name        = "${local.name}-lambda"
  description = "Lambda of ${local.name}: HTTPS to AWS APIs and Valkey to its cache"
  vpc_id      = var.vpc_id

  tags = {
    Name = "${local.name}-lambda"
  }
}

# AWS APIs over HTTPS: the interface endpoints (private DNS) or, without them, a NAT gateway.
resource "aws_vpc_security_group_egress_rule" "lambda_https" {
  security_group_id = aws_security_group.lambda.id
  description       = "HTTPS to AWS APIs (VPC endpoints, or a NAT gateway when there are none)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "lambda_redis" {
  security_group_id            = aws_security_group.lambda.id
  description                  = "Valkey (6379 primary, 6380 reader) to the serverless cache"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6380
  referenced_security_group_id = aws_security_group.redis.id
}

# --- VPC endpoints -----------------------------------------------------------------------------------------------

# S3 through the route tables (free, no security group).
resource "aws_vpc_endpoint" "s3" {
  count = var.create_vpc_endpoints ? 1 : 0

  vpc_id            = var.vpc_id
  service_name      = "com.amazonaws.${var.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = var.private_route_table_ids

  tags = {
    Name = "${local.name}-s3"
  }

  lifecycle {
    precondition {
      condition     = length(var.private_route_table_ids) > 0
      error_message = "private_route_table_ids must name the private subnets' route tables when create_vpc_endpoints is true."
    }
  }
}

# The interface endpoints' security group: HTTPS from the Lambda only.
resource "aws_security_group" "vpc_endpoints" {
  count = var.create_vpc_endpoints ? 1 : 0

  name        = "${local.name}-endpoints"
  description = "Interface VPC endpoints of ${local.name}: HTTPS from its Lambda"
  vpc_id      = var.vpc_id

  tags = {
    Name = "${local.name}-endpoints"
  }
}

resource "aws_vpc_security_group_ingress_rule" "vpc_endpoints_from_lambda" {
  count = var.create_vpc_endpoints ? 1 : 0

  security_group_id            = aws_security_group.vpc_endpoints[0].id
  description                  = "HTTPS from the Lambda"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.lambda.id
}

# Athena (and Glue, ...) with private DNS, so the SDK's default regional endpoint resolves inside the VPC.
resource "aws_vpc_endpoint" "interface" {
  for_each = var.create_vpc_endpoints ? toset(var.interface_endpoint_services) : toset([])

  vpc_id              = var.vpc_id
  service_name        = "com.amazonaws.${var.region}.${each.value}"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = var.private_subnet_ids
  security_group_ids  = [aws_security_group.vpc_endpoints[0].id]

  tags = {
    Name = "${local.name}-${each.value}"
  }
}

# Terraform and provider versions. Terraform >= 1.6 (validation blocks may only refer to their own variable there);
# hashicorp/aws 5.x from 5.80 (aws_elasticache_serverless_cache with engine "valkey", aws_vpc_security_group_*_rule).
terraform {
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
  }
}

provider "aws" {
  region = var.region

  # Every taggable resource gets these (plus var.tags).
  default_tags {
    tags = local.tags
  }
}

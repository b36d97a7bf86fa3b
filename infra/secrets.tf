# The tenants file (key digests, bound values, query allowlists) as a SecureString the Lambda reads once per cold
# start (TENANTS_SOURCE=ssm:<name>; src/config/tenant-source.ts), instead of tenants.yaml in the artifact or keys in
# the environment. Its IAM statements (GetParameter on this parameter only, kms:Decrypt through SSM for it only) are
# in iam.tf.

resource "aws_ssm_parameter" "tenants" {
  name        = "/${local.name}/tenants"
  description = "tenants.yaml of ${local.function_name} (SHA-256 key digests, never keys), read at cold start"
  type        = "SecureString"
  # Standard up to 4 KB, Advanced (8 KB, charged) only when a value needs it.
  tier   = "Intelligent-Tiering"
  key_id = var.tenants_kms_key_arn
  value  = var.tenants_yaml

  # The value is the operators', not Terraform's: Terraform only creates the parameter, so a rotation outside it
  # (aws ssm put-parameter --overwrite) is not reverted by the next apply. New containers read the new value; warm
  # ones keep theirs until they are recycled (publish a version or update the function to roll them at once).
  lifecycle {
    ignore_changes = [value]
  }
}

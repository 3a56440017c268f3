# Secrets the programs read at start (ECS injects them as environment variables). Terraform
# creates the containers; the values of the Stripe and admin secrets are put in once by an
# operator (`aws secretsmanager put-secret-value`), so they never enter Terraform state. Only
# DATABASE_URL is written here, from the generated RDS password.
resource "aws_kms_key" "secrets" {
  description         = "${local.name} application secrets"
  enable_key_rotation = true
}

locals {
  temporal_secrets = var.temporal_auth == "api_key" ? {
    TEMPORAL_API_KEY = "Temporal Cloud API key"
    } : var.temporal_auth == "mtls" ? {
    TEMPORAL_TLS_CERT = "PEM client certificate for the Temporal namespace"
    TEMPORAL_TLS_KEY  = "PEM private key of that certificate"
  } : {}

  operator_secrets = merge({
    ADMIN_API_KEY         = "bootstrap admin credential of the admin API"
    STRIPE_API_KEY        = "Stripe secret or restricted key (sk_live_... / rk_live_...)"
    STRIPE_WEBHOOK_SECRET = "signing secret of the Stripe webhook endpoint (whsec_...)"
    SECRETS_KEY           = "32 random bytes, base64 (openssl rand -base64 32): seals the per-client webhook secrets at rest; keep a copy, without it they cannot be opened"
  }, local.temporal_secrets, var.extra_secrets)
}

resource "aws_secretsmanager_secret" "operator" {
  for_each    = local.operator_secrets
  name        = "${local.name}/${each.key}"
  description = each.value
  kms_key_id  = aws_kms_key.secrets.arn
}

resource "aws_secretsmanager_secret" "database_url" {
  name        = "${local.name}/DATABASE_URL"
  description = "Postgres connection URL of the programs (RDS, TLS required)"
  kms_key_id  = aws_kms_key.secrets.arn
}

resource "aws_secretsmanager_secret_version" "database_url" {
  secret_id = aws_secretsmanager_secret.database_url.id
  secret_string = format("postgres://%s:%s@%s/%s?sslmode=require",
    aws_db_instance.main.username, random_password.db.result,
  aws_db_instance.main.endpoint, aws_db_instance.main.db_name)
}

locals {
  # name => ARN, as the ECS task definitions' "secrets" want them.
  app_secrets = merge(
    { for k, s in aws_secretsmanager_secret.operator : k => s.arn },
    { DATABASE_URL = aws_secretsmanager_secret.database_url.arn },
  )
}

# Plain settings that are not secret live in SSM Parameter Store, so they change without a
# Terraform run and show in one place.
resource "aws_ssm_parameter" "adot_config" {
  name        = "/${local.name}/adot-config"
  description = "AWS Distro for OpenTelemetry collector config of the worker sidecar"
  type        = "String"
  value       = file("${path.module}/adot-worker.yaml")
}

variable "region" {
  description = "AWS region."
  type        = string
  default     = "eu-west-1"
}

variable "environment" {
  description = "Deployment name, part of every resource name (production, staging)."
  type        = string
  default     = "production"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.environment))
    error_message = "environment must be lowercase letters, digits and dashes."
  }
}

variable "vpc_cidr" {
  description = "CIDR of the VPC; split into public and private subnets over two zones."
  type        = string
  default     = "10.40.0.0/16"
}

variable "image_tag" {
  description = "Tag of the worker and api images in ECR (the git tag that deploy-on-tag pushed)."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate for the API's HTTPS listener."
  type        = string
}

variable "temporal_address" {
  description = "Temporal frontend host:port (Temporal Cloud: <namespace>.<account>.tmprl.cloud:7233)."
  type        = string
}

variable "temporal_namespace" {
  description = "Temporal namespace (Temporal Cloud: <namespace>.<account>)."
  type        = string
}

variable "temporal_auth" {
  description = "How the programs authenticate to Temporal: api_key (Temporal Cloud), mtls (client certificate) or none (self-hosted on a private network)."
  type        = string
  default     = "api_key"

  validation {
    condition     = contains(["api_key", "mtls", "none"], var.temporal_auth)
    error_message = "temporal_auth must be api_key, mtls or none."
  }
}

variable "temporal_tls" {
  description = "Connect to Temporal over TLS (always on with api_key or mtls)."
  type        = bool
  default     = true
}

variable "task_queue" {
  description = "Task queue of the payment workflow and its activities."
  type        = string
  default     = "payments"
}

variable "temporal_ui_url" {
  description = "Base URL of the Temporal UI, for the workflow links of the admin API and of the worker's alert emails and webhook messages about one payment (set on both tasks)."
  type        = string
  default     = "https://cloud.temporal.io"
}

variable "worker_versioning" {
  description = "Run workers with Temporal worker versioning, the image tag as build ID."
  type        = bool
  default     = true
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.medium"
}

variable "db_allocated_storage" {
  description = "Initial RDS storage in GiB; it grows up to 4x on its own."
  type        = number
  default     = 50
}

variable "db_multi_az" {
  description = "Standby replica in a second zone."
  type        = bool
  default     = true
}

variable "api_cpu" {
  description = "Fargate CPU units of one API task."
  type        = number
  default     = 512
}

variable "api_memory" {
  description = "Fargate memory (MiB) of one API task."
  type        = number
  default     = 1024
}

variable "api_desired_count" {
  description = "API tasks behind the load balancer."
  type        = number
  default     = 2
}

variable "worker_cpu" {
  description = "Fargate CPU units of one worker task."
  type        = number
  default     = 1024
}

variable "worker_memory" {
  description = "Fargate memory (MiB) of one worker task."
  type        = number
  default     = 2048
}

variable "worker_min_count" {
  description = "Fewest worker tasks."
  type        = number
  default     = 2
}

variable "worker_max_count" {
  description = "Most worker tasks."
  type        = number
  default     = 20
}

variable "worker_cpu_target" {
  description = "Average CPU percent the worker service scales to."
  type        = number
  default     = 60
}

variable "worker_backlog_target" {
  description = "Tasks waiting in the task queue per running worker that the service scales to."
  type        = number
  default     = 50
}

variable "webhook_ack" {
  description = "When the API answers provider webhooks: temporal (once Temporal took the event; 503 while it is away) or inbox (once stored in Postgres; the API's relay forwards it)."
  type        = string
  default     = "temporal"

  validation {
    condition     = contains(["temporal", "inbox"], var.webhook_ack)
    error_message = "webhook_ack must be temporal or inbox."
  }
}

variable "worker_stop_timeout" {
  description = "Grace period for in-flight activities after SIGTERM (seconds); ECS waits a little longer before SIGKILL."
  type        = number
  default     = 60

  validation {
    condition     = var.worker_stop_timeout >= 10 && var.worker_stop_timeout <= 110
    error_message = "worker_stop_timeout must be between 10 and 110 seconds (ECS stops a container after at most 120)."
  }
}

variable "report_retention_days" {
  description = "Days a report stays in the reports bucket before it expires."
  type        = number
  default     = 730
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the programs' logs."
  type        = number
  default     = 90
}

variable "otlp_endpoint" {
  description = "OTLP/HTTP collector for traces; empty disables tracing."
  type        = string
  default     = ""
}

variable "alarm_topic_arn" {
  description = "SNS topic the alarms notify; empty for none."
  type        = string
  default     = ""
}

variable "extra_env" {
  description = "More plain settings for both programs, by name (e.g. REPORT_SMTP_ADDR with REPORT_MAIL_FROM, and REPORT_SMTP_USERNAME with the password secret; SMTP_ADDR with ALERT_EMAIL_TO and ALERT_EMAIL_FROM; PAYPAL_CLIENT_ID with the PAYPAL_SECRET secret); see the top-level README's configuration table."
  type        = map(string)
  default     = {}

  # A setting the task definitions set already would be in them twice, and which of the two a
  # program reads is not defined: REPORTS=off here next to the module's REPORTS=on could be
  # ignored without a word. The list is ecs.tf's (TestExtraEnvCannotRepeatTheModulesSettings).
  validation {
    condition = length([for k in keys(var.extra_env) : k if contains([
      "APP_ENV", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_TLS", "TASK_QUEUE", "TEMPORAL_UI_URL",
      "OTEL_EXPORTER_OTLP_ENDPOINT", "S3_BUCKET", "REPORTS", "S3_REGION", "S3_SSE", "S3_SSE_KMS_KEY_ID",
      "WORKER_HTTP_ADDR", "WORKER_STOP_TIMEOUT", "TEMPORAL_DEPLOYMENT_NAME", "WORKER_BUILD_ID",
      "API_ADDR", "WEBHOOK_ACK", "TRUSTED_PROXIES",
    ], k)]) == 0
    error_message = "extra_env repeats a setting the task definitions set already (ecs.tf: APP_ENV, TEMPORAL_*, TASK_QUEUE, OTEL_EXPORTER_OTLP_ENDPOINT, S3_*, REPORTS, WORKER_*, API_ADDR, WEBHOOK_ACK, TRUSTED_PROXIES): a task would have it twice, and which one the programs read is not defined. Change it in the module instead."
  }
}

variable "extra_secrets" {
  description = "More secrets for both programs, name => description (e.g. REPORT_SMTP_PASSWORD, ALERT_WEBHOOK_URL with ALERT_WEBHOOK_SECRET, PAYPAL_SECRET, a client's GA4 key for env: references, named GA4_...); created empty in Secrets Manager for an operator to fill."
  type        = map(string)
  default     = {}
}

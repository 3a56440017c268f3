# Both programs run on ECS Fargate from the images images.yml pushes to ECR on a tag.
resource "aws_ecr_repository" "app" {
  for_each             = toset(["worker", "api"])
  name                 = "paysplit/${each.key}"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
  }
}

resource "aws_ecr_lifecycle_policy" "app" {
  for_each   = aws_ecr_repository.app
  repository = each.value.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "keep the last 50 images"
      selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 50 }
      action       = { type = "expire" }
    }]
  })
}

resource "aws_ecs_cluster" "main" {
  name = local.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_cloudwatch_log_group" "app" {
  for_each          = toset(["worker", "api", "adot"])
  name              = "/paysplit/${var.environment}/${each.key}"
  retention_in_days = var.log_retention_days
}

resource "aws_cloudwatch_log_group" "metrics" {
  name              = "/paysplit/metrics"
  retention_in_days = 30
}

# --- IAM -----------------------------------------------------------------------------------------

data "aws_iam_policy_document" "ecs_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

# Execution role: what ECS itself needs to start a task (pull the image, read the secrets, logs).
resource "aws_iam_role" "execution" {
  name               = "${local.name}-ecs-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_assume.json
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

data "aws_iam_policy_document" "execution_secrets" {
  statement {
    actions   = ["secretsmanager:GetSecretValue"]
    resources = values(local.app_secrets)
  }
  statement {
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.secrets.arn]
  }
  statement {
    actions   = ["ssm:GetParameters"]
    resources = [aws_ssm_parameter.adot_config.arn]
  }
}

resource "aws_iam_role_policy" "execution_secrets" {
  name   = "secrets"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution_secrets.json
}

# Task role: what the programs themselves may do. Reports go to S3; the worker's sidecar writes
# metrics to CloudWatch.
resource "aws_iam_role" "task" {
  name               = "${local.name}-task"
  assume_role_policy = data.aws_iam_policy_document.ecs_assume.json
}

data "aws_iam_policy_document" "task" {
  statement {
    actions   = ["s3:PutObject", "s3:GetObject", "s3:ListBucket"]
    resources = [aws_s3_bucket.reports.arn, "${aws_s3_bucket.reports.arn}/*"]
  }
  statement {
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.reports.arn]
  }
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.metrics.arn}:*"]
  }
}

resource "aws_iam_role_policy" "task" {
  name   = "app"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}

# --- task definitions ----------------------------------------------------------------------------

locals {
  common_env = concat([
    { name = "APP_ENV", value = "production" },
    { name = "TEMPORAL_ADDRESS", value = var.temporal_address },
    { name = "TEMPORAL_NAMESPACE", value = var.temporal_namespace },
    { name = "TEMPORAL_TLS", value = tostring(var.temporal_tls || var.temporal_auth != "none") },
    { name = "TASK_QUEUE", value = var.task_queue },
    { name = "TEMPORAL_UI_URL", value = var.temporal_ui_url },
    { name = "OTEL_EXPORTER_OTLP_ENDPOINT", value = var.otlp_endpoint },
    { name = "S3_BUCKET", value = aws_s3_bucket.reports.bucket },
    # Every task has the bucket: one that lost it refuses to start rather than run without reports.
    { name = "REPORTS", value = "on" },
    { name = "S3_REGION", value = var.region },
    # Reports are encrypted with the bucket's own KMS key, not S3-managed AES256.
    { name = "S3_SSE", value = "aws:kms" },
    { name = "S3_SSE_KMS_KEY_ID", value = aws_kms_key.reports.arn },
  ], [for name, value in var.extra_env : { name = name, value = value }])
  secrets = [for name, arn in local.app_secrets : { name = name, valueFrom = arn }]

  worker_env = concat(local.common_env, [
    { name = "WORKER_HTTP_ADDR", value = "0.0.0.0:8081" },
    { name = "WORKER_STOP_TIMEOUT", value = "${var.worker_stop_timeout}s" },
    { name = "TEMPORAL_DEPLOYMENT_NAME", value = "paysplit" },
    # The build ID is the image tag: a deploy starts a new worker deployment version.
    { name = "WORKER_BUILD_ID", value = var.worker_versioning ? var.image_tag : "" },
  ])
  api_env = concat(local.common_env, [
    { name = "API_ADDR", value = "0.0.0.0:8080" },
    { name = "WEBHOOK_ACK", value = var.webhook_ack },
    # The load balancer's nodes live in the VPC: read the client's address from the
    # X-Forwarded-For it appends, so the per-address limits limit clients, not the balancer.
    { name = "TRUSTED_PROXIES", value = var.vpc_cidr },
  ])

  log_config = {
    for k, g in aws_cloudwatch_log_group.app : k => {
      logDriver = "awslogs"
      options = {
        awslogs-group         = g.name
        awslogs-region        = var.region
        awslogs-stream-prefix = k
      }
    }
  }
}

resource "aws_ecs_task_definition" "worker" {
  family                   = "${local.name}-worker"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.worker_cpu
  memory                   = var.worker_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([
    {
      name                   = "worker"
      image                  = "${aws_ecr_repository.app["worker"].repository_url}:${var.image_tag}"
      essential              = true
      readonlyRootFilesystem = true
      environment            = local.worker_env
      secrets                = local.secrets
      portMappings           = [{ containerPort = 8081, protocol = "tcp" }]
      # SIGTERM, then WORKER_STOP_TIMEOUT for in-flight activities, then a margin before SIGKILL.
      stopTimeout = min(var.worker_stop_timeout + 10, 120)
      healthCheck = {
        command     = ["CMD", "/usr/local/bin/worker", "healthcheck"]
        interval    = 15
        timeout     = 5
        retries     = 3
        startPeriod = 30
      }
      logConfiguration = local.log_config["worker"]
    },
    {
      name             = "adot"
      image            = "public.ecr.aws/aws-observability/aws-otel-collector:v0.43.1"
      essential        = false
      secrets          = [{ name = "AOT_CONFIG_CONTENT", valueFrom = aws_ssm_parameter.adot_config.arn }]
      dependsOn        = [{ containerName = "worker", condition = "START" }]
      logConfiguration = local.log_config["adot"]
    },
  ])
}

resource "aws_ecs_task_definition" "api" {
  family                   = "${local.name}-api"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.api_cpu
  memory                   = var.api_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([
    {
      name                   = "api"
      image                  = "${aws_ecr_repository.app["api"].repository_url}:${var.image_tag}"
      essential              = true
      readonlyRootFilesystem = true
      environment            = local.api_env
      secrets                = local.secrets
      portMappings           = [{ containerPort = 8080, protocol = "tcp" }]
      stopTimeout            = 30
      healthCheck = {
        command     = ["CMD", "/usr/local/bin/api", "healthcheck"]
        interval    = 15
        timeout     = 5
        retries     = 3
        startPeriod = 30
      }
      logConfiguration = local.log_config["api"]
    },
  ])
}

# --- services ------------------------------------------------------------------------------------

resource "aws_ecs_service" "worker" {
  name            = "worker"
  cluster         = aws_ecs_cluster.main.id
  task_definition = aws_ecs_task_definition.worker.arn
  desired_count   = var.worker_min_count
  launch_type     = "FARGATE"

  # New workers start before old ones stop; the old ones drain on SIGTERM.
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.worker.id]
    assign_public_ip = false
  }

  # The autoscaler owns the count after the first apply.
  lifecycle {
    ignore_changes = [desired_count]
  }
}

resource "aws_ecs_service" "api" {
  name            = "api"
  cluster         = aws_ecs_cluster.main.id
  task_definition = aws_ecs_task_definition.api.arn
  desired_count   = var.api_desired_count
  launch_type     = "FARGATE"

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = 30

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.api.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.api.arn
    container_name   = "api"
    container_port   = 8080
  }

  depends_on = [aws_lb_listener.https]
}

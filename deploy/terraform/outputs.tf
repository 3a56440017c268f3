output "api_url" {
  description = "DNS name of the API load balancer (point the Stripe webhook and the admin DNS record here)."
  value       = aws_lb.api.dns_name
}

output "ecr_repositories" {
  description = "Where images.yml pushes the worker and api images."
  value       = { for k, r in aws_ecr_repository.app : k => r.repository_url }
}

output "reports_bucket" {
  description = "S3 bucket of the generated reports."
  value       = aws_s3_bucket.reports.bucket
}

output "database_endpoint" {
  description = "RDS endpoint (host:port); the full URL is in Secrets Manager."
  value       = aws_db_instance.main.endpoint
}

output "operator_secrets" {
  description = "Secrets Manager secrets an operator fills in once before the first deploy."
  value       = { for k, s in aws_secretsmanager_secret.operator : k => s.name }
}

output "ecs_cluster" {
  description = "ECS cluster of the worker and api services."
  value       = aws_ecs_cluster.main.name
}

output "task_definitions" {
  description = "Task definition ARNs of this apply; the deploy checks the services run them (a circuit-breaker rollback also ends \"stable\")."
  value = {
    worker = aws_ecs_task_definition.worker.arn
    api    = aws_ecs_task_definition.api.arn
  }
}

output "worker_versioning" {
  description = "Whether the workers poll as versions of a worker deployment; the deploy makes the new build current only then."
  value       = var.worker_versioning
}

# Workers scale on two signals, whichever asks for more: CPU, and the task queue backlog per
# running worker (published by the workers as paysplit_task_queue_backlog, shipped to CloudWatch
# by the ADOT sidecar). Backlog matters because payment activities mostly wait on Stripe and
# Postgres: the queue can grow while CPU stays low.
resource "aws_appautoscaling_target" "worker" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.worker.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.worker_min_count
  max_capacity       = var.worker_max_count
}

resource "aws_appautoscaling_policy" "worker_cpu" {
  name               = "${local.name}-worker-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.worker.service_namespace
  resource_id        = aws_appautoscaling_target.worker.resource_id
  scalable_dimension = aws_appautoscaling_target.worker.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.worker_cpu_target
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "worker_backlog" {
  name               = "${local.name}-worker-backlog"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.worker.service_namespace
  resource_id        = aws_appautoscaling_target.worker.resource_id
  scalable_dimension = aws_appautoscaling_target.worker.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.worker_backlog_target
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    # Backlog per running worker: every worker reports the same queue, so Maximum is the backlog.
    customized_metric_specification {
      metrics {
        id          = "backlog"
        return_data = false
        metric_stat {
          stat = "Maximum"
          metric {
            namespace   = "Paysplit"
            metric_name = "paysplit_task_queue_backlog"
            dimensions {
              name  = "task_queue"
              value = var.task_queue
            }
            dimensions {
              name  = "type"
              value = "activity"
            }
          }
        }
      }

      metrics {
        id          = "workers"
        return_data = false
        metric_stat {
          stat = "Average"
          metric {
            namespace   = "ECS/ContainerInsights"
            metric_name = "RunningTaskCount"
            dimensions {
              name  = "ClusterName"
              value = aws_ecs_cluster.main.name
            }
            dimensions {
              name  = "ServiceName"
              value = aws_ecs_service.worker.name
            }
          }
        }
      }

      metrics {
        id          = "backlog_per_worker"
        label       = "activity tasks waiting per worker"
        expression  = "IF(workers > 0, backlog / workers, backlog)"
        return_data = true
      }
    }
  }
}

# Someone should look when the queue stays backed up at full scale: more workers will not help.
resource "aws_cloudwatch_metric_alarm" "backlog_at_max" {
  alarm_name          = "${local.name}-backlog-at-max-scale"
  alarm_description   = "Task queue backlog stays high with the worker service at its maximum size."
  namespace           = "Paysplit"
  metric_name         = "paysplit_task_queue_backlog"
  dimensions          = { task_queue = var.task_queue, type = "activity" }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 3
  threshold           = var.worker_backlog_target * var.worker_max_count
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_topic_arn == "" ? [] : [var.alarm_topic_arn]
}

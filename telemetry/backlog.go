package telemetry

import (
	"context"
	"log/slog"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// backlogTypes are the task queue kinds a worker of the queue serves.
var backlogTypes = map[string]enumspb.TaskQueueType{
	"workflow": enumspb.TASK_QUEUE_TYPE_WORKFLOW,
	"activity": enumspb.TASK_QUEUE_TYPE_ACTIVITY,
}

// WatchBacklog publishes the task queue's approximate backlog as paysplit_task_queue_backlog
// every interval until ctx ends. It is the signal worker autoscaling follows: tasks waiting for
// a worker, which CPU alone does not show when activities wait on Stripe or Postgres.
func (t *Telemetry) WatchBacklog(ctx context.Context, c client.Client, namespace, queue string, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		t.reportBacklog(ctx, c, namespace, queue)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (t *Telemetry) reportBacklog(ctx context.Context, c client.Client, namespace, queue string) {
	for name, typ := range backlogTypes {
		ctx, cancel := context.WithTimeout(ctx, readyTimeout)
		res, err := c.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
			Namespace: namespace, TaskQueue: &taskqueuepb.TaskQueue{Name: queue}, TaskQueueType: typ, ReportStats: true,
		})
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				t.logger.Log(ctx, slog.LevelWarn, "task queue backlog", "task_queue", queue, "type", name, "error", err)
			}
			// Unknown, not the last figure read: the autoscaler would go on acting on a backlog
			// from before Temporal became unreachable. Without the series it holds still.
			t.Metrics.backlog.DeleteLabelValues(queue, name)
			continue
		}
		t.Metrics.backlog.WithLabelValues(queue, name).Set(float64(res.GetStats().GetApproximateBacklogCount()))
	}
}

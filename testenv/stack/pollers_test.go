package stack_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc"

	"paysplit/testenv"
	"paysplit/testenv/stack"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// staleStickyHint is what a loaded matching service tells a worker: each workflow task handed out
// from the worker's sticky queue says more are waiting there (BacklogCountHint counts the tasks
// matching has loaded, and a hint read while another poll takes the last one is stale).
const staleStickyHint = 5

// stickyHintInflater rewrites the answers of sticky workflow-task polls that carry a task to say
// staleStickyHint tasks are still waiting, and counts them.
type stickyHintInflater struct{ inflated atomic.Int64 }

func (h *stickyHintInflater) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	poll, ok := req.(*workflowservice.PollWorkflowTaskQueueRequest)
	res, _ := reply.(*workflowservice.PollWorkflowTaskQueueResponse)
	if err == nil && ok && res != nil && poll.GetTaskQueue().GetKind() == enumspb.TASK_QUEUE_KIND_STICKY && len(res.GetTaskToken()) > 0 {
		res.BacklogCountHint = max(res.BacklogCountHint, staleStickyHint)
		h.inflated.Add(1)
	}
	return err
}

// sleepOnce leaves one timer to the worker's sticky queue: the task its firing makes is
// handed out there, with a backlog hint.
func sleepOnce(ctx workflow.Context) error { return workflow.Sleep(ctx, 10*time.Millisecond) }

func probe(workflow.Context) error { return nil }

// TestAStaleStickyBacklogHintLeavesNewRunsPolled: a run's first workflow task is on the task
// queue's normal queue, the tasks of runs the worker has cached on its sticky queue. The SDK's
// default pollers (two, each choosing a queue per poll) all go to the sticky queue while its last
// answer said tasks were waiting there, and stay in that long poll (a minute) when they were
// not: no one polls the normal queue, and a new run's first task waits for the minute. A CI run
// under load (~12) failed that way (TestEventOrderDoesNotChangeTheOutcome: the run held
// WorkflowExecutionStarted and WorkflowTaskScheduled alone after 60 s). The stack's worker
// polls as the worker program does, one poller kept on each queue.
func TestAStaleStickyBacklogHintLeavesNewRunsPolled(t *testing.T) {
	host, ns := testenv.Temporal(t)
	hints := &stickyHintInflater{}
	c, err := client.Dial(client.Options{HostPort: host, Namespace: ns,
		Logger:            tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		ConnectionOptions: client.ConnectionOptions{DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(hints.intercept)}}})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	queue := "stale-sticky-hint"
	w := worker.New(c, queue, stack.WorkerOptions())
	w.RegisterWorkflow(sleepOnce)
	w.RegisterWorkflow(probe)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	ctx := context.Background()
	run := func(id string, wf any) error {
		// A liveness bound, well under the sticky long poll that a worker polling no normal
		// queue waits out before it looks there again.
		rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		r, err := c.ExecuteWorkflow(rctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, wf)
		if err == nil {
			err = r.Get(rctx, nil)
		}
		return err
	}
	require.NoError(t, run("sleeps-once", sleepOnce))
	require.Positive(t, hints.inflated.Load(), "the timer's task came from the sticky queue with a hint")
	// Each poller that takes a first task from the normal queue goes to the sticky queue next:
	// a few runs in a row find none left on the normal queue when pollers choose by the hint.
	for i := range 4 {
		id := fmt.Sprintf("probe-%d", i)
		err := run(id, probe)
		if err != nil {
			d, derr := c.DescribeWorkflow(ctx, id, "")
			if derr == nil {
				t.Logf("%s: pending workflow task %v", id, d.RawResponse.GetPendingWorkflowTask())
			}
		}
		require.NoError(t, err, "run %s: its first workflow task was not taken", id)
	}
}

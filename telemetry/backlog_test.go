package telemetry_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"paysplit/telemetry"
	"paysplit/testenv"
)

// TestWatchBacklogCountsWaitingTasks starts workflows on a queue nobody polls: the backlog gauge
// the worker autoscaling follows must show them.
func TestWatchBacklogCountsWaitingTasks(t *testing.T) {
	tc := testenv.TemporalClient(t)
	_, ns := testenv.Temporal(t)
	tel, err := telemetry.New(t.Context(), telemetry.Options{Service: "test", Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	queue := "backlog-" + t.Name()
	for i := range 3 {
		_, err := tc.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{
			ID: queue + "-" + string(rune('a'+i)), TaskQueue: queue, WorkflowExecutionTimeout: time.Minute,
		}, "NobodyRunsThis")
		require.NoError(t, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); tel.WatchBacklog(ctx, tc, ns, queue, 50*time.Millisecond) }()
	t.Cleanup(func() { cancel(); <-done })

	require.EventuallyWithT(t, func(c *assert.CollectT) {
		n, err := testutil.GatherAndCount(tel.Registry, "paysplit_task_queue_backlog")
		if !assert.NoError(c, err) || !assert.Equal(c, 2, n, "workflow and activity series") {
			return
		}
		families, err := tel.Registry.Gather()
		require.NoError(t, err)
		for _, f := range families {
			if f.GetName() != "paysplit_task_queue_backlog" {
				continue
			}
			for _, m := range f.GetMetric() {
				want := 0.0
				for _, l := range m.GetLabel() {
					if l.GetName() == "type" && l.GetValue() == "workflow" {
						want = 3
					}
				}
				assert.Equal(c, want, m.GetGauge().GetValue(), "%v", m.GetLabel())
			}
		}
	}, 30*time.Second, 100*time.Millisecond)
}

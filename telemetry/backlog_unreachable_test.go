package telemetry_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"paysplit/telemetry"
	"paysplit/testenv"
)

// TestBacklogGaugeGoesWhenTemporalIsUnreachable: the backlog gauge drives worker autoscaling;
// when the worker cannot read it (Temporal unreachable), the series goes rather than repeat the
// last backlog as if it were current.
func TestBacklogGaugeGoesWhenTemporalIsUnreachable(t *testing.T) {
	hostPort, ns := testenv.Temporal(t)
	proxy := testenv.NewTCPProxy(t, hostPort)
	tc, err := client.Dial(client.Options{HostPort: proxy.Addr, Namespace: ns})
	require.NoError(t, err)
	defer tc.Close()
	tel, err := telemetry.New(t.Context(), telemetry.Options{Service: "test", Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	queue := fmt.Sprintf("backlog-%d", time.Now().UnixNano())
	for i := range 3 {
		_, err := tc.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{
			ID: queue + "-" + string(rune('a'+i)), TaskQueue: queue, WorkflowExecutionTimeout: time.Minute,
		}, "NobodyRunsThis")
		require.NoError(t, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); tel.WatchBacklog(ctx, tc, ns, queue, 100*time.Millisecond) }()
	t.Cleanup(func() { cancel(); <-done })
	workflowBacklog := func() float64 {
		families, err := tel.Registry.Gather()
		require.NoError(t, err)
		for _, f := range families {
			if f.GetName() != "paysplit_task_queue_backlog" {
				continue
			}
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "type" && l.GetValue() == "workflow" {
						return m.GetGauge().GetValue()
					}
				}
			}
		}
		return -1
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) { assert.Equal(c, 3.0, workflowBacklog()) }, 30*time.Second, 100*time.Millisecond)
	proxy.Cut()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, -1.0, workflowBacklog(), "Temporal unreachable: the backlog is unknown, not the last one read")
	}, 30*time.Second, 100*time.Millisecond)
}

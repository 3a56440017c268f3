package telemetry_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"paysplit/telemetry"
	"paysplit/testenv"
)

// watchThreeWaiting starts three workflows on a queue nobody polls and the backlog watcher on it,
// through tc; it returns the telemetry whose registry has the gauge.
func watchThreeWaiting(t *testing.T, tc client.Client, ns string) *telemetry.Telemetry {
	t.Helper()
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
	go func() { defer close(done); tel.WatchBacklog(ctx, tc, ns, queue, 50*time.Millisecond) }()
	t.Cleanup(func() { cancel(); <-done })
	return tel
}

// backlogOf is the gauge's value for the task type ("workflow", "activity"), -1 without a series.
func backlogOf(t *testing.T, tel *telemetry.Telemetry, typ string) float64 {
	families, err := tel.Registry.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != "paysplit_task_queue_backlog" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "type" && l.GetValue() == typ {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}

// TestWatchBacklogCountsWaitingTasks starts workflows on a queue nobody polls: the backlog gauge
// the worker autoscaling follows must show them.
func TestWatchBacklogCountsWaitingTasks(t *testing.T) {
	_, ns := testenv.Temporal(t)
	tel := watchThreeWaiting(t, testenv.TemporalClient(t), ns)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		n, err := testutil.GatherAndCount(tel.Registry, "paysplit_task_queue_backlog")
		if !assert.NoError(c, err) || !assert.Equal(c, 2, n, "workflow and activity series") {
			return
		}
		assert.Equal(c, 3.0, backlogOf(t, tel, "workflow"))
		assert.Equal(c, 0.0, backlogOf(t, tel, "activity"))
	}, 30*time.Second, 100*time.Millisecond)
}

// TestBacklogGaugeGoesWhenTemporalIsUnreachable: when the worker cannot read the backlog
// (Temporal unreachable), the series goes rather than repeat the last backlog to the autoscaler
// as if it were current.
func TestBacklogGaugeGoesWhenTemporalIsUnreachable(t *testing.T) {
	hostPort, ns := testenv.Temporal(t)
	proxy := testenv.NewTCPProxy(t, hostPort)
	tc, err := client.Dial(client.Options{HostPort: proxy.Addr, Namespace: ns})
	require.NoError(t, err)
	t.Cleanup(tc.Close) // after the watcher's cleanup, which is registered later
	tel := watchThreeWaiting(t, tc, ns)
	require.EventuallyWithT(t, func(c *assert.CollectT) { assert.Equal(c, 3.0, backlogOf(t, tel, "workflow")) }, 30*time.Second, 100*time.Millisecond)
	proxy.Cut()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, -1.0, backlogOf(t, tel, "workflow"), "the backlog is unknown, not the last one read")
	}, 30*time.Second, 100*time.Millisecond)
}

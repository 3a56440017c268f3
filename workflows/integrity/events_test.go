package integrity

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"paysplit/internal/ledger"
	"paysplit/testenv"
)

// TestLedgerEventsTriggerMonitorEvaluation: a burst of journal entries triggers the monitors
// schedule once, after the debounce window; a later entry triggers it again.
func TestLedgerEventsTriggerMonitorEvaluation(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	c := testenv.TemporalClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The schedule's runs are a no-op workflow here: what counts is how often they start.
	w := worker.New(c, "ledger-events-test", testenv.WorkerOptions())
	w.RegisterWorkflowWithOptions(func(workflow.Context) error { return nil }, workflow.RegisterOptions{Name: "LedgerEventsNoop"})
	require.NoError(t, w.Start())
	defer w.Stop()
	// Another test of the package may own a schedule with this ID: replace it for this test and
	// remove it afterwards, so it can create its own.
	_ = c.ScheduleClient().GetHandle(ctx, ScheduleMonitors).Delete(ctx)
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: ScheduleMonitors, Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: 24 * time.Hour}}},
		Action: &client.ScheduleWorkflowAction{ID: "monitors-events-test", Workflow: "LedgerEventsNoop", TaskQueue: "ledger-events-test"},
	})
	require.NoError(t, err)
	defer func() {
		_ = c.ScheduleClient().GetHandle(context.Background(), ScheduleMonitors).Delete(context.Background())
	}()
	handle := c.ScheduleClient().GetHandle(ctx, ScheduleMonitors)
	actions := func() int {
		d, err := handle.Describe(ctx)
		require.NoError(t, err)
		return d.Info.NumActions
	}
	before := actions()

	go WatchLedgerEvents(ctx, pool, c, 500*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
	post := func(key string) {
		_, _, err := ledger.New(pool).Post(ctx, ledger.Entry{IdempotencyKey: key, Currency: "usd", Reference: "events",
			Postings: []ledger.Posting{{Account: "provider:stripe", Amount: 1}, {Account: "platform:revenue", Amount: -1}}})
		require.NoError(t, err)
	}
	// The listener needs a moment to subscribe; entries before that are caught by the next ones.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		for i := range 5 {
			post(fmt.Sprintf("events-burst-%d-%d", time.Now().UnixNano(), i))
		}
		assert.Greater(c, actions(), before)
	}, 20*time.Second, time.Second)
	afterBurst := actions()
	require.LessOrEqual(t, afterBurst-before, 2, "a burst is evaluated once (or twice across the subscribe race), not per entry")

	post(fmt.Sprintf("events-later-%d", time.Now().UnixNano()))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, afterBurst+1, actions())
	}, 20*time.Second, 100*time.Millisecond)
}

package integrity

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"paysplit/activities"
	"paysplit/internal/monitor"
	"paysplit/testenv"
)

// TestReplayRecordedHistories replays histories recorded from real runs on the dev server
// (TestRecordHistories with RECORD_HISTORY=<prefix>) through the current workflow code: those
// from before outage-retries (prefix unversioned_) must replay unchanged.
func TestReplayRecordedHistories(t *testing.T) {
	testenv.ReplayHistories(t, "testdata", 4, Register)
}

// TestRecordHistories records a daily round and a monitors-only round as
// testdata/<RECORD_HISTORY>*.json. Recording only: without RECORD_HISTORY it does nothing.
func TestRecordHistories(t *testing.T) {
	prefix := os.Getenv("RECORD_HISTORY")
	if prefix == "" {
		t.Skip("records histories only with RECORD_HISTORY=<file prefix>")
	}
	c := testenv.TemporalClient(t)
	queue := "integrity-record-" + time.Now().Format("150405.000")
	w := worker.New(c, queue, worker.Options{})
	Register(w)
	reg := func(name string, fn any) { w.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name}) }
	reg("VerifyLedgerChain", func(context.Context, activities.VerifyLedgerChainInput) (activities.VerifyLedgerChainOutput, error) {
		return activities.VerifyLedgerChainOutput{Verification: intact, VerifiedAt: verifiedAt}, nil
	})
	reg("RecordChainVerification", func(context.Context, activities.RecordChainVerificationInput) (monitor.Outcome, error) {
		return monitor.Outcome{Action: monitor.ActionNone}, nil
	})
	reg("EvaluateMonitors", func(context.Context, activities.EvaluateMonitorsInput) (activities.EvaluateMonitorsOutput, error) {
		return activities.EvaluateMonitorsOutput{Evaluated: 3}, nil
	})
	reg("DeliverAlerts", func(context.Context, activities.DeliverAlertsInput) (activities.DeliverAlertsOutput, error) {
		return activities.DeliverAlertsOutput{Delivered: 1}, nil
	})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	for name, in := range map[string]Input{"daily": {VerifyChain: true, EvaluateMonitors: true}, "monitors": {EvaluateMonitors: true}} {
		run, err := c.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{ID: queue + "-" + name, TaskQueue: queue}, WorkflowName, in)
		require.NoError(t, err)
		require.NoError(t, run.Get(t.Context(), nil))
		testenv.RecordHistory(t, c, run.GetID(), prefix+name+".json")
	}
}

package integrity

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

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
	rec := testenv.NewRecorder(t, "integrity", Register)
	rec.Activity("VerifyLedgerChain", func(context.Context, activities.VerifyLedgerChainInput) (activities.VerifyLedgerChainOutput, error) {
		return activities.VerifyLedgerChainOutput{Verification: intact, VerifiedAt: verifiedAt}, nil
	})
	rec.Activity("RecordChainVerification", func(context.Context, activities.RecordChainVerificationInput) (monitor.Outcome, error) {
		return monitor.Outcome{Action: monitor.ActionNone}, nil
	})
	rec.Activity("EvaluateMonitors", func(context.Context, activities.EvaluateMonitorsInput) (activities.EvaluateMonitorsOutput, error) {
		return activities.EvaluateMonitorsOutput{Evaluated: 3}, nil
	})
	rec.Activity("DeliverAlerts", func(context.Context, activities.DeliverAlertsInput) (activities.DeliverAlertsOutput, error) {
		return activities.DeliverAlertsOutput{Delivered: 1}, nil
	})
	rec.Start(t)

	for name, in := range map[string]Input{"daily": {VerifyChain: true, EvaluateMonitors: true}, "monitors": {EvaluateMonitors: true}} {
		run, err := rec.Client.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{ID: rec.Queue + "-" + name, TaskQueue: rec.Queue}, WorkflowName, in)
		require.NoError(t, err)
		require.NoError(t, run.Get(t.Context(), nil))
		rec.Record(t, run.GetID(), name+".json")
	}
}

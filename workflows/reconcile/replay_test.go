package reconcile_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"paysplit/activities"
	"paysplit/testenv"
	"paysplit/workflows/reconcile"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestReplayRecordedHistories replays histories recorded from real runs on the dev server
// (TestRecordHistories with RECORD_HISTORY=<prefix>) through the current workflow code: those
// from before outage-retries (prefix unversioned_) must replay unchanged.
func TestReplayRecordedHistories(t *testing.T) {
	testenv.ReplayHistories(t, "testdata", 4, reconcile.Register)
}

// TestRecordHistories records a run that reconciles both providers and one in which PayPal
// refuses for good, as testdata/<RECORD_HISTORY>*.json. Recording only: without RECORD_HISTORY
// it does nothing.
func TestRecordHistories(t *testing.T) {
	rec := testenv.NewRecorder(t, "reconcile", reconcile.Register)
	rec.Activity("Reconcile", func(_ context.Context, in activities.ReconcileInput) (activities.ReconcileOutput, error) {
		if in.Provider == activities.ProviderPayPal && strings.HasPrefix(in.WorkflowID, "reconcile-record-paypal-refused") {
			return activities.ReconcileOutput{}, temporal.NewNonRetryableApplicationError("paypal refused", "Refused", nil)
		}
		return activities.ReconcileOutput{RunID: 1, Checked: 2}, nil
	})
	rec.Start(t)

	day := time.Date(2026, 6, 9, 0, 0, 0, 0, time.UTC)
	for _, id := range []string{"reconcile-record-ok", "reconcile-record-paypal-refused"} {
		run, err := rec.Client.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{ID: id + "-" + rec.Queue, TaskQueue: rec.Queue},
			reconcile.WorkflowName, reconcile.Input{Day: day})
		require.NoError(t, err)
		_ = run.Get(t.Context(), nil) // the refused run fails by design
		rec.Record(t, run.GetID(), id[len("reconcile-record-"):]+".json")
	}
}

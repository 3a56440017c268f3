package kpisync

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"paysplit/activities"
	"paysplit/internal/kpi"
	"paysplit/internal/money"
	"paysplit/testenv"
)

// TestReplayRecordedHistories replays histories recorded from real runs on the dev server
// (TestRecordHistories with RECORD_HISTORY=<prefix>) through the current workflow code. A sync
// run lasts minutes and retention's hours, so a deploy meets runs in progress: those recorded
// before a change (prefix unversioned_: the workflows as they were before their first version
// marker) must replay unchanged.
func TestReplayRecordedHistories(t *testing.T) {
	testenv.ReplayHistories(t, "testdata", 3, Register)
}

// TestRecordHistories records a sync of two good sources, a sync in which a source refused (its
// failure recorded, the run failed naming it) and a retention run, as
// testdata/<RECORD_HISTORY>*.json. Recording only: without RECORD_HISTORY it does nothing.
func TestRecordHistories(t *testing.T) {
	rec := testenv.NewRecorder(t, "kpisync", Register)
	rec.Activity("PlanKPISync", func(_ context.Context, in activities.PlanKPISyncInput) (activities.PlanKPISyncOutput, error) {
		return activities.PlanKPISyncOutput{Sources: []string{kpi.SourceLedger, kpi.SourceGA4}, Currency: money.USD}, nil
	})
	rec.Activity("SyncKPISource", func(_ context.Context, in activities.SyncKPISourceInput) (activities.SyncKPISourceOutput, error) {
		if in.ClientID == "refused" && in.Source == kpi.SourceGA4 {
			return activities.SyncKPISourceOutput{}, temporal.NewNonRetryableApplicationError("ga4: runReport: 403 permission denied", activities.ErrTypeKPISourceRefused, nil)
		}
		return activities.SyncKPISourceOutput{Source: in.Source, Days: 8, Hours: 3}, nil
	})
	rec.Activity("RecordKPISyncFailure", func(context.Context, activities.RecordKPISyncFailureInput) error { return nil })
	rec.Activity("PruneKPIs", func(context.Context, activities.PruneKPIsInput) (activities.PruneKPIsOutput, error) {
		return activities.PruneKPIsOutput{Daily: 12, Hourly: 40}, nil
	})
	rec.Start(t)

	for _, r := range []struct {
		name, workflow string
		in             any
		fails          bool
	}{
		{"sync", SyncWorkflowName, SyncInput{ClientID: "good", HotDays: DefaultHotDays}, false},
		{"sync_refused", SyncWorkflowName, SyncInput{ClientID: "refused", HotDays: DefaultHotDays}, true},
		{"retention", RetentionWorkflowName, RetentionInput{Days: DefaultHotDays, BatchSize: DefaultBatchSize}, false},
	} {
		run, err := rec.Client.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{
			ID: rec.Queue + "-" + r.name, TaskQueue: rec.Queue, WorkflowRunTimeout: syncRunTimeout,
		}, r.workflow, r.in)
		require.NoError(t, err)
		if err := run.Get(t.Context(), nil); r.fails {
			require.Error(t, err)
		} else {
			require.NoError(t, err)
		}
		rec.Record(t, run.GetID(), r.name+".json")
	}
}

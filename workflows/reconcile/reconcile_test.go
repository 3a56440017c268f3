package reconcile

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
)

// TestLateRunReconcilesItsScheduledDay: the 02:00 UTC run of 10 June (meant for 9 June)
// starts late, 00:30 UTC on 11 June (cluster or workers back within the 24 h catch-up window).
// It must reconcile 9 June, the day it was scheduled for; the 11 June 02:00 run does 10 June.
func TestLateRunReconcilesItsScheduledDay(t *testing.T) {
	scheduled := time.Date(2026, 6, 10, 2, 0, 0, 0, time.UTC)
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.SetStartTime(time.Date(2026, 6, 11, 0, 30, 0, 0, time.UTC))
	require.NoError(t, env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(
		temporal.NewSearchAttributeKeyTime("TemporalScheduledStartTime").ValueSet(scheduled))))
	Register(env)
	env.RegisterActivity(&activities.Reconciler{})
	var asked []activities.ReconcileInput
	env.OnActivity(rec.Reconcile, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ReconcileInput) (activities.ReconcileOutput, error) {
			asked = append(asked, in)
			return activities.ReconcileOutput{}, nil
		})
	env.ExecuteWorkflow(Workflow, Input{Providers: []string{activities.ProviderStripe}})
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, asked, 1)
	require.Equal(t, time.Date(2026, 6, 9, 0, 0, 0, 0, time.UTC), asked[0].From,
		"reconciled %s instead of the scheduled day 2026-06-09: that day is never reconciled, %s is reconciled twice",
		asked[0].From.Format(time.DateOnly), asked[0].From.Format(time.DateOnly))
}

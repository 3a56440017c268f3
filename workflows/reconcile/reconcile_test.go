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
// starts late, 00:30 UTC on 11 June (cluster or workers back within the catch-up window).
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

// TestOneProviderFailingLeavesTheOthersReconciled: Stripe's reconciliation fails for good (its
// result refused, Stripe unreachable all day); PayPal's is still done, and the run fails naming
// Stripe. Before, the run returned at Stripe's error and PayPal was not reconciled that day.
func TestOneProviderFailingLeavesTheOthersReconciled(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	Register(env)
	env.RegisterActivity(&activities.Reconciler{})
	var asked []string
	env.OnActivity(rec.Reconcile, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ReconcileInput) (activities.ReconcileOutput, error) {
			asked = append(asked, in.Provider)
			if in.Provider == activities.ProviderStripe {
				return activities.ReconcileOutput{}, temporal.NewNonRetryableApplicationError("stripe is down", "Down", nil)
			}
			return activities.ReconcileOutput{RunID: 7, Checked: 3}, nil
		})
	env.ExecuteWorkflow(Workflow, Input{Day: time.Date(2026, 6, 9, 0, 0, 0, 0, time.UTC)})
	require.Equal(t, []string{activities.ProviderStripe, activities.ProviderPayPal}, asked, "every provider is tried")
	err := env.GetWorkflowError()
	require.Error(t, err)
	require.Contains(t, err.Error(), "stripe")
	require.Contains(t, err.Error(), "2026-06-09")
}

package reconcile

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
)

// TestReconcileSurvivesAnOutage: a dependency of the reconciliation (Stripe, PayPal, or Postgres,
// which both providers' runs need) is down from the 02:00 run for an outage; the run waits it
// out and the day is reconciled for every provider. Before (code change outage-retries), a
// provider's activity gave up after ten attempts, some 20 minutes: the run failed and, as each
// run does the day before it was due, that day was never reconciled.
func TestReconcileSurvivesAnOutage(t *testing.T) {
	for _, tt := range []struct {
		name string
		down []string // the providers whose reconciliation fails while it lasts
	}{
		{"Stripe", []string{activities.ProviderStripe}},
		{"PayPal", []string{activities.ProviderPayPal}},
		{"Postgres", []string{activities.ProviderStripe, activities.ProviderPayPal}},
	} {
		for _, outage := range []time.Duration{time.Minute, time.Hour, 24 * time.Hour} {
			t.Run(tt.name+" down "+outage.String(), func(t *testing.T) {
				out, failures := reconcileWithOutage(t, tt.down, outage)
				require.Positive(t, failures, "the outage was never seen: the test proves nothing")
				require.Len(t, out.Runs, 2, "a provider's day was never reconciled after a %s outage", outage)
			})
		}
	}
}

// reconcileWithOutage runs the 02:00 run with the providers in down failing until outage has
// passed, and returns its output and how many calls failed.
func reconcileWithOutage(t *testing.T, down []string, outage time.Duration) (Output, int) {
	t.Helper()
	start := time.Date(2026, 6, 10, 2, 0, 0, 0, time.UTC)
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	Register(env)
	env.RegisterActivity(&activities.Reconciler{})
	failures := 0
	env.OnActivity(rec.Reconcile, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ReconcileInput) (activities.ReconcileOutput, error) {
			for _, p := range down {
				if p == in.Provider && env.Now().Before(start.Add(outage)) {
					failures++
					return activities.ReconcileOutput{}, errors.New("dial tcp: connect: connection refused")
				}
			}
			return activities.ReconcileOutput{RunID: 1}, nil
		})
	env.ExecuteWorkflow(Workflow, Input{})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError(), "the day was not reconciled")
	var out Output
	require.NoError(t, env.GetWorkflowResult(&out))
	return out, failures
}

// TestScheduleStartsTheNextDayWhileAnOutageLasts: a run waits out an outage for up to
// providerRetryFor per provider, longer than the day between two runs. With overlap "skip",
// the next day's run would be skipped while it waits, and that day never reconciled.
func TestScheduleStartsTheNextDayWhileAnOutageLasts(t *testing.T) {
	opts := scheduleOptions("q")
	require.Greater(t, providerRetryFor, 24*time.Hour, "the premise: a run may outlast a day")
	require.Contains(t, []enumspb.ScheduleOverlapPolicy{
		enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL, enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL,
	}, opts.Overlap, "a run still waiting out an outage would make the schedule skip the next day")
}

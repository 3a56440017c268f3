package integrity

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/internal/monitor"
)

// TestDailyRoundSurvivesAPostgresOutage: Postgres is down from the daily round's start for an
// outage; the round waits it out, then verifies the chain, evaluates the monitors and delivers
// the alerts. Before (code change outage-retries), each step gave up after ten attempts, about
// four minutes: an outage of an hour failed the round, and with MONITOR_EVAL_EVERY=0 that day's
// monitors were never evaluated and its queued alerts waited another day.
func TestDailyRoundSurvivesAPostgresOutage(t *testing.T) {
	for _, outage := range []time.Duration{time.Minute, time.Hour, 4 * time.Hour} {
		t.Run(outage.String(), func(t *testing.T) {
			res, failures := dailyRoundWithOutage(t, outage)
			require.Positive(t, failures, "the outage was never seen: the test proves nothing")
			require.NotNil(t, res.Chain, "the chain was not verified")
			require.NotNil(t, res.Monitors, "the monitors were not evaluated")
			require.Equal(t, 1, res.Alerts.Delivered, "the queued alert was not delivered")
		})
	}
}

// dailyRoundWithOutage runs the daily round with every activity failing, as Postgres does, until
// outage has passed; it returns the round's result and how many calls failed.
func dailyRoundWithOutage(t *testing.T, outage time.Duration) (Result, int) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := s.NewTestWorkflowEnvironment()
	start := time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	failures := 0
	down := func() error {
		if env.Now().Before(start.Add(outage)) {
			failures++
			return errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
		}
		return nil
	}
	env.RegisterActivity(act)
	env.OnActivity(act.VerifyLedgerChain, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.VerifyLedgerChainInput) (activities.VerifyLedgerChainOutput, error) {
			return activities.VerifyLedgerChainOutput{Verification: intact, VerifiedAt: env.Now()}, down()
		})
	env.OnActivity(act.RecordChainVerification, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.RecordChainVerificationInput) (monitor.Outcome, error) {
			return monitor.Outcome{Action: monitor.ActionNone}, down()
		})
	env.OnActivity(act.EvaluateMonitors, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.EvaluateMonitorsInput) (activities.EvaluateMonitorsOutput, error) {
			return activities.EvaluateMonitorsOutput{Evaluated: 3}, down()
		})
	env.OnActivity(act.DeliverAlerts, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.DeliverAlertsInput) (activities.DeliverAlertsOutput, error) {
			return activities.DeliverAlertsOutput{Delivered: 1}, down()
		})
	Register(env)
	env.ExecuteWorkflow(WorkflowName, Input{VerifyChain: true, EvaluateMonitors: true})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError(), "the daily round failed")
	var res Result
	require.NoError(t, env.GetWorkflowResult(&res))
	return res, failures
}

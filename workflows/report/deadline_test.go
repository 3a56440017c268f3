package report

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
)

// TestKPISourceDownIsRetriedUntilTheRunsLastHour: generate retries a KPI source that is down and,
// on its last chance, makes the report with a note rather than none (activities' LastChance rule,
// applied here to the step as the workflow schedules it). The last chance must come in the run's
// last hour (of its first day, for a longer run), whenever the step started: it used to be the
// last 15 hours of the step's own 24 from its start, which gave up on the source after 9 hours in
// a run that had not waited (a source back at hour 12 was noted as missing), and came after the
// run's end in one whose step started more than 15 hours in (no report at all).
func TestKPISourceDownIsRetriedUntilTheRunsLastHour(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	start := time.Date(2026, 6, 15, 6, 0, 0, 0, loc) // the schedule's Monday 06:00
	for _, tt := range []struct {
		name       string
		kpiWait    time.Duration // ReportReadyAt's answer, after the start
		dbDown     time.Duration // ReportReadyAt fails (Postgres down) for this long
		sourceDown time.Duration // GA4 down from the start for this long
		wantNoted  bool          // the report notes the source as missing
		runTimeout time.Duration // the run's; clientRunTimeout when zero
	}{
		{name: "no wait, GA4 back after 12 h", sourceDown: 12 * time.Hour},
		{name: "waited 14 h for the KPIs, GA4 down to the end", kpiWait: 14 * time.Hour, sourceDown: 48 * time.Hour, wantNoted: true},
		{name: "Postgres down 16 h, then GA4 down to the end", dbDown: 16 * time.Hour, sourceDown: 48 * time.Hour, wantNoted: true},
		{name: "waited 20 h, GA4 down to the end", kpiWait: 20 * time.Hour, sourceDown: 48 * time.Hour, wantNoted: true},
		// A scheduled run lasts longer, to sit out an S3 or SMTP outage, but a source down is
		// given the first day only, as before: the report is not held for days for a note.
		{name: "scheduled run of 6 days, GA4 down for 3", sourceDown: 72 * time.Hour, wantNoted: true, runTimeout: scheduledClientRunTimeout},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var ts testsuite.WorkflowTestSuite
			env := ts.NewTestWorkflowEnvironment()
			env.SetStartTime(start)
			// The run's own end, as the schedule's and the API's runs have it (the test environment
			// does not enforce a child's execution timeout, so the run is started on its own).
			runTimeout := clientRunTimeout
			if tt.runTimeout > 0 {
				runTimeout = tt.runTimeout
			}
			env.SetWorkflowRunTimeout(runTimeout)
			env.SetTestTimeout(time.Minute)
			env.RegisterActivity(&activities.Reports{})
			env.OnActivity(act.ReportReadyAt, mock.Anything, mock.Anything).Return(
				func(context.Context, activities.ReportInput) (activities.ReportReadyOutput, error) {
					if env.Now().Before(start.Add(tt.dbDown)) {
						return activities.ReportReadyOutput{}, errDown
					}
					return activities.ReportReadyOutput{At: start.Add(tt.kpiWait)}, nil
				})
			var scheduled, generatedAt time.Time
			attempts, noted := 0, false
			env.OnActivity(act.GenerateReport, mock.Anything, mock.Anything).Return(
				func(ctx context.Context, in activities.GenerateReportInput) (activities.GenerateReportOutput, error) {
					attempts++
					info := activity.GetInfo(ctx)
					if info.Attempt == 1 {
						scheduled = env.Now()
					}
					// The server hands the attempt the time the step was scheduled; the test
					// environment its wall clock.
					info.ScheduledTime = scheduled
					down := env.Now().Before(start.Add(tt.sourceDown))
					if down && !in.LastChance(info, env.Now()) {
						return activities.GenerateReportOutput{}, temporal.NewApplicationError("ga4: 503", activities.ErrTypeKPISourceDown)
					}
					generatedAt, noted = env.Now(), down
					return activities.GenerateReportOutput{Generated: true}, nil
				})
			env.OnActivity(act.UploadReport, mock.Anything, mock.Anything).Return(activities.UploadReportOutput{Uploaded: true}, nil)
			env.OnActivity(act.EmailReport, mock.Anything, mock.Anything).Return(activities.EmailReportOutput{Sent: true}, nil)

			env.ExecuteWorkflow(Client, ClientInput{ClientID: "acme", Week: "2026-W24", EnsureSends: 1})
			require.True(t, env.IsWorkflowCompleted())
			require.Greater(t, attempts, 1, "the source was never retried: the test proves nothing")
			require.NoError(t, env.GetWorkflowError(), "the run ended without the week's report (generate tried %d times from %s)",
				attempts, scheduled.Sub(start))
			require.Equal(t, tt.wantNoted, noted, "generated %s after the start, the source down for %s", generatedAt.Sub(start), tt.sourceDown)
			if tt.wantNoted {
				// The source was retried until the run's last hour, not given up on before.
				// The source was retried until the last hour of the run's first day, not given up
				// on before nor waited for longer.
				require.GreaterOrEqual(t, generatedAt.Sub(start), clientRunTimeout-time.Hour,
					"gave up on the source %s before the run's end", clientRunTimeout-generatedAt.Sub(start))
				require.Less(t, generatedAt.Sub(start), clientRunTimeout, "held the report past a day for a source that is down")
			}
		})
	}
}

package report

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
)

// errDown is what a dependency that is down answers: a plain, retryable error.
var errDown = errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")

// outageSteps are the report's activities, each named after the dependency it calls.
var outageSteps = []struct {
	name     string
	activity string
}{
	{"Postgres listing the zone's clients", "ListReportClients"},
	{"Postgres reading the ready time", "ReportReadyAt"},
	{"Postgres, GA4, Stripe generating", "GenerateReport"},
	{"S3 uploading", "UploadReport"},
	{"SMTP emailing", "EmailReport"},
}

// outageDurations are the outages a weekly run must sit out: all end well within the runs'
// execution timeouts (24 h for a client's run, 48 h for the zone's).
var outageDurations = []time.Duration{time.Minute, time.Hour, 20 * time.Hour}

// TestWeeklyReportSurvivesADependencyOutage: one dependency is down from the zone's Monday 06:00
// run for an outage; the run waits it out and the client still gets the week's report. Before
// (code change outage-retries), each step gave up after its attempts (4 to 45 minutes): an
// outage of an hour failed the client's run, or the zone's, and the week's report was never sent.
func TestWeeklyReportSurvivesADependencyOutage(t *testing.T) {
	for _, step := range outageSteps {
		for _, outage := range outageDurations {
			t.Run(step.name+" down "+outage.String(), func(t *testing.T) {
				res, failures, _ := runWeeklyWithOutage(t, step.activity, outage)
				require.Positive(t, failures, "the outage was never seen: the test proves nothing")
				require.Equal(t, []ClientOutcome{{ClientID: "acme", Status: "sent"}}, res.Outcomes,
					"the week's report was lost to a %s outage", outage)
			})
		}
	}
}

// TestWeeklyReportSurvivesAnOutageLongerThanADay: a dependency of the client's report (Postgres,
// S3, SMTP) is down for a day and a half from the zone's Monday run, longer than the client's run
// used to last (24 hours). The week's report must still be sent once the dependency is back, and
// once: the run used to end with the step still failing, and the next Monday's run reports only
// the new week, so the week's report was never sent.
func TestWeeklyReportSurvivesAnOutageLongerThanADay(t *testing.T) {
	const outage = 36 * time.Hour
	for _, step := range outageSteps {
		if step.activity == "ListReportClients" {
			continue // the zone's run lasts 48 hours: TestWeeklyReportSurvivesADependencyOutage
		}
		t.Run(step.name, func(t *testing.T) {
			res, failures, sends := runWeeklyWithOutage(t, step.activity, outage)
			require.Positive(t, failures, "the outage was never seen: the test proves nothing")
			require.Equal(t, 1, sends, "the week's report was not sent once after a %s outage (outcomes %+v)", outage, res.Outcomes)
			require.Equal(t, 1, res.Totals.Clients)
			// The zone's run waits for a report as long as it used to (24 hours) and does not
			// hold the zone's other clients longer; the report's run goes on alone.
			require.Equal(t, []ClientOutcome{{ClientID: "acme", Status: "running"}}, res.Outcomes)
			require.Equal(t, 1, res.Totals.Running)
		})
	}
}

// runWeeklyWithOutage runs the Berlin zone's Monday run with the activity named down failing until
// outage has passed, and returns the run's result, how many calls failed and how many reports
// were sent (the test environment waits for the client's run even when the zone's stopped
// waiting for it).
func runWeeklyWithOutage(t *testing.T, down string, outage time.Duration) (WeeklyResult, int, int) {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	start := time.Date(2026, 6, 15, 6, 0, 0, 0, loc) // the schedule's Monday 06:00

	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	Register(env)
	env.RegisterActivity(&activities.Reports{})

	failures, sends := 0, 0
	// fail answers errDown while the outage lasts, for the activity that is down only.
	fail := func(activity string) bool {
		if activity == down && env.Now().Before(start.Add(outage)) {
			failures++
			return true
		}
		return false
	}
	env.OnActivity(act.ListReportClients, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.ListReportClientsInput) (activities.ListReportClientsOutput, error) {
			if fail("ListReportClients") {
				return activities.ListReportClientsOutput{}, errDown
			}
			return activities.ListReportClientsOutput{ClientIDs: []string{"acme"}}, nil
		})
	env.OnActivity(act.ReportReadyAt, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.ReportInput) (activities.ReportReadyOutput, error) {
			if fail("ReportReadyAt") {
				return activities.ReportReadyOutput{}, errDown
			}
			return activities.ReportReadyOutput{At: start}, nil
		})
	env.OnActivity(act.GenerateReport, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.GenerateReportInput) (activities.GenerateReportOutput, error) {
			if fail("GenerateReport") {
				return activities.GenerateReportOutput{}, errDown
			}
			return activities.GenerateReportOutput{Generated: true}, nil
		})
	env.OnActivity(act.UploadReport, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.ReportInput) (activities.UploadReportOutput, error) {
			if fail("UploadReport") {
				return activities.UploadReportOutput{}, errDown
			}
			return activities.UploadReportOutput{Uploaded: true}, nil
		})
	env.OnActivity(act.EmailReport, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.EmailReportInput) (activities.EmailReportOutput, error) {
			if fail("EmailReport") {
				return activities.EmailReportOutput{}, errDown
			}
			sends++
			return activities.EmailReportOutput{Sent: true}, nil
		})

	env.ExecuteWorkflow(Weekly, WeeklyInput{TimeZone: "Europe/Berlin"})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError(), "the zone's run failed: no client of Berlin got the week's report")
	var res WeeklyResult
	require.NoError(t, env.GetWorkflowResult(&res))
	return res, failures, sends
}

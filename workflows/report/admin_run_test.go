package report

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"paysplit/activities"
	ireport "paysplit/internal/report"
)

// adminRegenerateThenSchedule: an admin regenerates last week's Tokyo report (no email) shortly
// after the week ended in Tokyo (Monday 00:30 JST); the run waits for the week's last UTC day
// (until 09:20 JST). The zone's schedule fires at 06:00 JST while that run is still waiting.
func adminRegenerateThenSchedule(ctx workflow.Context) (WeeklyResult, error) {
	const week = "2026-W24"
	actx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        ClientWorkflowID("acme", week),
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
	})
	admin := workflow.ExecuteChildWorkflow(actx, ClientWorkflowName, ClientInput{ClientID: "acme", Week: week, Regenerate: true, EnsureSends: 0})
	if err := admin.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		return WeeklyResult{}, err
	}
	if err := workflow.Sleep(ctx, 5*time.Hour+30*time.Minute); err != nil { // 06:00 JST
		return WeeklyResult{}, err
	}
	wctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: ScheduleID("Asia/Tokyo")})
	var res WeeklyResult
	if err := workflow.ExecuteChildWorkflow(wctx, WeeklyWorkflowName, WeeklyInput{TimeZone: "Asia/Tokyo", Week: week}).Get(ctx, &res); err != nil {
		return res, err
	}
	_ = admin.Get(ctx, nil)
	return res, nil
}

// TestScheduledSendNotSwallowedByAdminRegenerate: whatever an admin's regenerate without
// email does, the week's scheduled run must still end with the report sent once (runClient:
// "a regenerate without email must not swallow the scheduled send").
func TestScheduledSendNotSwallowedByAdminRegenerate(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	require.NoError(t, err)
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.SetStartTime(time.Date(2026, 6, 15, 0, 30, 0, 0, tokyo))
	Register(env)
	env.RegisterWorkflow(adminRegenerateThenSchedule)
	env.RegisterActivity(&activities.Reports{})

	var mu sync.Mutex
	sendsWanted, sendsDone := 0, 0
	env.OnActivity(act.ListReportClients, mock.Anything, mock.Anything).Return(activities.ListReportClientsOutput{ClientIDs: []string{"acme"}}, nil)
	env.OnActivity(act.ReportReadyAt, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ReportInput) (activities.ReportReadyOutput, error) {
			w, err := ireport.ParseWeek(in.Week)
			require.NoError(t, err)
			return activities.ReportReadyOutput{At: w.KPIsCompleteAt(15 * time.Minute)}, nil
		})
	env.OnActivity(act.GenerateReport, mock.Anything, mock.Anything).Return(activities.GenerateReportOutput{Generated: true}, nil)
	env.OnActivity(act.UploadReport, mock.Anything, mock.Anything).Return(activities.UploadReportOutput{Uploaded: true}, nil)
	// EmailReport as the store makes it: sends wanted raised to EnsureSends, sent while fewer were made.
	env.OnActivity(act.EmailReport, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.EmailReportInput) (activities.EmailReportOutput, error) {
			mu.Lock()
			defer mu.Unlock()
			sendsWanted = max(sendsWanted, in.EnsureSends)
			switch {
			case sendsWanted == 0:
				return activities.EmailReportOutput{Reason: "not_requested"}, nil
			case sendsDone >= sendsWanted:
				return activities.EmailReportOutput{Reason: "already_sent", Send: sendsDone}, nil
			}
			sendsDone = sendsWanted
			return activities.EmailReportOutput{Sent: true, Send: sendsDone}, nil
		})

	env.ExecuteWorkflow(adminRegenerateThenSchedule)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res WeeklyResult
	require.NoError(t, env.GetWorkflowResult(&res))
	t.Logf("weekly outcome: %+v, sends done: %d", res.Outcomes, sendsDone)
	require.Equal(t, 1, sendsDone, "the week's report was never emailed: the scheduled run gave up on the client (%+v)", res.Outcomes)
}

package report

import (
	"context"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"paysplit/activities"
	ireport "paysplit/internal/report"
)

// TestZoneMoveDuringPagedWeeklyRunStillGetsTheWeek: a zone's week lists its clients a page per
// run (continue-as-new-runs), so a client is listed long after the zone's run was due. A client
// moved out of Berlin after Berlin's run started, but before its page was listed, to a zone whose
// run of the week is gone, got the week's report from no run: SkippedByMove assumed the old
// zone's run listed every client at its due time. It now asks for the make-up run while the old
// zone's week may still be running (report_deliveries keeps a report from going out twice).
func TestZoneMoveDuringPagedWeeklyRunStillGetsTheWeek(t *testing.T) {
	SetClientsPerRun(t, 1)
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	east, err := time.LoadLocation("Pacific/Kiritimati")
	require.NoError(t, err)
	week, err := ireport.ParseWeek("2026-W07")
	require.NoError(t, err)

	zones := map[string]string{"c0": "Europe/Berlin", "c1": "Europe/Berlin", "c2": "Europe/Berlin"}
	var movedAt time.Time

	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.SetStartTime(RunDue(week, berlin))
	env.RegisterWorkflowWithOptions(Weekly, workflow.RegisterOptions{Name: WeeklyWorkflowName})
	started := map[string][]ClientInput{}
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in ClientInput) (ClientResult, error) {
		started[in.ClientID] = append(started[in.ClientID], in)
		if err := workflow.Sleep(ctx, time.Minute); err != nil {
			return ClientResult{}, err
		}
		if in.ClientID == "c0" && movedAt.IsZero() {
			// An admin moves c2 east while Berlin's week is under way (the API's putReportSettings).
			movedAt = workflow.Now(ctx)
			zones["c2"] = "Pacific/Kiritimati"
		}
		return ClientResult{Email: activities.EmailReportOutput{Sent: true, Send: 1}}, nil
	}, workflow.RegisterOptions{Name: ClientWorkflowName})
	env.RegisterActivity(&activities.Reports{})
	env.OnActivity(act.ListReportClients, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ListReportClientsInput) (activities.ListReportClientsOutput, error) {
			var ids []string
			for id, z := range zones {
				if z == in.TimeZone && id > in.After {
					ids = append(ids, id)
				}
			}
			sort.Strings(ids)
			if in.Limit > 0 && len(ids) > in.Limit {
				ids = ids[:in.Limit]
			}
			return activities.ListReportClientsOutput{ClientIDs: ids}, nil
		})

	env.RegisterWorkflow(weekOfZone)
	env.ExecuteWorkflow(weekOfZone, WeeklyInput{TimeZone: "Europe/Berlin", Week: week.String()})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	require.False(t, movedAt.IsZero())

	// The east zone's run of 2026-W07 (Monday 06:00 in Kiritimati, Sunday 16:00 UTC) was long gone
	// when c2 moved, with c2 still in Berlin then.
	require.True(t, movedAt.After(RunDue(week, east)))
	skipped, makeUp := SkippedByMove(berlin, east, movedAt)
	reportedByBerlin := slices.ContainsFunc(started["c2"], func(in ClientInput) bool { return in.Week == week.String() })
	require.True(t, reportedByBerlin || (makeUp && skipped == week),
		"c2, a Berlin client when Berlin's run of %s was due, moved east at %s: Berlin's paged run never listed it and SkippedByMove says no make-up run (%v %v): the week's report is lost",
		week, movedAt.UTC().Format(time.RFC3339), skipped, makeUp)
}

// weekOfZone runs a zone's week as a workflow of its own, so its continued runs are
// followed to the result.
func weekOfZone(ctx workflow.Context, in WeeklyInput) (WeeklyResult, error) {
	var res WeeklyResult
	wctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: ScheduleID(in.TimeZone)})
	return res, workflow.ExecuteChildWorkflow(wctx, WeeklyWorkflowName, in).Get(ctx, &res)
}

package report

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"paysplit/activities"
)

// TestWeeklyRunKeepsItsChildrenUnderTheLimit: a zone with more clients than Temporal lets a
// workflow have pending children (2,000; the task that started them all at once failed at every
// attempt) runs them maxRunningChildren at a time, and every client gets its report.
func TestWeeklyRunKeepsItsChildrenUnderTheLimit(t *testing.T) {
	clients := make([]string, maxRunningChildren+200)
	for i := range clients {
		clients[i] = fmt.Sprintf("client-%04d", i)
	}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Weekly, workflow.RegisterOptions{Name: WeeklyWorkflowName})
	running, most := 0, 0
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in ClientInput) (ClientResult, error) {
		running++
		most = max(most, running)
		defer func() { running-- }()
		if err := workflow.Sleep(ctx, time.Minute); err != nil { // a report takes a while
			return ClientResult{}, err
		}
		return ClientResult{Email: activities.EmailReportOutput{Sent: true, Send: 1}}, nil
	}, workflow.RegisterOptions{Name: ClientWorkflowName})
	env.RegisterActivity(&activities.Reports{})
	env.OnActivity(act.ListReportClients, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.ListReportClientsInput) (activities.ListReportClientsOutput, error) {
			return activities.ListReportClientsOutput{ClientIDs: clients}, nil
		})

	env.ExecuteWorkflow(WeeklyWorkflowName, WeeklyInput{TimeZone: "UTC", Week: "2026-W07"})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res WeeklyResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Len(t, res.Outcomes, len(clients))
	for _, o := range res.Outcomes {
		require.Equal(t, "sent", o.Status, "%+v", o)
	}
	require.Equal(t, maxRunningChildren, most, "children at once")
}

// weeklyAsChild runs a zone's week as the schedule would, as a workflow of its own, so its
// continued runs are followed to the result.
func weeklyAsChild(ctx workflow.Context, admin ClientInput, in WeeklyInput) (WeeklyResult, error) {
	actx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        ClientWorkflowID(admin.ClientID, admin.Week),
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
	})
	adminRun := workflow.ExecuteChildWorkflow(actx, ClientWorkflowName, admin)
	if err := adminRun.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		return WeeklyResult{}, err
	}
	var res WeeklyResult
	wctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: ScheduleID(in.TimeZone)})
	if err := workflow.ExecuteChildWorkflow(wctx, WeeklyWorkflowName, in).Get(ctx, &res); err != nil {
		return res, err
	}
	return res, adminRun.Get(ctx, nil)
}

// TestWeeklyRunContinuesAsNewInPages: a zone's week runs clientsPerRun clients a run, listing
// the zone a page at a time, so no run's history grows with the zone. Every client gets its
// report once; a client whose report an admin's run is making (3 hours) is started after it,
// without holding back the clients listed after it; the result counts every client.
func TestWeeklyRunContinuesAsNewInPages(t *testing.T) {
	const perRun, week = 3, "2026-W07"
	SetClientsPerRun(t, perRun)
	clients := make([]string, 10)
	for i := range clients {
		clients[i] = fmt.Sprintf("client-%02d", i)
	}
	const adminClient = "client-01"
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Weekly, workflow.RegisterOptions{Name: WeeklyWorkflowName})
	env.RegisterWorkflow(weeklyAsChild)
	started := map[string][]ClientInput{} // client → its runs
	var startedAt = map[string]time.Time{}
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in ClientInput) (ClientResult, error) {
		started[in.ClientID] = append(started[in.ClientID], in)
		startedAt[in.ClientID] = workflow.Now(ctx)
		took := time.Minute
		if in.EnsureSends == 0 { // the admin's regenerate
			took = 3 * time.Hour
		}
		if err := workflow.Sleep(ctx, took); err != nil {
			return ClientResult{}, err
		}
		return ClientResult{Email: activities.EmailReportOutput{Sent: in.EnsureSends > 0, Send: in.EnsureSends}}, nil
	}, workflow.RegisterOptions{Name: ClientWorkflowName})
	env.RegisterActivity(&activities.Reports{})
	var pages []activities.ListReportClientsInput
	env.OnActivity(act.ListReportClients, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ListReportClientsInput) (activities.ListReportClientsOutput, error) {
			pages = append(pages, in)
			i, _ := slices.BinarySearch(clients, in.After)
			if i < len(clients) && clients[i] == in.After {
				i++
			}
			return activities.ListReportClientsOutput{ClientIDs: clients[i:min(len(clients), i+in.Limit)]}, nil
		})

	admin := ClientInput{ClientID: adminClient, Week: week, Regenerate: true}
	env.ExecuteWorkflow(weeklyAsChild, admin, WeeklyInput{TimeZone: "UTC", Week: week})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res WeeklyResult
	require.NoError(t, env.GetWorkflowResult(&res))

	require.Equal(t, week, res.Week)
	require.Equal(t, WeeklyTotals{Clients: len(clients), Sent: len(clients)}, res.Totals)
	require.Len(t, res.Outcomes, len(clients))
	for _, o := range res.Outcomes {
		require.Equal(t, "sent", o.Status, "%+v", o)
	}
	for _, id := range clients {
		var sends int
		for _, in := range started[id] {
			sends += min(in.EnsureSends, 1)
			require.Equal(t, week, in.Week, "a continued run reports the same week")
		}
		require.Equal(t, 1, sends, "%s: the schedule's run started once", id)
	}
	for _, p := range pages {
		require.LessOrEqual(t, p.Limit, perRun, "a run lists at most clientsPerRun clients")
		require.Positive(t, p.Limit)
	}
	require.GreaterOrEqual(t, len(pages), len(clients)/perRun, "the zone was listed a page a run")
	adminEnds := startedAt[adminClient]
	for _, id := range clients {
		if id != adminClient {
			require.True(t, startedAt[id].Before(adminEnds), "%s waited for another client's admin run", id)
		}
	}
}

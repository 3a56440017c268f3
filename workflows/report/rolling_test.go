package report

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"paysplit/activities"
)

// TestPagedRunOnAWorkerThatListsTheWholeZone: during a rolling deploy a worker of the previous
// release answers ListReportClients with the whole zone (it knows no After or Limit). Each
// continued run would then list the same zone again, for ever; the run takes the rest of the
// zone at once instead, and every client is started once.
func TestPagedRunOnAWorkerThatListsTheWholeZone(t *testing.T) {
	SetClientsPerRun(t, 3)
	clients := make([]string, 7)
	for i := range clients {
		clients[i] = fmt.Sprintf("client-%02d", i)
	}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Weekly, workflow.RegisterOptions{Name: WeeklyWorkflowName})
	started := map[string]int{}
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in ClientInput) (ClientResult, error) {
		started[in.ClientID]++
		return ClientResult{Email: activities.EmailReportOutput{Sent: true, Send: 1}}, nil
	}, workflow.RegisterOptions{Name: ClientWorkflowName})
	env.RegisterActivity(&activities.Reports{})
	lists := 0
	env.OnActivity(act.ListReportClients, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.ListReportClientsInput) (activities.ListReportClientsOutput, error) {
			lists++
			// The previous release's answer, newest first as its query happened to return them.
			whole := make([]string, 0, len(clients))
			for i := len(clients) - 1; i >= 0; i-- {
				whole = append(whole, clients[i])
			}
			return activities.ListReportClientsOutput{ClientIDs: whole}, nil
		})
	env.RegisterWorkflow(weekOfZone)
	env.ExecuteWorkflow(weekOfZone, WeeklyInput{TimeZone: "UTC", Week: "2026-W07"})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res WeeklyResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, WeeklyTotals{Clients: len(clients), Sent: len(clients)}, res.Totals)
	require.Equal(t, 1, lists, "the zone is listed once")
	for _, id := range clients {
		require.Equal(t, 1, started[id], id)
	}
}

// TestPagedRunOnAWorkerThatListsAZoneOfExactlyOneRun: the same rolling deploy, for a zone of
// exactly clientsPerRun clients (or one that lost clients since its first page). The first run's
// page came from a new worker and was full, so the week is not listed yet; the next run's listing
// is answered by a worker of the previous release with the whole zone, which is no longer than
// the page asked for: it is taken as the next page, unfiltered and unsorted, every client is
// started again and the run continues as new once more, listing the zone again for as long as
// previous-release workers answer (here three times), each time starting every client again.
func TestPagedRunOnAWorkerThatListsAZoneOfExactlyOneRun(t *testing.T) {
	SetClientsPerRun(t, 3)
	clients := []string{"client-00", "client-01", "client-02"}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Weekly, workflow.RegisterOptions{Name: WeeklyWorkflowName})
	started := map[string]int{}
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in ClientInput) (ClientResult, error) {
		started[in.ClientID]++
		return ClientResult{Email: activities.EmailReportOutput{Sent: true, Send: 1}}, nil
	}, workflow.RegisterOptions{Name: ClientWorkflowName})
	env.RegisterActivity(&activities.Reports{})
	lists := 0
	env.OnActivity(act.ListReportClients, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ListReportClientsInput) (activities.ListReportClientsOutput, error) {
			lists++
			if lists == 1 || lists > 4 {
				// A new worker: the page after in.After.
				var page []string
				for _, id := range clients {
					if id > in.After && len(page) < in.Limit {
						page = append(page, id)
					}
				}
				return activities.ListReportClientsOutput{ClientIDs: page}, nil
			}
			// A previous-release worker: the whole zone, newest first.
			return activities.ListReportClientsOutput{ClientIDs: []string{"client-02", "client-01", "client-00"}}, nil
		})
	env.RegisterWorkflow(weekOfZone)
	env.ExecuteWorkflow(weekOfZone, WeeklyInput{TimeZone: "UTC", Week: "2026-W07"})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res WeeklyResult
	require.NoError(t, env.GetWorkflowResult(&res))
	for _, id := range clients {
		require.Equal(t, 1, started[id], "%s started %d times (listings: %d, totals %+v)", id, started[id], lists, res.Totals)
	}
	require.Equal(t, WeeklyTotals{Clients: len(clients), Sent: len(clients)}, res.Totals)
}

package report

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"paysplit/activities"
)

// weekListedBy runs a zone's week of clientsPerRun 3 whose ListReportClients answers are list's
// (n counts the listings, from 1), every client's report sent: how often each client was started,
// and the week's result.
func weekListedBy(t *testing.T, list func(n int, in activities.ListReportClientsInput) []string) (started map[string]int, res WeeklyResult) {
	t.Helper()
	SetClientsPerRun(t, 3)
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Weekly, workflow.RegisterOptions{Name: WeeklyWorkflowName})
	started = map[string]int{}
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in ClientInput) (ClientResult, error) {
		started[in.ClientID]++
		return ClientResult{Email: activities.EmailReportOutput{Sent: true, Send: 1}}, nil
	}, workflow.RegisterOptions{Name: ClientWorkflowName})
	env.RegisterActivity(&activities.Reports{})
	lists := 0
	env.OnActivity(act.ListReportClients, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ListReportClientsInput) (activities.ListReportClientsOutput, error) {
			lists++
			return activities.ListReportClientsOutput{ClientIDs: list(lists, in)}, nil
		})
	env.RegisterWorkflow(weekOfZone)
	env.ExecuteWorkflow(weekOfZone, WeeklyInput{TimeZone: "UTC", Week: "2026-W07"})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	require.NoError(t, env.GetWorkflowResult(&res))
	return started, res
}

// newestFirst is a previous-release worker's listing: the whole zone, newest first as its query
// happened to return them.
func newestFirst(clients []string) []string {
	whole := slices.Clone(clients)
	slices.Reverse(whole)
	return whole
}

// TestPagedRunOnAWorkerThatListsTheWholeZone: during a rolling deploy a worker of the previous
// release answers ListReportClients with the whole zone (it knows no After or Limit). Each
// continued run would then list the same zone again, for ever; the run takes the rest of the
// zone at once instead, and every client is started once.
func TestPagedRunOnAWorkerThatListsTheWholeZone(t *testing.T) {
	clients := make([]string, 7)
	for i := range clients {
		clients[i] = fmt.Sprintf("client-%02d", i)
	}
	lists := 0
	started, res := weekListedBy(t, func(n int, _ activities.ListReportClientsInput) []string {
		lists = n
		return newestFirst(clients)
	})
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
// the page asked for: it was taken as the next page, unfiltered and unsorted, every client was
// started again and the run continued as new once more, listing the zone again for as long as
// previous-release workers answered (here three times), each time starting every client again.
func TestPagedRunOnAWorkerThatListsAZoneOfExactlyOneRun(t *testing.T) {
	clients := []string{"client-00", "client-01", "client-02"}
	started, res := weekListedBy(t, func(n int, in activities.ListReportClientsInput) []string {
		if n > 1 && n <= 4 {
			return newestFirst(clients)
		}
		// A new worker: the page after in.After.
		var page []string
		for _, id := range clients {
			if id > in.After && len(page) < in.Limit {
				page = append(page, id)
			}
		}
		return page
	})
	for _, id := range clients {
		require.Equal(t, 1, started[id], "%s started %d times (totals %+v)", id, started[id], res.Totals)
	}
	require.Equal(t, WeeklyTotals{Clients: len(clients), Sent: len(clients)}, res.Totals)
}

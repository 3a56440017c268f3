package report_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"paysplit/activities"
	"paysplit/testenv"
	"paysplit/workflows/report"
)

// historyWarnEvents is the history length at which the Temporal server starts warning
// (limit.historyCount.warn); it terminates a run at 51,200.
const historyWarnEvents = 10_240

// runChain follows a workflow's runs through continue-as-new from its first run and returns the
// history length of each, in order.
func runChain(t *testing.T, tc client.Client, id, firstRunID string) []int {
	t.Helper()
	var lengths []int
	for runID := firstRunID; runID != ""; {
		desc, err := tc.DescribeWorkflow(t.Context(), id, runID)
		require.NoError(t, err)
		info := desc.RawResponse.GetWorkflowExecutionInfo()
		lengths = append(lengths, int(info.GetHistoryLength()))
		runID = ""
		it := tc.GetWorkflowHistory(t.Context(), id, info.GetExecution().GetRunId(), false, 0)
		for it.HasNext() {
			ev, err := it.Next()
			require.NoError(t, err)
			if a := ev.GetWorkflowExecutionContinuedAsNewEventAttributes(); a != nil {
				runID = a.NewExecutionRunId
			}
		}
	}
	return lengths
}

// TestWeeklyRunHistoryStaysBounded: a zone's weekly run keeps every client's child in its
// history (about seven events a client). With more clients than fit under the server's history
// limits, every run of the zone's week must stay under them, and every client still gets its
// report. Runs on the dev server, which counts the events; the clients' reports are stubs.
func TestWeeklyRunHistoryStaysBounded(t *testing.T) {
	const clients = 2_400 // some 5 to 7 events a client: past the warning in one run
	tc, queue := newBareWorker(t, clients)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	id := unique("weekly-history")
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue},
		report.WeeklyWorkflowName, report.WeeklyInput{TimeZone: "UTC", Week: "2026-W07"})
	require.NoError(t, err)
	firstRunID := run.GetRunID() // Get follows the chain and moves the run ID to its last run
	var res report.WeeklyResult
	require.NoError(t, run.Get(ctx, &res))

	lengths := runChain(t, tc, id, firstRunID)
	t.Logf("runs: %d, history lengths: %v", len(lengths), lengths)
	for i, n := range lengths {
		require.Less(t, n, historyWarnEvents, "run %d of the zone's week has %d events for %d clients", i+1, n, clients)
	}
	require.Equal(t, "2026-W07", res.Week)
	require.Equal(t, clients, res.Totals.Clients)
	require.Equal(t, clients, res.Totals.Sent, "every client got its report: %+v", res.Totals)
	require.Greater(t, len(lengths), 1, "the zone's week ran as a chain of runs")
}

// newBareWorker serves WeeklyReports on the dev server on a task queue of its own, with a stub
// ClientReport (sent after a second) and a listing of n clients, and returns the client and queue.
func newBareWorker(t *testing.T, n int) (client.Client, string) {
	t.Helper()
	tc := testenv.TemporalClient(t)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("client-%05d", i)
	}
	queue := unique("weekly-history")
	w := worker.New(tc, queue, testenv.WorkerOptions())
	w.RegisterWorkflowWithOptions(report.Weekly, workflow.RegisterOptions{Name: report.WeeklyWorkflowName})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context, _ report.ClientInput) (report.ClientResult, error) {
		// A report takes a while: its start and its end are events of their own in the parent.
		if err := workflow.Sleep(ctx, time.Second); err != nil {
			return report.ClientResult{}, err
		}
		return report.ClientResult{Email: activities.EmailReportOutput{Sent: true, Send: 1}}, nil
	}, workflow.RegisterOptions{Name: report.ClientWorkflowName})
	w.RegisterActivityWithOptions(func(_ context.Context, in activities.ListReportClientsInput) (activities.ListReportClientsOutput, error) {
		return activities.ListReportClientsOutput{ClientIDs: page(ids, in.After, in.Limit)}, nil
	}, activity.RegisterOptions{Name: "ListReportClients"})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return tc, queue
}

// page is the store's ReportClientsPage over sorted ids: at most limit (all when 0) after after.
func page(ids []string, after string, limit int) []string {
	i, _ := slices.BinarySearch(ids, after)
	if i < len(ids) && ids[i] == after {
		i++
	}
	rest := ids[i:]
	if limit > 0 && len(rest) > limit {
		rest = rest[:limit]
	}
	return rest
}

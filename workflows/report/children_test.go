package report

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
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

package integrity

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/internal/ledger"
	"paysplit/internal/monitor"
	"paysplit/testenv"
)

// TestChainVerificationHeartbeats: the verification reads the whole journal, which only grows,
// under a 30-minute start-to-close timeout, and it neither heartbeated nor had a heartbeat
// timeout: a worker that died during it (a node lost, an OOM kill) was noticed only when the 30
// minutes were up, and an attempt the run no longer waited for (the round timed out, or was
// cancelled) read on to the end, never told. The step must have a heartbeat timeout shorter than
// its start-to-close, and the real activity must heartbeat while it verifies.
func TestChainVerificationHeartbeats(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterActivity(&activities.Integrity{Ledger: ledger.New(pool)})
	env.OnActivity(act.RecordChainVerification, mock.Anything, mock.Anything).Return(monitor.Outcome{Action: monitor.ActionNone}, nil)
	env.OnActivity(act.EvaluateMonitors, mock.Anything, mock.Anything).Return(activities.EvaluateMonitorsOutput{}, nil)
	env.OnActivity(act.DeliverAlerts, mock.Anything, mock.Anything).Return(activities.DeliverAlertsOutput{}, nil)

	var mu sync.Mutex
	var started []activity.Info
	beats := 0
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		mu.Lock()
		defer mu.Unlock()
		if info.ActivityType.Name == "VerifyLedgerChain" {
			started = append(started, *info)
		}
	})
	env.SetOnActivityHeartbeatListener(func(info *activity.Info, _ converter.EncodedValues) {
		mu.Lock()
		defer mu.Unlock()
		if info.ActivityType.Name == "VerifyLedgerChain" {
			beats++
		}
	})
	env.ExecuteWorkflow(Workflow, Input{VerifyChain: true, EvaluateMonitors: true})
	require.NoError(t, env.GetWorkflowError())
	var res Result
	require.NoError(t, env.GetWorkflowResult(&res))
	require.NotNil(t, res.Chain)

	require.Len(t, started, 1)
	info := started[0]
	require.Positive(t, info.HeartbeatTimeout, "the verify step has a heartbeat timeout")
	require.Less(t, info.HeartbeatTimeout, info.StartToCloseTimeout, "a dead worker is noticed before the attempt's timeout")
	require.Positive(t, beats, "the verification heartbeats")
}

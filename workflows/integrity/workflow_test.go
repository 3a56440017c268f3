package integrity

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/internal/ledger"
	"paysplit/internal/monitor"
)

var (
	intact = ledger.Verification{OK: true, Entries: 12, Head: &ledger.ChainLink{EntryID: 12, Hash: "abc"}}
	broken = ledger.Verification{Entries: 4, Head: &ledger.ChainLink{EntryID: 4, Hash: "def"},
		Break: &ledger.ChainBreak{EntryID: 5, Reason: "content_hash mismatch"}}
	verifiedAt = time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)
)

// fakes answers the activities and counts calls.
type fakes struct {
	verification ledger.Verification
	verifyErr    error
	deliverErrs  int // DeliverAlerts fails this many times before succeeding
	calls        map[string]int
	recorded     []activities.RecordChainVerificationInput
}

func (f *fakes) install(env *testsuite.TestWorkflowEnvironment) {
	f.calls = map[string]int{}
	env.RegisterActivity(act)
	env.OnActivity(act.VerifyLedgerChain, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.VerifyLedgerChainInput) (activities.VerifyLedgerChainOutput, error) {
			f.calls["verify"]++
			if f.verifyErr != nil {
				return activities.VerifyLedgerChainOutput{}, f.verifyErr
			}
			return activities.VerifyLedgerChainOutput{Verification: f.verification, VerifiedAt: verifiedAt}, nil
		})
	env.OnActivity(act.RecordChainVerification, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RecordChainVerificationInput) (monitor.Outcome, error) {
			f.calls["record"]++
			f.recorded = append(f.recorded, in)
			if in.Verification.OK {
				return monitor.Outcome{Action: monitor.ActionNone}, nil
			}
			return monitor.Outcome{Action: monitor.ActionOpen, AlertID: 1, NotificationID: 1}, nil
		})
	env.OnActivity(act.EvaluateMonitors, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.EvaluateMonitorsInput) (activities.EvaluateMonitorsOutput, error) {
			f.calls["evaluate"]++
			return activities.EvaluateMonitorsOutput{Evaluated: 3, Firing: 1, Opened: 1}, nil
		})
	env.OnActivity(act.DeliverAlerts, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.DeliverAlertsInput) (activities.DeliverAlertsOutput, error) {
			f.calls["deliver"]++
			if f.calls["deliver"] <= f.deliverErrs {
				return activities.DeliverAlertsOutput{Failed: 1}, errors.New("webhook answered 503")
			}
			return activities.DeliverAlertsOutput{Delivered: 2}, nil
		})
}

func TestWorkflow(t *testing.T) {
	tests := []struct {
		name      string
		in        Input
		f         fakes
		wantErr   string
		wantCalls map[string]int
		check     func(t *testing.T, res Result, f *fakes)
	}{
		{
			name: "daily round, chain intact", in: Input{VerifyChain: true, EvaluateMonitors: true},
			f:         fakes{verification: intact},
			wantCalls: map[string]int{"verify": 1, "record": 1, "evaluate": 1, "deliver": 1},
			check: func(t *testing.T, res Result, f *fakes) {
				require.NotNil(t, res.Chain)
				assert.True(t, res.Chain.OK)
				assert.Equal(t, intact.Head, res.Chain.Head, "the head hash is anchored in the history")
				require.NotNil(t, res.Monitors)
				assert.Equal(t, 1, res.Monitors.Opened)
				assert.Equal(t, 2, res.Alerts.Delivered)
				assert.True(t, f.recorded[0].VerifiedAt.Equal(verifiedAt))
			},
		},
		{
			// A break is a finding: it raises the chain alert and the run still succeeds.
			name: "daily round, chain broken", in: Input{VerifyChain: true, EvaluateMonitors: true},
			f:         fakes{verification: broken},
			wantCalls: map[string]int{"verify": 1, "record": 1, "evaluate": 1, "deliver": 1},
			check: func(t *testing.T, res Result, f *fakes) {
				require.NotNil(t, res.Chain)
				assert.False(t, res.Chain.OK)
				assert.Equal(t, int64(5), res.Chain.Break.EntryID)
				require.Len(t, f.recorded, 1)
				assert.Equal(t, broken, f.recorded[0].Verification, "the break is recorded as the chain monitor's verdict")
				require.NotNil(t, res.ChainAlert)
				assert.Equal(t, monitor.ActionOpen, res.ChainAlert.Action)
			},
		},
		{
			name: "monitors only", in: Input{EvaluateMonitors: true},
			wantCalls: map[string]int{"evaluate": 1, "deliver": 1},
			check: func(t *testing.T, res Result, _ *fakes) {
				assert.Nil(t, res.Chain)
				assert.NotNil(t, res.Monitors)
			},
		},
		{
			name: "nothing asked: flushes queued alerts", in: Input{},
			wantCalls: map[string]int{"deliver": 1},
		},
		{
			name: "receiver down for a while: retried, then delivered", in: Input{EvaluateMonitors: true},
			f:         fakes{deliverErrs: 2},
			wantCalls: map[string]int{"evaluate": 1, "deliver": 3},
			check:     func(t *testing.T, res Result, _ *fakes) { assert.Equal(t, 2, res.Alerts.Delivered) },
		},
		{
			name: "receiver down for good: the run fails visibly", in: Input{EvaluateMonitors: true},
			f:         fakes{deliverErrs: 100},
			wantCalls: map[string]int{"evaluate": 1, "deliver": 4},
			wantErr:   "deliver alerts",
		},
		{
			name: "verification cannot run", in: Input{VerifyChain: true, EvaluateMonitors: true},
			f:         fakes{verifyErr: temporal.NewNonRetryableApplicationError("relation missing", "Fatal", nil)},
			wantCalls: map[string]int{"verify": 1},
			wantErr:   "verify ledger chain",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			// The failures these cases provoke on purpose would otherwise log as errors.
			s.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
			env := s.NewTestWorkflowEnvironment()
			f := tt.f
			f.install(env)
			Register(env)
			env.ExecuteWorkflow(WorkflowName, tt.in)

			require.True(t, env.IsWorkflowCompleted())
			err := env.GetWorkflowError()
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.wantCalls, nonZero(f.calls))
			if tt.check != nil {
				var res Result
				require.NoError(t, env.GetWorkflowResult(&res))
				tt.check(t, res, &f)
			}
		})
	}
}

func nonZero(m map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

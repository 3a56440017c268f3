package kpisync

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/internal/kpi"
	"paysplit/internal/money"
)

var start = time.Date(2026, 6, 15, 10, 30, 0, 0, time.UTC)

// syncWorld answers the sync's activities and remembers what they were asked.
type syncWorld struct {
	mu       sync.Mutex
	sources  []string
	fail     map[string]error // source -> error every attempt returns
	attempts map[string]int
	inputs   []activities.SyncKPISourceInput
	failures []activities.RecordKPISyncFailureInput
}

func newEnv(t *testing.T, w *syncWorld) *testsuite.TestWorkflowEnvironment {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	env.RegisterActivity(&activities.KPI{})
	env.OnActivity(act.PlanKPISync, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PlanKPISyncInput) (activities.PlanKPISyncOutput, error) {
			if in.ClientID == "gone" {
				return activities.PlanKPISyncOutput{}, temporal.NewNonRetryableApplicationError("client gone: not found", activities.ErrTypeKPIClientNotFound, nil)
			}
			return activities.PlanKPISyncOutput{Sources: w.sources, Currency: money.USD}, nil
		}).Maybe()
	env.OnActivity(act.SyncKPISource, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SyncKPISourceInput) (activities.SyncKPISourceOutput, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.attempts[in.Source]++
			w.inputs = append(w.inputs, in)
			if err := w.fail[in.Source]; err != nil {
				return activities.SyncKPISourceOutput{}, err
			}
			return activities.SyncKPISourceOutput{Source: in.Source, Days: 7, Hours: 10, SyncedAt: start}, nil
		}).Maybe()
	env.OnActivity(act.RecordKPISyncFailure, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RecordKPISyncFailureInput) error {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.failures = append(w.failures, in)
			return nil
		}).Maybe()
	t.Cleanup(func() { env.AssertExpectations(t) })
	return env
}

func TestSyncWorkflow(t *testing.T) {
	refused := temporal.NewNonRetryableApplicationError("ga4: runReport: 403 permission denied", activities.ErrTypeKPISourceRefused, nil)
	down := errors.New("ga4: runReport: 503 backend unavailable")
	for _, tt := range []struct {
		name         string
		sources      []string
		fail         map[string]error
		wantAttempts map[string]int
		wantFailures []activities.RecordKPISyncFailureInput
		wantErr      string
	}{
		{
			name: "both sources synced", sources: []string{kpi.SourceLedger, kpi.SourceGA4},
			wantAttempts: map[string]int{kpi.SourceLedger: 1, kpi.SourceGA4: 1},
		},
		{
			name: "revenue only without analytics", sources: []string{kpi.SourceLedger},
			wantAttempts: map[string]int{kpi.SourceLedger: 1},
		},
		{
			// PlanKPISync of an offboarded client whose schedule was left behind: a run that
			// does nothing and succeeds, so the schedule shows no failures for it.
			name: "no source (an offboarded client)", sources: nil, wantAttempts: map[string]int{},
		},
		{
			name: "source down: retried with backoff, then recorded", sources: []string{kpi.SourceLedger, kpi.SourceGA4},
			fail:         map[string]error{kpi.SourceGA4: down},
			wantAttempts: map[string]int{kpi.SourceLedger: 1, kpi.SourceGA4: 5},
			wantFailures: []activities.RecordKPISyncFailureInput{{ClientID: "northwind", Source: kpi.SourceGA4, Message: down.Error(), StartedAt: start}},
			wantErr:      "kpi sync of northwind: ga4 failed",
		},
		{
			name: "source refused: not retried", sources: []string{kpi.SourceLedger, kpi.SourceGA4},
			fail:         map[string]error{kpi.SourceGA4: refused},
			wantAttempts: map[string]int{kpi.SourceLedger: 1, kpi.SourceGA4: 1},
			wantFailures: []activities.RecordKPISyncFailureInput{{ClientID: "northwind", Source: kpi.SourceGA4, Message: "ga4: runReport: 403 permission denied", StartedAt: start}},
			wantErr:      "kpi sync of northwind: ga4 failed",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := &syncWorld{sources: tt.sources, fail: tt.fail, attempts: map[string]int{}}
			env := newEnv(t, w)
			env.ExecuteWorkflow(SyncWorkflow, SyncInput{ClientID: "northwind", HotDays: 7})
			require.True(t, env.IsWorkflowCompleted())
			require.Equal(t, tt.wantAttempts, w.attempts)
			require.Equal(t, tt.wantFailures, w.failures)
			for _, in := range w.inputs {
				require.Equal(t, kpi.DayOf(start).AddDate(0, 0, -7), in.From, "the whole hot window is re-read")
				require.Equal(t, kpi.DayOf(start), in.To)
				require.Equal(t, kpi.DayOf(start), in.Today)
				require.Equal(t, money.USD, in.Currency)
			}
			var res SyncResult
			if tt.wantErr == "" {
				require.NoError(t, env.GetWorkflowError())
				require.NoError(t, env.GetWorkflowResult(&res))
				require.Len(t, res.Sources, len(tt.sources))
				for _, r := range res.Sources {
					require.True(t, r.OK, r.Source)
				}
				return
			}
			err := env.GetWorkflowError()
			require.ErrorContains(t, err, tt.wantErr)
			var app *temporal.ApplicationError
			require.ErrorAs(t, err, &app)
			require.Equal(t, ErrTypeSyncIncomplete, app.Type())
			require.NoError(t, app.Details(&res), "the per-source outcome travels with the failure")
			require.True(t, res.Sources[0].OK, "the other source was synced")
		})
	}
}

func TestSyncWorkflowClientGone(t *testing.T) {
	w := &syncWorld{attempts: map[string]int{}}
	env := newEnv(t, w)
	env.ExecuteWorkflow(SyncWorkflow, SyncInput{ClientID: "gone"})
	require.ErrorContains(t, env.GetWorkflowError(), "client gone")
	require.Empty(t, w.attempts, "no source is asked for a client that does not exist")
}

func TestRetentionWorkflow(t *testing.T) {
	for _, tt := range []struct {
		name       string
		in         RetentionInput
		wantBefore time.Time
		wantBatch  int
		wantErr    string
	}{
		{name: "seven days", in: RetentionInput{Days: 7}, wantBefore: time.Date(2026, 6, 8, 0, 0, 0, 0, time.UTC), wantBatch: DefaultBatchSize},
		{name: "one day, own batch", in: RetentionInput{Days: 1, BatchSize: 50}, wantBefore: time.Date(2026, 6, 14, 0, 0, 0, 0, time.UTC), wantBatch: 50},
		{name: "zero days refused", in: RetentionInput{Days: 0}, wantErr: "would delete today's KPIs"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var ts testsuite.WorkflowTestSuite
			env := ts.NewTestWorkflowEnvironment()
			env.SetStartTime(start)
			env.RegisterActivity(&activities.KPI{})
			var asked []activities.PruneKPIsInput
			env.OnActivity(act.PruneKPIs, mock.Anything, mock.Anything).Return(
				func(_ context.Context, in activities.PruneKPIsInput) (activities.PruneKPIsOutput, error) {
					asked = append(asked, in)
					return activities.PruneKPIsOutput{Daily: 3, Hourly: 72}, nil
				}).Maybe()
			env.ExecuteWorkflow(RetentionWorkflow, tt.in)
			if tt.wantErr != "" {
				require.ErrorContains(t, env.GetWorkflowError(), tt.wantErr)
				require.Empty(t, asked)
				return
			}
			require.NoError(t, env.GetWorkflowError())
			require.Equal(t, []activities.PruneKPIsInput{{Before: tt.wantBefore, BatchSize: tt.wantBatch}}, asked)
			var out activities.PruneKPIsOutput
			require.NoError(t, env.GetWorkflowResult(&out))
			require.Equal(t, activities.PruneKPIsOutput{Daily: 3, Hourly: 72}, out)
		})
	}
}

// TestClientScheduleShape: one schedule per client, every period, overlap skip, catch-up one
// period, the client's own period when it has one.
func TestClientScheduleShape(t *testing.T) {
	s := &Scheduler{TaskQueue: "q", Every: 15 * time.Minute, HotDays: 7}
	o := s.clientSchedule("northwind", 15*time.Minute)
	require.Equal(t, "kpi-sync-northwind", o.ID)
	require.Equal(t, 15*time.Minute, o.Spec.Intervals[0].Every)
	require.Equal(t, 15*time.Minute, o.CatchupWindow)
	require.EqualValues(t, 1, o.Overlap, "SCHEDULE_OVERLAP_POLICY_SKIP")
	every, err := (&Scheduler{Settings: nil}).every(t.Context(), "x")
	require.NoError(t, err)
	require.Equal(t, DefaultEvery, every)
}

// TestRefreshWithTemporalDown: a refresh that cannot reach Temporal says so (the API answers
// 503), and so does a schedule change.
func TestRefreshWithTemporalDown(t *testing.T) {
	nowhere, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	require.NoError(t, err)
	t.Cleanup(nowhere.Close)
	s := &Scheduler{Client: nowhere, TaskQueue: "q"}
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	require.ErrorIs(t, s.Refresh(ctx, "northwind"), ErrUnavailable)
	ctx2, cancel2 := context.WithTimeout(t.Context(), time.Second)
	defer cancel2()
	require.ErrorIs(t, s.EnsureClient(ctx2, "northwind"), ErrUnavailable)
}

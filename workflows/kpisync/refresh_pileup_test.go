package kpisync_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"

	"paysplit/activities"
	"paysplit/internal/kpi"
	"paysplit/internal/money"
	"paysplit/testenv"
	"paysplit/workflows/kpisync"
)

// TestRefreshesDoNotPileUpRuns: a client pressing refresh again and again while a source hangs
// (GA4 not answering: each attempt holds a worker activity slot for its two-minute timeout, and
// a run lasts up to ten minutes) gets one run and at most one queued behind it, not a new run
// per press. With a run per press, one client's dashboard (the API allows each credential ten
// requests a second) fills the worker's activity slots (WORKER_MAX_CONCURRENT) with hung syncs,
// and reports, reconciliation and every other client's syncs wait behind them.
func TestRefreshesDoNotPileUpRuns(t *testing.T) {
	tc := testenv.TemporalClient(t)
	queue := "kpi-" + t.Name()
	w := worker.New(tc, queue, testenv.WorkerOptions())
	kpisync.Register(w)
	var started atomic.Int32
	release := make(chan struct{})
	w.RegisterActivityWithOptions(func(context.Context, activities.PlanKPISyncInput) (activities.PlanKPISyncOutput, error) {
		return activities.PlanKPISyncOutput{Sources: []string{kpi.SourceGA4}, Currency: money.USD}, nil
	}, activity.RegisterOptions{Name: "PlanKPISync"})
	// The source hangs until the test ends.
	w.RegisterActivityWithOptions(func(ctx context.Context, in activities.SyncKPISourceInput) (activities.SyncKPISourceOutput, error) {
		started.Add(1)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return activities.SyncKPISourceOutput{Source: in.Source}, nil
	}, activity.RegisterOptions{Name: "SyncKPISource"})
	w.RegisterActivityWithOptions(func(context.Context, activities.RecordKPISyncFailureInput) error { return nil },
		activity.RegisterOptions{Name: "RecordKPISyncFailure"})
	require.NoError(t, w.Start())
	t.Cleanup(func() { close(release); w.Stop() })

	client := "pileup-" + time.Now().Format("150405.000")
	s := &kpisync.Scheduler{Client: tc, TaskQueue: queue, Every: time.Hour, HotDays: 7}
	require.NoError(t, s.EnsureClient(t.Context(), client))
	t.Cleanup(func() {
		_ = tc.ScheduleClient().GetHandle(context.Background(), kpisync.ScheduleID(client)).Delete(context.Background())
	})

	const presses = 4
	for range presses {
		// Like the API's refresh: a bounded wait, after which the run goes on without the caller;
		// generous, as the describe and trigger before the run must fit in it on a machine busy
		// with CI's other packages. (It failed as "temporal unavailable" at 2 s, put down to a
		// slow describe, and again at 6 s: there it was the look for a queued run that the
		// server ended at the deadline, which Refresh took for a failure;
		// TestRefreshLookingForItsRunFails.)
		ctx, cancel := context.WithTimeout(t.Context(), 6*time.Second)
		require.NoError(t, s.Refresh(ctx, client))
		cancel()
	}
	// Give a run started by the last press the time to reach its source (bounded; the runs
	// before it reached theirs while their refresh waited).
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline) && started.Load() <= 2; {
		time.Sleep(50 * time.Millisecond)
	}
	require.LessOrEqual(t, started.Load(), int32(1),
		"%d presses of refresh started %d runs hanging on the source at once", presses, started.Load())
	require.Positive(t, started.Load(), "the first refresh runs the sync")
	// And what the schedule itself counts, however slow a run is to reach its source: with a
	// run per press, each press saw its run started before it returned, so all would count here.
	d, err := tc.ScheduleClient().GetHandle(t.Context(), kpisync.ScheduleID(client)).Describe(t.Context())
	require.NoError(t, err)
	require.Equal(t, 1, d.Info.NumActions, "%d presses of refresh started %d runs", presses, d.Info.NumActions)
}

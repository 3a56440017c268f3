package activities_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/internal/kpi"
	"paysplit/internal/money"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// A client whose GA4 has never synced (its first sync refused: wrong credentials) is stale for
// the API (SourceStatus.IsStale: tried and never succeeded), and its sync lag must say so too: it
// exported 0, the value of a client in sync, so an alert on the lag never fired for it.
func TestKPISyncLagOfASourceThatNeverSyncedIsNotZero(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	ctx := t.Context()
	const id = "kpi-lag-never"
	usdClient(t, st, id)
	_, err := st.PutKPISettings(ctx, store.KPISettings{ClientID: id, GA4PropertyID: "78", ProviderRevenue: true})
	require.NoError(t, err)
	clock := time.Date(2026, 6, 2, 9, 0, 0, 0, time.UTC)
	lags := &lagRecorder{}
	a := &activities.KPI{Store: st, Now: func() time.Time { return clock }, Metrics: lags}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	require.NoError(t, st.MarkKPISynced(ctx, id, kpi.SourceLedger, clock))
	_, err = env.ExecuteActivity(a.RecordKPISyncFailure, activities.RecordKPISyncFailureInput{ClientID: id, Source: kpi.SourceGA4, Message: "403"})
	require.NoError(t, err)

	r := &kpi.Reader{Hot: st, StaleAfter: time.Hour, Now: func() time.Time { return clock }}
	s, err := r.Series(ctx, id, money.USD, clock, clock)
	require.NoError(t, err)
	require.True(t, s.Stale, "the API: tried and never synced")
	require.Len(t, lags.lags[id], 1)
	require.Equal(t, kpi.NeverSynced, lags.lags[id][0], "the metric agrees: never synced, not in sync")
}

package activities_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/internal/kpi"
	"paysplit/internal/kpi/ga4"
	"paysplit/internal/kpi/kpisrc"
	"paysplit/internal/kpi/kpitest"
	"paysplit/internal/money"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// TestSyncKPISource runs the sync activity against Postgres and the GA4 server: days and hours
// are stored and the good sync recorded; GA4 refusing is not retryable, GA4 down is.
func TestSyncKPISource(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	ctx := t.Context()
	_, _, err := st.UpsertClient(ctx, store.Client{ID: "kpi-act", Name: "kpi-act", DefaultCurrency: money.USD})
	require.NoError(t, err)
	_, err = st.PutKPISettings(ctx, store.KPISettings{ClientID: "kpi-act", GA4PropertyID: "77", ProviderRevenue: true})
	require.NoError(t, err)
	g := kpitest.NewGA4(t)
	today := time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)
	g.SetDay("77", today, kpi.Traffic{Visitors: 5, Sessions: 6})
	g.SetHour("77", today.Add(9*time.Hour), kpi.Traffic{Visitors: 2, Sessions: 2})
	synced := time.Date(2026, 6, 15, 9, 30, 0, 0, time.UTC)
	clock := synced
	a := &activities.KPI{Store: st, Sources: &kpisrc.Factory{Store: st, GA4: ga4.Options{Endpoint: g.URL, WithoutAuthentication: true}},
		Now: func() time.Time { return clock }}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	in := activities.SyncKPISourceInput{ClientID: "kpi-act", Source: kpi.SourceGA4, Currency: money.USD, From: today.AddDate(0, 0, -6), To: today, Today: today}

	val, err := env.ExecuteActivity(a.SyncKPISource, in)
	require.NoError(t, err)
	var out activities.SyncKPISourceOutput
	require.NoError(t, val.Get(&out))
	require.Equal(t, activities.SyncKPISourceOutput{Source: kpi.SourceGA4, Days: 7, Hours: 1, SyncedAt: synced}, out)
	days, err := st.KPIHotDays(ctx, "kpi-act", today.AddDate(0, 0, -6), today)
	require.NoError(t, err)
	require.Len(t, days, 7, "days without visits are stored as zeros: GA4 answered for them")
	require.EqualValues(t, 5, days[6].Traffic.Visitors)
	status, err := st.KPISyncStatus(ctx, "kpi-act")
	require.NoError(t, err)
	require.Equal(t, synced, status[0].LastSuccess)

	// GA4 down two hours later: the failure is kept, the last good sync stays.
	clock = synced.Add(2 * time.Hour)
	_, err = env.ExecuteActivity(a.RecordKPISyncFailure, activities.RecordKPISyncFailureInput{ClientID: "kpi-act", Source: kpi.SourceGA4, Message: "503"})
	require.NoError(t, err)
	status, err = st.KPISyncStatus(ctx, "kpi-act")
	require.NoError(t, err)
	require.Equal(t, synced, status[0].LastSuccess)
	require.Equal(t, "503", status[0].LastError)

	for _, tt := range []struct {
		status    int
		retryable bool
	}{
		{http.StatusForbidden, false},
		{http.StatusServiceUnavailable, true},
	} {
		g.Fail(tt.status)
		_, err := env.ExecuteActivity(a.SyncKPISource, in)
		var app *temporal.ApplicationError
		require.ErrorAs(t, err, &app, "status %d", tt.status)
		require.Equal(t, tt.retryable, !app.NonRetryable(), "status %d: %v", tt.status, err)
	}
	g.Fail(0)
	_, err = env.ExecuteActivity(a.SyncKPISource, activities.SyncKPISourceInput{ClientID: "kpi-act", Source: "ga5", Today: today})
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app) && app.NonRetryable(), "unknown source: %v", err)
}

// TestPruneKPIs deletes what is older than the cut across the KPI tables, in batches.
func TestPruneKPIs(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	ctx := t.Context()
	_, _, err := st.UpsertClient(ctx, store.Client{ID: "kpi-prune-act", Name: "p", DefaultCurrency: money.USD})
	require.NoError(t, err)
	// The traffic below is GA4's, stored without a property: read back while the client has one.
	_, err = st.PutKPISettings(ctx, store.KPISettings{ClientID: "kpi-prune-act", GA4PropertyID: "8000", ProviderRevenue: true})
	require.NoError(t, err)
	var days []kpi.TrafficDay
	var hours []kpi.TrafficHour
	start := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC) // older than any other test's rows
	for i := range 10 {
		days = append(days, kpi.TrafficDay{Day: start.AddDate(0, 0, i)})
		hours = append(hours, kpi.TrafficHour{Hour: start.AddDate(0, 0, i).Add(time.Hour)})
	}
	require.NoError(t, st.UpsertKPITraffic(ctx, "kpi-prune-act", kpi.SourceGA4, days))
	require.NoError(t, st.UpsertKPITrafficHours(ctx, "kpi-prune-act", hours))
	a := &activities.KPI{Store: st}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	val, err := env.ExecuteActivity(a.PruneKPIs, activities.PruneKPIsInput{Before: start.AddDate(0, 0, 4), BatchSize: 3})
	require.NoError(t, err)
	var out activities.PruneKPIsOutput
	require.NoError(t, val.Get(&out))
	require.EqualValues(t, 4, out.Daily)
	require.EqualValues(t, 4, out.Hourly)
	left, err := st.KPIHotDays(ctx, "kpi-prune-act", start, start.AddDate(0, 0, 30))
	require.NoError(t, err)
	require.Len(t, left, 6)
}

// TestDroppedSourceNoLongerCounts: a client that stops using GA4 keeps its old ga4 status row,
// which the sync no longer updates. Only the sources the client still has count, so once its
// ledger syncs fine the client is not stale, and its last sync is the ledger's.
func TestDroppedSourceNoLongerCounts(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	ctx := t.Context()
	const id = "kpi-dropped-ga4"
	usdClient(t, st, id)
	_, err := st.PutKPISettings(ctx, store.KPISettings{ClientID: id, GA4PropertyID: "77", ProviderRevenue: true})
	require.NoError(t, err)
	g := kpitest.NewGA4(t)
	clock := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	a := &activities.KPI{Store: st, Sources: &kpisrc.Factory{Store: st, GA4: ga4.Options{Endpoint: g.URL, WithoutAuthentication: true}},
		Now: func() time.Time { return clock }}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	sync := func() []string {
		v, err := env.ExecuteActivity(a.PlanKPISync, activities.PlanKPISyncInput{ClientID: id})
		require.NoError(t, err)
		var plan activities.PlanKPISyncOutput
		require.NoError(t, v.Get(&plan))
		today := kpi.DayOf(clock)
		for _, src := range plan.Sources {
			_, err := env.ExecuteActivity(a.SyncKPISource, activities.SyncKPISourceInput{ClientID: id, Source: src,
				Currency: plan.Currency, From: today.AddDate(0, 0, -6), To: today, Today: today})
			require.NoError(t, err, src)
		}
		return plan.Sources
	}
	require.Equal(t, []string{kpi.SourceLedger, kpi.SourceGA4}, sync())

	// The client drops analytics; two weeks later the sync (ledger only) runs fine.
	_, err = st.PutKPISettings(ctx, store.KPISettings{ClientID: id, ProviderRevenue: true})
	require.NoError(t, err)
	clock = time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)
	require.Equal(t, []string{kpi.SourceLedger}, sync())

	r := &kpi.Reader{Hot: st, RetentionDays: 7, StaleAfter: time.Hour, Now: func() time.Time { return clock }}
	s, err := r.Series(ctx, id, money.USD, clock.AddDate(0, 0, -6), clock)
	require.NoError(t, err)
	require.Falsef(t, s.Stale, "stale although its only source just synced; sources %+v", s.Sources)
	require.Equal(t, clock, s.LastSyncedAt)
	require.Len(t, s.Sources, 1)
	require.Equal(t, kpi.SourceLedger, s.Sources[0].Source)
	for _, d := range s.Days {
		require.False(t, d.Stale, d.Day)
	}
}

// TestRecordKPISyncFailureCountsARunOnce: failures counts the failed syncs since the last good
// one. Temporal runs RecordKPISyncFailure again when an attempt's completion is lost (a timeout
// after the write, a worker gone): the retry carries the same run's StartedAt and must not count
// the run's failure twice.
func TestRecordKPISyncFailureCountsARunOnce(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	ctx := t.Context()
	run1 := time.Date(2026, 6, 15, 9, 0, 0, 0, time.UTC)
	run2 := run1.Add(15 * time.Minute)
	tests := []struct {
		name   string
		starts []time.Time // one RecordKPISyncFailure per entry, a minute apart
		want   int
	}{
		{"one run's attempt and its retry", []time.Time{run1, run1}, 1},
		{"two runs", []time.Time{run1, run2}, 2},
		{"two runs, the second retried", []time.Time{run1, run2, run2}, 2},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("kpi-fail-once-%d", i)
			_, _, err := st.UpsertClient(ctx, store.Client{ID: id, Name: id, DefaultCurrency: money.USD})
			require.NoError(t, err)
			clock := run1
			a := &activities.KPI{Store: st, Now: func() time.Time { return clock }}
			var ts testsuite.WorkflowTestSuite
			env := ts.NewTestActivityEnvironment()
			env.RegisterActivity(a)
			for _, started := range tt.starts {
				clock = clock.Add(time.Minute)
				_, err := env.ExecuteActivity(a.RecordKPISyncFailure,
					activities.RecordKPISyncFailureInput{ClientID: id, Source: kpi.SourceLedger, Message: "postgres: timeout", StartedAt: started})
				require.NoError(t, err)
			}
			status, err := st.KPISyncStatus(ctx, id)
			require.NoError(t, err)
			require.Len(t, status, 1)
			require.Equal(t, tt.want, status[0].Failures)
		})
	}
}

// TestPlanKPISyncOfAnOffboardedClientSyncsNothing: a sync run of an offboarded client, from a
// schedule its offboarding could not delete (Temporal out of reach for the API's hook, or a
// settings change racing the offboard recreated it) and which stays until a worker restarts,
// asks no source: nothing syncs a shop that left (no GA4 call with its credentials, no sync
// status that makes it look alive). Back active, it syncs its sources again.
func TestPlanKPISyncOfAnOffboardedClientSyncsNothing(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	ctx := t.Context()
	id := "kpi-offb-" + time.Now().Format("150405.000000")
	usdClient(t, st, id)
	_, err := st.PutKPISettings(ctx, store.KPISettings{ClientID: id, GA4PropertyID: "77", ProviderRevenue: true})
	require.NoError(t, err)
	a := &activities.KPI{Store: st}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	plan := func() activities.PlanKPISyncOutput {
		t.Helper()
		v, err := env.ExecuteActivity(a.PlanKPISync, activities.PlanKPISyncInput{ClientID: id})
		require.NoError(t, err)
		var out activities.PlanKPISyncOutput
		require.NoError(t, v.Get(&out))
		return out
	}

	_, err = st.SetClientStatus(ctx, id, store.ClientOffboarded)
	require.NoError(t, err)
	require.Empty(t, plan().Sources, "an offboarded client's sync asks no source")

	_, err = st.SetClientStatus(ctx, id, store.ClientActive)
	require.NoError(t, err)
	require.Equal(t, []string{kpi.SourceLedger, kpi.SourceGA4}, plan().Sources, "back active, it syncs again")
}

package monitor_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/kpi"
	"paysplit/internal/monitor"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// The kpi_sync_stale monitor judges a client by what the API calls stale: the oldest last good
// sync of its sources. GA4 failing for three days while our ledger syncs every few minutes makes
// GET /api/v1/kpis answer stale with last_synced_at three days ago; the monitor must not call the
// client synced because the ledger's revenue rows were rewritten a minute ago.
func TestKPISyncStaleMonitorAgreesWithTheAPI(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	now := time.Now().UTC()
	synced := func(prefix string, ga4LastGood time.Time, ga4Fails bool) string {
		t.Helper()
		id := unique(prefix)
		_, _, err := st.UpsertClient(ctx, store.Client{ID: id, Name: "Shop " + id, DefaultCurrency: "usd"})
		require.NoError(t, err)
		_, err = pool.Exec(ctx, `INSERT INTO kpi_settings (client_id, ga4_property_id, ga4_credentials_ref) VALUES ($1, '123', 'env:GA4_KEY')`, id)
		require.NoError(t, err)
		require.NoError(t, st.UpsertKPIRevenue(ctx, id, kpi.SourceLedger, []kpi.RevenueDay{{Day: kpi.DayOf(now), Revenue: kpi.Revenue{Currency: "usd", Gross: 100}}}))
		require.NoError(t, st.MarkKPISynced(ctx, id, kpi.SourceLedger, now.Add(-time.Minute)))
		require.NoError(t, st.MarkKPISynced(ctx, id, kpi.SourceGA4, ga4LastGood))
		if ga4Fails {
			require.NoError(t, st.MarkKPISyncFailed(ctx, id, kpi.SourceGA4, "ga4: 403 permission denied", now.Add(-2*time.Minute), now.Add(-time.Minute)))
		}
		return id
	}
	failing := synced("kpi-ga4-failing", now.Add(-72*time.Hour), true)
	fine := synced("kpi-fine", now.Add(-time.Minute), false)

	reader := &kpi.Reader{Hot: st, StaleAfter: time.Hour, Now: func() time.Time { return now }}
	for id, wantStale := range map[string]bool{failing: true, fine: false} {
		s, err := reader.Series(ctx, id, "usd", kpi.DayOf(now), kpi.DayOf(now))
		require.NoError(t, err)
		require.Equal(t, wantStale, s.Stale, "the API's stale for %s", id)

		m, err := f.store.Create(ctx, monitor.Monitor{Name: unique("kpi"), Kind: monitor.KindKPISyncStale,
			Params: monitor.Params{Hours: 24, ClientID: id}}, "test")
		require.NoError(t, err)
		r, _ := f.evaluate(t, m, now)
		if wantStale {
			require.Equal(t, monitor.StatusFiring, r.Status, r.Summary)
			assert.Equal(t, []string{id}, r.Subjects)
		} else {
			require.Equal(t, monitor.StatusOK, r.Status, r.Summary)
		}
	}
}

// A kpi_sync_stale monitor holds each client to what its schedule can meet, as the dashboard
// does: a client counts as stale only past the monitor's hours or two of its sync periods,
// whichever is longer. A client synced once a day was "not synced for more than 6 hours" most of
// the day under a 6-hour monitor, though its next sync was simply not due yet.
func TestKPISyncStaleMonitorWaitsForTwoSyncPeriods(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	now := time.Now().UTC()
	tests := []struct {
		name       string
		every      time.Duration // the client's own sync period; 0: the deployment's
		deployment time.Duration // KPI_SYNC_EVERY
		lastGood   time.Duration // how long ago
		wantStale  bool
	}{
		{name: "daily client 7h after its sync: not due yet", every: 24 * time.Hour, lastGood: 7 * time.Hour},
		{name: "daily client 47h after its sync: within two periods", every: 24 * time.Hour, lastGood: 47 * time.Hour},
		{name: "daily client 49h after its sync", every: 24 * time.Hour, lastGood: 49 * time.Hour, wantStale: true},
		{name: "hourly client 7h after its sync: the monitor's hours rule", every: time.Hour, lastGood: 7 * time.Hour, wantStale: true},
		{name: "hourly client 5h after its sync", every: time.Hour, lastGood: 5 * time.Hour},
		{name: "deployment synced daily, 7h after the sync", deployment: 24 * time.Hour, lastGood: 7 * time.Hour},
		{name: "deployment synced daily, 49h after the sync", deployment: 24 * time.Hour, lastGood: 49 * time.Hour, wantStale: true},
		{name: "client's own hourly period beats the deployment's daily one", every: time.Hour, deployment: 24 * time.Hour, lastGood: 7 * time.Hour, wantStale: true},
		{name: "deployment period unknown: the monitor's hours", lastGood: 7 * time.Hour, wantStale: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := kpiClientSynced(t, st, unique("kpi-period"), tt.every, now.Add(-tt.lastGood))
			f := f
			monitors := *f.store
			monitors.KPISyncEvery = tt.deployment
			f.store = &monitors
			m, err := f.store.Create(ctx, monitor.Monitor{Name: unique("kpi"), Kind: monitor.KindKPISyncStale,
				Params: monitor.Params{Hours: 6, ClientID: id}}, "test")
			require.NoError(t, err)
			r, _ := f.evaluate(t, m, now)
			if tt.wantStale {
				require.Equal(t, monitor.StatusFiring, r.Status, r.Summary)
				assert.Equal(t, []string{id}, r.Subjects)
			} else {
				require.Equal(t, monitor.StatusOK, r.Status, r.Summary)
			}
		})
	}
}

// kpiClientSynced creates client id synced every every (0: the deployment's period) whose ledger,
// its only source, last synced at lastGood.
func kpiClientSynced(t *testing.T, st *store.Store, id string, every time.Duration, lastGood time.Time) string {
	t.Helper()
	ctx := t.Context()
	_, _, err := st.UpsertClient(ctx, store.Client{ID: id, Name: "Shop " + id, DefaultCurrency: "usd"})
	require.NoError(t, err)
	_, err = st.PutKPISettings(ctx, store.KPISettings{ClientID: id, ProviderRevenue: true, SyncEvery: every})
	require.NoError(t, err)
	require.NoError(t, st.MarkKPISynced(ctx, id, kpi.SourceLedger, lastGood))
	return id
}

// An offboarded client's syncs stop on purpose (its schedule is deleted): the kpi_sync_stale
// monitor must not fire for it forever, and fires again once it is back and still not synced.
func TestKPISyncStaleMonitorLeavesOffboardedClientsOut(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	now := time.Now().UTC()
	id := unique("kpi-offboarded")
	_, _, err := st.UpsertClient(ctx, store.Client{ID: id, Name: "Shop " + id, DefaultCurrency: "usd"})
	require.NoError(t, err)
	require.NoError(t, st.MarkKPISynced(ctx, id, kpi.SourceLedger, now.Add(-72*time.Hour)))
	m, err := f.store.Create(ctx, monitor.Monitor{Name: unique("kpi"), Kind: monitor.KindKPISyncStale,
		Params: monitor.Params{Hours: 24, ClientID: id}}, "test")
	require.NoError(t, err)
	for _, tt := range []struct {
		status  string
		want    monitor.Status
		summary string
	}{
		{store.ClientActive, monitor.StatusFiring, "KPIs of 1 client(s) not synced for more than 24 hours"},
		{store.ClientOffboarded, monitor.StatusOK, "KPIs of 0 client(s) synced within 24 hours (or two of their sync periods when longer); 1 offboarded client(s) no longer synced"},
		{store.ClientActive, monitor.StatusFiring, "KPIs of 1 client(s) not synced for more than 24 hours"},
	} {
		_, err := st.SetClientStatus(ctx, id, tt.status)
		require.NoError(t, err)
		r, _ := f.evaluate(t, m, now)
		require.Equal(t, tt.want, r.Status, "%s: %s", tt.status, r.Summary)
		require.Contains(t, r.Summary, tt.summary)
	}
}

package telemetry_test

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/api/server"
	"paysplit/internal/kpi"
	"paysplit/internal/ledger"
	"paysplit/internal/money"
	"paysplit/internal/store"
	"paysplit/telemetry"
	"paysplit/testenv"
)

// testClock is the clock the programs' lag collectors read: tests move it, never sleep.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *testClock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// lagPrograms are the /metrics handlers of both programs on pool, each with its own registry and
// the lag registered as its main does (KPI_SYNC_EVERY 15m).
func lagPrograms(t *testing.T, pool *pgxpool.Pool, clock *testClock) map[string]http.Handler {
	t.Helper()
	st := store.New(pool)
	opts := telemetry.KPISyncLagOptions{SyncEvery: 15 * time.Minute, Now: clock.Now, Logger: quiet}
	worker, api := telemetry.NewRegistry(), telemetry.NewRegistry()
	require.NoError(t, telemetry.RegisterKPISyncLag(worker, st, opts))
	require.NoError(t, telemetry.RegisterKPISyncLag(api, st, opts))
	return map[string]http.Handler{
		"worker": telemetry.OpsHandler(worker, quiet, pool, testenv.TemporalClient(t)),
		"api": server.New(server.Deps{Pool: pool, Store: st, Ledger: ledger.New(pool), Temporal: testenv.TemporalClient(t),
			TaskQueue: "q", AdminAPIKey: "test-admin-key", StripeWebhookSecret: "whsec_test", Logger: quiet, Registry: api}),
	}
}

// kpiGauges scrapes h's /metrics and returns each client's lag and period gauges by client.
func kpiGauges(t *testing.T, h http.Handler) (lag, period map[string]float64) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(rec.Body)
	require.NoError(t, err)
	byClient := func(name string) map[string]float64 {
		out := map[string]float64{}
		for _, m := range fams[name].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "client" {
					out[l.GetValue()] = m.GetGauge().GetValue()
				}
			}
		}
		return out
	}
	return byClient("paysplit_kpi_sync_lag_seconds"), byClient("paysplit_kpi_sync_period_seconds")
}

// kpiClient creates a USD client with the given KPI settings under a name no other test uses.
func kpiClient(t *testing.T, st *store.Store, prefix string, k store.KPISettings) string {
	t.Helper()
	id := fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
	_, _, err := st.UpsertClient(t.Context(), store.Client{ID: id, Name: id, DefaultCurrency: money.USD})
	require.NoError(t, err)
	k.ClientID, k.ProviderRevenue = id, true
	_, err = st.PutKPISettings(t.Context(), k)
	require.NoError(t, err)
	return id
}

// The lag is the time since the client's last good sync at scrape time. It was set by the sync
// itself, so once syncs stopped (worker down, schedule paused) it stayed at its last value, 0
// after a good run, and an alert on it never fired (it read 0 three hours after the last sync).
func TestKPISyncLagGrowsWhileSyncsStop(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	clock := &testClock{t: time.Date(2026, 6, 3, 9, 0, 0, 0, time.UTC)}
	quarterly := kpiClient(t, st, "kpi-lag-stopped", store.KPISettings{})
	daily := kpiClient(t, st, "kpi-lag-daily", store.KPISettings{SyncEvery: 24 * time.Hour})
	a := &activities.KPI{Store: st, Now: clock.Now}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	for _, id := range []string{quarterly, daily} {
		_, err := env.ExecuteActivity(a.SyncKPISource, activities.SyncKPISourceInput{ClientID: id, Source: kpi.SourceLedger,
			Currency: money.USD, From: kpi.DayOf(clock.Now()), To: kpi.DayOf(clock.Now()), Today: clock.Now()})
		require.NoError(t, err)
	}
	programs := lagPrograms(t, pool, clock)

	for _, step := range []struct {
		name    string
		advance time.Duration
		wantLag float64
	}{
		{"right after the sync", 0, 0},
		{"no sync for three hours", 3 * time.Hour, (3 * time.Hour).Seconds()},
		{"no sync for a day", 21 * time.Hour, (24 * time.Hour).Seconds()},
	} {
		clock.Advance(step.advance)
		for name, h := range programs {
			lag, period := kpiGauges(t, h)
			require.Equal(t, step.wantLag, lag[quarterly], "%s: %s", name, step.name)
			require.Equal(t, step.wantLag, lag[daily], "%s: %s", name, step.name)
			require.Equal(t, (15 * time.Minute).Seconds(), period[quarterly], "%s: the deployment's period", name)
			require.Equal(t, (24 * time.Hour).Seconds(), period[daily], "%s: the client's own period", name)
		}
	}
}

// A client whose GA4 has never synced (its first sync refused: wrong credentials) is stale for
// the API (SourceStatus.IsStale: tried and never succeeded), and its lag is +Inf: it exported 0,
// the value of a client in sync. A client that dropped GA4 is judged by its ledger alone, as the
// API judges it.
func TestKPISyncLagAgreesWithTheAPI(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	ctx := t.Context()
	clock := &testClock{t: time.Date(2026, 6, 2, 9, 0, 0, 0, time.UTC)}
	never := kpiClient(t, st, "kpi-lag-never", store.KPISettings{GA4PropertyID: "78"})
	dropped := kpiClient(t, st, "kpi-lag-dropped", store.KPISettings{GA4PropertyID: "79"})
	for _, id := range []string{never, dropped} {
		require.NoError(t, st.MarkKPISynced(ctx, id, kpi.SourceLedger, clock.Now()))
		require.NoError(t, st.MarkKPISyncFailed(ctx, id, kpi.SourceGA4, "403", clock.Now(), clock.Now()))
	}
	_, err := st.PutKPISettings(ctx, store.KPISettings{ClientID: dropped, ProviderRevenue: true})
	require.NoError(t, err)
	clock.Advance(time.Minute)

	r := &kpi.Reader{Hot: st, StaleAfter: time.Hour, Now: clock.Now}
	for id, want := range map[string]struct {
		stale bool
		lag   float64
	}{never: {true, math.Inf(1)}, dropped: {false, 60}} {
		s, err := r.Series(ctx, id, money.USD, clock.Now(), clock.Now())
		require.NoError(t, err)
		require.Equal(t, want.stale, s.Stale, "the API's stale for %s", id)
		for name, h := range lagPrograms(t, pool, clock) {
			lag, _ := kpiGauges(t, h)
			require.Equal(t, want.lag, lag[id], "%s: the lag of %s", name, id)
		}
	}
}

// While Postgres does not answer, the lag is computed from the last syncs read and keeps growing:
// an alert on it must not resolve, nor the series vanish, just when the syncs cannot run.
func TestKPISyncLagGrowsWhilePostgresIsDown(t *testing.T) {
	_, dbURL := testenv.Postgres(t)
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	proxy := newTCPProxy(t, u.Host)
	u.Host = proxy.addr
	pool, err := pgxpool.New(t.Context(), u.String())
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	st := store.New(pool)
	clock := &testClock{t: time.Date(2026, 6, 4, 9, 0, 0, 0, time.UTC)}
	id := kpiClient(t, st, "kpi-lag-pg-down", store.KPISettings{})
	require.NoError(t, st.MarkKPISynced(t.Context(), id, kpi.SourceLedger, clock.Now()))
	h := lagPrograms(t, pool, clock)["worker"]
	lag, _ := kpiGauges(t, h)
	require.Equal(t, 0.0, lag[id])

	proxy.down()
	clock.Advance(time.Hour)
	lag, _ = kpiGauges(t, h)
	require.Equal(t, time.Hour.Seconds(), lag[id], "from the last syncs read")
}

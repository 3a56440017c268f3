package telemetry_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"paysplit/api/server"
	"paysplit/internal/ledger"
	"paysplit/internal/store"
	"paysplit/telemetry"
	"paysplit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestReadyzFollowsPostgres takes Postgres away from both programs' /readyz (the worker's ops
// handler and the API server) and brings it back: 503 naming postgres while it is gone, 200 after.
func TestReadyzFollowsPostgres(t *testing.T) {
	_, dbURL := testenv.Postgres(t)
	tc := testenv.TemporalClient(t)
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	proxy := newTCPProxy(t, u.Host)
	u.Host = proxy.addr
	pool, err := pgxpool.New(t.Context(), u.String())
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	programs := []struct {
		name    string
		handler http.Handler
	}{
		{"worker", telemetry.OpsHandler(telemetry.NewRegistry(), quiet, pool, tc)},
		{"api", server.New(server.Deps{Pool: pool, Store: store.New(pool), Ledger: ledger.New(pool), Temporal: tc,
			TaskQueue: "q", AdminAPIKey: "test-admin-key", StripeWebhookSecret: "whsec_test", Logger: quiet})},
	}
	steps := []struct {
		name   string
		change func()
		status int
		checks map[string]string
	}{
		{"postgres up", func() {}, http.StatusOK, map[string]string{"postgres": "ok", "temporal": "ok"}},
		{"postgres stopped", proxy.down, http.StatusServiceUnavailable, map[string]string{"postgres": "unavailable", "temporal": "ok"}},
		{"postgres back", proxy.up, http.StatusOK, map[string]string{"postgres": "ok", "temporal": "ok"}},
	}
	urls := map[string]string{}
	for _, p := range programs {
		srv := httptest.NewServer(p.handler)
		t.Cleanup(srv.Close)
		urls[p.name] = srv.URL
		require.Equal(t, http.StatusOK, getStatus(t, srv.URL+"/healthz"), "%s /healthz", p.name)
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			step.change()
			for _, p := range programs {
				// A pool notices a dead connection on use, so the first probe after a change may
				// still see the old state; the answer must settle within a few probes.
				require.EventuallyWithT(t, func(c *assert.CollectT) {
					status, checks := readyz(t, urls[p.name])
					assert.Equal(c, step.status, status, "%s /readyz", p.name)
					assert.Equal(c, step.checks, checks, "%s /readyz body", p.name)
				}, 20*time.Second, 100*time.Millisecond)
			}
		})
	}
}

// With Temporal down the worker is not ready (it has nothing to do), while the API is: it still
// takes webhooks into its inbox and serves the admin API.
func TestReadyzWhenTemporalIsDown(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	down, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	require.NoError(t, err)
	t.Cleanup(down.Close)
	api := server.New(server.Deps{Pool: pool, Store: store.New(pool), Ledger: ledger.New(pool), Temporal: down,
		TaskQueue: "q", AdminAPIKey: "test-admin-key", StripeWebhookSecret: "whsec_test", Logger: quiet})
	t.Cleanup(func() { _ = api.Close() })
	tests := []struct {
		name    string
		handler http.Handler
		status  int
	}{
		{"worker", telemetry.OpsHandler(telemetry.NewRegistry(), quiet, pool, down), http.StatusServiceUnavailable},
		{"api", api, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			t.Cleanup(srv.Close)
			status, checks := readyz(t, srv.URL)
			require.Equal(t, tt.status, status)
			require.Equal(t, map[string]string{"postgres": "ok", "temporal": "unavailable"}, checks)
		})
	}
}

func readyz(t *testing.T, base string) (int, map[string]string) {
	t.Helper()
	res, err := http.Get(base + "/readyz")
	require.NoError(t, err)
	defer res.Body.Close()
	var checks map[string]string
	require.NoError(t, json.NewDecoder(res.Body).Decode(&checks))
	return res.StatusCode, checks
}

func getStatus(t *testing.T, u string) int {
	t.Helper()
	res, err := http.Get(u)
	require.NoError(t, err)
	defer res.Body.Close()
	return res.StatusCode
}

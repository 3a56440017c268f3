package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"paysplit/api/server"
	"paysplit/internal/ledger"
	"paysplit/internal/secrets"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// TestMonitorChangesNeedOneConnection: a monitor change and its audit entry are one transaction
// on one pool connection. Holding a connection while waiting for a second one deadlocks the pool
// once as many changes run at once as it has connections (16 in production): each holds one and
// none can get its second, and every other request, webhooks included, queues behind them for as
// long as their clients wait. A pool of one connection shows it with a single request.
func TestMonitorChangesNeedOneConnection(t *testing.T) {
	_, url := testenv.Postgres(t)
	cfg, err := pgxpool.ParseConfig(url)
	require.NoError(t, err)
	cfg.MaxConns = 1
	one, err := pgxpool.NewWithConfig(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(one.Close)
	box, err := secrets.New(testSecretsKey)
	require.NoError(t, err)
	a := newAPI(t, func(d *server.Deps) {
		d.Pool, d.Store, d.Ledger = one, store.New(one, store.WithSecrets(box)), ledger.New(one)
	})

	create := map[string]any{"name": uniqueID("pool"), "kind": "held_leg_age", "days": 3}
	var id float64
	for _, tt := range []struct {
		name, method string
		path         func() string
		body         any
		status       int
	}{
		{"create", http.MethodPost, func() string { return "/api/v1/admin/monitors" }, create, http.StatusCreated},
		{"delete", http.MethodDelete, func() string { return fmt.Sprintf("/api/v1/admin/monitors/%d", int64(id)) }, nil, http.StatusNoContent},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Bounded, so the test fails instead of hanging when the request waits on the pool.
			ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
			defer cancel()
			var body bytes.Buffer
			if tt.body != nil {
				require.NoError(t, json.NewEncoder(&body).Encode(tt.body))
			}
			hr, err := http.NewRequestWithContext(ctx, tt.method, a.url+tt.path(), &body)
			require.NoError(t, err)
			hr.Header.Set("Authorization", "Bearer "+adminKey)
			hr.Header.Set("Content-Type", "application/json")
			res, err := http.DefaultClient.Do(hr)
			require.NoError(t, err, "the change waited for a second pool connection while holding the only one")
			defer res.Body.Close()
			var out map[string]any
			_ = json.NewDecoder(res.Body).Decode(&out)
			require.Equal(t, tt.status, res.StatusCode, out)
			if tt.status == http.StatusCreated {
				id = out["id"].(float64)
			}
		})
	}
	// Both changes are audited.
	var audited int
	require.NoError(t, one.QueryRow(t.Context(), `SELECT count(*) FROM audit_log WHERE target = $1`,
		fmt.Sprintf("monitor:%d", int64(id))).Scan(&audited))
	require.Equal(t, 2, audited)
}

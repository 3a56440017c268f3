package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"paysplit/api/server"
	"paysplit/internal/payment"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// TestCorrectionWhenTheRuleCannotBeReadIsNotTheCallersFault: POST .../correct answered any
// failure to read the rule version named as 400 invalid_request with the database's own words
// ("rule_version 1: ... canceling statement due to lock timeout (SQLSTATE 55P03)"): a failure
// of the server blamed on the caller, who would fix nothing by changing the request, and
// Postgres's internals in the answer. Only a version the client does not have is the caller's
// 400; anything else is a 500 with nothing of the database in it.
func TestCorrectionWhenTheRuleCannotBeReadIsNotTheCallersFault(t *testing.T) {
	ctx := context.Background()
	shared, dbURL := testenv.Postgres(t)
	cfg, err := pgxpool.ParseConfig(dbURL)
	require.NoError(t, err)
	// The server's statements give up at once on a lock they would wait for: the lock below
	// then fails the rule's read, deterministically, instead of blocking it.
	cfg.ConnConfig.RuntimeParams["lock_timeout"] = "1ms"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	a := newAPI(t, func(d *server.Deps) { d.Pool, d.Store = pool, store.New(pool) })
	c := a.newClient("corrdb")
	code, body := a.json(req{method: http.MethodPost, path: "/api/v1/admin/clients/" + c + "/split-rules", key: adminKey,
		body: map[string]any{"platform_bps": 1000}})
	require.Equal(t, http.StatusCreated, code, body)
	rec := paidRecord(c, c+"-pi", time.Now().Add(-time.Hour), 10000, 0, payment.StatusPaid)
	require.NoError(t, a.store.SavePayment(ctx, rec))

	path := "/api/v1/admin/payments/" + rec.WorkflowID + "/correct"
	// A version the client does not have stays the caller's 400.
	code, body = a.json(req{method: http.MethodPost, path: path, key: adminKey, body: map[string]any{"rule_version": 7}})
	require.Equal(t, http.StatusBadRequest, code, body)
	require.Contains(t, body["error"].(map[string]any)["message"], "rule_version 7")

	tx, err := shared.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, `LOCK TABLE split_rules IN ACCESS EXCLUSIVE MODE`)
	require.NoError(t, err)
	code, body = a.json(req{method: http.MethodPost, path: path, key: adminKey, body: map[string]any{"rule_version": 2}})
	require.Equal(t, http.StatusInternalServerError, code, body)
	msg := body["error"].(map[string]any)["message"].(string)
	require.NotContains(t, msg, "SQLSTATE")
	require.NotContains(t, msg, "lock timeout")
}

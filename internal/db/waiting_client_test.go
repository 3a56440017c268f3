package db_test

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"paysplit/internal/db"
)

// Migration 00035 files a payment saved while it waited for its order, before SavePayment read
// its order waiter, under that waiter's client and order (the first waiter when a capture was
// waited for under two orders), as SavePayment does now. Rows with a client, and rows without a
// waiter, stay as they are.
func TestWaitingPaymentsFiledUnderTheirWaitersClient(t *testing.T) {
	ctx := t.Context()
	url, conn := migratedTo(t, 33)
	// The previous release's rows: a payment parked waiting for its order, one still waiting
	// (two waiters, the later one another order), one split (its own client), one parked
	// without any waiter (its metadata named no client).
	for _, p := range []struct{ workflow, client, order, status string }{
		{"wf-parked", "", "", "parked"},
		{"wf-waiting", "", "", "awaiting_metadata"},
		{"wf-split", "c-b", "o-9", "settled"},
		{"wf-nowaiter", "", "", "parked"},
	} {
		_, err := conn.Exec(ctx, `INSERT INTO payments (workflow_id, provider, payment_id, client_id, order_id, status, state)
			VALUES ($1, 'stripe', $1, $2, $3, $4, '{}')`, p.workflow, p.client, p.order, p.status)
		require.NoError(t, err)
	}
	for _, w := range []struct{ client, order, workflow, at string }{
		{"c-a", "o-1", "wf-parked", "2026-11-20T10:00:00Z"},
		{"c-a", "o-3", "wf-waiting", "2026-11-26T09:00:00Z"},
		{"c-a", "o-2", "wf-waiting", "2026-11-26T08:00:00Z"},
		{"c-a", "o-7", "wf-split", "2026-11-26T08:00:00Z"},
	} {
		_, err := conn.Exec(ctx, `INSERT INTO order_waiters (client_id, order_id, workflow_id, created_at) VALUES ($1, $2, $3, $4)`,
			w.client, w.order, w.workflow, w.at)
		require.NoError(t, err)
	}

	require.NoError(t, db.Migrate(ctx, url))

	rows, err := conn.Query(ctx, `SELECT workflow_id, client_id, order_id, status FROM payments ORDER BY workflow_id`)
	require.NoError(t, err)
	type row struct{ Workflow, Client, Order, Status string }
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
	require.NoError(t, err)
	require.Equal(t, []row{
		{"wf-nowaiter", "", "", "parked"},
		{"wf-parked", "c-a", "o-1", "parked"},
		{"wf-split", "c-b", "o-9", "settled"},
		{"wf-waiting", "c-a", "o-2", "awaiting_metadata"},
	}, got)
}

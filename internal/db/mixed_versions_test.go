package db_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/store"
	"paysplit/testenv"
)

// A rolling deploy (ECS, minimum healthy 100 %) starts the new tasks, which migrate at start,
// while the old tasks keep serving. The statements below are the previous release's, verbatim.

// The previous API's login (internal/store/access.go CreateSession at 8fda78b^) after migration
// 00015: an admin logging in with ADMIN_API_KEY on an old API task must still get a session.
func TestPreviousAPIBootstrapLoginOnMigratedSchema(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	token := uniqueKey("tok")
	csrf := store.HashToken(uniqueKey("csrf"))
	_, err := pool.Exec(ctx, `INSERT INTO sessions (token_hash, csrf_hash, key_id, role, client_id, expires_at)
		VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6)`,
		store.HashToken(token), csrf, "bootstrap", "admin", "", time.Now().Add(time.Hour))
	require.NoError(t, err, "the previous API's bootstrap login fails once the new task migrated")

	// This release does not take such a session: it cannot be checked against the key.
	_, err = store.New(pool).SessionByToken(ctx, token, "the-admin-key")
	require.ErrorIs(t, err, store.ErrNotFound)
}

// The previous worker's SavePayment (internal/store/payments.go at 81ceeab^) after migration
// 00016: a payment the old worker moves to payout_failed must be payout_failed since now, or the
// new payout_failed_age monitor measures the wait from whenever the row last changed status under
// new code (or was created), and fires at once.
func TestPreviousWorkerStatusChangeMovesStatusSince(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	id := uniqueKey("payment-stripe-pi_mixed")
	oldSave := func(status string) {
		t.Helper()
		_, err := pool.Exec(ctx, `
		INSERT INTO payments (workflow_id, provider, payment_id, charge_id, client_id, order_id, vendor_id, currency,
			gross, refunded, rule_version, status, reason, state, captured_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
		ON CONFLICT (workflow_id) DO UPDATE SET charge_id = EXCLUDED.charge_id, client_id = EXCLUDED.client_id,
			order_id = EXCLUDED.order_id, vendor_id = EXCLUDED.vendor_id, currency = EXCLUDED.currency,
			gross = EXCLUDED.gross, refunded = EXCLUDED.refunded, rule_version = EXCLUDED.rule_version,
			status = EXCLUDED.status, reason = EXCLUDED.reason, state = EXCLUDED.state,
			captured_at = EXCLUDED.captured_at, updated_at = now()`,
			id, "stripe", id, "ch_1", "client_mixed", "order_1", "vendor_1", "usd", 10000, 0, 1, status, "", []byte(`{}`), time.Now())
		require.NoError(t, err)
	}
	oldSave("paying_out")
	// The payment has been paying out (settled, open for refunds) for three days.
	_, err := pool.Exec(ctx, `UPDATE payments SET status_since = now() - interval '3 days' WHERE workflow_id = $1`, id)
	require.NoError(t, err)
	oldSave("payout_failed") // the old worker: a payout failed just now
	var since time.Time
	require.NoError(t, pool.QueryRow(ctx, `SELECT status_since FROM payments WHERE workflow_id = $1`, id).Scan(&since))
	require.WithinDuration(t, time.Now(), since, time.Minute,
		fmt.Sprintf("payout_failed since %s: a payout_failed_age monitor sees it waiting %s", since.Format(time.RFC3339), time.Since(since).Round(time.Hour)))
}

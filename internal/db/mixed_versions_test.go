package db_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"paysplit/internal/money"
	"paysplit/internal/payment"
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

// The previous API's SaveOrder (internal/store/orders.go at b5369ea) after migration 00023: an
// order state an old API task stores (the rolling deploy's minutes, or a rollback) must not
// leave behind the shop time of the state it replaced. Otherwise the new API compares the next
// event with that older time and takes an event older than the state the old task stored: here
// a refund stored by an old task is undone by an orders/paid body from before the refund,
// resent (its delivery ID is not signed) or delivered late, to a new task. The old write leaves
// the order without shop times, and the status rank decides the next event made before the old
// write (its updated_at); one the shop made after it is newer and taken on time.
func TestPreviousAPIOrderSaveLeavesNoStaleShopTime(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	s := store.New(pool)
	client := uniqueKey("client-order-mixed")
	_, _, err := s.UpsertClient(ctx, store.Client{ID: client, Name: client, DefaultCurrency: money.USD})
	require.NoError(t, err)
	order := payment.Order{ClientID: client, OrderID: "1042", Platform: "shopify", Currency: "usd", VendorID: "v1", Subtotal: 10000}
	paidAt := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

	// A new API task stores the order paid at 10:00 (shop time).
	saved, err := s.SaveOrderIfNewer(ctx, order, "paid", paidAt)
	require.NoError(t, err)
	require.True(t, saved)

	// An old API task stores the refund the shop made at 11:00.
	oldSave := func(o payment.Order, status string) {
		t.Helper()
		require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `
			INSERT INTO orders (client_id, order_id, platform, currency, subtotal, tax, shipping, discount, affiliate_id, status)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (client_id, order_id) DO UPDATE SET platform = EXCLUDED.platform, currency = EXCLUDED.currency,
				subtotal = EXCLUDED.subtotal, tax = EXCLUDED.tax, shipping = EXCLUDED.shipping, discount = EXCLUDED.discount,
				affiliate_id = EXCLUDED.affiliate_id, status = EXCLUDED.status, updated_at = now()`,
				o.ClientID, o.OrderID, o.Platform, string(o.Currency), o.Subtotal, o.Tax, o.Shipping, o.Discount, o.AffiliateID, status)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM order_lines WHERE client_id = $1 AND order_id = $2`, o.ClientID, o.OrderID); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `INSERT INTO order_lines (client_id, order_id, line_no, vendor_id, subtotal, tax, discount)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, o.ClientID, o.OrderID, 0, o.VendorID, o.Subtotal, o.Tax, o.Discount)
			return err
		}))
	}
	var newWrite, oldWrite time.Time
	require.NoError(t, pool.QueryRow(ctx, `SELECT updated_at FROM orders WHERE client_id = $1 AND order_id = '1042'`, client).Scan(&newWrite))
	oldSave(order, "refunded")
	// The old write sets the row's write time, which bounds the shop times it leaves unknown.
	require.NoError(t, pool.QueryRow(ctx, `SELECT updated_at FROM orders WHERE client_id = $1 AND order_id = '1042'`, client).Scan(&oldWrite))
	require.True(t, oldWrite.After(newWrite), "the old task's write left updated_at at the new task's write")
	// Migration 00024's trigger: a write that does not say what shop time it stores leaves none.
	var stateAt, amountsAt *time.Time
	require.NoError(t, pool.QueryRow(ctx, `SELECT shop_updated_at, shop_amounts_at FROM orders WHERE client_id = $1 AND order_id = '1042'`,
		client).Scan(&stateAt, &amountsAt))
	require.Nil(t, stateAt, "the old task's refund kept the paid state's shop time")
	require.Nil(t, amountsAt)

	// A new API task gets an orders/paid body of 10:30, from before the refund.
	saved, err = s.SaveOrderIfNewer(ctx, order, "paid", paidAt.Add(30*time.Minute))
	require.NoError(t, err)
	var status string
	require.NoError(t, pool.QueryRow(ctx, `SELECT status FROM orders WHERE client_id = $1 AND order_id = '1042'`, client).Scan(&status))
	require.False(t, saved, "an order event older than the state an old API task stored was taken: the order reads %q again", status)
	require.Equal(t, "refunded", status)

	// A body the shop made after the old task's write (the order re-opened and edited) is newer
	// than anything the old task stored: its amounts and status are taken whatever the rank.
	reopened := order
	reopened.Subtotal = 12000
	saved, err = s.SaveOrderIfNewer(ctx, reopened, "paid", time.Now().Add(time.Hour).UTC().Truncate(time.Second))
	require.NoError(t, err)
	require.True(t, saved, "a body made after the old task's write was refused")
	got, err := s.GetOrder(ctx, client, "1042")
	require.NoError(t, err)
	require.Equal(t, int64(12000), got.Subtotal)
	require.NoError(t, pool.QueryRow(ctx, `SELECT status FROM orders WHERE client_id = $1 AND order_id = '1042'`, client).Scan(&status))
	require.Equal(t, "paid", status)
}

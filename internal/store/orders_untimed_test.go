package store_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"paysplit/internal/payment"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// TestUntimedOrderTakesABodyMadeAfterItsLastWrite: an order stored before migration 00023 (or by
// the previous release during the rolling deploy, whose write the 00024 trigger leaves untimed)
// has no shop times. A WooCommerce order cancelled then, re-opened and edited after the upgrade
// (status processing, new lines, a shop time well after the stored row was written) is a newer
// full body: its amounts must be stored. With the rank alone deciding (processing < cancelled)
// state AND amounts were refused, and every later processing/completed body of the order the same
// way, so a payment for the re-opened order was split on the cancelled order's old amounts. The
// row's own write time (orders.updated_at) bounds the unknown shop time: a body made after it is
// newer.
func TestUntimedOrderTakesABodyMadeAfterItsLastWrite(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s, ctx := store.New(pool), t.Context()
	client := "untimed-reopen"
	kpiClient(t, s, client)
	// The previous release's insert: no shop time (the row's own updated_at is now()).
	untimedCancelled(t, pool, client, "w-1", "woocommerce", 0)
	_, err := pool.Exec(ctx, `INSERT INTO order_lines (client_id, order_id, line_no, vendor_id, subtotal)
		VALUES ($1, 'w-1', 0, $2, 1000)`, client, client+"-v")
	require.NoError(t, err)

	reopened := payment.Order{ClientID: client, OrderID: "w-1", Platform: "woocommerce", Currency: "usd",
		VendorID: client + "-v", Subtotal: 1500}
	later := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	for i, st := range []string{"pending", "processing", "completed"} {
		saved, err := s.SaveOrderIfNewer(ctx, reopened, st, later.Add(time.Duration(i)*time.Minute))
		require.NoError(t, err)
		got, err := s.GetOrder(ctx, client, "w-1")
		require.NoError(t, err)
		require.Equal(t, int64(1500), got.Subtotal,
			"re-opened order's %s body (shop time after the stored row was written) refused (saved=%v): amounts stay %d", st, saved, got.Subtotal)
	}
}

// TestUntimedOrderLeavesABodyMadeBeforeItsLastWriteToTheRank: over an order of no known shop time,
// a body made before the row was last written (a replay of an old signed body under a new delivery
// ID), or within the clock skew allowed after it, may be older than what is stored: the rank
// decides, and a cancelled order is not brought back to processing nor its amounts replaced.
func TestUntimedOrderLeavesABodyMadeBeforeItsLastWriteToTheRank(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s, ctx := store.New(pool), t.Context()
	client := "untimed-replay"
	kpiClient(t, s, client)
	untimedCancelled(t, pool, client, "w-1", "woocommerce", 0)
	old := payment.Order{ClientID: client, OrderID: "w-1", Platform: "woocommerce", Currency: "usd",
		VendorID: client + "-v", Subtotal: 1500}
	for _, at := range []time.Time{time.Now().Add(-time.Hour), time.Now().Add(time.Minute)} {
		saved, err := s.SaveOrderIfNewer(ctx, old, "processing", at.UTC().Truncate(time.Second))
		require.NoError(t, err)
		require.False(t, saved, "a body of %s over an untimed cancelled order was taken", at)
		got, err := s.GetOrder(ctx, client, "w-1")
		require.NoError(t, err)
		require.Equal(t, int64(1000), got.Subtotal)
		var status string
		require.NoError(t, pool.QueryRow(ctx, `SELECT status FROM orders WHERE client_id = $1`, client).Scan(&status))
		require.Equal(t, "cancelled", status)
	}
}

// TestUntimedOrderTakesAStatusMadeAfterItsLastWrite: a status-only event (a refund, a TikTok or Meta
// status change) made after an untimed order's last write is newer whatever its rank, and dates the
// status only: a later body still brings its amounts.
func TestUntimedOrderTakesAStatusMadeAfterItsLastWrite(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s, ctx := store.New(pool), t.Context()
	client := "untimed-status"
	kpiClient(t, s, client)
	untimedCancelled(t, pool, client, "t-1", "tiktok", 24*time.Hour)
	later := time.Now().Add(-time.Hour).UTC().Truncate(time.Second) // a day after the row's write
	saved, err := s.UpdateOrderStatusIfNewer(ctx, client, "t-1", "awaiting_shipment", later)
	require.NoError(t, err)
	require.True(t, saved, "a status made after the untimed order's last write was refused")
	saved, err = s.UpdateOrderStatusIfNewer(ctx, client, "t-1", "unpaid", later.Add(-time.Minute))
	require.NoError(t, err)
	require.False(t, saved, "once timed, an older status is refused")
	var status string
	var stateAt, amountsAt *time.Time
	require.NoError(t, pool.QueryRow(ctx, `SELECT status, shop_updated_at, shop_amounts_at FROM orders WHERE client_id = $1`,
		client).Scan(&status, &stateAt, &amountsAt))
	require.Equal(t, "awaiting_shipment", status)
	require.NotNil(t, stateAt)
	require.Nil(t, amountsAt, "a status-only event dated the amounts")
}

// untimedCancelled stores a cancelled order of 1000 as the previous release wrote it: no shop
// time, the row written age ago.
func untimedCancelled(t *testing.T, pool *pgxpool.Pool, client, orderID, platform string, age time.Duration) {
	t.Helper()
	_, err := pool.Exec(t.Context(), `INSERT INTO orders (client_id, order_id, platform, currency, subtotal, status, updated_at)
		VALUES ($1, $2, $3, 'usd', 1000, 'cancelled', now() - make_interval(secs => $4))`, client, orderID, platform, age.Seconds())
	require.NoError(t, err)
}

package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStorefrontStatusBeforeItsOrderIsKept: shops deliver out of order, so a status change (a
// Shopify refund, a Meta status change) may come before the order it changes. It was answered
// unknown_order and dropped, and the order, stored after it, kept its own body's older status: a
// refunded order read paid, a cancelled one created, where the same deliveries in order left it
// refunded or cancelled. The change is now kept ("kept"), deduplicated on its delivery ID as any
// delivery, and applied when the order arrives by the rule every state is: newest by the shop's
// time wins (a refund older than the order body it precedes changes nothing, as in order).
func TestStorefrontStatusBeforeItsOrderIsKept(t *testing.T) {
	e := newShopEnv(t, nil, "")
	paid := shopSample(t, "shopify_orders_paid.json") // updated_at 2024-03-14T10:21:09-04:00, 122.57 USD
	igOrder := shopSample(t, "instagram_commerce_order.json")
	// entry time 1712755203: after the order's entry (1712755200).
	igCancel := []byte(`{"object":"page","entry":[{"id":"110493227123456","time":1712755203,"changes":[{"field":"commerce_orders",` +
		`"value":{"id":"368508827392800","order_status":{"state":"CANCELLED"}}}]}]}`)
	tests := []struct {
		name          string
		order, status delivery
		orderID, want string
	}{
		{"shopify full refund before its order", shopifyDelivery("orders/paid", "paid-1", paid),
			shopifyDelivery("refunds/create", "refund-1", shopSample(t, "shopify_refunds_create.json")), // 2024-03-20, 122.57 USD
			"5934021746733", "refunded"},
		{"shopify partial refund before its order", shopifyDelivery("orders/paid", "paid-1", paid),
			shopifyDelivery("refunds/create", "refund-2", withFields(t, shopSample(t, "shopify_refunds_create.json"), map[string]any{
				"transactions": []any{map[string]any{"id": 1, "kind": "refund", "status": "success", "amount": "20.00", "currency": "USD"}}})),
			"5934021746733", "partially_refunded"},
		{"shopify refund older than the order body it precedes", shopifyDelivery("orders/paid", "paid-1", paid),
			shopifyDelivery("refunds/create", "refund-3", withFields(t, shopSample(t, "shopify_refunds_create.json"), map[string]any{
				"created_at": "2024-03-10T09:12:44-04:00"})),
			"5934021746733", "paid"},
		{"instagram cancellation before its order", instagramDelivery(igOrder), instagramDelivery(igCancel),
			"368508827392800", "cancelled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inOrder, early := e.newShopClient(), e.newShopClient()
			for _, d := range []delivery{tc.order, tc.status} {
				code, out := e.post(inOrder, d)
				require.Equal(t, http.StatusOK, code, out)
			}
			require.Equal(t, tc.want, e.status(inOrder, tc.orderID), "delivered in order")

			var answers []any
			for _, d := range []delivery{tc.status, tc.status, tc.order} {
				code, out := e.post(early, d)
				require.Equal(t, http.StatusOK, code, out)
				answers = append(answers, out["status"])
			}
			require.Equal(t, tc.want, e.status(early, tc.orderID), "the change delivered before its order")
			// Kept, its retry a duplicate (kept once), then the order stored.
			require.Equal(t, []any{"kept", "duplicate", "stored"}, answers)
			require.Zero(t, e.earlyStatuses(early), "applied once: nothing left to apply again")
		})
	}
}

// TestStorefrontStatusOfAnUnknownOrder: a status change for an order not stored is kept, with its
// delivery's claim, and stores no order and signals no payment. TikTok's pushes carry no order,
// so a TikTok order is never stored from a webhook: its change would wait for nothing and is
// answered unknown_order, keeping nothing, not even its claim.
func TestStorefrontStatusOfAnUnknownOrder(t *testing.T) {
	e := newShopEnv(t, nil, "")
	tests := []struct {
		name   string
		d      delivery
		answer string
		kept   int
	}{
		{"tiktok status change", tiktokDelivery(shopSample(t, "tiktok_order_status_change.json")), "unknown_order", 0},
		{"shopify refund", shopifyDelivery("refunds/create", "d-12", shopSample(t, "shopify_refunds_create.json")), "kept", 1},
		{"instagram status change", instagramDelivery([]byte(`{"object":"page","entry":[{"id":"110493227123456","time":1712755203,` +
			`"changes":[{"field":"commerce_orders","value":{"id":"368508827392800","order_status":{"state":"CANCELLED"}}}]}]}`)), "kept", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := e.newShopClient()
			code, out := e.post(c, tc.d)
			require.Equal(t, http.StatusOK, code, out)
			require.Equal(t, tc.answer, out["status"])
			require.Equal(t, tc.kept, e.earlyStatuses(c))
			var orders, claims int
			require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM orders WHERE client_id = $1),
				(SELECT count(*) FROM webhook_deliveries WHERE client_id = $1)`, c).Scan(&orders, &claims))
			require.Zero(t, orders, "no order stored")
			require.Equal(t, tc.kept, claims, "a kept delivery is claimed (its retry is a duplicate); one kept for nothing is not")
			signals, _ := e.temporal.sent()
			require.Empty(t, signals, "no workflow signalled")
		})
	}
}

// holdEarlyStatusWrites holds every write to early_order_statuses (a transaction holding the
// table in EXCLUSIVE mode) until the test commits the returned transaction; rolled back at the
// test's end otherwise.
func (e *shopEnv) holdEarlyStatusWrites() pgx.Tx {
	e.t.Helper()
	ctx := context.Background()
	lock, err := e.pool.Begin(ctx)
	require.NoError(e.t, err)
	e.t.Cleanup(func() { _ = lock.Rollback(ctx) }) // a no-op once committed
	_, err = lock.Exec(ctx, `LOCK TABLE early_order_statuses IN EXCLUSIVE MODE`)
	require.NoError(e.t, err, "hold writes to early_order_statuses")
	return lock
}

// earlyStatuses counts the status changes kept for a client's orders not stored yet.
func (e *shopEnv) earlyStatuses(client string) int {
	e.t.Helper()
	var n int
	require.NoError(e.t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM early_order_statuses WHERE client_id = $1`, client).Scan(&n))
	return n
}

// TestStorefrontStatusAndItsOrderAtOnce: a status change and its order delivered at once must not
// miss each other (the change looking before the order is committed, the order taking the kept
// changes before the change is committed: kept for no one). Each takes a per-order lock before it
// looks. Made deterministic by holding writes to early_order_statuses (LOCK TABLE ... IN EXCLUSIVE
// MODE) until the change, having found no order, waits to keep itself; the order's delivery then
// waits for it on the per-order lock, and stores the order after the change is kept.
func TestStorefrontStatusAndItsOrderAtOnce(t *testing.T) {
	e := newShopEnv(t, nil, "")
	c, ctx := e.newShopClient(), context.Background()
	lock := e.holdEarlyStatusWrites()

	answers := make(chan any, 2)
	post := func(d delivery) {
		code, out := e.post(c, d)
		if code != http.StatusOK {
			answers <- out
			return
		}
		answers <- out["status"]
	}
	waiting := func(what, cond string) {
		require.EventuallyWithT(t, func(col *assert.CollectT) {
			var n int
			err := e.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
				AND wait_event_type = 'Lock' AND `+cond).Scan(&n)
			if assert.NoError(col, err) {
				assert.Equal(col, 1, n, what)
			}
		}, time.Minute, 20*time.Millisecond)
	}
	go post(shopifyDelivery("refunds/create", "refund-1", shopSample(t, "shopify_refunds_create.json")))
	waiting("the refund, having found no order, waits to keep itself", `query LIKE 'INSERT INTO early_order_statuses%'`)
	go post(shopifyDelivery("orders/paid", "paid-1", shopSample(t, "shopify_orders_paid.json")))
	waiting("the order waits for the refund's transaction", `wait_event = 'advisory'`)
	require.NoError(t, lock.Commit(ctx))

	got := []any{<-answers, <-answers}
	require.ElementsMatch(t, []any{"kept", "stored"}, got)
	require.Equal(t, "refunded", e.status(c, "5934021746733"))
	require.Zero(t, e.earlyStatuses(c))
}

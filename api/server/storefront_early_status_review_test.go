package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// metaStatuses is a Meta delivery of status changes (no order bodies), one per order ID, in the
// order given, all at the entry's time.
func metaStatuses(at int64, state string, orderIDs ...string) []byte {
	changes := ""
	for i, id := range orderIDs {
		if i > 0 {
			changes += ","
		}
		changes += fmt.Sprintf(`{"field":"commerce_orders","value":{"id":%q,"order_status":{"state":%q}}}`, id, state)
	}
	return fmt.Appendf(nil, `{"object":"page","entry":[{"id":"110493227123456","time":%d,"changes":[%s]}]}`, at, changes)
}

// TestStorefrontEarlyStatusesOfTwoOrdersInOppositeOrders: Meta batches several changes in one
// delivery. Two deliveries naming the same two orders not stored yet, in opposite orders, arrive
// at once: each takes one order's lock and waits for the other's. Both must be kept; before the
// delivery took its orders' locks in one order (sorted), Postgres broke the deadlock by failing
// one of them (500, "deadlock detected"), where before the per-order lock neither took any.
// Made deterministic by holding writes to early_order_statuses until both wait to keep their
// first change (each then holding its first order's lock).
func TestStorefrontEarlyStatusesOfTwoOrdersInOppositeOrders(t *testing.T) {
	e := newShopEnv(t, nil, "")
	c, ctx := e.newShopClient(), context.Background()
	lock := e.holdEarlyStatusWrites()

	answers := make(chan string, 2)
	post := func(d delivery) {
		code, out := e.post(c, d)
		answers <- fmt.Sprintf("%d %v", code, out["status"])
	}
	waiting := func(n int) {
		require.EventuallyWithT(t, func(col *assert.CollectT) {
			var got int
			err := e.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
				AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO early_order_statuses%'`).Scan(&got)
			if assert.NoError(col, err) {
				assert.Equal(col, n, got)
			}
		}, time.Minute, 20*time.Millisecond)
	}
	go post(instagramDelivery(metaStatuses(1712755203, "CANCELLED", "9000000000001", "9000000000002")))
	waiting(1)
	go post(instagramDelivery(metaStatuses(1712755203, "CANCELLED", "9000000000002", "9000000000001")))
	// Before the fix the second waits on its first change's insert; after it, on the first's
	// lock of order ...001 (it holds none yet): either way it is in flight once one is waiting
	// on the insert and the other on a lock.
	require.EventuallyWithT(t, func(col *assert.CollectT) {
		var got int
		err := e.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND query NOT LIKE 'LOCK TABLE%'`).Scan(&got)
		if assert.NoError(col, err) {
			assert.Equal(col, 2, got)
		}
	}, time.Minute, 20*time.Millisecond)
	require.NoError(t, lock.Commit(ctx))

	got := []string{<-answers, <-answers}
	require.Equal(t, []string{"200 kept", "200 kept"}, got, "%s", e.logs.String())
	require.Equal(t, 4, e.earlyStatuses(c))
}

// TestStorefrontEarlyStatusOfAnotherPlatformsOrder: order IDs are per client, and one stored from
// a platform is refused from another (200 invalid_order). A status change kept under one platform is never applied to an
// order of the same ID that another platform delivers: that order keeps its own status, the
// change stays kept (for retention), and the first platform's order is then refused.
func TestStorefrontEarlyStatusOfAnotherPlatformsOrder(t *testing.T) {
	e := newShopEnv(t, nil, "")
	igOrder := shopSample(t, "instagram_commerce_order.json") // order 368508827392800
	alone := e.newShopClient()
	code, out := e.post(alone, instagramDelivery(igOrder))
	require.Equal(t, http.StatusOK, code, out)

	c := e.newShopClient()
	refund := withFields(t, shopSample(t, "shopify_refunds_create.json"), map[string]any{"order_id": 368508827392800})
	code, out = e.post(c, shopifyDelivery("refunds/create", "refund-x", refund))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "kept", out["status"])
	code, out = e.post(c, instagramDelivery(igOrder))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "stored", out["status"])
	require.Equal(t, e.status(alone, "368508827392800"), e.status(c, "368508827392800"), "the Instagram order's own status")
	require.Equal(t, 1, e.earlyStatuses(c), "the Shopify refund stays kept")

	paid := withFields(t, shopSample(t, "shopify_orders_paid.json"), map[string]any{"id": 368508827392800})
	code, out = e.post(c, shopifyDelivery("orders/paid", "paid-x", paid))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "invalid_order", out["status"], out)
	require.Equal(t, 1, e.earlyStatuses(c), "a refused delivery takes nothing")
}

// TestStorefrontSeveralEarlyStatusesAsInOrder: several status changes kept for one order are
// applied, when it arrives, to the same state as the same changes delivered after it, in either
// order of arrival: by the shop's times, and by the rank at equal times.
func TestStorefrontSeveralEarlyStatusesAsInOrder(t *testing.T) {
	e := newShopEnv(t, nil, "")
	paid := shopSample(t, "shopify_orders_paid.json") // 122.57 USD, updated_at 2024-03-14
	refund := func(id, at, amount, currency string) delivery {
		return shopifyDelivery("refunds/create", id, withFields(t, shopSample(t, "shopify_refunds_create.json"), map[string]any{
			"created_at":   at,
			"transactions": []any{map[string]any{"id": 1, "kind": "refund", "status": "success", "amount": amount, "currency": currency}}}))
	}
	igOrder := shopSample(t, "instagram_commerce_order.json") // entry time 1712755200
	tests := []struct {
		name     string
		order    delivery
		orderID  string
		statuses []delivery
		want     string
	}{
		{"a partial refund, then the full one later", shopifyDelivery("orders/paid", "p", paid), "5934021746733",
			[]delivery{refund("r1", "2024-03-20T09:00:00-04:00", "20.00", "USD"), refund("r2", "2024-03-21T09:00:00-04:00", "122.57", "USD")},
			"refunded"},
		{"a full refund in another currency is partial", shopifyDelivery("orders/paid", "p", paid), "5934021746733",
			[]delivery{refund("r1", "2024-03-20T09:00:00-04:00", "122.57", "EUR")}, "partially_refunded"},
		{"a full refund then a later partial (the shop's word last)", shopifyDelivery("orders/paid", "p", paid), "5934021746733",
			[]delivery{refund("r1", "2024-03-20T09:00:00-04:00", "122.57", "USD"), refund("r2", "2024-03-21T09:00:00-04:00", "1.00", "USD")},
			"partially_refunded"},
		{"two Meta changes of one second: the rank decides", instagramDelivery(igOrder), "368508827392800",
			[]delivery{instagramDelivery(metaStatuses(1712755203, "COMPLETED", "368508827392800")),
				instagramDelivery(metaStatuses(1712755203, "CANCELLED", "368508827392800"))}, "cancelled"},
		{"a Meta change of the order's own second", instagramDelivery(igOrder), "368508827392800",
			[]delivery{instagramDelivery(metaStatuses(1712755200, "IN_PROGRESS", "368508827392800"))}, "in_progress"},
	}
	for _, tc := range tests {
		for _, reversed := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s reversed=%v", tc.name, reversed), func(t *testing.T) {
				statuses := append([]delivery(nil), tc.statuses...)
				if reversed {
					for i, j := 0, len(statuses)-1; i < j; i, j = i+1, j-1 {
						statuses[i], statuses[j] = statuses[j], statuses[i]
					}
				}
				inOrder, early := e.newShopClient(), e.newShopClient()
				for _, d := range append([]delivery{tc.order}, statuses...) {
					code, out := e.post(inOrder, d)
					require.Equal(t, http.StatusOK, code, out)
				}
				for _, d := range append(statuses, tc.order) {
					code, out := e.post(early, d)
					require.Equal(t, http.StatusOK, code, out)
				}
				require.Equal(t, e.status(inOrder, tc.orderID), e.status(early, tc.orderID), "early as in order")
				require.Zero(t, e.earlyStatuses(early))
				require.Equal(t, tc.want, e.status(early, tc.orderID))
			})
		}
	}
}

// metaWith is a Meta delivery of the sample order's entry followed by one more entry of status
// changes.
func metaWith(t *testing.T, order []byte, statuses []byte) []byte {
	t.Helper()
	var o, s map[string]any
	require.NoError(t, json.Unmarshal(order, &o))
	require.NoError(t, json.Unmarshal(statuses, &s))
	o["entry"] = append(o["entry"].([]any), s["entry"].([]any)...)
	out, err := json.Marshal(o)
	require.NoError(t, err)
	return out
}

// TestStorefrontDeliveryOfOrdersAndStatusChanges: one Meta delivery may carry an order and status
// changes. A change of the order it carries is applied to it by the shop's times (wherever it
// stands in the delivery); a change of an order not stored is kept; a change of another
// platform's order is refused alone (kept for an admin), and the rest of the delivery is applied:
// the conflict is for good, and refusing the whole delivery lost its other orders with it. A
// WooCommerce order.updated carries the whole order, so one for an order not stored stores it.
func TestStorefrontDeliveryOfOrdersAndStatusChanges(t *testing.T) {
	e := newShopEnv(t, nil, "")
	ctx := context.Background()
	igOrder := shopSample(t, "instagram_commerce_order.json") // order 368508827392800, entry time 1712755200
	const ig = "368508827392800"

	t.Run("a change of the order it carries and one of an order not stored", func(t *testing.T) {
		c := e.newShopClient()
		code, out := e.post(c, instagramDelivery(metaWith(t, igOrder, metaStatuses(1712755203, "CANCELLED", ig, "9000000000003"))))
		require.Equal(t, http.StatusOK, code, out)
		require.Equal(t, "stored", out["status"])
		require.Equal(t, "cancelled", e.status(c, ig))
		require.Equal(t, 1, e.earlyStatuses(c), "the unknown order's change kept")
	})
	t.Run("a change older than the order it comes with", func(t *testing.T) {
		c := e.newShopClient()
		code, out := e.post(c, instagramDelivery(metaWith(t, igOrder, metaStatuses(1712755100, "CANCELLED", ig))))
		require.Equal(t, http.StatusOK, code, out)
		require.Equal(t, "created", e.status(c, ig))
		require.Zero(t, e.earlyStatuses(c))
	})
	t.Run("a change of another platform's order is refused alone", func(t *testing.T) {
		c := e.newShopClient()
		paid := withFields(t, shopSample(t, "shopify_orders_paid.json"), map[string]any{"id": 9000000000004})
		code, out := e.post(c, shopifyDelivery("orders/paid", "paid-4", paid))
		require.Equal(t, http.StatusOK, code, out)
		shopifyStatus := e.status(c, "9000000000004")
		// Order 9000000000004 is Shopify's: Meta's change of it is refused, the rest applied.
		code, out = e.post(c, instagramDelivery(metaWith(t, igOrder, metaStatuses(1712755203, "CANCELLED", "9000000000005", "9000000000004"))))
		require.Equal(t, http.StatusOK, code, out)
		require.Equal(t, "stored", out["status"])
		require.Equal(t, []any{ig, "9000000000005"}, out["order_ids"], "the refused order is not among those applied")
		require.Equal(t, "created", e.status(c, ig), "the delivery's order stored")
		require.Equal(t, 1, e.earlyStatuses(c), "the unknown order's change kept")
		require.Equal(t, shopifyStatus, e.status(c, "9000000000004"), "Shopify's order untouched")
	})
	t.Run("woocommerce order.updated of an order not stored", func(t *testing.T) {
		c := e.newShopClient()
		code, out := e.post(c, wooDelivery("order.updated", "wc-1", shopSample(t, "woocommerce_order_created.json")))
		require.Equal(t, http.StatusOK, code, out)
		require.Equal(t, "stored", out["status"])
		require.Zero(t, e.earlyStatuses(c))
		var n int
		require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM orders WHERE client_id = $1`, c).Scan(&n))
		require.Equal(t, 1, n)
	})
}

// TestStorefrontEarlyStatusDeliveredTwiceAtOnce: a shop's retry arriving while the first delivery
// of a status change is still being kept waits for it on the delivery's claim and is then a
// duplicate: the change is kept once.
func TestStorefrontEarlyStatusDeliveredTwiceAtOnce(t *testing.T) {
	e := newShopEnv(t, nil, "")
	c, ctx := e.newShopClient(), context.Background()
	lock := e.holdEarlyStatusWrites()
	answers := make(chan any, 2)
	d := shopifyDelivery("refunds/create", "refund-twice", shopSample(t, "shopify_refunds_create.json"))
	post := func() {
		code, out := e.post(c, d)
		answers <- fmt.Sprint(code, " ", out["status"])
	}
	waitingLocks := func(n int) {
		require.EventuallyWithT(t, func(col *assert.CollectT) {
			var got int
			err := e.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
				AND wait_event_type = 'Lock' AND query NOT LIKE 'LOCK TABLE%'`).Scan(&got)
			if assert.NoError(col, err) {
				assert.Equal(col, n, got)
			}
		}, time.Minute, 20*time.Millisecond)
	}
	go post()
	waitingLocks(1) // keeping itself, its claim written
	go post()
	waitingLocks(2) // the retry, on the claim
	require.NoError(t, lock.Commit(ctx))
	require.ElementsMatch(t, []any{"200 kept", "200 duplicate"}, []any{<-answers, <-answers})
	require.Equal(t, 1, e.earlyStatuses(c))
}

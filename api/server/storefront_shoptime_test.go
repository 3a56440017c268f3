package server_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStorefrontSameSecondEventCannotUndoARefund: between two events of the same shop second the
// one further on (store.OrderStateRank) wins, not the one that arrives last. Shopify's refund
// clock (refund created_at) and order clock (updated_at) are second-resolution and a refund bumps
// the order's updated_at to its own second; an orders/paid body of that second delivered after
// the refund (Shopify delivers out of order; its webhook ID is unsigned, so the same body may also
// be resent under a new ID) brought "paid" back over "refunded" when equal times were stored
// again whatever the state.
func TestStorefrontSameSecondEventCannotUndoARefund(t *testing.T) {
	e := newShopEnv(t, nil, "")
	c := e.newShopClient()
	const at = "2024-03-20T09:12:44-04:00"
	paid := withFields(t, shopSample(t, "shopify_orders_paid.json"), map[string]any{"updated_at": at})
	refund := withFields(t, shopSample(t, "shopify_refunds_create.json"), map[string]any{"created_at": at})

	code, out := e.post(c, shopifyDelivery("orders/paid", "paid-1", paid))
	require.Equal(t, http.StatusOK, code, out)
	code, out = e.post(c, shopifyDelivery("refunds/create", "refund-1", refund))
	require.Equal(t, http.StatusOK, code, out)
	afterRefund := e.status(c, "5934021746733")
	require.Contains(t, []string{"refunded", "partially_refunded"}, afterRefund)

	code, out = e.post(c, shopifyDelivery("orders/paid", "paid-1-again", paid))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, afterRefund, e.status(c, "5934021746733"),
		"an orders/paid of the refund's own second, arriving after it, undid the refund (outcome %v)", out["status"])
}

// TestStorefrontMetaEventsComparedOnOneClock: Meta changes are all timed by the entry's time.
// When a change with last_updated was timed by it and one without by the entry's time, two clocks
// were compared (the repository's own order sample has entry time 13:20:00 and last_updated
// 13:20:05), so a cancellation sent right after the order, in an entry timed before the order's
// last_updated, was answered "stale" and dropped: the order never read cancelled.
func TestStorefrontMetaEventsComparedOnOneClock(t *testing.T) {
	e := newShopEnv(t, nil, "")
	c := e.newShopClient()
	code, out := e.post(c, instagramDelivery(shopSample(t, "instagram_commerce_order.json")))
	require.Equal(t, http.StatusOK, code, out)
	// entry time 1712755203 = 2024-04-10T13:20:03Z: after the order's own entry (13:20:00), before
	// its last_updated (13:20:05).
	cancelled := []byte(`{"object":"page","entry":[{"id":"110493227123456","time":1712755203,"changes":[{"field":"commerce_orders",` +
		`"value":{"id":"368508827392800","order_status":{"state":"CANCELLED"}}}]}]}`)
	code, out = e.post(c, instagramDelivery(cancelled))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "cancelled", e.status(c, "368508827392800"), "the cancellation was dropped as %v", out["status"])
}

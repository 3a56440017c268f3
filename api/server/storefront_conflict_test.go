package server_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStorefrontOrderOfAnotherPlatformIsRefusedNotRetried: an order ID already stored from another
// platform of the client (order IDs are per client) was answered 409 order_conflict. The conflict
// is for good: the shop resends the same bytes, Shopify 8 times over 4 hours and then deletes a
// subscription made through its API, WooCommerce disables the webhook after 5 failures in a row,
// Meta retries and then drops the delivery, and with it every other order of its batch. Such an
// order is refused as an unreadable one is: 200 invalid_order with the reason, one audit entry
// for an admin; the other orders of a Meta batch are stored.
func TestStorefrontOrderOfAnotherPlatformIsRefusedNotRetried(t *testing.T) {
	e := newShopEnv(t, nil, "")
	c := e.client
	code, out := e.post(c, wooDelivery("order.created", "wc-conflict-1", shopSample(t, "woocommerce_order_created.json"))) // order 7311
	require.Equal(t, http.StatusOK, code, out)

	clash := []byte(`{"id":7311,"currency":"USD","financial_status":"paid","line_items":[{"vendor":"Other","price":"1.00","quantity":1}]}`)
	for range 2 { // the delivery and the shop's resend of it
		code, out = e.post(c, shopifyDelivery("orders/paid", "clash-1", clash))
		require.Equal(t, http.StatusOK, code, "answered 2xx, so the shop neither retries nor unsubscribes: %v", out)
		require.Equal(t, "invalid_order", out["status"], out)
		require.Contains(t, out["reason"], "already stored from woocommerce")
		require.Equal(t, []any{"7311"}, out["order_ids"])
	}
	got, err := e.store.GetOrder(t.Context(), c, "7311")
	require.NoError(t, err)
	require.Equal(t, "woocommerce", got.Platform, "the stored order is untouched")

	// A Meta batch: its own order is stored, the change of WooCommerce's order 7311 refused.
	batch := metaWith(t, shopSample(t, "instagram_commerce_order.json"), metaStatuses(1712755203, "CANCELLED", "7311"))
	code, out = e.post(c, instagramDelivery(batch))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "stored", out["status"], out)
	_, err = e.store.GetOrder(t.Context(), c, "368508827392800")
	require.NoError(t, err, "the batch's readable order was not stored")
	require.Equal(t, "processing", e.status(c, "7311"), "WooCommerce's order keeps its status")

	for platform, want := range map[string]string{"shopify": "7311", "instagram": "7311"} {
		code, out = e.json(req{method: http.MethodGet, key: adminKey,
			path: "/api/v1/admin/audit?action=storefront.order_refused&target=" + url.QueryEscape("client:"+c) + "&actor=storefront:" + platform})
		require.Equal(t, http.StatusOK, code, out)
		entries, _ := out["entries"].([]any)
		require.Len(t, entries, 1, "%s: %v", platform, out)
		after := entries[0].(map[string]any)["after"].(map[string]any)
		require.Equal(t, want, after["order_id"])
		require.Contains(t, after["reason"], "already stored from woocommerce")
	}
}

package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
)

// TestStorefrontOlderEventCannotOverwriteANewerState: a signed order event that is older than
// the state stored cannot bring that state back. Shopify's X-Shopify-Webhook-Id and WooCommerce's
// X-WC-Webhook-Delivery-ID are not signed, so an old signed body resent under a new ID passed the
// deduplication and was stored again (a refunded or cancelled order read paid again); TikTok's and
// Meta's IDs are signed or the body's hash, but their records go with KPI_RETENTION_DAYS, after
// which the same body is taken again; and shops deliver out of order anyway. The shop's own time
// of the event (Shopify updated_at or the refund's created_at, WooCommerce date_modified_gmt,
// TikTok update_time, Meta the entry's time) now decides: older is answered 200
// "stale" and changes nothing.
func TestStorefrontOlderEventCannotOverwriteANewerState(t *testing.T) {
	e := newShopEnv(t, nil, "")
	ctx := context.Background()
	// forgetDeliveries is what the retention schedule does to delivery records after
	// KPI_RETENTION_DAYS.
	forgetDeliveries := func(t *testing.T, client string) {
		_, err := e.pool.Exec(ctx, `DELETE FROM webhook_deliveries WHERE client_id = $1`, client)
		require.NoError(t, err)
	}
	wooPaid := shopSample(t, "woocommerce_order_created.json")
	wooCancelled := withFields(t, wooPaid, map[string]any{"status": "cancelled", "date_modified_gmt": "2024-04-12T08:00:00"})
	tiktokOld := shopSample(t, "tiktok_order_status_change.json")
	tiktokNew := []byte(`{"type":1,"tts_notification_id":"7327112393057371999","shop_id":"7494049642642441621","timestamp":1644499999,` +
		`"data":{"is_on_hold_order":false,"order_id":"576461413038785752","order_status":"CANCELLED","update_time":1644499990}}`)
	metaOld := shopSample(t, "instagram_order_status.json")
	metaNew := []byte(`{"object":"page","entry":[{"id":"110493227123456","time":1712928000,"changes":[{"field":"commerce_orders",` +
		`"value":{"id":"368508827392800","order_status":{"state":"CANCELLED"}}}]}]}`)

	tests := []struct {
		name    string
		orderID string
		seed    func(t *testing.T, client string) // the order stored before the events
		newer   delivery
		replay  func(t *testing.T, client string) delivery // the older event, again
		want    string
	}{
		{"shopify orders/paid resent under a new webhook ID after a refund", "5934021746733",
			func(t *testing.T, c string) {
				code, out := e.post(c, shopifyDelivery("orders/paid", "paid-1", shopSample(t, "shopify_orders_paid.json")))
				require.Equal(t, http.StatusOK, code, out)
			},
			shopifyDelivery("refunds/create", "refund-1", shopSample(t, "shopify_refunds_create.json")),
			func(_ *testing.T, _ string) delivery {
				return shopifyDelivery("orders/paid", "paid-1-replayed", shopSample(t, "shopify_orders_paid.json"))
			}, ""},
		{"woocommerce order.created resent under a new delivery ID after a cancellation", "7311",
			func(t *testing.T, c string) {
				code, out := e.post(c, wooDelivery("order.created", "wc-1", wooPaid))
				require.Equal(t, http.StatusOK, code, out)
			},
			wooDelivery("order.updated", "wc-2", wooCancelled),
			func(_ *testing.T, _ string) delivery { return wooDelivery("order.created", "wc-1-replayed", wooPaid) }, "cancelled"},
		{"tiktok push taken again once its record is gone", "576461413038785752",
			func(t *testing.T, c string) {
				require.NoError(t, e.store.SaveOrder(ctx, ipayment.Order{ClientID: c, OrderID: "576461413038785752", Platform: "tiktok",
					Currency: "usd", VendorID: c + "-7494049642642441621", Subtotal: 2500}, "unpaid"))
				code, out := e.post(c, tiktokDelivery(tiktokOld))
				require.Equal(t, http.StatusOK, code, out)
			},
			tiktokDelivery(tiktokNew),
			func(t *testing.T, c string) delivery { forgetDeliveries(t, c); return tiktokDelivery(tiktokOld) }, "cancelled"},
		{"instagram change taken again once its record is gone", "368508827392800",
			func(t *testing.T, c string) {
				code, out := e.post(c, instagramDelivery(shopSample(t, "instagram_commerce_order.json")))
				require.Equal(t, http.StatusOK, code, out)
				code, out = e.post(c, instagramDelivery(metaOld))
				require.Equal(t, http.StatusOK, code, out)
			},
			instagramDelivery(metaNew),
			func(t *testing.T, c string) delivery { forgetDeliveries(t, c); return instagramDelivery(metaOld) }, "cancelled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.newShopClient()
			tt.seed(t, c)
			code, out := e.post(c, tt.newer)
			require.Equal(t, http.StatusOK, code, out)
			want := tt.want
			if want == "" {
				want = e.status(c, tt.orderID)
			}
			require.NotEqual(t, "paid", want, "the newer event moved the order on")

			code, out = e.post(c, tt.replay(t, c))
			require.Equal(t, http.StatusOK, code, out)
			require.Equal(t, want, e.status(c, tt.orderID), "the older event brought the order's old state back")
			require.Equal(t, "stale", out["status"], out)
		})
	}
}

// withFields is body with some top-level fields set.
func withFields(t *testing.T, body []byte, fields map[string]any) []byte {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(body, &m))
	for k, v := range fields {
		m[k] = v
	}
	out, err := json.Marshal(m)
	require.NoError(t, err)
	return out
}

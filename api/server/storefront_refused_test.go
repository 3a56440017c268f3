package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStorefrontUnreadableOrderIsAnsweredAndKeptForAnAdmin: a signed order the parser cannot read
// (a POS or draft order's custom line with no vendor; WooCommerce totals that do not add up) was
// answered 400 invalid_order. The shop resends the same bytes: Shopify 8 times over 4 hours and
// then deletes a subscription made through its API, WooCommerce disables the webhook after 5
// failures in a row, so one odd order lost every later order of the client. It is now answered
// 200 naming the refusal and its reason, written nowhere but one audit entry per delivery that
// an admin lists (platform, order ID, topic, delivery ID, reason; nothing of the customer).
func TestStorefrontUnreadableOrderIsAnsweredAndKeptForAnAdmin(t *testing.T) {
	e := newShopEnv(t, nil, "")
	c := e.client
	// The sample order with a custom line item (a POS "custom sale"): Shopify sends its vendor null.
	paid := shopSample(t, "shopify_orders_paid.json")
	noVendor := bytes.Replace(paid, []byte(`"vendor": "Oak & Thread"`), []byte(`"vendor": null`), 1)
	require.NotEqual(t, paid, noVendor)
	wooOff := bytes.Replace(shopSample(t, "woocommerce_order_created.json"), []byte(`"total": "55.08"`), []byte(`"total": "55.18"`), 1)
	require.NoError(t, e.store.AddOrderWaiter(t.Context(), c, "5934021746733", "payment-stripe-pi_refused"))

	tests := []struct {
		name, deliveryID, platform, orderID, topic, reason string
		d                                                  delivery
	}{
		{"shopify custom line without a vendor", "b54557e4-refused", "shopify", "5934021746733", "orders/paid", "has no vendor",
			shopifyDelivery("orders/paid", "b54557e4-refused", noVendor)},
		{"woocommerce totals off", "", "woocommerce", "7311", "order.created", "total",
			wooDelivery("order.created", "9f8e7d6c-refused", wooOff)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 2 { // the delivery and the shop's resend of it
				code, out := e.post(c, tc.d)
				require.Equal(t, http.StatusOK, code, "answered 2xx, so the shop neither retries nor unsubscribes: %v", out)
				require.Equal(t, "invalid_order", out["status"], out)
				require.Contains(t, out["reason"], tc.reason)
				require.Equal(t, []any{tc.orderID}, out["order_ids"])
			}
			require.Empty(t, e.stored(c), "nothing stored, not even the delivery's claim")
			signals, _ := e.temporal.sent()
			require.Empty(t, signals, "no workflow signalled")

			// The admin sees it, once however often it was delivered.
			code, out := e.json(req{method: http.MethodGet, key: adminKey,
				path: "/api/v1/admin/audit?action=storefront.order_refused&target=" + url.QueryEscape("client:"+c) + "&actor=storefront:" + tc.platform})
			require.Equal(t, http.StatusOK, code, out)
			entries, _ := out["entries"].([]any)
			require.Len(t, entries, 1, out)
			after := entries[0].(map[string]any)["after"].(map[string]any)
			require.Equal(t, tc.platform, after["platform"])
			require.Equal(t, c, after["client_id"])
			require.Equal(t, tc.orderID, after["order_id"])
			require.Equal(t, tc.topic, after["topic"])
			require.Contains(t, after["reason"], tc.reason)
			if tc.deliveryID != "" {
				require.Equal(t, tc.deliveryID, after["delivery_id"])
			} else {
				require.NotEmpty(t, after["delivery_id"])
			}
			raw, err := json.Marshal(entries)
			require.NoError(t, err)
			text := strings.ToLower(string(raw) + e.logs.String())
			for _, s := range customerData {
				require.NotContains(t, text, s, "customer data in the refusal")
			}
		})
	}
	require.NotEmpty(t, scrapeSeries(t, e.url, "paysplit_webhook_events_total", `provider="shopify"`, `outcome="invalid"`, `type="orders/paid"`))

	// The client's next order is stored as ever.
	code, out := e.post(c, shopifyDelivery("orders/paid", "after-refusal", paid))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "stored", out["status"])
}

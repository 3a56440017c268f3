package storefront_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/storefront"
)

// TestRefusedOrderIDOfAMetaDelivery: a refused delivery is kept for an admin with the order it is
// about, so it can be found by its order. A Meta delivery names its order inside
// entry[].changes[].value, and RefusedOrderID read only the top-level keys Shopify and WooCommerce
// use: every refused Meta order was recorded with no order ID. It names the order when the
// delivery's commerce_orders changes are all of one order, and none when they are of several.
func TestRefusedOrderIDOfAMetaDelivery(t *testing.T) {
	change := func(id string) string {
		return `{"field": "commerce_orders", "value": {"id": "` + id + `", "estimated_payment_details": {}}}`
	}
	tests := []struct {
		name, body, want string
	}{
		{"one order", `{"object": "page", "entry": [{"id": "110493227123456", "time": 1712755200, "changes": [` + change("368508827392800") + `]}]}`, "368508827392800"},
		{"one order twice, other fields skipped", `{"object": "page", "entry": [{"id": "1", "changes": [` + change("368508827392800") +
			`, {"field": "feed", "value": {"id": "x"}}]}, {"id": "1", "changes": [` + change("368508827392800") + `]}]}`, "368508827392800"},
		{"numeric ID", `{"object": "page", "entry": [{"id": "1", "changes": [{"field": "commerce_orders", "value": {"id": 368508827392800}}]}]}`, "368508827392800"},
		{"two orders", `{"object": "page", "entry": [{"id": "1", "changes": [` + change("368508827392800") + `, ` + change("368508827392801") + `]}]}`, ""},
		{"not an ID", `{"object": "page", "entry": [{"id": "1", "changes": [` + change("a b") + `]}]}`, ""},
		{"no JSON", `webhook_id=1`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, storefront.RefusedOrderID(storefront.Instagram, "", []byte(tc.body)))
		})
	}
}

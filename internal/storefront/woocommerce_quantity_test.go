package storefront_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/storefront"
)

// TestWooCommerceDecimalQuantity: WooCommerce's quantity is whatever wc_stock_amount makes of it,
// and stores that sell by weight or length filter it to a float (woocommerce_stock_amount), so
// the order's JSON says "quantity": 1.5. Read into an integer, such an order was answered 400
// malformed_payload; WooCommerce disables a webhook after 5 failed deliveries in a row, so a few
// such orders lost every later order of the store. The amounts come from the lines' subtotal and
// total, never from the quantity, which is only checked not to be negative.
func TestWooCommerceDecimalQuantity(t *testing.T) {
	order := func(qty string) string {
		return `{"id": 51, "currency": "USD", "discount_total": "0.00", "shipping_total": "0.00", "cart_tax": "0.00", "total": "7.50",
			"meta_data": [{"key": "_dokan_vendor_id", "value": "V"}],
			"line_items": [{"quantity": ` + qty + `, "subtotal": "7.50", "total": "7.50", "total_tax": "0.00"}]}`
	}
	res, err := storefront.ParseWooCommerce("acme", storefront.WooOrderCreated, []byte(order("1.5")))
	require.NoError(t, err)
	require.Len(t, res.Orders, 1)
	require.EqualValues(t, 750, res.Orders[0].Subtotal)

	for _, qty := range []string{"-1", "-0.5", `"-2"`} {
		_, err = storefront.ParseWooCommerce("acme", storefront.WooOrderCreated, []byte(order(qty)))
		require.ErrorIs(t, err, storefront.ErrInvalidOrder, qty)
	}
}

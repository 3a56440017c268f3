package storefront_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/money"
	"paysplit/internal/payment"
	"paysplit/internal/storefront"
)

// A tip the customer adds at checkout is a line item of the REST Order, told apart by its
// tip_payment_gateway key ("The payment gateway used to tender the tip, such as
// shopify_payments. Present only on tips", Order resource), which a tip line always has, if only as
// null; it sells no product, so it has no vendor. Such an order was refused whole ("line_items[1]
// has no vendor", 400): Shopify retried the same body eight times and then deleted the
// subscription, and the order's payment waited for an order that never came. A tip is not a sale
// of any vendor's and no shipping: it is an extra, as duties and fees are, never commissioned.
func TestShopifyTipIsNotAVendorsSale(t *testing.T) {
	const product = `{"vendor": "V", "quantity": 2, "price": "25.00", "discount_allocations": [], "tax_lines": []}`
	tests := []struct {
		name string
		tip  string
	}{
		{"tip without a vendor", `{"title": "Tip", "name": "Tip", "vendor": null, "product_id": null, "variant_id": null,
			"quantity": 1, "price": "5.00", "gift_card": false, "taxable": false, "requires_shipping": false,
			"tip_payment_gateway": "shopify_payments", "tip_payment_method": "card", "tax_lines": [], "discount_allocations": []}`},
		{"tip whose gateway is null", `{"title": "Tip", "vendor": null, "quantity": 1, "price": "5.00",
			"tip_payment_gateway": null, "tax_lines": [], "discount_allocations": []}`},
		{"tip under the shop's name as vendor", `{"title": "Tip", "vendor": "V", "quantity": 1, "price": "5.00",
			"tip_payment_gateway": "shopify_payments", "tax_lines": [], "discount_allocations": []}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"id": 21, "currency": "USD", "total_price": "55.00", "total_tip_received": "5.00",
				"line_items": [` + product + `, ` + tc.tip + `], "shipping_lines": []}`
			res, err := storefront.ParseShopify("acme", storefront.ShopifyOrdersPaid, []byte(body))
			require.NoError(t, err)
			require.Len(t, res.Orders, 1)
			require.Equal(t, payment.Order{ClientID: "acme", OrderID: "21", Platform: "shopify", Currency: money.USD,
				VendorID: "acme-v", Subtotal: 5000, Extras: 500}, res.Orders[0].Order,
				"the vendor sold 50.00; the 5.00 tip is in the total, not in the commission base")
		})
	}

	// In a multi-currency order the tip is read in the customer's currency like any amount.
	body := `{"id": 22, "currency": "USD", "presentment_currency": "EUR",
		"line_items": [{"vendor": "V", "quantity": 1, "price_set": ` + set("10.00", "USD", "9.30", "EUR") + `},
			{"title": "Tip", "vendor": null, "quantity": 1, "price_set": ` + set("2.00", "USD", "1.86", "EUR") + `, "tip_payment_gateway": "shopify_payments"}]}`
	res, err := storefront.ParseShopify("acme", storefront.ShopifyOrdersPaid, []byte(body))
	require.NoError(t, err)
	o := res.Orders[0].Order
	require.Equal(t, money.EUR, o.Currency)
	require.EqualValues(t, 930, o.Subtotal)
	require.EqualValues(t, 186, o.Extras)

	// A line with no vendor that is not a tip is still refused.
	_, err = storefront.ParseShopify("acme", storefront.ShopifyOrdersPaid, []byte(`{"id": 23, "currency": "USD",
		"line_items": [`+product+`, {"title": "Custom", "vendor": null, "quantity": 1, "price": "5.00"}]}`))
	require.ErrorIs(t, err, storefront.ErrInvalidOrder)
	require.ErrorContains(t, err, "line_items[1] has no vendor")
}

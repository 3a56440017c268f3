package server_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
)

// An international Shopify order with a tip and duties, as the webhook delivers it: the tip is a
// line item with tip_payment_gateway and no vendor, the duties an order MoneyBag. It is stored
// whole, adding up to total_price (what the customer paid, so what the payment captured), the tip
// and duties uncommissioned; a refund of total_price refunds it. Until 2026-11-27 the delivery was
// answered 400 invalid_order ("has no vendor"), which Shopify retries with the same body and then
// deletes the subscription; without the tip line, the duties were missing and the stored order
// fell short of its payment.
func TestStorefrontShopifyOrderWithTipAndDuties(t *testing.T) {
	e := newShopEnv(t, nil, "")
	c := e.client
	order := []byte(`{"id": 5934021799001, "currency": "USD", "presentment_currency": "USD", "financial_status": "paid",
		"updated_at": "2026-11-20T10:00:00-05:00", "taxes_included": false,
		"email": "jane.doe@example.com", "customer": {"first_name": "Jane", "last_name": "Doe", "email": "jane.doe@example.com"},
		"total_price": "82.80", "total_tip_received": "6.00",
		"original_total_duties_set": {"shop_money": {"amount": "9.80", "currency_code": "USD"}, "presentment_money": {"amount": "9.80", "currency_code": "USD"}},
		"original_total_additional_fees_set": null,
		"line_items": [
			{"id": 1, "title": "Mug", "vendor": "Blue Fox Ceramics", "quantity": 2, "price": "25.00",
			 "tax_lines": [{"price": "4.00", "rate": 0.08, "title": "Sales tax"}], "discount_allocations": [],
			 "duties": [{"id": "7", "harmonized_system_code": "691200", "country_code_of_origin": "PT",
			   "price_set": {"shop_money": {"amount": "9.80", "currency_code": "USD"}, "presentment_money": {"amount": "9.80", "currency_code": "USD"}}, "tax_lines": []}]},
			{"id": 2, "title": "Tip", "name": "Tip", "vendor": null, "product_id": null, "variant_id": null, "quantity": 1, "price": "6.00",
			 "gift_card": false, "taxable": false, "requires_shipping": false, "tip_payment_gateway": "shopify_payments",
			 "tip_payment_method": "card", "tax_lines": [], "discount_allocations": [], "duties": []}],
		"shipping_lines": [{"price": "13.00", "discount_allocations": [], "tax_lines": []}]}`)
	code, out := e.post(c, shopifyDelivery("orders/paid", "tip-duties-1", order))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "stored", out["status"])
	got, err := e.store.GetOrder(context.Background(), c, "5934021799001")
	require.NoError(t, err)
	require.Equal(t, ipayment.Order{ClientID: c, OrderID: "5934021799001", Platform: "shopify", Currency: "usd",
		VendorID: c + "-blue-fox-ceramics", Subtotal: 5000, Tax: 400, Shipping: 1300 + 980 + 600}, got)
	total, ok := got.Total()
	require.True(t, ok)
	require.EqualValues(t, 8280, total, "total_price, what the customer paid")

	refund := []byte(`{"id": 9901, "order_id": 5934021799001, "created_at": "2026-11-21T09:00:00-05:00",
		"transactions": [{"kind": "refund", "status": "success", "amount": "82.80", "currency": "USD"}]}`)
	code, out = e.post(c, shopifyDelivery("refunds/create", "tip-duties-refund", refund))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "refunded", e.status(c, "5934021799001"), "total_price given back is the whole order")
	require.NotContains(t, e.stored(c), "jane")
}

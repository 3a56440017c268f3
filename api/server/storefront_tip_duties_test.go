package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/stripeevent"
	"paysplit/workflows/payment"
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
		VendorID: c + "-blue-fox-ceramics", Subtotal: 5000, Tax: 400, Shipping: 1300, Extras: 980 + 600}, got)
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

// A client whose rule commissions shipping is paid its share of shipping, not of the customer's
// tip or the import duties: end to end, from the shop's order with both to the transfers of its
// Stripe payment. The vendor receives the tip and duties whole; the platform and the affiliate
// their shares of the goods and the shipping. Until 2026-11-28 the tip and duties were stored as
// shipping and commissioned with it.
func TestStorefrontTipAndDutiesAreNotCommissionedWithShipping(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, EnrichPoll: time.Hour, EnrichWait: 2 * time.Hour})
	e := newShopEnv(t, s.tc, "payments-"+t.Name())
	c := e.client
	code, body := e.json(req{method: http.MethodPost, path: "/api/v1/admin/clients/" + c + "/split-rules", key: adminKey,
		body: map[string]any{"platform_bps": 1000, "affiliate_bps": 500, "commission_on_shipping": true}})
	require.Equal(t, http.StatusCreated, code, body)
	accounts := map[string]string{c + "-blue-fox-ceramics": "acct_bluefox", c + "-jane-blog": "acct_janeblog"}
	for id, kind := range map[string]string{c + "-blue-fox-ceramics": "vendor", c + "-jane-blog": "affiliate"} {
		code, body := e.json(req{method: http.MethodPut, path: "/api/v1/admin/payees/" + id, key: adminKey,
			body: map[string]any{"client_id": c, "kind": kind, "stripe_account": accounts[id]}})
		require.Equal(t, http.StatusCreated, code, body)
	}
	// 50.00 of mugs + 4.00 tax + 13.00 shipping + 9.80 duties + 6.00 tip = 82.80.
	order := []byte(`{"id": 5934021799002, "currency": "USD", "financial_status": "paid", "taxes_included": false,
		"total_price": "82.80", "note_attributes": [{"name": "affiliate_id", "value": "Jane Blog"}],
		"original_total_duties_set": {"shop_money": {"amount": "9.80", "currency_code": "USD"}, "presentment_money": {"amount": "9.80", "currency_code": "USD"}},
		"line_items": [
			{"id": 1, "title": "Mug", "vendor": "Blue Fox Ceramics", "quantity": 2, "price": "25.00",
			 "tax_lines": [{"price": "4.00", "rate": 0.08, "title": "Sales tax"}], "discount_allocations": []},
			{"id": 2, "title": "Tip", "vendor": null, "quantity": 1, "price": "6.00", "tip_payment_gateway": "shopify_payments"}],
		"shipping_lines": [{"price": "13.00", "discount_allocations": [], "tax_lines": []}]}`)
	code, out := e.post(c, shopifyDelivery("orders/paid", "tip-duties-split", order))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "stored", out["status"])

	pi := "pi_tip_duties"
	capture := stripeevent.Capture{EventID: "evt_" + pi, PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd", Amount: 8280,
		Created: time.Now(), Metadata: map[string]string{"client_id": c, "order_id": "5934021799002"}}
	code, out = s.webhook(stripeevent.Sign(capture.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, out)
	rec := s.result(payment.WorkflowID("stripe", pi))
	require.Equal(t, ipayment.StatusPaid, rec.Status, rec.Reason)
	// Base 50.00 + 13.00 shipping = 63.00: platform 6.30, affiliate 3.15; the vendor the rest,
	// its tax, the 9.80 duties and the 6.00 tip whole.
	require.EqualValues(t, 6300, rec.CommissionBase, "commission_on_shipping commissions shipping, not the tip and duties")
	amounts := map[string]int64{}
	for _, l := range rec.Legs {
		amounts[l.PayeeID] = l.Amount
	}
	require.Equal(t, map[string]int64{"platform": 630, c + "-blue-fox-ceramics": 8280 - 630 - 315, c + "-jane-blog": 315}, amounts)
	require.EqualValues(t, 980+600, rec.Order.Extras)
	sent := map[string]int64{}
	for _, tr := range s.stripe.Transfers() {
		if tr.Metadata["workflow_id"] == rec.WorkflowID {
			sent[tr.Destination] += tr.Amount
		}
	}
	require.Equal(t, map[string]int64{"acct_bluefox": 7335, "acct_janeblog": 315}, sent)
}

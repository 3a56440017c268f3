package storefront_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/payment"
	"paysplit/internal/split"
	"paysplit/internal/storefront"
)

// splitOf splits a stored order's payment as the worker does: the capture is what the order
// asks to be paid.
func splitOf(t *testing.T, o payment.Order, r split.Rule) split.Split {
	t.Helper()
	gross, ok := o.Total()
	require.True(t, ok)
	s, err := split.Compute(o.SplitOrder(o.Currency, gross), r)
	require.NoError(t, err)
	return s
}

// A rule with commission_on_shipping takes the platform's (and the affiliate's) share of what
// the carrier is paid; it says nothing of a customer's tip, of import duties or of a checkout's
// fees, which are no vendor's sale and no shipping either. They are in what the customer paid,
// so the capture holds them, and they go to the vendor uncommissioned, whatever the rule.
func TestCommissionOnShippingLeavesTipsDutiesAndFeesAlone(t *testing.T) {
	rule := split.Rule{ClientID: "acme", Version: 1, PlatformBps: 1000, AffiliateBps: 500, CommissionOnShipping: true}
	tests := []struct {
		name      string
		parse     func() ([]storefront.Order, error)
		base      int64 // subtotal - discount + shipping, the carrier's part only
		extras    int64 // tip, duties, fees: in the capture, never commissioned
		wantGross int64
	}{
		{
			name: "shopify: tip, duties and an additional fee",
			parse: func() ([]storefront.Order, error) {
				res, err := storefront.ParseShopify("acme", storefront.ShopifyOrdersPaid, []byte(`{"id": 31, "currency": "USD",
					"total_price": "147.34", "note_attributes": [{"name": "affiliate_id", "value": "Ref"}],
					"original_total_duties_set": `+set("12.34", "USD", "12.34", "USD")+`,
					"original_total_additional_fees_set": `+set("5.00", "USD", "5.00", "USD")+`,
					"line_items": [{"vendor": "V", "quantity": 1, "price": "100.00", "discount_allocations": [], "tax_lines": []},
						{"title": "Tip", "vendor": null, "quantity": 1, "price": "20.00", "tip_payment_gateway": "shopify_payments"}],
					"shipping_lines": [{"price": "10.00", "discount_allocations": [], "tax_lines": []}]}`))
				return res.Orders, err
			},
			base: 10000 + 1000, extras: 2000 + 1234 + 500, wantGross: 14734,
		},
		{
			name: "woocommerce: a fee line and its tax",
			parse: func() ([]storefront.Order, error) {
				res, err := storefront.ParseWooCommerce("acme", storefront.WooOrderCreated, []byte(`{"id": 32, "currency": "USD",
					"discount_total": "0.00", "shipping_total": "10.00", "shipping_tax": "0.00", "cart_tax": "0.50", "total": "130.50",
					"meta_data": [{"key": "_dokan_vendor_id", "value": "V"}, {"key": "_affiliate_id", "value": "Ref"}],
					"line_items": [{"quantity": 1, "subtotal": "100.00", "total": "100.00", "total_tax": "0.00"}],
					"fee_lines": [{"name": "Gift wrap", "total": "20.00", "total_tax": "0.50"}]}`))
				return res.Orders, err
			},
			base: 10000 + 1000, extras: 2000 + 50, wantGross: 13050,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			orders, err := tc.parse()
			require.NoError(t, err)
			require.Len(t, orders, 1)
			s := splitOf(t, orders[0].Order, rule)
			require.Equal(t, tc.wantGross, s.Gross, "the order adds up to what the customer paid")
			require.Equal(t, tc.base, s.CommissionBase, "commission_on_shipping commissions shipping, not tips, duties or fees")
			platform, _ := s.Leg(split.PartyPlatform)
			affiliate, _ := s.Leg(split.PartyAffiliate)
			vendor, _ := s.Leg(split.PartyVendor)
			require.Equal(t, tc.base/10, platform.Amount)
			require.Equal(t, tc.base/20, affiliate.Amount)
			require.Equal(t, tc.wantGross-tc.base/10-tc.base/20, vendor.Amount, "the vendor keeps the tip, duties and fees whole")
		})
	}
}

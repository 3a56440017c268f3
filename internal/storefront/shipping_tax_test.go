package storefront_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/payment"
	"paysplit/internal/split"
	"paysplit/internal/storefront"
)

// TestShippingTaxIsTaxNotShipping: a rule that commissions shipping and not tax
// (commission_on_shipping without commission_on_tax) took its cut of the tax charged on shipping,
// because every shop's shipping tax was counted as shipping: Shopify's shipping tax lines (added
// to the price, or inside it with taxes_included) and WooCommerce's shipping_tax. Tax is
// pass-through money the vendor owes the tax authority (split.commissionBase), whatever it is
// charged on. Shipping is now the carrier's part only, and shipping tax is tax, shared between the
// vendors of a multi-vendor order as the split shares shipping (by what each sells for).
func TestShippingTaxIsTaxNotShipping(t *testing.T) {
	rule := split.Rule{ClientID: "acme", Version: 1, PlatformBps: 1000, CommissionOnShipping: true}
	tests := []struct {
		name          string
		parse         func() (storefront.Result, error)
		shipping, tax int64
		lines         []payment.OrderLine
		base          int64 // subtotal - discount + shipping without its tax
	}{
		{
			name: "shopify, tax added to prices",
			parse: func() (storefront.Result, error) {
				return storefront.ParseShopify("acme", storefront.ShopifyOrdersPaid, []byte(`{"id": 41, "currency": "USD", "total_price": "118.80",
					"line_items": [{"vendor": "V", "quantity": 1, "price": "100.00", "tax_lines": [{"price": "8.00"}]}],
					"shipping_lines": [{"price": "10.00", "tax_lines": [{"price": "0.80"}]}]}`))
			},
			shipping: 1000, tax: 880, base: 10000 + 1000,
		},
		{
			name: "shopify, taxes included in prices",
			parse: func() (storefront.Result, error) {
				return storefront.ParseShopify("acme", storefront.ShopifyOrdersPaid, []byte(`{"id": 42, "currency": "EUR", "taxes_included": true, "total_price": "131.90",
					"line_items": [{"vendor": "V", "quantity": 1, "price": "119.00", "tax_lines": [{"price": "19.00"}]}],
					"shipping_lines": [{"price": "12.90", "tax_lines": [{"price": "2.06"}]}]}`))
			},
			shipping: 1084, tax: 2106, base: 10000 + 1084,
		},
		{
			name: "shopify, two vendors share the shipping tax by what they sell for",
			parse: func() (storefront.Result, error) {
				return storefront.ParseShopify("acme", storefront.ShopifyOrdersPaid, []byte(`{"id": 43, "currency": "USD", "total_price": "112.00",
					"line_items": [{"vendor": "A", "quantity": 1, "price": "75.00", "tax_lines": []},
						{"vendor": "B", "quantity": 1, "price": "25.00", "tax_lines": []}],
					"shipping_lines": [{"price": "10.00", "tax_lines": [{"price": "2.00"}]}]}`))
			},
			shipping: 1000, tax: 200, base: 10000 + 1000,
			lines: []payment.OrderLine{{VendorID: "acme-a", Subtotal: 7500, Tax: 150}, {VendorID: "acme-b", Subtotal: 2500, Tax: 50}},
		},
		{
			name: "woocommerce",
			parse: func() (storefront.Result, error) {
				return storefront.ParseWooCommerce("acme", storefront.WooOrderCreated, []byte(`{"id": 44, "currency": "USD",
					"discount_total": "0.00", "shipping_total": "10.00", "shipping_tax": "0.80", "cart_tax": "8.00", "total": "118.80",
					"meta_data": [{"key": "_dokan_vendor_id", "value": "V"}],
					"line_items": [{"quantity": 1, "subtotal": "100.00", "total": "100.00", "total_tax": "8.00"}]}`))
			},
			shipping: 1000, tax: 880, base: 10000 + 1000,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tc.parse()
			require.NoError(t, err)
			require.Len(t, res.Orders, 1)
			o := res.Orders[0].Order
			require.Equal(t, tc.shipping, o.Shipping, "shipping without its tax")
			require.Equal(t, tc.tax, o.Tax, "the shipping's tax is tax")
			require.Equal(t, tc.lines, o.Lines)
			s := splitOf(t, o, rule)
			require.Equal(t, tc.base, s.CommissionBase, "commission_on_shipping without commission_on_tax commissions no tax")
		})
	}
}

package storefront_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/money"
	"paysplit/internal/storefront"
)

// Duties and additional fees a Shopify checkout charges are in what the customer paid: the REST
// Order's total_price includes them ("currentTotalPrice: The total amount of the order, including
// duties, taxes and discounts", Storefront API Order; original_total_duties_set and
// original_total_additional_fees_set are MoneyBags of the order, null when there are none). They
// are neither the vendors' sales nor shipping, so they are not commissioned, even by a rule that
// commissions shipping: they are the order's extras, as WooCommerce's fee lines are. Left out, the stored order fell short of the payment by the duties
// and every such payment was parked for an amount that does not add up.
func TestShopifyDutiesAndFeesAreInTheOrderTotal(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		currency money.Currency
		total    int64 // total_price (presentment), what the customer paid
		shipping int64
		extras   int64
	}{
		{
			name: "one currency, duties and an additional fee",
			body: `{"id": 11, "currency": "USD", "presentment_currency": "USD", "taxes_included": false,
				"total_price": "127.34", "total_price_set": ` + set("127.34", "USD", "127.34", "USD") + `,
				"original_total_duties_set": ` + set("12.34", "USD", "12.34", "USD") + `,
				"original_total_additional_fees_set": ` + set("5.00", "USD", "5.00", "USD") + `,
				"line_items": [{"vendor": "V", "quantity": 1, "price": "100.00", "price_set": ` + set("100.00", "USD", "100.00", "USD") + `,
					"discount_allocations": [], "tax_lines": [],
					"duties": [{"id": "2", "harmonized_system_code": "520300", "country_code_of_origin": "CA",
						"price_set": ` + set("12.34", "USD", "12.34", "USD") + `, "tax_lines": []}]}],
				"shipping_lines": [{"price": "10.00", "price_set": ` + set("10.00", "USD", "10.00", "USD") + `, "discount_allocations": [], "tax_lines": []}]}`,
			currency: money.USD, total: 12734, shipping: 1000, extras: 1234 + 500,
		},
		{
			name: "shop in CAD, customer in EUR: duties in the customer's currency",
			body: `{"id": 12, "currency": "CAD", "presentment_currency": "EUR", "taxes_included": false,
				"total_price": "234.86", "total_price_set": ` + set("234.86", "CAD", "150.31", "EUR") + `,
				"original_total_duties_set": ` + set("164.86", "CAD", "105.31", "EUR") + `,
				"original_total_additional_fees_set": null,
				"line_items": [{"vendor": "V", "quantity": 1, "price": "70.00", "price_set": ` + set("70.00", "CAD", "45.00", "EUR") + `,
					"discount_allocations": [], "tax_lines": []}],
				"shipping_lines": []}`,
			currency: money.EUR, total: 15031, shipping: 0, extras: 10531,
		},
		{
			name: "no duties (null), as most orders",
			body: `{"id": 13, "currency": "USD", "total_price": "100.00",
				"original_total_duties_set": null, "current_total_duties_set": null,
				"line_items": [{"vendor": "V", "quantity": 1, "price": "100.00", "discount_allocations": [], "tax_lines": []}]}`,
			currency: money.USD, total: 10000, shipping: 0, extras: 0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := storefront.ParseShopify("acme", storefront.ShopifyOrdersPaid, []byte(tc.body))
			require.NoError(t, err)
			require.Len(t, res.Orders, 1)
			o := res.Orders[0].Order
			require.Equal(t, tc.currency, o.Currency)
			total, ok := o.Total()
			require.True(t, ok)
			require.Equal(t, tc.total, total, "the order must add up to what the customer paid (total_price)")
			require.Equal(t, tc.shipping, o.Shipping, "shipping is the shipping lines only")
			require.Equal(t, tc.extras, o.Extras, "duties and fees are extras, never commissioned")
		})
	}
}

// A multi-currency order's duties without their presentment money cannot be read in the
// customer's currency: refused as any other such amount, never taken in the shop's.
func TestShopifyDutiesInAnotherCurrencyAreRefused(t *testing.T) {
	body := `{"id": 14, "currency": "CAD", "presentment_currency": "EUR",
		"original_total_duties_set": {"shop_money": {"amount": "164.86", "currency_code": "CAD"}, "presentment_money": {"amount": "105.31", "currency_code": "USD"}},
		"line_items": [{"vendor": "V", "quantity": 1, "price_set": ` + set("70.00", "CAD", "45.00", "EUR") + `}]}`
	_, err := storefront.ParseShopify("acme", storefront.ShopifyOrdersPaid, []byte(body))
	require.ErrorIs(t, err, storefront.ErrInvalidOrder)
	require.ErrorContains(t, err, "original_total_duties")
}

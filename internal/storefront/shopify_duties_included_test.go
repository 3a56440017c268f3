package storefront_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/storefront"
)

// A market that includes duties in its prices (Shopify Markets' INCLUDE_DUTIES_IN_PRICE; the REST
// Order says so with "duties_included": true, GraphQL's Order.dutiesIncluded "Whether duties are
// included in the subtotal price of the order") charges them inside the line prices: the order's
// original_total_duties_set still names them, but total_price does not add them again. Counted on
// top, as for duties added at checkout, the stored order exceeded what the customer paid by the
// duties (its payment then parked for an amount that does not add up) and the vendor's line,
// duties in it, was commissioned on them. Like a taxes-included line's tax, a line's duties are
// taken out of its subtotal and counted as an extra (payment.Order.Extras), never commissioned.
func TestShopifyDutiesIncludedInPricesAreCountedOnce(t *testing.T) {
	body := `{"id": 15, "currency": "USD", "presentment_currency": "USD", "taxes_included": false, "duties_included": true,
		"total_price": "122.34", "total_price_set": ` + set("122.34", "USD", "122.34", "USD") + `,
		"original_total_duties_set": ` + set("12.34", "USD", "12.34", "USD") + `,
		"line_items": [{"vendor": "V", "quantity": 1, "price": "112.34", "price_set": ` + set("112.34", "USD", "112.34", "USD") + `,
			"discount_allocations": [], "tax_lines": [],
			"duties": [{"id": "2", "harmonized_system_code": "520300", "country_code_of_origin": "CA",
				"shop_money": {"amount": "12.34", "currency_code": "USD"}, "presentment_money": {"amount": "12.34", "currency_code": "USD"},
				"tax_lines": []}]}],
		"shipping_lines": [{"price": "10.00", "price_set": ` + set("10.00", "USD", "10.00", "USD") + `, "discount_allocations": [], "tax_lines": []}]}`
	res, err := storefront.ParseShopify("acme", storefront.ShopifyOrdersPaid, []byte(body))
	require.NoError(t, err)
	require.Len(t, res.Orders, 1)
	o := res.Orders[0].Order
	total, ok := o.Total()
	require.True(t, ok)
	require.EqualValues(t, 12234, total, "the order must add up to what the customer paid (total_price)")
	require.EqualValues(t, 10000, o.Subtotal, "the vendor sold 100.00: the duties in its price are not its sale")
	require.EqualValues(t, 1000, o.Shipping)
	require.EqualValues(t, 1234, o.Extras, "duties are extras, never commissioned")
}

// A multi-currency order's included duties are read in the customer's currency, from each duty's
// presentment_money (the REST Duty is a MoneyBag itself), as every amount.
func TestShopifyDutiesIncludedInTheCustomersCurrency(t *testing.T) {
	body := `{"id": 16, "currency": "CAD", "presentment_currency": "EUR", "duties_included": true,
		"original_total_duties_set": ` + set("164.86", "CAD", "105.31", "EUR") + `,
		"line_items": [{"vendor": "V", "quantity": 1, "price_set": ` + set("234.86", "CAD", "150.31", "EUR") + `,
			"duties": [{"id": "2", "shop_money": {"amount": "164.86", "currency_code": "CAD"},
				"presentment_money": {"amount": "105.31", "currency_code": "EUR"}}]}]}`
	res, err := storefront.ParseShopify("acme", storefront.ShopifyOrdersPaid, []byte(body))
	require.NoError(t, err)
	o := res.Orders[0].Order
	require.EqualValues(t, 4500, o.Subtotal)
	require.EqualValues(t, 0, o.Shipping)
	require.EqualValues(t, 10531, o.Extras)
}

package storefront_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/money"
	"paysplit/internal/storefront"
)

// A real orders/paid body of a multi-currency Shopify store (shop in USD, the customer paid in EUR),
// trimmed to the order fields ParseShopify reads plus the presentment ones; values verbatim. It is
// quoted in a public repository (an order webhook handler for "carpaudio.com", order #1104,
// 2024-06-24; find_string "presentment_currency": "EUR", id 48171470843). Shopify documents the
// money of such an order as a MoneyBag: "presentmentMoney: Amount in the customer's selected
// currency. shopMoney: the equivalent in the shop's base currency"
// (https://shopify.dev/docs/api/admin-graphql/2025-04/objects/moneybag), and the Currency
// resource: "customers pay in their local currency ... all prices on the online store and checkout
// are automatically converted to that currency" (https://shopify.dev/api/admin-rest/2024-07/resources/currency).
// The customer was charged 115.90 EUR; "currency" and the plain amounts are the shop's USD.
const shopifyPaidInPresentmentCurrency = `{
  "id": 6134457074006,
  "currency": "USD",
  "presentment_currency": "EUR",
  "financial_status": "paid",
  "cancelled_at": null,
  "taxes_included": true,
  "total_price": "124.36",
  "total_price_set": {"shop_money": {"amount": "124.36", "currency_code": "USD"}, "presentment_money": {"amount": "115.90", "currency_code": "EUR"}},
  "discount_codes": [],
  "note_attributes": [],
  "shipping_lines": [],
  "line_items": [
    {"id": 15820848890198, "name": "Krossbow", "price": "45.01",
     "price_set": {"shop_money": {"amount": "45.01", "currency_code": "USD"}, "presentment_money": {"amount": "41.95", "currency_code": "EUR"}},
     "quantity": 1, "current_quantity": 1, "taxable": false, "total_discount": "0.00",
     "total_discount_set": {"shop_money": {"amount": "0.00", "currency_code": "USD"}, "presentment_money": {"amount": "0.00", "currency_code": "EUR"}},
     "vendor": "CARP Audio", "tax_lines": [], "duties": [], "discount_allocations": []},
    {"id": 15820848922966, "name": "Parallel Character Bundle", "price": "79.35",
     "price_set": {"shop_money": {"amount": "79.35", "currency_code": "USD"}, "presentment_money": {"amount": "73.95", "currency_code": "EUR"}},
     "quantity": 1, "current_quantity": 1, "taxable": false, "total_discount": "0.00",
     "total_discount_set": {"shop_money": {"amount": "0.00", "currency_code": "USD"}, "presentment_money": {"amount": "0.00", "currency_code": "EUR"}},
     "vendor": "CARP Audio", "tax_lines": [], "duties": [], "discount_allocations": []}
  ]
}`

// The payment the store plugin makes for this order is the customer's: 115.90 EUR. The order the
// split is joined to must be in that currency and add up to it; read in the shop's USD it never
// matches the payment (Enrich parks it: "order ... is in USD but the payment in EUR").
func TestWireShopifyOrderInThePresentmentCurrency(t *testing.T) {
	res, err := storefront.ParseShopify("acme", storefront.ShopifyOrdersPaid, []byte(shopifyPaidInPresentmentCurrency))
	require.NoError(t, err)
	require.Len(t, res.Orders, 1)
	o := res.Orders[0]
	require.Equal(t, money.EUR, o.Currency, "the currency the customer paid in")
	require.EqualValues(t, 11590, o.Subtotal-o.Discount+o.Tax+o.Shipping, "what the customer paid, 115.90 EUR")
}

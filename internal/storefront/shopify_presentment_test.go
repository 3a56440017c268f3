package storefront_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/money"
	"paysplit/internal/payment"
	"paysplit/internal/storefront"
)

// set is a Shopify MoneyBag (`<field>_set`) as the webhooks send it.
func set(shop, shopCur, presentment, presentmentCur string) string {
	return `{"shop_money": {"amount": "` + shop + `", "currency_code": "` + shopCur + `"}, "presentment_money": {"amount": "` +
		presentment + `", "currency_code": "` + presentmentCur + `"}}`
}

// Orders whose amounts come from the _set fields. The multi-currency sample (several lines, vendors,
// discounts, taxes and shipping lines) is in TestParseSamples.
func TestParseShopifyMoneySets(t *testing.T) {
	tests := []struct {
		name string
		body string
		want payment.Order
	}{
		{
			// presentment_currency = currency with every _set present: the same order as the plain
			// fields give (a regression guard: the sets must not change a one-currency shop).
			name: "single currency with _set fields",
			body: `{"id": 1, "currency": "USD", "presentment_currency": "USD", "taxes_included": false,
				"line_items": [{"vendor": "V", "quantity": 2, "price": "10.00", "price_set": ` + set("10.00", "USD", "10.00", "USD") + `,
					"total_discount": "0.00", "total_discount_set": ` + set("0.00", "USD", "0.00", "USD") + `,
					"discount_allocations": [{"amount": "1.50", "amount_set": ` + set("1.50", "USD", "1.50", "USD") + `}],
					"tax_lines": [{"price": "1.48", "price_set": ` + set("1.48", "USD", "1.48", "USD") + `}]}],
				"shipping_lines": [{"price": "5.00", "price_set": ` + set("5.00", "USD", "5.00", "USD") + `,
					"discount_allocations": [], "tax_lines": [{"price": "0.40", "price_set": ` + set("0.40", "USD", "0.40", "USD") + `}]}]}`,
			want: payment.Order{ClientID: "acme", OrderID: "1", Platform: "shopify", Currency: money.USD, VendorID: "acme-v",
				Subtotal: 2000, Discount: 150, Tax: 188, Shipping: 500},
		},
		{
			// A currency without minor units: 9800 JPY is 9800, not 980000; the shop's EUR plain
			// fields (59.50, 9.50, ...) must not leak in.
			name: "shop in EUR, customer in JPY, taxes included",
			body: `{"id": 2, "currency": "EUR", "presentment_currency": "JPY", "taxes_included": true,
				"line_items": [{"vendor": "V", "quantity": 1, "price": "59.50", "price_set": ` + set("59.50", "EUR", "9800", "JPY") + `,
					"total_discount": "5.00", "total_discount_set": ` + set("5.00", "EUR", "823.0", "JPY") + `,
					"discount_allocations": [],
					"tax_lines": [{"price": "9.50", "price_set": ` + set("9.50", "EUR", "1565", "JPY") + `}]}],
				"shipping_lines": [{"price": "4.95", "price_set": ` + set("4.95", "EUR", "815", "JPY") + `,
					"discount_allocations": [], "tax_lines": [{"price": "0.79", "price_set": ` + set("0.79", "EUR", "130", "JPY") + `}]}]}`,
			want: payment.Order{ClientID: "acme", OrderID: "2", Platform: "shopify", Currency: money.JPY, VendorID: "acme-v",
				Subtotal: 9800 - 1565, Discount: 823, Tax: 1565 + 130, Shipping: 815 - 130},
		},
		{
			// No currency at all for the plain fields: amounts only from the sets.
			name: "presentment currency without a shop currency",
			body: `{"id": 3, "presentment_currency": "EUR",
				"line_items": [{"vendor": "V", "quantity": 3, "price_set": ` + set("1.00", "USD", "0.93", "EUR") + `}]}`,
			want: payment.Order{ClientID: "acme", OrderID: "3", Platform: "shopify", Currency: money.EUR, VendorID: "acme-v",
				Subtotal: 279},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := storefront.ParseShopify("acme", storefront.ShopifyOrdersPaid, []byte(tc.body))
			require.NoError(t, err)
			require.Len(t, res.Orders, 1)
			require.Equal(t, tc.want, res.Orders[0].Order)
		})
	}
}

// mutate decodes a sample (numbers kept as they are), lets edit change it and encodes it again.
func mutate(t *testing.T, file string, edit func(o map[string]any)) string {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(sample(t, file)))
	d.UseNumber()
	var o map[string]any
	require.NoError(t, d.Decode(&o))
	edit(o)
	b, err := json.Marshal(o)
	require.NoError(t, err)
	return string(b)
}

func at(o map[string]any, key string, i int) map[string]any {
	return o[key].([]any)[i].(map[string]any)
}

// A multi-currency order that cannot be read wholly in the customer's currency is refused, with the
// field named, instead of storing amounts of two currencies as one.
func TestParseShopifyMoneySetsRefused(t *testing.T) {
	const multi = "shopify_orders_paid_multi_currency.json"
	line := func(i int) func(map[string]any) map[string]any {
		return func(o map[string]any) map[string]any { return at(o, "line_items", i) }
	}
	ship := func(o map[string]any) map[string]any { return at(o, "shipping_lines", 0) }
	tests := []struct {
		name   string
		body   string
		reason string
	}{
		{"line price in another currency", mutate(t, multi, func(o map[string]any) {
			line(0)(o)["price_set"] = json.RawMessage(set("40.00", "USD", "31.90", "GBP"))
		}), `line_items[0].price_set.presentment_money is in "GBP", not the order's currency EUR`},
		{"line tax in the shop's currency", mutate(t, multi, func(o map[string]any) {
			at(line(2)(o), "tax_lines", 0)["price_set"] = json.RawMessage(set("2.16", "USD", "2.16", "USD"))
		}), `line_items[2].tax_lines[0].price_set.presentment_money is in "USD", not the order's currency EUR`},
		{"line price without its set", mutate(t, multi, func(o map[string]any) {
			delete(line(1)(o), "price_set")
		}), "line_items[1].price_set.presentment_money is missing: the order is in EUR, line_items[1].price is in the shop's currency USD"},
		{"line discount allocation with shop money only", mutate(t, multi, func(o map[string]any) {
			at(line(0)(o), "discount_allocations", 0)["amount_set"] = json.RawMessage(`{"shop_money": {"amount": "8.00", "currency_code": "USD"}}`)
		}), "line_items[0].discount_allocations[0].amount_set.presentment_money is missing"},
		{"line total discount without its set", mutate(t, multi, func(o map[string]any) {
			delete(line(1)(o), "total_discount_set")
		}), "line_items[1].total_discount_set.presentment_money is missing"},
		{"shipping price without its set", mutate(t, multi, func(o map[string]any) {
			delete(ship(o), "price_set")
		}), "shipping_lines[0].price_set.presentment_money is missing"},
		{"shipping discount without its set", mutate(t, multi, func(o map[string]any) {
			delete(at(ship(o), "discount_allocations", 0), "amount_set")
		}), "shipping_lines[0].discount_allocations[0].amount_set.presentment_money is missing"},
		{"shipping tax in another currency", mutate(t, multi, func(o map[string]any) {
			at(ship(o), "tax_lines", 0)["price_set"] = json.RawMessage(set("0.40", "USD", "0.37", "CHF"))
		}), `shipping_lines[0].tax_lines[0].price_set.presentment_money is in "CHF"`},
		{"set without a currency code", mutate(t, multi, func(o map[string]any) {
			line(0)(o)["price_set"] = json.RawMessage(`{"presentment_money": {"amount": "37.20"}}`)
		}), `line_items[0].price_set.presentment_money is in "", not the order's currency EUR`},
		{"negative presentment amount", mutate(t, multi, func(o map[string]any) {
			line(0)(o)["price_set"] = json.RawMessage(set("40.00", "USD", "-37.20", "EUR"))
		}), "line_items[0].price_set.presentment_money.amount is negative"},
		{"unknown presentment currency", mutate(t, multi, func(o map[string]any) {
			o["presentment_currency"] = "XXX"
		}), "presentment_currency"},
		{"one-currency order with a set in another currency", `{"id": 1, "currency": "USD", "presentment_currency": "USD",
			"line_items": [{"vendor": "V", "quantity": 1, "price": "10.00", "price_set": ` + set("10.00", "USD", "9.30", "EUR") + `}]}`,
			`line_items[0].price_set.presentment_money is in "EUR", not the order's currency USD`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := storefront.ParseShopify("acme", storefront.ShopifyOrdersPaid, []byte(tc.body))
			require.ErrorIs(t, err, storefront.ErrInvalidOrder, "parsed: %+v", res)
			require.ErrorContains(t, err, tc.reason)
		})
	}
}

// A refund of a multi-currency order comes in the currency the customer paid (the transaction's
// currency), so it can be held against the stored order: refunding the whole 131.13 EUR is a
// whole refund, as the API decides it (same currency, refunded ≥ the order's total).
func TestShopifyRefundMatchesPresentmentOrder(t *testing.T) {
	ord, err := storefront.ParseShopify("acme", storefront.ShopifyOrdersPaid, sample(t, "shopify_orders_paid_multi_currency.json"))
	require.NoError(t, err)
	ref, err := storefront.ParseShopify("acme", storefront.ShopifyRefundsCreate, sample(t, "shopify_refunds_create_multi_currency.json"))
	require.NoError(t, err)
	o, u := ord.Orders[0], ref.Updates[0]
	require.Equal(t, o.OrderID, u.OrderID)
	require.Equal(t, o.Currency, u.Currency, "refund and order in the same currency")
	require.Equal(t, o.Subtotal-o.Discount+o.Tax+o.Shipping, u.Refunded, "the whole order was refunded")
}

package activities_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/internal/payment"
)

// A plugin's metadata has no key for a tip, duties or a checkout's fee and counts them in
// shipping (README, "metadata"); the shop's order tells them apart as extras. The two say the
// same amounts: the payment takes the shop's order, the tip apart, and no warning says they
// differ (it said so for every such payment, which hid the payments whose figures do).
func TestMetadataShippingWithTheTipAgreesWithTheShop(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	// 10.00 + 1.00 tax + 3.00 shipping + a 2.00 tip.
	shop := payment.Order{ClientID: "shop1", OrderID: "o-tip", VendorID: "v1", Platform: "shopify",
		Subtotal: 1000, Tax: 100, Shipping: 300, Extras: 200, Currency: "usd"}
	require.NoError(t, f.st.SaveOrder(ctx, shop, "paid"))

	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	t.Cleanup(func() { slog.SetDefault(prev) })
	md := map[string]string{"client_id": "shop1", "order_id": "o-tip", "vendor_id": "v1", "subtotal": "1000", "tax": "100", "shipping": "500", "platform": "shopify"}
	out, err := f.a.Enrich(ctx, activities.EnrichInput{Provider: activities.ProviderStripe, PaymentID: "pi_tip", Gross: 1600, Currency: "usd", Metadata: md})
	require.NoError(t, err)
	require.Empty(t, out.Problem)
	shop.Currency = ""
	assert.Equal(t, shop, out.Order, "the shop's order, its tip apart")
	assert.NotContains(t, logs.String(), "differ in amounts", "the metadata's shipping is the shop's shipping and tip")
}

// TestMetadataShippingWithItsTaxAgreesWithTheShop: the shop's order counts the tax on shipping as
// tax (since 2026-11-28), while a checkout plugin may send shipping with its tax in `shipping`;
// such metadata was logged as differing from the shop on every payment. Moving tax from `tax` to
// `shipping` is the one difference taken as agreement; anything else still differs.
func TestMetadataShippingWithItsTaxAgreesWithTheShop(t *testing.T) {
	// 10.00 + 1.08 tax (0.08 of it on shipping) + 1.00 shipping.
	shop := payment.Order{ClientID: "shop1", VendorID: "v1", Platform: "shopify", Subtotal: 1000, Tax: 108, Shipping: 100, Currency: "usd"}
	for _, c := range []struct {
		name, tax, shipping string
		differs             bool
	}{
		{"shipping with its tax", "100", "108", false},
		{"as the shop has them", "108", "100", false},
		{"more tax than the shop's", "116", "92", true},
		{"another total", "100", "100", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := t.Context()
			order := shop
			order.OrderID = "o-shiptax-" + c.tax + "-" + c.shipping
			require.NoError(t, f.st.SaveOrder(ctx, order, "paid"))
			var logs bytes.Buffer
			prev := slog.Default()
			slog.SetDefault(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
			t.Cleanup(func() { slog.SetDefault(prev) })
			md := map[string]string{"client_id": "shop1", "order_id": order.OrderID, "vendor_id": "v1", "subtotal": "1000", "tax": c.tax, "shipping": c.shipping, "platform": "shopify"}
			out, err := f.a.Enrich(ctx, activities.EnrichInput{Provider: activities.ProviderStripe, PaymentID: "pi_" + order.OrderID, Gross: 1208, Currency: "usd", Metadata: md})
			require.NoError(t, err)
			require.Empty(t, out.Problem)
			assert.Equal(t, c.differs, strings.Contains(logs.String(), "differ in amounts"), logs.String())
		})
	}
}

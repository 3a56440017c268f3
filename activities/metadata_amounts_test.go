package activities_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/internal/payment"
	"paysplit/internal/split"
	"paysplit/internal/store"
)

// TestPrepareMetadataAndShopAmountsDiffer: a payment's complete one-vendor metadata adds up to
// what was captured, and the shop delivered its order with other amounts. Where the shop's
// order adds up to the capture too, the shop's amounts are split (its lines say who sold what).
// Where it does not (part of the order paid otherwise: a gift card, store credit, a second
// payment), the metadata describes this payment: an order of its one vendor is split on the
// metadata's amounts (the shop's affiliate kept), as it was before the shop's order was read;
// one of several vendors parks, saying which totals differ, as nobody knows which vendor sold
// what of this payment. Stripe and PayPal (custom_id) alike: both reach Enrich as metadata.
func TestPrepareMetadataAndShopAmountsDiffer(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := "shop-amounts"
	_, _, err := f.st.UpsertClient(ctx, store.Client{ID: c, Name: "Amounts", DefaultCurrency: "usd"})
	require.NoError(t, err)
	_, err = f.st.CreateRule(ctx, split.Rule{ClientID: c, PlatformBps: 1000, AffiliateBps: 500}, "test")
	require.NoError(t, err)
	for _, o := range []payment.Order{
		// 15.00 + 1.00 tax, of which the card paid 11.00.
		{ClientID: c, OrderID: "o-gift", VendorID: "v1", AffiliateID: "aff1", Platform: "shopify", Subtotal: 1500, Tax: 100, Currency: "usd"},
		{ClientID: c, OrderID: "o-same", VendorID: "v1", Platform: "shopify", Subtotal: 1050, Tax: 50, Currency: "usd"},
		// A 3.00 tip on top: the metadata counts none (it has no key for one).
		{ClientID: c, OrderID: "o-tip", VendorID: "v1", Platform: "shopify", Subtotal: 1500, Tax: 100, Extras: 300, Currency: "usd"},
		// 8.00 + 1.00 tax + a 2.00 tip: the capture, which the metadata makes 10.00 + 1.00 tax.
		{ClientID: c, OrderID: "o-tip-same", VendorID: "v1", Platform: "shopify", Subtotal: 800, Tax: 100, Extras: 200, Currency: "usd"},
		{ClientID: c, OrderID: "o-two", Platform: "shopify", Subtotal: 1500, Tax: 100, Currency: "usd",
			Lines: []payment.OrderLine{{VendorID: "v1", Subtotal: 1000, Tax: 60}, {VendorID: "v2", Subtotal: 500, Tax: 40}}},
	} {
		require.NoError(t, f.st.SaveOrder(ctx, o, "paid"))
	}
	md := func(order string) map[string]string {
		return map[string]string{"client_id": c, "order_id": order, "vendor_id": "v1", "subtotal": "1000", "tax": "100", "platform": "shopify"}
	}
	tests := []struct {
		name, order string
		check       func(t *testing.T, out activities.PrepareOutput)
	}{
		{"one vendor, the shop's total is not the capture: the metadata's amounts", "o-gift", func(t *testing.T, out activities.PrepareOutput) {
			require.Empty(t, out.Enriched.Problem)
			require.Empty(t, out.SplitProblem)
			require.NotNil(t, out.Split)
			o := out.Enriched.Order
			assert.Equal(t, [3]int64{1000, 100, 0}, [3]int64{o.Subtotal, o.Tax, o.Discount})
			assert.Equal(t, "v1", o.VendorID)
			assert.Equal(t, "aff1", o.AffiliateID, "the shop's affiliate")
		}},
		{"one vendor, both add up: the shop's amounts", "o-same", func(t *testing.T, out activities.PrepareOutput) {
			require.NotNil(t, out.Split, out.SplitProblem)
			assert.Equal(t, int64(1050), out.Enriched.Order.Subtotal)
		}},
		{"one vendor with a tip, the shop's total is not the capture: the metadata's amounts, no tip", "o-tip", func(t *testing.T, out activities.PrepareOutput) {
			require.Empty(t, out.Enriched.Problem)
			require.NotNil(t, out.Split, out.SplitProblem)
			o := out.Enriched.Order
			assert.Equal(t, [4]int64{1000, 100, 0, 0}, [4]int64{o.Subtotal, o.Tax, o.Discount, o.Extras},
				"the shop's tip added to the metadata's amounts makes no order of this capture")
		}},
		{"one vendor with a tip, both add up: the shop's amounts, the tip uncommissioned", "o-tip-same", func(t *testing.T, out activities.PrepareOutput) {
			require.NotNil(t, out.Split, out.SplitProblem)
			assert.Equal(t, int64(200), out.Enriched.Order.Extras)
			assert.Equal(t, int64(800), out.Split.CommissionBase)
		}},
		{"several vendors, the shop's total is not the capture: parks saying so", "o-two", func(t *testing.T, out activities.PrepareOutput) {
			assert.Nil(t, out.Split)
			assert.Contains(t, out.Enriched.Problem, "the shop's order o-two totals 16.00 USD, not the 11.00 USD captured")
			assert.Contains(t, out.Enriched.Problem, "v1, v2")
		}},
	}
	for _, provider := range []string{activities.ProviderStripe, activities.ProviderPayPal} {
		for _, tt := range tests {
			t.Run(provider+"/"+tt.name, func(t *testing.T) {
				pi := provider + "-" + tt.order
				out, err := f.a.Prepare(ctx, activities.PrepareInput{WorkflowID: "payment-" + pi, FirstRun: true, CapturedAt: nextSecond(),
					Capture: &activities.EnrichInput{WorkflowID: "payment-" + pi, Provider: provider, PaymentID: pi, Gross: 1100, Currency: "usd", Metadata: md(tt.order)}})
				require.NoError(t, err)
				require.NotNil(t, out.Enriched)
				tt.check(t, out)
			})
		}
	}
}

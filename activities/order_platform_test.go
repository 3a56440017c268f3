package activities_test

import (
	"context"
	"maps"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/internal/payment"
	"paysplit/internal/split"
	"paysplit/internal/store"
)

// TestPrepareOrderOfAnotherPlatform: a client's orders are stored under (client, order ID)
// whatever their platform, and the storefront webhook refuses an order ID the client already has
// from another platform. A payment whose metadata names its platform is not the payment of the
// order another platform stored under its order ID: it is neither split on that order's vendors
// and amounts (until 2026-11-28 a WooCommerce payment of order 7311 paid the vendor of the
// Shopify order 7311) nor left waiting for its own order, which the webhook will never store. It
// parks, naming both platforms and the order, for an admin. Complete metadata too: a collision
// of order IDs and a plugin that misnames its platform look alike from here, and in the second
// the shop's order is this payment's and its one vendor would take the whole order. Metadata
// naming the order's platform (in any case) or none is split on the shop's order as before.
// Stripe and PayPal (custom_id) alike: both reach Enrich as metadata.
func TestPrepareOrderOfAnotherPlatform(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := "two-shops"
	_, _, err := f.st.UpsertClient(ctx, store.Client{ID: c, Name: "Two shops", DefaultCurrency: "usd"})
	require.NoError(t, err)
	_, err = f.st.CreateRule(ctx, split.Rule{ClientID: c, PlatformBps: 1000}, "test")
	require.NoError(t, err)
	require.NoError(t, f.st.SaveOrder(ctx, payment.Order{ClientID: c, OrderID: "7311", VendorID: "shopify-vendor", Platform: "shopify",
		Subtotal: 1000, Tax: 100, Currency: "usd"}, "paid"))

	// The checkout's amounts add up to the capture, as the shop's order's do: only the platform
	// tells the orders apart.
	joined := map[string]string{"client_id": c, "order_id": "7311", "subtotal": "1000", "tax": "100"}
	with := func(kv ...string) map[string]string {
		m := maps.Clone(joined)
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	const conflict = "names woocommerce order 7311, but the client's order 7311 is from shopify"
	tests := []struct {
		name        string
		md          map[string]string
		wantProblem string // "": split on the shop's order
	}{
		{"no vendor, another platform: parks", with("platform", "woocommerce"), conflict},
		{"no vendor, another platform in capitals: parks", with("platform", "WooCommerce"), conflict},
		{"complete, the shop's vendor, another platform: parks", with("platform", "woocommerce", "vendor_id", "shopify-vendor"), conflict},
		// Until now this parked for the vendor, which says nothing of the order being another's.
		{"complete, another vendor, another platform: parks for the platform", with("platform", "woocommerce", "vendor_id", "woo-vendor"), conflict},
		// Not a platform of ours, nor the order's: the checkout's text is quoted.
		{"no vendor, an unknown platform: parks", with("platform", "eBay"), `names "ebay" order 7311, but the client's order 7311 is from shopify`},
		{"no vendor, the order's platform: the shop's order", with("platform", "shopify"), ""},
		{"no vendor, the order's platform in capitals: the shop's order", with("platform", "Shopify"), ""},
		{"no vendor, no platform: the shop's order", joined, ""},
		{"no vendor, a blank platform: the shop's order", with("platform", " "), ""},
		{"complete, the order's platform: the shop's order", with("platform", "shopify", "vendor_id", "shopify-vendor"), ""},
	}
	for _, provider := range []string{activities.ProviderStripe, activities.ProviderPayPal} {
		for i, tt := range tests {
			t.Run(provider+"/"+tt.name, func(t *testing.T) {
				pi := provider + "-7311-" + string(rune('a'+i))
				wf := "payment-" + pi
				out, err := f.a.Prepare(ctx, activities.PrepareInput{WorkflowID: wf, FirstRun: true, CapturedAt: nextSecond(),
					Capture: &activities.EnrichInput{WorkflowID: wf, Provider: provider, PaymentID: pi, Gross: 1100, Currency: "usd", Metadata: tt.md}})
				require.NoError(t, err)
				require.NotNil(t, out.Enriched)
				require.Empty(t, out.Enriched.Missing, "the order is stored: nothing to wait for")
				if tt.wantProblem == "" {
					require.Empty(t, out.Enriched.Problem)
					require.NotNil(t, out.Split, out.SplitProblem)
					assert.Equal(t, "shopify", out.Enriched.Order.Platform)
					assert.Equal(t, []string{"shopify-vendor"}, vendorsPaid(*out.Split))
					return
				}
				require.Nil(t, out.Split, "split on another platform's order: %+v", out.Split)
				require.Contains(t, out.Enriched.Problem, tt.wantProblem)
				assert.Equal(t, c, out.Enriched.Named.ClientID, "still the client's payment")
				assert.Equal(t, "7311", out.Enriched.Named.OrderID)
			})
		}
	}
}

// TestEnrichWaitingPaymentParksWhenAnotherPlatformsOrderArrives: a payment waits for its order
// (its metadata names WooCommerce), and the order the webhook then stores under its ID, and wakes
// it for, is Shopify's. Once that one is stored the WooCommerce order can never be, so the payment
// parks at once, naming both, rather than waiting for it until PAYMENT_ENRICH_WAIT runs out and
// parking as "order metadata missing".
func TestEnrichWaitingPaymentParksWhenAnotherPlatformsOrderArrives(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	md := map[string]string{"client_id": "shop1", "order_id": "7312", "platform": "woocommerce"}
	in := activities.EnrichInput{WorkflowID: "payment-stripe-pi_7312", Provider: "stripe", PaymentID: "pi_7312", Gross: 1100, Currency: "usd", Metadata: md}
	out, err := f.a.Enrich(ctx, in)
	require.NoError(t, err)
	require.Equal(t, []string{"vendor_id", "subtotal"}, out.Missing, "waits for its order")
	require.Empty(t, out.Problem)
	waiters, err := f.st.OrderWaiters(ctx, "shop1", "7312")
	require.NoError(t, err)
	require.Equal(t, []string{in.WorkflowID}, waiters, "the order's webhook will wake it")

	require.NoError(t, f.st.SaveOrder(ctx, payment.Order{ClientID: "shop1", OrderID: "7312", VendorID: "v1", Platform: "shopify",
		Subtotal: 1000, Tax: 100, Currency: "usd"}, "paid"))
	out, err = f.a.Enrich(ctx, in) // woken by the webhook, or its next poll
	require.NoError(t, err)
	require.Empty(t, out.Missing, "nothing it waits for can arrive")
	require.Contains(t, out.Problem, "names woocommerce order 7312, but the client's order 7312 is from shopify")
	require.Equal(t, payment.Order{}, out.Order, "not the shop's order")
}

func vendorsPaid(s split.Split) []string {
	var v []string
	for _, l := range s.Legs {
		if l.Party == split.PartyVendor {
			v = append(v, l.PayeeID)
		}
	}
	return v
}

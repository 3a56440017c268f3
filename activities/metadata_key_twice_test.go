package activities_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/internal/split"
	"paysplit/internal/store"
)

// TestEnrichMetadataKeyGivenTwice: an order key a PayPal custom_id gives twice with different
// values reaches Enrich as both, comma-separated (api/server paypalMetadata), and parks naming
// them, whichever key it is: no amount, ID or platform reads so. The payment is then no vendor's
// and no affiliate's, never the first one's on a guess.
func TestEnrichMetadataKeyGivenTwice(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	c := "md-twice"
	_, _, err := f.st.UpsertClient(ctx, store.Client{ID: c, Name: "Twice", DefaultCurrency: "usd"})
	require.NoError(t, err)
	_, err = f.st.CreateRule(ctx, split.Rule{ClientID: c, PlatformBps: 1000}, "test")
	require.NoError(t, err)
	md := func(k, v string) map[string]string {
		m := map[string]string{"client_id": c, "order_id": "o-twice", "vendor_id": "v-blue", "subtotal": "1000", "platform": "shopify"}
		m[k] = v
		return m
	}
	for _, tc := range []struct {
		name, problem string
		md            map[string]string
	}{
		{"vendor", `vendor_id "v-blue,v-red"`, md("vendor_id", "v-blue,v-red")},
		{"affiliate", `affiliate_id "a-1,a-2"`, md("affiliate_id", "a-1,a-2")},
		{"order", `order_id "o-1,o-2"`, md("order_id", "o-1,o-2")},
		{"client", `client_id "md-twice,globex"`, md("client_id", c+",globex")},
		{"platform", `platform "shopify,woocommerce"`, md("platform", "shopify,woocommerce")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := f.a.Enrich(ctx, activities.EnrichInput{WorkflowID: "payment-paypal-twice", Provider: activities.ProviderPayPal, PaymentID: "CAPTWICE", Gross: 1000, Currency: "usd", Metadata: tc.md})
			require.NoError(t, err)
			require.Empty(t, out.Missing)
			require.Contains(t, out.Problem, tc.problem)
			require.Empty(t, out.Order.VendorID, "nobody is paid")
		})
	}
}

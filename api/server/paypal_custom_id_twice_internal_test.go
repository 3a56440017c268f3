package server

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/paypalsearch"
)

// TestPayPalCustomIDKeyGivenTwiceDifferently: any order key a custom_id gives twice with
// different values is passed on as both, comma-separated, as the amounts are: no ID or platform
// can be read as that, so the payment parks naming them (activities parseOrder). Until
// 2026-11-28 only the amounts were, and `vendor_id=v-blue&vendor_id=v-red` paid v-blue on a guess
// (the first was taken, the second dropped unseen), a wrong payee where an ambiguous amount at
// least had to add up. Transaction Search reads client_id alike (paypalsearch.ClientOf), so a
// capture whose client is ambiguous counts for no client in the KPIs, as its payment is filed
// under none, and is still the platform's for reconciliation.
func TestPayPalCustomIDKeyGivenTwiceDifferently(t *testing.T) {
	for _, tc := range []struct {
		custom, invoice string
		want            map[string]string
	}{
		{"client_id=acme&order_id=o-1&vendor_id=v-blue&vendor_id=v-red", "",
			map[string]string{"client_id": "acme", "order_id": "o-1", "vendor_id": "v-blue,v-red"}},
		{"client_id=acme&order_id=o-2&affiliate_id=a-1&affiliate_id=a-2&affiliate_id=a-1", "",
			map[string]string{"client_id": "acme", "order_id": "o-2", "affiliate_id": "a-1,a-2"}},
		{"client_id=acme&order_id=o-3&order_id=o-4", "inv-3",
			map[string]string{"client_id": "acme", "order_id": "o-3,o-4"}},
		{"client_id=acme&order_id=o-5&platform=shopify&platform=woocommerce", "",
			map[string]string{"client_id": "acme", "order_id": "o-5", "platform": "shopify,woocommerce"}},
		{"client_id=acme&order_id=o-6&client_id=globex", "",
			map[string]string{"client_id": "acme,globex", "order_id": "o-6"}},
		// The same value twice is one value: nothing ambiguous.
		{"client_id=acme&order_id=o-7&vendor_id=v-blue&subtotal=100&vendor_id=v-blue&client_id=acme", "",
			map[string]string{"client_id": "acme", "order_id": "o-7", "vendor_id": "v-blue", "subtotal": "100"}},
	} {
		t.Run(tc.custom, func(t *testing.T) {
			require.Equal(t, tc.want, paypalMetadata(tc.custom, tc.invoice))
			require.Equal(t, tc.want["client_id"], paypalsearch.ClientOf(tc.custom), "Transaction Search reads the same client")
		})
	}
}

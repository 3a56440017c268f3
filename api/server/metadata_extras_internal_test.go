package server

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/paypalsearch"
)

// TestOrderMetadataKeepsExtras: `extras` is an order key of the metadata (README, "Order metadata
// the store plugins send"), kept with the others in a Stripe PaymentIntent's metadata and a PayPal
// custom_id; customer data still is not. An amount a custom_id gives twice with different values
// is passed on as both, so that the payment parks saying so (activities parseOrder refuses it as
// it refuses any amount that is not bare digits), where the first was taken, the second dropped
// unseen: an amount the checkout sent ambiguously is not split on a guess.
func TestOrderMetadataKeepsExtras(t *testing.T) {
	require.Equal(t, map[string]string{"client_id": "acme", "subtotal": "1000", "extras": "200"},
		orderMetadata(map[string]string{"client_id": "acme", "subtotal": "1000", "extras": "200", "email": "ann@example.com"}))
	for _, tc := range []struct {
		custom string
		want   map[string]string
	}{
		{"client_id=acme&order_id=o-1&extras=200&email=ann%40example.com", map[string]string{"client_id": "acme", "order_id": "o-1", "extras": "200"}},
		{"client_id=acme&order_id=o-2&extras=200&extras=300", map[string]string{"client_id": "acme", "order_id": "o-2", "extras": "200,300"}},
		{"client_id=acme&order_id=o-3&subtotal=1000&tax=80&subtotal=900", map[string]string{"client_id": "acme", "order_id": "o-3", "subtotal": "1000,900", "tax": "80"}},
		{"client_id=acme&order_id=o-4&extras=200&extras=200", map[string]string{"client_id": "acme", "order_id": "o-4", "extras": "200"}},
	} {
		t.Run(tc.custom, func(t *testing.T) {
			require.Equal(t, tc.want, paypalMetadata(tc.custom, ""))
			require.Equal(t, "acme", paypalsearch.ClientOf(tc.custom))
		})
	}
}

package recon

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCompare(t *testing.T) {
	k := func(p, payee string) Key { return Key{Payment: p, PayeeID: payee, Currency: "usd"} }
	ledger := map[Key]int64{k("w1", "v1"): 9545, k("w1", "a1"): 485, k("w2", "v1"): 100, k("w3", "v1"): 0, k("w4", "v2"): 50}
	provider := map[Key]int64{k("w1", "v1"): 9545, k("w1", "a1"): 437, k("w5", "v1"): 70, k("w3", "v1"): 0, k("w6", "v1"): 0}
	require.Equal(t, []Drift{
		{Key: k("w1", "a1"), Kind: AmountDiffers, LedgerAmount: 485, ProviderAmount: 437},
		{Key: k("w2", "v1"), Kind: MissingAtProvider, LedgerAmount: 100},
		{Key: k("w4", "v2"), Kind: MissingAtProvider, LedgerAmount: 50},
		{Key: k("w5", "v1"), Kind: ExtraAtProvider, ProviderAmount: 70},
	}, Compare(ledger, provider))
	require.Empty(t, Compare(map[Key]int64{k("w", "v"): 5}, map[Key]int64{k("w", "v"): 5}))
}

func TestPayoutEntry(t *testing.T) {
	tests := []struct {
		key, payment, payee string
		ok                  bool
	}{
		{"payment-stripe-pi_1/transfer/vendor-acme-vendor", "payment-stripe-pi_1", "acme-vendor", true},
		{"payment-stripe-pi_1/refund/1100/affiliate-a1", "payment-stripe-pi_1", "a1", true},
		{"payment-stripe-pi_1/compensate/vendor-v1", "payment-stripe-pi_1", "v1", true},
		{"payment-stripe-pi_1/correction/v4/vendor-v1", "payment-stripe-pi_1", "v1", true},
		{"payment-stripe-pi_1/refund/11000.t1/vendor-v1", "payment-stripe-pi_1", "v1", true},
		{"payment-stripe-pi_1/compensate.t2/affiliate-a1", "payment-stripe-pi_1", "a1", true},
		{"payment-stripe-pi_1/correction/v5.t1/vendor-v1", "payment-stripe-pi_1", "v1", true},
		{"payment-stripe-pi_1/correction/v4.a2/vendor-v1", "payment-stripe-pi_1", "v1", true},
		{"payment-stripe-pi_1/correction/v4.a2.t3/vendor-v1", "payment-stripe-pi_1", "v1", true},
		{"payment-stripe-pi_1/refund-failed/re_1.a1/affiliate-a1", "payment-stripe-pi_1", "a1", true},
		{"payment-stripe-pi_1/correction/v4.a2", "", "", false},
		{"payment-stripe-pi_1/refund/1100.a1/vendor-v1", "payment-stripe-pi_1", "v1", true},
		{"payment-stripe-pi_1/refund/1100.f1.t2.a3/vendor-v1", "payment-stripe-pi_1", "v1", true},
		{"payment-stripe-pi_1/compensate.a1/affiliate-a1", "payment-stripe-pi_1", "a1", true},
		{"payment-stripe-pi_1/refund/3000.f1/vendor-v1", "payment-stripe-pi_1", "v1", true},
		{"payment-stripe-pi_1/refund/3000.f2.t1/vendor-v1", "payment-stripe-pi_1", "v1", true},
		{"payment-stripe-pi_1/refund-failed/re_1/affiliate-a1", "payment-stripe-pi_1", "a1", true},
		{"payment-stripe-pi_1/capture", "", "", false},
		{"payment-stripe-pi_1/refund-failed/re_1", "", "", false},
		{"payment-stripe-pi_1/refund/3000.f1", "", "", false},
		{"payment-stripe-pi_1/refund/1100", "", "", false},
		{"payment-stripe-pi_1/correction/v4", "", "", false},
	}
	for _, tt := range tests {
		p, payee, ok := PayoutEntry(tt.key)
		require.Equal(t, tt.ok, ok, tt.key)
		require.Equal(t, tt.payment, p, tt.key)
		require.Equal(t, tt.payee, payee, tt.key)
	}
	payee, ok := PayeeFromAccount("affiliate_payable:a-1")
	require.True(t, ok)
	require.Equal(t, "a-1", payee)
	_, ok = PayeeFromAccount("platform:revenue")
	require.False(t, ok)
}

func TestRefundEntry(t *testing.T) {
	for key, want := range map[string]bool{
		"payment-stripe-pi_1/refund/1100":                  true,
		"payment-stripe-pi_1/refund/1100.f1":               true,
		"payment-stripe-pi_1/refund-failed/re_1":           true,
		"payment-stripe-pi_1/refund/1100/vendor-v1":        false,
		"payment-stripe-pi_1/refund/1100.t1/vendor-v1":     false,
		"payment-stripe-pi_1/refund-failed/re_1/vendor-v1": false,
		"payment-stripe-pi_1/capture":                      false,
		"payment-paypal-CAP1/refund/REF1/affiliate-a1":     false,
		"payment-stripe-pi_1/correction/v4":                false,
	} {
		require.Equal(t, want, RefundEntry(key), key)
	}
}

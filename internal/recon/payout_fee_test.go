package recon

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A payout's fee entry (workflows/payment payoutFeeKey) books no payee's money and no refund:
// reconciliation reads it as neither, so a fee moves no payee's payout and no payment's refunded
// amount.
func TestPayoutFeeKeysAreNeitherPayoutsNorRefunds(t *testing.T) {
	for _, key := range []string{
		"payment-paypal-CAP1/payout-fee/vendor-v1/0",
		"payment-paypal-CAP1/payout-fee/affiliate-a1/2",
		"payment-paypal-CAP1/payout-fee/vendor-v1/correction-v4",
		"payment-paypal-CAP1/payout-fee/vendor-v1/correction-v4.a1",
		"payment-paypal-CAP1/payout-fee/vendor-v1/refund-failed-re_1",
		"payment-paypal-CAP1/payout-fee/vendor-v1/refund-failed-re_1.a2",
	} {
		_, _, ok := PayoutEntry(key)
		require.False(t, ok, "%s read as a payout", key)
		require.False(t, RefundEntry(key), "%s read as a refund", key)
	}
}

package activities_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/testenv"
)

// Every way a PayPal payout ends answers its fee only when the item was paid (SUCCESS), read at
// that read: a batch watched PENDING across attempts, a linked duplicate, an unclaimed item the
// payee claimed before its cancel, an admin's confirm; an item cancelled (unclaimed) or denied
// answers a refusal and no fee.
func TestPayPalPayoutFeeOnEveryPathToPaid(t *testing.T) {
	in := activities.TransferInput{Provider: activities.ProviderPayPal, IdempotencyKey: "payment-paypal-CAPF/transfer/vendor-v1/0",
		Destination: "vendor@example.com", Amount: 9545, Currency: "usd", TransferGroup: "o-f", Metadata: map[string]string{"payee_id": "v1"}}
	tests := []struct {
		name    string
		fake    func(p *testenv.PayPal)
		run     func(t *testing.T, a *activities.Activities, fake *testenv.PayPal) (activities.TransferOutput, error)
		wantFee int64
		refused bool
	}{
		{name: "paid at once", wantFee: 25},
		{name: "pending past an attempt's watch, paid on the next", fake: func(p *testenv.PayPal) { p.IgnoreRequestIDs, p.PendingReads = true, 1<<30 },
			run: func(t *testing.T, a *activities.Activities, fake *testenv.PayPal) (activities.TransferOutput, error) {
				_, err := transferIn(t, a, in)
				require.ErrorContains(t, err, "still pending")
				fake.SettlePayouts()
				return transferIn(t, a, in)
			}, wantFee: 25},
		{name: "unclaimed, claimed before its cancel", fake: func(p *testenv.PayPal) {
			p.ItemStatus, p.ClaimedBeforeCancel = func(string) string { return "UNCLAIMED" }, true
		}, run: func(t *testing.T, a *activities.Activities, _ *testenv.PayPal) (activities.TransferOutput, error) {
			_, err := transferIn(t, a, in)
			require.ErrorContains(t, err, "cancel unclaimed payout item")
			return transferIn(t, a, in)
		}, wantFee: 25},
		{name: "unclaimed and cancelled", fake: func(p *testenv.PayPal) { p.ItemStatus = func(string) string { return "UNCLAIMED" } }, refused: true},
		{name: "denied", fake: func(p *testenv.PayPal) { p.ItemStatus = func(string) string { return "DENIED" } }, refused: true},
		{name: "confirmed by an admin after an unknown outcome", fake: func(p *testenv.PayPal) { p.PendingReads = 1 << 30 },
			run: func(t *testing.T, a *activities.Activities, fake *testenv.PayPal) (activities.TransferOutput, error) {
				_, err := transferIn(t, a, in)
				require.ErrorContains(t, err, "still pending")
				fake.SettlePayouts()
				return confirmIn(t, a, activities.ConfirmTransferInput{Transfer: in, Ref: "BATCH0001"})
			}, wantFee: 25},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := testenv.NewPayPal(t)
			fake.PayoutItemFee = &testenv.PayPalAmount{Currency: "USD", Value: "0.25"} // 0.00 until the item is SUCCESS
			if tc.fake != nil {
				tc.fake(fake)
			}
			c, err := activities.NewPayPalClient("paysplit-test", "secret", fake.APIBase, fake.HTTPClient())
			require.NoError(t, err)
			a := &activities.Activities{PayPal: c, PayPalWatch: 200 * time.Millisecond}
			run := tc.run
			if run == nil {
				run = func(t *testing.T, a *activities.Activities, _ *testenv.PayPal) (activities.TransferOutput, error) {
					return transferIn(t, a, in)
				}
			}
			out, err := run(t, a, fake)
			if tc.refused {
				requireNonRetryable(t, err, activities.ErrTypeRejected)
				require.Zero(t, out.Fee)
			} else {
				require.NoError(t, err)
				require.Equal(t, "ITEM0001", out.TransferID)
				require.Equal(t, tc.wantFee, out.Fee, "the fee PayPal states once the item is paid")
			}
			require.Len(t, fake.Payouts(), 1, "PayPal paid once")
		})
	}
}

// transferIn runs Transfer in an activity's context, as a worker does (a watch heartbeats).
func transferIn(t *testing.T, a *activities.Activities, in activities.TransferInput) (activities.TransferOutput, error) {
	t.Helper()
	var out activities.TransferOutput
	val, err := activityEnv(a).ExecuteActivity(a.Transfer, in)
	if err == nil {
		require.NoError(t, val.Get(&out))
	}
	return out, err
}

package activities_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"paysplit/activities"
	"paysplit/testenv"
)

// A payout whose creation answer was lost is asked again under the same key. Whatever PayPal
// answers then, the activity must never report a refusal for a batch that was made (the
// workflow would take a new key and pay again): it finds the batch and reports its outcome, or
// reports the outcome unknown (retryable, the key kept).
func TestPayPalPayoutWhoseAnswerWasLost(t *testing.T) {
	const key = "payment-paypal-CAP1/transfer/vendor-v1/0"
	in := activities.TransferInput{Provider: activities.ProviderPayPal, IdempotencyKey: key, Destination: "vendor@example.com",
		Amount: 9545, Currency: "usd", TransferGroup: "o-1", Metadata: map[string]string{"payee_id": "v1"}}
	tests := []struct {
		name string
		// fake sets PayPal's behaviour for the repeated request.
		fake func(p *testenv.PayPal)
		// again changes the repeated request.
		again     func(in *activities.TransferInput)
		wantPaid  bool
		wantError string
	}{
		{name: "request ID replayed: the first answer", wantPaid: true},
		{name: "request ID ignored: the batch the duplicate links to", fake: func(p *testenv.PayPal) { p.IgnoreRequestIDs = true }, wantPaid: true},
		{name: "request ID ignored, no link: outcome unknown", wantError: "did not link it",
			fake: func(p *testenv.PayPal) { p.IgnoreRequestIDs, p.OmitDuplicateLink = true, true }},
		{name: "the linked batch pays another amount: not this movement's outcome", wantError: "not 95.46 USD",
			fake: func(p *testenv.PayPal) { p.IgnoreRequestIDs = true }, again: func(in *activities.TransferInput) { in.Amount++ }},
		{name: "the payee's receiver fixed since: the batch paid the old one", wantPaid: true,
			fake: func(p *testenv.PayPal) { p.IgnoreRequestIDs = true }, again: func(in *activities.TransferInput) { in.Destination = "fixed@example.com" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := testenv.NewPayPal(t)
			c, err := activities.NewPayPalClient("paysplit-test", "secret", fake.APIBase, fake.HTTPClient())
			require.NoError(t, err)
			a := &activities.Activities{PayPal: c}
			lost := 0
			fake.LosePayoutAnswer = func(string) bool { lost++; return lost == 1 }
			ctx := context.Background()

			_, err = a.Transfer(ctx, in)
			require.Error(t, err, "the first answer is lost")
			requireRetryable(t, err)
			if tc.fake != nil {
				tc.fake(fake)
			}
			again := in
			if tc.again != nil {
				tc.again(&again)
			}
			out, err := a.Transfer(ctx, again)
			if tc.wantPaid {
				require.NoError(t, err)
				require.Equal(t, "ITEM0001", out.TransferID, "the item of the batch the first attempt made")
			} else {
				require.ErrorContains(t, err, tc.wantError)
				requireRetryable(t, err)
			}
			payouts := fake.Payouts()
			require.Len(t, payouts, 1, "PayPal paid once")
			require.Equal(t, key, payouts[0].SenderBatchID)
			require.Equal(t, "95.45", payouts[0].Value)
		})
	}
}

// requireRetryable fails unless err leaves the retry to the retry policy: no refusal, which
// would give the movement a new key.
func requireRetryable(t *testing.T, err error) {
	t.Helper()
	var app *temporal.ApplicationError
	require.False(t, errors.As(err, &app) && app.NonRetryable(), "a refusal: %v", err)
}

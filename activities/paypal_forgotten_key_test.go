package activities_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// PayPal keeps a sender_batch_id 30 days and has no lookup by it: a payout sent again under its key
// after that is a second payout. The run guards a send it knows of (leg.SentAt), but a send whose
// worker died before its workflow task completed (a local activity) left nothing in the run's
// history, and the next worker, after a long outage, sends the key again as new, not asked. The
// activity records each key's first send before it calls PayPal, and one first sent 29 days ago
// or more is not sent again: its outcome is unknown (retryable, the key kept), for an admin.
func TestPayPalKeySentBeforePayPalMayHaveForgottenItIsNotSentAgain(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name string
		// ago is how long before the send again the key was first sent.
		ago time.Duration
		// forgotten: PayPal forgot the key meanwhile (30 days on).
		forgotten bool
		asked     bool
		wantPaid  bool
	}{
		{name: "first sent 30 days ago, PayPal forgot it, not asked: in doubt, not paid again", ago: 30 * day, forgotten: true},
		{name: "first sent 30 days ago, PayPal forgot it, asked: in doubt, not paid again", ago: 30 * day, forgotten: true, asked: true},
		{name: "first sent 29 days ago, PayPal may forget it during the send: in doubt", ago: 29 * day},
		{name: "first sent 28 days ago: PayPal still has it and answers with its batch", ago: 28 * day, wantPaid: true},
		{name: "first sent 28 days ago, asked: PayPal answers with its batch", ago: 28 * day, asked: true, wantPaid: true},
	}
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	for n, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := testenv.NewPayPal(t)
			fake.IgnoreRequestIDs = true // only sender_batch_id deduplicates, as PayPal has been seen to
			c, err := activities.NewPayPalClient("paysplit-test", "secret", fake.APIBase, fake.HTTPClient())
			require.NoError(t, err)
			a := &activities.Activities{PayPal: c, Store: st}
			// The database is the test binary's: a key of its own per case.
			key := fmt.Sprintf("payment-paypal-FORGOT%d-%d/transfer/vendor-v1/0", n, time.Now().UnixNano())
			in := activities.TransferInput{Provider: activities.ProviderPayPal, IdempotencyKey: key, Destination: "vendor@example.com",
				Amount: 9545, Currency: "usd", TransferGroup: "o-1", Metadata: map[string]string{"payee_id": "v1", activities.MetaIdempotencyKey: key}}
			ctx := context.Background()

			first, err := a.Transfer(ctx, in)
			require.NoError(t, err)
			_, err = pool.Exec(ctx, `UPDATE stripe_key_sends SET first_sent_at = now() - make_interval(secs => $2) WHERE key = $1`,
				key, tc.ago.Seconds())
			require.NoError(t, err)
			if tc.forgotten {
				fake.ForgetKeys()
			}

			again := in
			again.Asked = tc.asked
			out, err := a.Transfer(ctx, again)
			require.Len(t, fake.Payouts(), 1, "PayPal paid once under %s", key)
			if tc.wantPaid {
				require.NoError(t, err)
				require.Equal(t, first.TransferID, out.TransferID, "the batch the first send made")
			} else {
				require.ErrorContains(t, err, "in doubt")
				requireRetryable(t, err)
			}
		})
	}
}

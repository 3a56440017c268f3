package activities_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76"

	"paysplit/activities"
	"paysplit/internal/payment"
	"paysplit/internal/recon"
)

// TestReconcileCountsEveryTransferOfAPaymentItDoesNotKnow: transfers made in the day for a payment
// the platform has no record of (a database restored to before it, say) are each the provider's
// alone. The day's list kept only the first transfer it met of such a payment, so of a vendor's
// and an affiliate's payout only one showed as drift and the other was never reported.
func TestReconcileCountsEveryTransferOfAPaymentItDoesNotKnow(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	day := time.Now().UTC().Truncate(24 * time.Hour)
	wf := payment.WorkflowID("stripe", fmt.Sprintf("pi_unknown_%d", time.Now().UnixNano()))
	api := activities.NewStripeClient("sk_test_123", f.proxy.URL, nil)
	for _, tr := range []struct {
		payee  string
		amount int64
	}{{"v-gone", 9545}, {"a-gone", 485}, {"v-gone", 100}} {
		params := &stripe.TransferParams{
			Params:   stripe.Params{Context: ctx},
			Amount:   stripe.Int64(tr.amount),
			Currency: stripe.String("usd"), Destination: stripe.String("acct_" + tr.payee), TransferGroup: stripe.String("o-" + wf),
			Metadata: map[string]string{"workflow_id": wf, "payee_id": tr.payee},
		}
		params.SetIdempotencyKey(fmt.Sprintf("%s/transfer/%s/%d", wf, tr.payee, tr.amount))
		_, err := api.Transfers.New(params)
		require.NoError(t, err)
	}

	mine := reconcileDay(t, f, &activities.Reconciler{Store: f.st, Stripe: api}, "stripe", day, wf)
	require.Equal(t, []recon.Drift{
		{Key: recon.Key{Payment: wf, PayeeID: "a-gone", Currency: "usd"}, Kind: recon.ExtraAtProvider, ProviderAmount: 485},
		{Key: recon.Key{Payment: wf, PayeeID: "v-gone", Currency: "usd"}, Kind: recon.ExtraAtProvider, ProviderAmount: 9645},
	}, mine, "each transfer of the unknown payment counted once")
}

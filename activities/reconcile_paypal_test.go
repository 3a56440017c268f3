package activities_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/internal/ledger"
	"paysplit/internal/payment"
	"paysplit/internal/recon"
	"paysplit/internal/split"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// TestPayPalPayoutItemPayPalDoesNotKnowIsMissing: a payout the books made whose item PayPal has
// never heard of is missing at PayPal, as a Stripe transfer that is not there is. It was
// counted as a payout of 0 found at PayPal, and reported as an amount that differs.
func TestPayPalPayoutItemPayPalDoesNotKnowIsMissing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	pp := testenv.NewPayPal(t)
	api, err := activities.NewPayPalClient("id", "secret", pp.APIBase, pp.HTTPClient())
	require.NoError(t, err)
	day := time.Now().UTC().Truncate(24 * time.Hour)
	capture := fmt.Sprintf("CAPUNKNOWNITEM%d", time.Now().UnixNano())
	wf := payment.WorkflowID("paypal", capture)
	require.NoError(t, f.st.SavePayment(ctx, payment.Record{WorkflowID: wf, Provider: "paypal", PaymentID: capture, Currency: "usd", Gross: 11000,
		Order: payment.Order{ClientID: "shop1", OrderID: "o-" + capture, VendorID: "v1"}, Status: payment.StatusPaid,
		Legs: []payment.Leg{{Party: split.PartyVendor, PayeeID: "v1", Amount: 9545, Transferred: 9545, TransferID: "ITEM-NEVER-MADE",
			State: payment.LegTransferred}}}))
	_, _, err = f.a.Ledger.Post(ctx, ledger.Entry{IdempotencyKey: wf + "/transfer/vendor-v1", Currency: "usd", Reference: wf,
		Postings: []ledger.Posting{{Account: ledger.VendorPayable("v1"), Amount: 9545}, {Account: ledger.ProviderBalance("paypal"), Amount: -9545}}})
	require.NoError(t, err)

	mine := reconcileDay(t, f, &activities.Reconciler{Store: f.st, PayPal: api}, "paypal", day, wf)
	require.Equal(t, []recon.Drift{
		{Key: recon.Key{Payment: wf, PayeeID: "v1", Currency: "usd"}, Kind: recon.MissingAtProvider, LedgerAmount: 9545},
	}, mine)
}

// reconcileDay runs rec's reconciliation of provider's day (as the run reconcile-<wf>) and
// returns the drifts it recorded for payment wf.
func reconcileDay(t *testing.T, f fixture, rec *activities.Reconciler, provider string, day time.Time, wf string) []recon.Drift {
	t.Helper()
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(rec)
	val, err := env.ExecuteActivity(rec.Reconcile, activities.ReconcileInput{Provider: provider, From: day, To: day.Add(24 * time.Hour), WorkflowID: "reconcile-" + wf})
	require.NoError(t, err)
	var out activities.ReconcileOutput
	require.NoError(t, val.Get(&out))
	runs, err := f.st.ListReconciliations(t.Context(), store.ReconciliationFilter{BeforeID: out.RunID + 1, Limit: 1})
	require.NoError(t, err)
	require.Len(t, runs, 1)
	var mine []recon.Drift
	for _, d := range runs[0].Drifts {
		if d.Payment == wf {
			mine = append(mine, d)
		}
	}
	return mine
}

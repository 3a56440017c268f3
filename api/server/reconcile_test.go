package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76"

	"paysplit/activities"
	"paysplit/internal/ledger"
	"paysplit/internal/stripeevent"
	"paysplit/testenv"
	"paysplit/workflows/payment"
)

func TestReconciliationFindsDriftAndChangesNothing(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	s.seed("recco")
	for _, pi := range []string{"pi_rec1", "pi_rec2"} {
		code, body := s.webhook(stripeevent.Sign(capture("recco", pi).Body(), webhookSecret, time.Now()))
		require.Equal(t, http.StatusOK, code, body)
		s.result(payment.WorkflowID("stripe", pi))
	}
	refund := stripeevent.Refund{EventID: "evt_rr", PaymentIntent: "pi_rec2", Charge: "ch_pi_rec2", Currency: "usd", Amount: 11000, AmountRefunded: 2200, Created: time.Now()}
	code, body := s.webhook(stripeevent.Sign(refund.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	s.result(payment.WorkflowID("stripe", "pi_rec2"))

	today := time.Now().UTC().Format(time.DateOnly)
	code, out := s.do(http.MethodPost, "/api/v1/admin/reconciliation/run", map[string]any{"date": today}, adminKey)
	require.Equal(t, http.StatusOK, code, out)
	stripeRun := out["runs"].(map[string]any)["stripe"].(map[string]any)
	require.GreaterOrEqual(t, stripeRun["Checked"], float64(2))
	// Other tests of the package share the database but not this test's Stripe: only this
	// client's payees are this test's to judge.
	mine := func(drifts []any) []any {
		var out []any
		for _, d := range drifts {
			m := d.(map[string]any)
			p, _ := m["payment"].(string)
			payee, _ := m["payee_id"].(string)
			if p == "payment-stripe-pi_stranger" || strings.HasPrefix(payee, "recco-") || payee == "ghost" ||
				strings.HasPrefix(p, "payment-stripe-pi_rec") {
				out = append(out, d)
			}
		}
		return out
	}
	drifted, _ := stripeRun["Drifts"].([]any)
	require.Empty(t, mine(drifted), "books and Stripe agree")

	// Four drifts of three kinds: a payout booked but never sent, one sent but never booked, a
	// transfer that Stripe shows bigger than the books, and a processing fee Stripe shows bigger
	// than the one booked (as if Stripe had adjusted it after the split).
	ctx := context.Background()
	pay1 := payment.WorkflowID("stripe", "pi_rec1")
	_, _, err := s.ledger.Post(ctx, ledger.Entry{IdempotencyKey: pay1 + "/transfer/vendor-ghost", Currency: "usd", Reference: pay1,
		Postings: []ledger.Posting{{Account: ledger.VendorPayable("ghost"), Amount: 300}, {Account: ledger.ProviderBalance("stripe"), Amount: -300}}})
	require.NoError(t, err)
	sc := activities.NewStripeClient("sk_test_123", s.stripe.URL, nil)
	for _, tr := range []*stripe.TransferParams{
		{Amount: stripe.Int64(100), Currency: stripe.String("usd"), Destination: stripe.String("acct_vendor1"), TransferGroup: stripe.String("order-pi_rec1"),
			Metadata: map[string]string{"workflow_id": pay1, "payee_id": "recco-vendor"}},
		{Amount: stripe.Int64(700), Currency: stripe.String("usd"), Destination: stripe.String("acct_x"),
			Metadata: map[string]string{"workflow_id": "payment-stripe-pi_stranger", "payee_id": "stranger"}},
	} {
		_, err := sc.Transfers.New(tr)
		require.NoError(t, err)
	}
	s.stripe.AddCharge(testenv.StripeCharge{ID: "ch_pi_rec2", Currency: "usd", Amount: 11000, Fee: 400})
	entriesBefore, err := s.ledger.EntriesByReference(ctx, pay1)
	require.NoError(t, err)

	code, out = s.do(http.MethodPost, "/api/v1/admin/reconciliation/run", map[string]any{"date": today}, adminKey)
	require.Equal(t, http.StatusOK, code, out)
	code, out = s.do(http.MethodGet, "/api/v1/admin/reconciliation?limit=5", nil, adminKey)
	require.Equal(t, http.StatusOK, code, out)
	latest := out["runs"].([]any)
	var drifts []any
	for _, r := range latest {
		if run := r.(map[string]any); run["provider"] == "stripe" {
			drifts = run["drifts"].([]any)
			break
		}
	}
	type found struct {
		payment, payee   string
		ledger, provider float64
	}
	got := map[string][]found{}
	for _, d := range mine(drifts) {
		m := d.(map[string]any)
		got[m["kind"].(string)] = append(got[m["kind"].(string)], found{m["payment"].(string), m["payee_id"].(string), m["ledger_amount"].(float64), m["provider_amount"].(float64)})
	}
	require.Equal(t, map[string][]found{
		"missing_at_provider": {{pay1, "ghost", 300, 0}},
		"extra_at_provider":   {{"payment-stripe-pi_stranger", "stranger", 0, 700}},
		"amount_differs": {
			{pay1, "recco-vendor", 9545, 9645},
			{payment.WorkflowID("stripe", "pi_rec2"), "(processing fee)", 349, 400},
		},
	}, got, "%v", drifts)

	entriesAfter, err := s.ledger.EntriesByReference(ctx, pay1)
	require.NoError(t, err)
	require.Equal(t, len(entriesBefore), len(entriesAfter), "reconciliation never fixes money by itself")
}

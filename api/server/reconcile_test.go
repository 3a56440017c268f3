package server_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76"

	"paysplit/activities"
	"paysplit/internal/ledger"
	"paysplit/internal/paypalevent"
	"paysplit/internal/stripeevent"
	"paysplit/testenv"
	stackpkg "paysplit/testenv/stack"
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

	// Other tests of the package share the database but not this test's Stripe: only this
	// client's payees and payments are this test's to judge (by name: a prefix such as pi_rec
	// took another test's pi_recheck too).
	mine := func(p, payee string) bool {
		return p == "payment-stripe-pi_stranger" || strings.HasPrefix(payee, "recco-") || payee == "ghost" ||
			slices.Contains([]string{"pi_rec1", "pi_rec2", "pi_rec_lost", "pi_rec_elsewhere"}, strings.TrimPrefix(p, "payment-stripe-"))
	}
	require.Empty(t, s.Reconcile("stripe", mine), "books and Stripe agree")

	// Six drifts of three kinds: a payout booked but never sent, one sent but never booked, a
	// transfer that Stripe shows bigger than the books, a processing fee Stripe shows bigger than
	// the one booked (as if Stripe had adjusted it after the split), a refund whose webhook never
	// came, and a capture of a client's order whose webhook never came (nobody was paid from it).
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
	s.stripe.AddCharge(testenv.StripeCharge{ID: "ch_pi_rec2", Currency: "usd", Amount: 11000, Fee: 400, AmountRefunded: 2200,
		PaymentIntent: "pi_rec2", Created: time.Now(), Metadata: map[string]string{"client_id": "recco"}})
	s.stripe.RefundCharge("ch_pi_rec1", 1000)
	s.stripe.AddCharge(testenv.StripeCharge{ID: "ch_pi_rec_lost", Currency: "usd", Amount: 5000, Fee: 175,
		PaymentIntent: "pi_rec_lost", Created: time.Now(), Metadata: map[string]string{"client_id": "recco", "order_id": "o-lost"}})
	s.stripe.AddCharge(testenv.StripeCharge{ID: "ch_pi_rec_elsewhere", Currency: "usd", Amount: 900, Fee: 56,
		PaymentIntent: "pi_rec_elsewhere", Created: time.Now()}) // no client: a charge of the account's own, not a drift
	entriesBefore, err := s.ledger.EntriesByReference(ctx, pay1)
	require.NoError(t, err)

	require.Equal(t, map[string][]stackpkg.Drift{
		"missing_at_provider": {drift(pay1, "ghost", 300, 0)},
		"extra_at_provider": {
			drift(pay1, "(refunded)", 0, 1000),
			drift("payment-stripe-pi_rec_lost", "(captured)", 0, 5000),
			drift("payment-stripe-pi_stranger", "stranger", 0, 700),
		},
		"amount_differs": {
			drift(pay1, "recco-vendor", 9545, 9645),
			drift(payment.WorkflowID("stripe", "pi_rec2"), "(processing fee)", 349, 400),
		},
	}, s.Reconcile("stripe", mine), "a drift of each kind")

	// A key that may not list PaymentIntents: the run still compares what the books know.
	s.stripe.Inject = func(r *http.Request, _ url.Values) (int, string) {
		if r.URL.Path == "/v1/payment_intents" {
			return http.StatusForbidden, `{"error":{"type":"invalid_request_error","message":"The provided key does not have the required permissions"}}`
		}
		return 0, ""
	}
	got := s.Reconcile("stripe", mine)
	s.stripe.Inject = nil
	require.NotContains(t, got["extra_at_provider"], drift("payment-stripe-pi_rec_lost", "(captured)", 0, 5000))
	require.Contains(t, got["extra_at_provider"], drift(pay1, "(refunded)", 0, 1000))

	entriesAfter, err := s.ledger.EntriesByReference(ctx, pay1)
	require.NoError(t, err)
	require.Equal(t, len(entriesBefore), len(entriesAfter), "reconciliation never fixes money by itself")
}

// A PayPal refund that failed after it was applied (its fee return taken back with it) leaves the
// books at the capture's whole fee, as PayPal: the failed refund's return is not taken off
// PayPal's side either.
func TestPayPalReconciliationAfterARefundFailed(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	s.seedPayPal("recfail", "VENDORRECFAIL")
	body := paypalCapture("recfail", "CAPFAIL1")
	code, out := s.paypalWebhook(body, s.paypal.Sign(body))
	require.Equal(t, http.StatusOK, code, out)
	id := payment.WorkflowID("paypal", "CAPFAIL1")
	s.result(id)
	refunded := time.Now()
	told := func(status string, at time.Time) { // the refund, as PayPal tells it at a time
		refund := paypalevent.Refund{EventID: "WH-REF-CAPFAIL1-" + status, RefundID: "REF-CAPFAIL1", CaptureID: "CAPFAIL1", Currency: "usd",
			Amount: 1100, TotalRefunded: 1100, Fee: 38, Created: at, Made: refunded, Status: status}.Body()
		code, out := s.paypalWebhook(refund, s.paypal.Sign(refund))
		require.Equal(t, http.StatusOK, code, out)
		s.result(id)
	}
	told("COMPLETED", refunded)
	told("FAILED", refunded.Add(time.Hour))
	rec := s.result(id)
	require.Equal(t, []string{"REF-CAPFAIL1"}, rec.FeeReturnsUndone)
	s.paypal.AddCapture(testenv.PayPalCapture{ID: "CAPFAIL1", Currency: "USD", Amount: "110.00", Fee: "4.33", Status: "COMPLETED", Order: "ORDER-CAPFAIL1"})
	s.paypal.AddRefund(testenv.PayPalRefund{ID: "REF-CAPFAIL1", CaptureID: "CAPFAIL1", Currency: "USD", Amount: "11.00", Fee: "0.38"})
	s.paypal.AddTransactions(testenv.PayPalTransaction{ID: "CAPFAIL1", EventCode: "T0006", Status: "S", Currency: "USD", Value: "110.00",
		CustomField: "client_id=recfail&order_id=order-CAPFAIL1", At: time.Now()})
	mine := func(p, _ string) bool { return p == id }
	require.Empty(t, s.Reconcile("paypal", mine), "fee 4.33 on both sides, nothing refunded")
}

func TestPayPalReconciliationComparesPayoutsAndFees(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	s.seedPayPal("recpp", "VENDORRECPP01")
	for _, capture := range []string{"CAPREC1", "CAPREC2"} {
		body := paypalCapture("recpp", capture)
		code, out := s.paypalWebhook(body, s.paypal.Sign(body))
		require.Equal(t, http.StatusOK, code, out)
		s.result(payment.WorkflowID("paypal", capture))
	}
	refund := paypalevent.Refund{EventID: "WH-REF-CAPREC1", RefundID: "REF-CAPREC1", CaptureID: "CAPREC1",
		Currency: "usd", Amount: 1100, TotalRefunded: 1100, Fee: 38, Created: time.Now()}.Body()
	code, out := s.paypalWebhook(refund, s.paypal.Sign(refund))
	require.Equal(t, http.StatusOK, code, out)
	pay1 := payment.WorkflowID("paypal", "CAPREC1")
	require.EqualValues(t, 38, s.result(pay1).FeeReturned)
	// PayPal knows the first capture (partly refunded: how much, its checkout order's refunds
	// say) and its refund; the second capture it does not show (nothing of it can be compared, and it is left
	// out rather than called missing). Transaction Search lists both as this client's, and a
	// payment of the account's own that names no client.
	s.paypal.AddCapture(testenv.PayPalCapture{ID: "CAPREC1", Currency: "USD", Amount: "110.00", Fee: "4.33", Status: "PARTIALLY_REFUNDED", Order: "ORDER-CAPREC1"})
	s.paypal.AddRefund(testenv.PayPalRefund{ID: "REF-CAPREC1", CaptureID: "CAPREC1", Currency: "USD", Amount: "11.00", Fee: "0.38"})
	now := time.Now()
	for _, capture := range []string{"CAPREC1", "CAPREC2", "CAPRECOWN"} {
		custom := "client_id=recpp&order_id=order-" + capture
		if capture == "CAPRECOWN" {
			custom = "donation"
		}
		s.paypal.AddTransactions(testenv.PayPalTransaction{ID: capture, EventCode: "T0006", Status: "S", Currency: "USD", Value: "110.00", CustomField: custom, At: now})
	}
	mine := func(p, _ string) bool { return strings.HasPrefix(p, "payment-paypal-CAPREC") }
	require.Empty(t, s.Reconcile("paypal", mine), "books and PayPal agree on payouts, captures and fees")

	// PayPal now shows the vendor's payout smaller and the capture's fee bigger than the books, a
	// second partial refund of the first capture and the second capture refunded in full (neither
	// refund's webhook came), and a capture of the client's order whose webhook never came at all.
	require.True(t, s.paypal.SetPayoutValue(pay1+"/transfer/vendor-recpp-vendor/0", "95.00"))
	s.paypal.AddCapture(testenv.PayPalCapture{ID: "CAPREC1", Currency: "USD", Amount: "110.00", Fee: "4.50", Status: "PARTIALLY_REFUNDED", Order: "ORDER-CAPREC1"})
	s.paypal.AddRefund(testenv.PayPalRefund{ID: "REF-CAPREC1-LOST", CaptureID: "CAPREC1", Currency: "USD", Amount: "5.00"})
	s.paypal.AddCapture(testenv.PayPalCapture{ID: "CAPREC2", Currency: "USD", Amount: "110.00", Fee: "4.33", Status: "REFUNDED"})
	s.paypal.AddTransactions(testenv.PayPalTransaction{ID: "CAPRECLOST", EventCode: "T0006", Status: "S", Currency: "USD", Value: "50.00",
		CustomField: "client_id=recpp&order_id=o-lost", At: now})
	entriesBefore, err := s.ledger.EntriesByReference(t.Context(), pay1)
	require.NoError(t, err)
	require.Equal(t, map[string][]stackpkg.Drift{
		"amount_differs": {
			drift(pay1, "(processing fee)", 433-38, 450-38),
			drift(pay1, "(refunded)", 1100, 1100+500),
			drift(pay1, "recpp-vendor", 9545, 9500),
		},
		"extra_at_provider": {
			drift(payment.WorkflowID("paypal", "CAPREC2"), "(refunded)", 0, 11000),
			drift(payment.WorkflowID("paypal", "CAPRECLOST"), "(captured)", 0, 5000),
		},
	}, s.Reconcile("paypal", mine))

	// Without the Transaction Search permission the run still compares what the books know.
	s.paypal.FailTransactions(http.StatusForbidden)
	require.Equal(t, map[string][]stackpkg.Drift{
		"amount_differs":    {drift(pay1, "(processing fee)", 433-38, 450-38), drift(pay1, "(refunded)", 1100, 1100+500), drift(pay1, "recpp-vendor", 9545, 9500)},
		"extra_at_provider": {drift(payment.WorkflowID("paypal", "CAPREC2"), "(refunded)", 0, 11000)},
	}, s.Reconcile("paypal", mine))
	entriesAfter, err := s.ledger.EntriesByReference(t.Context(), pay1)
	require.NoError(t, err)
	require.Equal(t, len(entriesBefore), len(entriesAfter), "reconciliation never fixes money by itself")
}

// drift is one difference as stack.Reconcile reports it.
func drift(workflowID, payee string, ledger, provider float64) stackpkg.Drift {
	return stackpkg.Drift{Payment: workflowID, Payee: payee, Ledger: ledger, Provider: provider}
}

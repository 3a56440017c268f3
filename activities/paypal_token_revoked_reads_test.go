package activities_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/internal/ledger"
	"paysplit/internal/payment"
	"paysplit/internal/recon"
	"paysplit/internal/split"
	"paysplit/testenv"
)

// revokeAt has PayPal stop taking every token issued so far just before the first request to
// path, and records the statuses PayPal answered the requests to it.
type revokeAt struct {
	base   http.RoundTripper
	fake   *testenv.PayPal
	path   string
	mu     sync.Mutex
	done   bool
	status []string
}

func (r *revokeAt) RoundTrip(req *http.Request) (*http.Response, error) {
	mine := req.URL.Path == r.path
	r.mu.Lock()
	if mine && !r.done {
		r.done = true
		r.fake.RevokeTokens()
	}
	r.mu.Unlock()
	resp, err := r.base.RoundTrip(req)
	if mine && err == nil {
		r.mu.Lock()
		r.status = append(r.status, strconv.Itoa(resp.StatusCode))
		r.mu.Unlock()
	}
	return resp, err
}

func (r *revokeAt) statuses() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.status...)
}

// Reconciliation's PayPal reads (payout items, captures, their checkout orders and refunds,
// Transaction Search) went through plutov's client alone: a token PayPal stopped taking before its
// expires_in failed them 401 until plutov renewed it near its expiry, or a payout renewed it in
// the worker, and the day's reconciliation failed meanwhile. Each read now renews it once, as the
// payouts do, and is made again: one new token, the run completes.
func TestPayPalReconcileReadsRenewATokenRevokedBeforeItsExpiry(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		// path is the read PayPal refuses the token at first, of the payment's capture; the
		// payments of the cases before are reconciled too, their reads alongside.
		path func(capture string) string
		want []string // the statuses PayPal answered the read at path
	}{
		{name: "payout item", path: func(c string) string { return "/v1/payments/payouts-item/ITEM" + c }, want: []string{"401", "404"}},
		{name: "Transaction Search", path: func(string) string { return "/v1/reporting/transactions" }, want: []string{"401", "200"}},
		{name: "capture", path: func(c string) string { return "/v2/payments/captures/" + c }, want: []string{"401", "200"}},
		{name: "checkout order", path: func(c string) string { return "/v2/checkout/orders/ORD" + c }, want: []string{"401", "200"}},
		{name: "refund", path: func(c string) string { return "/v2/payments/refunds/REF" + c }, want: []string{"401", "200"}},
	}
	for n, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			day := time.Now().UTC().Truncate(24 * time.Hour)
			capture := fmt.Sprintf("CAPREVOKED%d-%d", n, time.Now().UnixNano())
			pp := testenv.NewPayPal(t)
			hc := pp.HTTPClient()
			revoke := &revokeAt{base: hc.Transport, fake: pp, path: tc.path(capture)}
			hc.Transport = revoke
			api, err := activities.NewPayPalClient("id", "secret", pp.APIBase, hc)
			require.NoError(t, err)

			wf := paidPayPalCaptureRefunded(t, f, pp, capture)

			mine := reconcileDay(t, f, &activities.Reconciler{Store: f.st, PayPal: api}, "paypal", day, wf)
			got := revoke.statuses()
			require.Equal(t, tc.want, got[:min(2, len(got))], "refused once, then answered with the new token")
			require.Equal(t, 2, pp.TokenRequests(), "the first token and one renewal")
			stated := map[string]int64{}
			for _, d := range mine {
				if d.Kind == recon.ExtraAtProvider {
					stated[d.PayeeID] = d.ProviderAmount
				}
			}
			require.Equal(t, map[string]int64{recon.Captured: 11000, recon.Refunded: 1000, recon.ProcessingFee: 320}, stated,
				"what the capture, its order and its refund state, read")
			require.Contains(t, mine, recon.Drift{Key: recon.Key{Payment: wf, PayeeID: "v1", Currency: "usd"}, Kind: recon.MissingAtProvider, LedgerAmount: 9545},
				"the payout item read: PayPal does not know it")
		})
	}
}

// The cancel of an unclaimed payout item was the one payout call made without renewing a token
// PayPal refused before its expiry: its 401 left the item unclaimed (and the payout retried) until
// plutov renewed the token near its expiry. It renews once and cancels, as the payout's other
// calls do: the item cancelled, the payout refused for the admin path.
func TestPayPalUnclaimedCancelRenewsATokenRevokedBeforeItsExpiry(t *testing.T) {
	fake := testenv.NewPayPal(t)
	fake.ItemStatus = func(string) string { return "UNCLAIMED" }
	hc := fake.HTTPClient()
	revoke := &revokeAt{base: hc.Transport, fake: fake, path: "/v1/payments/payouts-item/ITEM0001/cancel"}
	hc.Transport = revoke
	c, err := activities.NewPayPalClient("paysplit-test", "secret", fake.APIBase, hc)
	require.NoError(t, err)
	a := &activities.Activities{PayPal: c}
	in := activities.TransferInput{Provider: activities.ProviderPayPal, IdempotencyKey: "payment-paypal-CAPUREVOKED/transfer/vendor-v1/0",
		Destination: "new-user@example.com", Amount: 9545, Currency: "usd", TransferGroup: "o-u", Metadata: map[string]string{"payee_id": "v1"}}
	_, err = a.Transfer(context.Background(), in)
	requireNonRetryable(t, err, activities.ErrTypeRejected)
	require.ErrorContains(t, err, "unclaimed and has been cancelled")
	require.Equal(t, []string{"401", "200"}, revoke.statuses(), "refused once, then cancelled with the new token")
	require.Equal(t, 2, fake.TokenRequests(), "the first token and one renewal")
}

// refuseAt answers 401 invalid_token to every request to path, whatever token it bears: PayPal
// refusing our credentials (or the app) rather than one token.
type refuseAt struct {
	base http.RoundTripper
	path string
}

func (r refuseAt) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Path != r.path {
		return r.base.RoundTrip(req)
	}
	body := `{"error":"invalid_token","error_description":"Access Token not found in cache"}`
	return &http.Response{StatusCode: http.StatusUnauthorized, Status: "401 Unauthorized", Request: req,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body))}, nil
}

// A 401 that persists after the token was renewed is our credentials' problem, not a capture,
// order or refund PayPal will not show: taken so, reconciliation left the capture's amounts out
// (or the day's unknown captures unsearched) and the run completed as if nothing were wrong.
func TestPayPalReconcileReadRefusedWithAFreshTokenIsAnError(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		path func(capture string) string
	}{
		{name: "capture", path: func(c string) string { return "/v2/payments/captures/" + c }},
		{name: "checkout order", path: func(c string) string { return "/v2/checkout/orders/ORD" + c }},
		{name: "refund", path: func(c string) string { return "/v2/payments/refunds/REF" + c }},
		{name: "Transaction Search", path: func(string) string { return "/v1/reporting/transactions" }},
	}
	for n, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			day := time.Now().UTC().Truncate(24 * time.Hour)
			capture := fmt.Sprintf("CAPREFUSED%d-%d", n, time.Now().UnixNano())
			pp := testenv.NewPayPal(t)
			hc := pp.HTTPClient()
			hc.Transport = refuseAt{base: hc.Transport, path: tc.path(capture)}
			api, err := activities.NewPayPalClient("id", "secret", pp.APIBase, hc)
			require.NoError(t, err)

			wf := paidPayPalCaptureRefunded(t, f, pp, capture)

			var ts testsuite.WorkflowTestSuite
			env := ts.NewTestActivityEnvironment()
			rec := &activities.Reconciler{Store: f.st, PayPal: api}
			env.RegisterActivity(rec)
			_, err = env.ExecuteActivity(rec.Reconcile, activities.ReconcileInput{Provider: "paypal", From: day, To: day.Add(24 * time.Hour), WorkflowID: "reconcile-" + wf})
			require.Error(t, err, "a read refused with a fresh token fails the run, not left out of it")
			require.ErrorContains(t, err, "PAYPAL_SECRET")
			require.Equal(t, 2, pp.TokenRequests(), "the first token and one renewal, no more")
		})
	}
}

// paidPayPalCaptureRefunded stores a paid PayPal payment of 110.00 USD (fee 3.50) refunded 10.00
// (fee 0.30 returned) at the PayPal fake, its one vendor paid by the payout item ITEM<capture>,
// and books that transfer; it returns the payment's workflow ID.
func paidPayPalCaptureRefunded(t *testing.T, f fixture, pp *testenv.PayPal, capture string) string {
	t.Helper()
	ctx := context.Background()
	refund := "REF" + capture
	pp.AddCapture(testenv.PayPalCapture{ID: capture, Currency: "USD", Amount: "110.00", Fee: "3.50", Status: "PARTIALLY_REFUNDED", Order: "ORD" + capture})
	pp.AddRefund(testenv.PayPalRefund{ID: refund, CaptureID: capture, Currency: "USD", Amount: "10.00", Fee: "0.30"})
	wf := payment.WorkflowID("paypal", capture)
	require.NoError(t, f.st.SavePayment(ctx, payment.Record{WorkflowID: wf, Provider: "paypal", PaymentID: capture, ChargeID: capture,
		Currency: "usd", Gross: 11000, FeeReturns: []string{refund},
		Order: payment.Order{ClientID: "shop1", OrderID: "o-" + capture, VendorID: "v1"}, Status: payment.StatusPaid,
		Legs: []payment.Leg{{Party: split.PartyVendor, PayeeID: "v1", Amount: 9545, Transferred: 9545, TransferID: "ITEM" + capture,
			State: payment.LegTransferred}}}))
	_, _, err := f.a.Ledger.Post(ctx, ledger.Entry{IdempotencyKey: wf + "/transfer/vendor-v1", Currency: "usd", Reference: wf,
		Postings: []ledger.Posting{{Account: ledger.VendorPayable("v1"), Amount: 9545}, {Account: ledger.ProviderBalance("paypal"), Amount: -9545}}})
	require.NoError(t, err)
	return wf
}

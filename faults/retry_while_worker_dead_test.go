package faults

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/stripeevent"
	"paysplit/testenv"
	"paysplit/testenv/stack"
	"paysplit/workflows/payment"
)

// TestWorkerKilledMidRetryOfAParkedPaymentWhileARefundComes: a payment parked (its client not
// onboarded yet) gets a partial refund and the admin's retry while no worker runs. The worker that
// takes them pays the vendor on the retry and dies with the transfer at Stripe; a refund in full
// comes before another worker takes the task again. That worker has the partial refund, the retry
// and the refund in full from the task's start, while the dead worker's transfer stands: it must
// take the retry before the refund in full, as the dead worker did, and take the refund from the
// transfer (reversed in full), not split the payment refunded in full already, find nothing due
// and leave the transfer with the vendor, unknown to the payment (code path 16).
func TestWorkerKilledMidRetryOfAParkedPaymentWhileARefundComes(t *testing.T) {
	settings := open
	settings.PayoutTimeout = 3 * time.Second // the server notices the dead worker's activity quickly
	s := stack.New(t, stack.Options{Settings: settings, NoWorker: true})
	first := testenv.StartWorker(t, s.WorkerEnv())
	pi := "pi_parkkill1"
	id := payment.WorkflowID("stripe", pi)
	events := deliver(t, s, stack.Capture("parkkill", pi).Body(), 1)
	s.AwaitStatus(id, 30*time.Second, ipayment.StatusNeedsAttention)
	first.Kill(t)

	partial := stripeevent.Refund{EventID: "evt_parkkill_re1", PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd",
		Amount: 11000, AmountRefunded: 1100, Created: time.Now()}
	events += deliver(t, s, partial.Body(), 1)
	s.Seed("parkkill") // the client onboarded: the retry splits and pays
	code, out := s.Do(http.MethodPost, "/api/v1/admin/payments/"+id+"/retry", nil, stack.AdminKey)
	require.Equal(t, http.StatusAccepted, code, out)

	held := s.Stripe.HoldFirstVendorTransfer()
	second := testenv.StartWorker(t, s.WorkerEnv())
	vendor, n := killAtHeldTransferThenRefundInFull(t, s, second, held, pi, "evt_parkkill_re2")
	events += n
	require.Equal(t, 1, vendor, "the dead worker's transfer to the vendor is the payment's")
	finish(t, s, events, 3, 2)
}

// TestWorkerKilledMidRetryOfARefusedPayoutWhileARefundComes: as above for a payout Stripe refused
// (the platform's balance short): the payment waits for an admin's decision, a partial refund and
// the admin's retry come while no worker runs, the worker that takes them sends the vendor's
// transfer again under a new key and dies, and a refund in full comes before the next worker. That
// worker must take the retry before the refund in full (code path 16), not send the vendor nothing
// and leave the dead worker's transfer with it.
func TestWorkerKilledMidRetryOfARefusedPayoutWhileARefundComes(t *testing.T) {
	settings := open
	settings.PayoutTimeout = 3 * time.Second
	s := stack.New(t, stack.Options{Settings: settings, NoWorker: true})
	s.Seed("retrykill")
	pi := "pi_retrykill1"
	id := payment.WorkflowID("stripe", pi)
	refusedKey := id + "/transfer/vendor-retrykill-vendor/0"
	s.Stripe.Inject = func(r *http.Request, _ url.Values) (int, string) {
		if r.URL.Path == "/v1/transfers" && r.Header.Get("Idempotency-Key") == refusedKey {
			return http.StatusBadRequest, `{"error":{"type":"invalid_request_error","code":"balance_insufficient","message":"You have insufficient available funds in your Stripe account."}}`
		}
		return 0, ""
	}
	first := testenv.StartWorker(t, s.WorkerEnv())
	events := deliver(t, s, stack.Capture("retrykill", pi).Body(), 1)
	s.AwaitStatus(id, 30*time.Second, ipayment.StatusPayoutFailed)
	first.Kill(t)
	s.Stripe.Inject = nil

	partial := stripeevent.Refund{EventID: "evt_retrykill_re1", PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd",
		Amount: 11000, AmountRefunded: 1100, Created: time.Now()}
	events += deliver(t, s, partial.Body(), 1)
	code, out := s.Do(http.MethodPost, "/api/v1/admin/payments/"+id+"/retry", nil, stack.AdminKey)
	require.Equal(t, http.StatusAccepted, code, out)

	held := s.Stripe.HoldFirstTransfer(func(key string) bool {
		return strings.Contains(key, "/transfer/vendor-") && key != refusedKey
	})
	second := testenv.StartWorker(t, s.WorkerEnv())
	vendor, n := killAtHeldTransferThenRefundInFull(t, s, second, held, pi, "evt_retrykill_re2")
	events += n
	require.Equal(t, 1, vendor, "the retry's transfer to the vendor is the payment's")
	finish(t, s, events, 3, 3)
}

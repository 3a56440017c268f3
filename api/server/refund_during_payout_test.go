package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/stripeevent"
	"paysplit/testenv"
	"paysplit/workflows/payment"
)

// A refund that comes while the payment's run is paying out the capture it waited for (a partial
// refund came first). The run, with no settle window, pays both legs and ends in the workflow task
// the capture came in; Temporal refuses to close it with a signal it has not seen
// (UnhandledCommand) and gives the task again, in which the capture and the second refund arrive
// together, and the steps of the first attempt, never recorded, run again. The payouts made the first time are the provider's all the same: the
// run that goes on must take them into account, and take the refund back from them. Before code
// path 16 the second attempt applied the refund before the payouts (a refund before its payout
// sends less), found nothing due and never asked the vendor's key again: Stripe kept a transfer
// the payment does not know and nobody reverses, while the payee's share was refunded in full.
func TestRefundDuringThePayoutOfAClosingRun(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, StripeAttempts: 10, StripeRetryInterval: 100 * time.Millisecond})
	s.seed("midpay")
	held := s.stripe.HoldFirstVendorTransfer()
	pi := "pi_midpay1"
	id := payment.WorkflowID("stripe", pi)
	// A partial refund comes first: its run waits for the capture.
	first := stripeevent.Refund{EventID: "evt_midpay_re1", PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd",
		Amount: 11000, AmountRefunded: 1100, Created: time.Now().Add(-time.Minute)}
	code, out := s.webhook(stripeevent.Sign(first.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, out)
	s.AwaitStatus(id, 30*time.Second, ipayment.StatusAwaitingCapture)
	code, out = s.webhook(stripeevent.Sign(capture("midpay", pi).Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, out)
	rec := s.refundInFullDuringTransfer(held, pi, "evt_midpay_re2")
	s.record("stripe_refund_during_payout.json", s.history(id))
	require.Equal(t, ipayment.StatusRefunded, rec.Status, rec.Reason)
	s.stripe.RequireTakenBack(t, id, "the record: "+recordJSON(rec))
	for _, l := range rec.Legs {
		require.Equal(t, l.Amount, l.Refunded, "%s: its whole share refunded", l.Name())
	}
	sent := s.sentNet(rec)
	for _, l := range rec.Legs {
		require.Equal(t, sent[l.Name()], l.Transferred-l.Reversed, "%s: what Stripe sent it net, and what the leg says", l.Name())
	}
}

// The same while the run waited for its order: the capture came without the order's amounts, the
// order is stored without waking the payment (a shop's webhook whose wake-up was lost), and the
// run's next look finds it and pays out; a refund in full comes during that payout. The task given
// again has the look's timer and the refund together: the refund, which came after the capture,
// is taken after the payout, as the first attempt would have.
func TestRefundDuringThePayoutAfterTheOrderWait(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, EnrichPoll: time.Second, EnrichWait: time.Hour,
		StripeAttempts: 10, StripeRetryInterval: 100 * time.Millisecond})
	s.seed("midord")
	held := s.stripe.HoldFirstVendorTransfer()
	pi := "pi_midord1"
	id := payment.WorkflowID("stripe", pi)
	c := capture("midord", pi)
	c.Metadata = map[string]string{"client_id": "midord", "order_id": "order-midord1"}
	code, out := s.webhook(stripeevent.Sign(c.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, out)
	s.AwaitStatus(id, 30*time.Second, ipayment.StatusAwaitingMetadata)
	require.NoError(t, s.Store.SaveOrder(context.Background(), ipayment.Order{ClientID: "midord", OrderID: "order-midord1", VendorID: "midord-vendor",
		AffiliateID: "midord-aff", Platform: "shopify", Subtotal: 10000, Tax: 800, Shipping: 500, Discount: 300, Currency: "usd"}, "paid"))
	rec := s.refundInFullDuringTransfer(held, pi, "evt_midord_re")
	require.Equal(t, ipayment.StatusRefunded, rec.Status, rec.Reason)
	s.stripe.RequireTakenBack(t, id, "the record: "+recordJSON(rec))
}

// refundInFullDuringTransfer waits until the held vendor's transfer reached Stripe, delivers a
// refund in full of payment intent pi (event eventID) while its answer is held, lets the answer
// go and returns the payment once its runs closed.
func (s *stack) refundInFullDuringTransfer(held *testenv.HeldTransfer, pi, eventID string) ipayment.Record {
	s.t.Helper()
	held.Await(s.t, func() string { return "the vendor's transfer" })
	full := stripeevent.Refund{EventID: eventID, PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd",
		Amount: 11000, AmountRefunded: 11000, Created: time.Now()}
	code, out := s.webhook(stripeevent.Sign(full.Body(), webhookSecret, time.Now()))
	held.Release()
	require.Equal(s.t, http.StatusOK, code, out)
	id := payment.WorkflowID("stripe", pi)
	s.awaitRunsClosed(id)
	return s.Result(id)
}

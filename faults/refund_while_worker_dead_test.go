package faults

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/stripeevent"
	"paysplit/testenv"
	"paysplit/testenv/stack"
	"paysplit/workflows/payment"
)

// TestWorkerKilledMidPayoutWhileARefundComes: the worker dies after the vendor's transfer reached
// Stripe, in the workflow task that took the capture, and a refund in full comes before another
// worker takes the task again. That worker has the capture and the refund from the task's start,
// while the transfer the dead worker made stands: the refund must be taken from it (reversed in
// full), not before the payout, where it found nothing due and left the transfer with the vendor,
// unknown to the payment (code path 16).
func TestWorkerKilledMidPayoutWhileARefundComes(t *testing.T) {
	settings := open
	settings.PayoutTimeout = 3 * time.Second // the server notices the dead worker's activity quickly
	s := stack.New(t, stack.Options{Settings: settings, NoWorker: true})
	s.Seed("killre")
	first := testenv.StartWorker(t, s.WorkerEnv())

	arrived, release := s.Stripe.HoldFirstVendorTransfer()
	pi := "pi_killre1"
	events := deliver(t, s, stack.Capture("killre", pi).Body(), 1)
	select {
	case <-arrived:
	case <-time.After(60 * time.Second):
		t.Fatalf("the transfer never reached Stripe; worker log:\n%s", first.Log())
	}
	first.Kill(t)
	release()
	refund := stripeevent.Refund{EventID: "evt_killre_re", PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd",
		Amount: 11000, AmountRefunded: 11000, Created: time.Now()}
	events += deliver(t, s, refund.Body(), 1)

	second := testenv.StartWorker(t, s.WorkerEnv())
	id := payment.WorkflowID("stripe", pi)
	rec := s.AwaitStatus(id, 60*time.Second, ipayment.StatusRefunded)
	for _, tr := range s.Stripe.Transfers() {
		if tr.Metadata["workflow_id"] == id {
			require.Equal(t, tr.Amount, tr.AmountReversed, "transfer %s (%s) of a payment refunded in full is taken back; legs %+v; worker log:\n%s",
				tr.ID, tr.IdempotencyKey, rec.Legs, second.Log())
		}
	}
	finish(t, s, events, 2, 1)
}

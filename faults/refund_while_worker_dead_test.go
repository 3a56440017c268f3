package faults

import (
	"fmt"
	"testing"
	"time"

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

	held := s.Stripe.HoldFirstVendorTransfer()
	pi := "pi_killre1"
	events := deliver(t, s, stack.Capture("killre", pi).Body(), 1)
	_, n := killAtHeldTransferThenRefundInFull(t, s, first, held, pi, "evt_killre_re")
	events += n
	finish(t, s, events, 2, 1)
}

// killAtHeldTransferThenRefundInFull waits until the held transfer reached Stripe, kills w (the
// transfer stands, its answer is never heard), delivers a refund in full of payment intent pi
// (event eventID) and starts the next worker, which must end the payment refunded with every
// transfer taken back in full. It returns how many of those transfers went to a vendor and the
// events delivered.
func killAtHeldTransferThenRefundInFull(t *testing.T, s *stack.Stack, w *testenv.WorkerProcess, held *testenv.HeldTransfer,
	pi, eventID string) (vendorTransfers, events int) {
	t.Helper()
	held.Await(t, func() string { return "worker log:\n" + w.Log() })
	w.Kill(t)
	held.Release()
	full := stripeevent.Refund{EventID: eventID, PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd",
		Amount: 11000, AmountRefunded: 11000, Created: time.Now()}
	events = deliver(t, s, full.Body(), 1)

	next := testenv.StartWorker(t, s.WorkerEnv())
	id := payment.WorkflowID("stripe", pi)
	rec := s.AwaitStatus(id, 60*time.Second, ipayment.StatusRefunded)
	return s.Stripe.RequireTakenBack(t, id, fmt.Sprintf("legs %+v; worker log:\n%s", rec.Legs, next.Log())), events
}

package faults

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"paysplit/activities"
	"paysplit/internal/ledger"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/store"
	"paysplit/internal/stripeevent"
	"paysplit/testenv/stack"
	"paysplit/workflows/payment"
)

// stoppableWorker starts a worker on the stack's queue as stack.New would, and returns it so the
// test can stop it (the stack's own worker cannot be stopped mid-test).
func stoppableWorker(t *testing.T, s *stack.Stack) worker.Worker {
	t.Helper()
	wc, err := client.Dial(client.Options{HostPort: s.TemporalURL, Logger: tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))})
	require.NoError(t, err)
	t.Cleanup(wc.Close)
	w := worker.New(wc, s.Queue, stack.WorkerOptions())
	payment.Register(w)
	st := store.New(s.Pool)
	w.RegisterActivity(&activities.Activities{Store: st, Ledger: ledger.New(s.Pool),
		Stripe: activities.NewStripeClient(stack.StripeKey, s.Stripe.URL, nil), Runs: activities.TemporalRuns{Client: wc, SavedQuery: payment.QuerySaved}})
	require.NoError(t, w.Start())
	return w
}

// TestRestoreThenRefundAndResentCaptureDoNotPayTwice: a paid payment's run completed; a
// Postgres restore to before its capture erased its row and the inbox's record of the capture.
// After the restore the workers come back to a queue holding a refund (which starts a follow-up
// run with signal-with-start) and the capture sent again (an operator's resend, or a provider
// retry the restored inbox no longer knows): the API's start of the capture finds the follow-up
// run open and signals it. The follow-up run's first step (Prepare) gets the capture, and skips
// the check against the last run because a capture came with it, split and paid the payment a
// second time (Stripe had forgotten the first transfers' keys: every payee paid twice). Only a
// run started with its capture skips the check now (PrepareInput.FirstRun).
func TestRestoreThenRefundAndResentCaptureDoNotPayTwice(t *testing.T) {
	ctx := context.Background()
	s := stack.New(t, stack.Options{Settings: closing, NoWorker: true})
	w := stoppableWorker(t, s)
	s.Seed("pitrcap")
	pi := "pi_pitrcap1"
	id := payment.WorkflowID("stripe", pi)
	capture := stack.Capture("pitrcap", pi)
	deliver(t, s, capture.Body(), 1)
	s.AwaitStatus(id, 30*time.Second, ipayment.StatusPaid)
	paid := awaitRuns(t, s, id, 1)
	paidTransfers := len(s.Stripe.Transfers())
	require.Equal(t, 2, paidTransfers, "vendor and affiliate paid once")

	// Workers down for the restore; the restore erases the payment's row and the inbox's record
	// of its capture.
	w.Stop()
	_, err := s.Pool.Exec(ctx, `DELETE FROM payments WHERE workflow_id = $1`, id)
	require.NoError(t, err)
	_, err = s.Pool.Exec(ctx, `DELETE FROM webhook_inbox WHERE event_id = $1`, capture.EventID)
	require.NoError(t, err)

	refund := stripeevent.Refund{EventID: "evt_pitrcap_re1", PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd",
		Amount: 11000, AmountRefunded: 1100, Created: time.Now()}
	deliver(t, s, refund.Body(), 1)
	deliver(t, s, capture.Body(), 1)
	s.Stripe.ForgetKeys() // a day later
	stoppableWorker(t, s)

	require.Eventually(t, func() bool { return s.Runs(id) >= 2 }, 30*time.Second, 100*time.Millisecond)
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var final ipayment.Record
	runErr := s.Temporal.GetWorkflow(wctx, id, "").Get(wctx, &final)
	for _, tr := range s.Stripe.Transfers() {
		t.Logf("transfer %s to %s: %d (%s)", tr.ID, tr.Destination, tr.Amount, tr.IdempotencyKey)
	}
	t.Logf("first run: %s; follow-up run: %s (%s), error %v", paid.Status, final.Status, final.Reason, runErr)
	require.Equal(t, paidTransfers, len(s.Stripe.Transfers()), "the follow-up run of a paid payment sent its payouts again")
}

// TestRestoreAfterAFollowUpRunThatNeverCompletedTakesEachRefundOnce: the check against Temporal
// read only the last *completed* run. A refund's follow-up run took the refund's share
// back from the payees, saved it, and never completed (terminated in its settle window; a run
// that fails after saving is the same). A restore to before that save leaves the stored record
// equal to the last completed run's result, so nothing looks behind, and the next refund's run
// resumed from the store and took the first refund's share back again. The last closed run of any
// status is read now: the record it last saved when it has no result.
func TestRestoreAfterAFollowUpRunThatNeverCompletedTakesEachRefundOnce(t *testing.T) {
	settings := closing
	settings.SettleWindow = 2 * time.Second
	s, pi, id, beforeRefund := paidBeforeRestore(t, settings, "pitrterm")
	deliver(t, s, refundOf(pi, "evt_pitrterm_re1", 1100).Body(), 1)
	require.Eventually(t, func() bool { return s.Runs(id) >= 2 }, 30*time.Second, 100*time.Millisecond)
	s.AwaitStatus(id, 30*time.Second, ipayment.StatusPartiallyRefunded)
	// The task that saved the refund completed: the run answers its query (a run terminated in
	// that task is TestRestoreAfterARunTerminatedInItsFirstTaskTakesEachRefundOnce).
	require.Eventually(t, func() bool {
		v, err := s.Temporal.QueryWorkflow(context.Background(), id, "", payment.QuerySaved)
		var rec *ipayment.Record
		return err == nil && v.Get(&rec) == nil && rec != nil && rec.Refunded == 1100
	}, 30*time.Second, 100*time.Millisecond, "the follow-up run saved the refund")
	require.NoError(t, s.Temporal.TerminateWorkflow(context.Background(), id, "", "operator during the incident"))

	restoreThenRefundAgain(t, s, pi, id, beforeRefund, 3)
}

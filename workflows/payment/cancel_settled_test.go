package payment

import (
	"time"

	"paysplit/internal/payment"
)

// Cancelling the workflow of a paid payment while its last save waits out a Postgres outage (the
// step retried on the server) leaves the payment paid, as a cancel in its settle window does
// (code path 21): its payouts are done, nothing is undone, and the save goes through once
// Postgres is back. Before, the save's cancellation ended the run as cancelled mid-step, which
// compensates: every payee's transfer of a paid payment was taken back.
func (s *workflowSuite) TestCancelDuringTheLastSaveOfAPaidPaymentTakesNothingBack() {
	for _, window := range []time.Duration{0, time.Hour} {
		s.Run("settle window "+window.String(), func() {
			s.SetupTest()
			s.env.SetTestTimeout(30 * time.Second)
			signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
			down := stepSaveAndBook
			if window > 0 {
				down = stepSavePayment // the window's first save booked the transfers
			}
			// Down from before the window's end (or from the start), back two minutes after the cancel.
			if window == 0 {
				s.w.setDown(down, true)
			} else {
				s.env.RegisterDelayedCallback(func() { s.w.setDown(down, true) }, window-time.Minute)
			}
			s.env.RegisterDelayedCallback(s.env.CancelWorkflow, window+time.Minute)
			s.env.RegisterDelayedCallback(func() { s.w.setDown(down, false) }, window+3*time.Minute)

			in := testInput()
			in.Settings.SettleWindow = window
			s.env.ExecuteWorkflow(Workflow, in)
			s.Require().True(s.env.IsWorkflowCompleted())
			s.Positive(s.w.calls["down:"+down], "the last save met the outage")
			s.Empty(s.w.reversals, "nothing taken back from the payees")
			last := s.w.saved[len(s.w.saved)-1]
			s.Equal(payment.StatusPaid, last.Status, "stored as %s: %s", last.Status, last.Reason)
			rec := result(s.T(), s.env)
			s.checkBooks(rec)
			s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
			s.EqualValues(vendorCut, s.w.sent("acct_v1"))
			s.Equal(rec, s.w.saved[len(s.w.saved)-1], "the stored state is the final state")
		})
	}
}

// A refund taken in the settle window whose booking waits out a Postgres outage (the step retried
// on the server) when the workflow is cancelled is still applied (code path 21): the cancellation
// ends the window, not the refund's steps. Before, the cancelled step ended the refund's
// application half way, the event counted as taken: nothing was refunded in the books or taken
// back from the payees, and no follow-up run came for it (the open run had taken it).
func (s *workflowSuite) TestCancelWhileARefundIsBookedStillAppliesIt() {
	s.env.SetTestTimeout(30 * time.Second)
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.env.RegisterDelayedCallback(func() { s.w.setDown(stepPostEntry, true) }, 5*time.Minute)
	signalAt(s.env, 10*time.Minute, SignalEvent, refundEvent("evt_r1", 1100))
	s.env.RegisterDelayedCallback(s.env.CancelWorkflow, 11*time.Minute)
	s.env.RegisterDelayedCallback(func() { s.w.setDown(stepPostEntry, false) }, 13*time.Minute)

	rec := s.run()

	s.Positive(s.w.calls["down:"+stepPostEntry], "the refund's booking met the outage")
	s.EqualValues(1100, rec.Refunded, "the refund is applied")
	s.Equal(payment.StatusPartiallyRefunded, rec.Status, rec.Reason)
	s.NotEmpty(s.w.reversals, "the payees' parts of it taken back")
}

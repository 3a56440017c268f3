package payment

import (
	"time"

	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// A dispute opened (and closed) while a failed payout waits for an admin's decision leaves the
// payment payout_failed (code path 21): the admin API takes a retry or a cancel only from a
// payout_failed payment, and the run waits for one. Before, the dispute made it disputed, so the
// API refused the admin's retry (409 invalid_state) and, once the dispute was won, the payment
// showed paid with its affiliate unpaid, until the decision's timeout compensated every payee.
func (s *workflowSuite) TestDisputeWhileAFailedPayoutAwaitsADecisionKeepsItPayoutFailed() {
	s.w.failNext["affiliate"] = []error{rejected("insufficient platform balance")}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 10*time.Minute, SignalEvent, disputeOpened("evt_d1", "dp_1"))
	open := s.lastSavedAt(15 * time.Minute)
	signalAt(s.env, 20*time.Minute, SignalEvent, Event{ID: "evt_d2", Kind: EventDisputeClosed, DisputeID: "dp_1", DisputeStatus: "won", Amount: gross})
	closed := s.lastSavedAt(30 * time.Minute)
	signalAt(s.env, time.Hour, SignalAdmin, AdminCommand{Action: ActionRetry, Actor: "ops"})

	rec := s.run()

	s.True(open.Disputed)
	s.Equal(payment.StatusPayoutFailed, open.Status, "while the dispute is open (reason %q)", open.Reason)
	s.Contains(open.Reason, "affiliate payout failed: insufficient platform balance")
	s.Contains(open.Reason, "dispute dp_1 opened")
	s.False(closed.Disputed)
	s.Equal(payment.StatusPayoutFailed, closed.Status, "once the dispute closed (reason %q)", closed.Reason)
	s.Equal("affiliate payout failed: insufficient platform balance", closed.Reason)
	s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
	s.Equal(payment.LegTransferred, legOf(s.T(), rec, split.PartyAffiliate).State)
	s.Empty(s.w.reversals, "nothing compensated")
}

// A dispute lost while a failed payout awaits a decision takes its share back, and the payment
// stays payout_failed for the admin (code path 21); before, it became partially refunded, which
// the admin API refuses a retry, and the decision's timeout compensated the payees left.
func (s *workflowSuite) TestDisputeLostWhileAFailedPayoutAwaitsADecisionKeepsItPayoutFailed() {
	s.w.failNext["affiliate"] = []error{rejected("insufficient platform balance")}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 10*time.Minute, SignalEvent, disputeOpened("evt_d1", "dp_1"))
	signalAt(s.env, 20*time.Minute, SignalEvent, Event{ID: "evt_d2", Kind: EventDisputeClosed, DisputeID: "dp_1", DisputeStatus: "lost", Amount: 1000})
	closed := s.lastSavedAt(30 * time.Minute)
	signalAt(s.env, time.Hour, SignalAdmin, AdminCommand{Action: ActionRetry, Actor: "ops"})

	rec := s.run()

	s.Equal(payment.StatusPayoutFailed, closed.Status, "once the dispute was lost (reason %q)", closed.Reason)
	s.Equal(payment.StatusPartiallyRefunded, rec.Status, rec.Reason)
	s.Equal(payment.LegTransferred, legOf(s.T(), rec, split.PartyAffiliate).State)
}

// A run of code path 20 goes on as it did: the dispute makes the payment disputed.
func (s *workflowSuite) TestDisputeWhileAFailedPayoutAwaitsADecisionOnPath20() {
	s.w.failNext["affiliate"] = []error{rejected("insufficient platform balance")}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 10*time.Minute, SignalEvent, disputeOpened("evt_d1", "dp_1"))
	open := s.lastSavedAt(15 * time.Minute)
	signalAt(s.env, time.Hour, SignalAdmin, AdminCommand{Action: ActionRetry, Actor: "ops"})

	in := testInput()
	in.CodePath = codePathAskAfterHold
	s.env.ExecuteWorkflow(Workflow, in)
	rec := result(s.T(), s.env)

	s.Equal(payment.StatusDisputed, open.Status, open.Reason)
	s.Equal(payment.StatusDisputed, rec.Status, rec.Reason)
}

// A refund in full while a refused payout waits for an admin's decision leaves the leg nothing
// to send: the run stops waiting, the leg settles with nothing due and the payment is refunded
// (code path 21). Before, it stayed payout_failed until the decision's timeout, which then
// compensated it: marked compensated for want of a decision nobody needed to take.
func (s *workflowSuite) TestFullRefundWhileAFailedPayoutAwaitsADecisionEndsTheWait() {
	s.w.failNext["affiliate"] = []error{rejected("insufficient platform balance")}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 10*time.Minute, SignalEvent, refundEvent("evt_r1", gross))
	refunded := s.lastSavedAt(15 * time.Minute)

	rec := s.run()

	s.NotEqual(payment.StatusPayoutFailed, refunded.Status, "nothing is left to decide (reason %q)", refunded.Reason)
	s.Equal(payment.StatusRefunded, rec.Status, rec.Reason)
	s.Empty(rec.Compensated, "nothing compensated")
	s.Equal(payment.LegNothingDue, legOf(s.T(), rec, split.PartyAffiliate).State)
	s.Len(s.requestsUnder(wfID+"/transfer/affiliate-a1/1"), 0, "nothing sent to the affiliate")
}

package payment

import (
	"time"

	"paysplit/activities"
	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// An admin signal sent from the Temporal UI carries no decision number (AdminCommand.Decision 0,
// not Checked). Through code path 23 the run took it by its next wait for a decision, whatever that
// was about: the defect code path 22 fixed for the API's commands. From code path 24 the run notes,
// as it receives such a command, the decision it had asked and not had an answer to then (what the
// payment showed as last saved) and takes the command only for that decision; one that came while
// the run asked none (paying, or acting on a decision it took) is dropped, the payment's reason
// saying so. The commands here are sent as the Temporal UI sends them (JSON, no number), so the
// test ran on the code before code path 24 too, where it failed:
//
//	a cancel sent on the hold: Not equal: expected: "paid" actual: "compensated"
//	a second retry sent as the second refusal is saved: Not equal: expected: 2 actual: 3
//	a cancel sent before the first decision: Not equal: expected: "paid" actual: "compensated"
//	a cancel sent as the order's webhook came: Not equal: expected: "paid" actual: "compensated"
//	a cancel sent as a retry's payout is made: Not equal: expected: "paid" actual: "compensated"
func (s *workflowSuite) TestAnUnnumberedDecisionIsTakenOnlyForTheDecisionAskedWhenItCame() {
	s.Run("a cancel sent on the hold while the affiliate is paid, whose payout is refused", func() {
		s.SetupTest()
		deciding := s.uiCancelOnTheHold(rejected("insufficient platform balance"))

		rec := s.run()

		s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
		s.Equal(payment.StatusPayoutFailed, deciding.Status, "the cancel sent on the hold is not the decision on the refusal: %s", deciding.Reason)
		s.Contains(deciding.Reason, "ops's cancel, sent on decision 1, not taken: the payment now waits for decision 2")
		s.Equal(2, deciding.Decision, "the hold, then the refusal")
		s.EqualValues(vendorCut, s.w.sentToPayee("v1"), "the vendor paid by the ask once the run waits for it")
		s.EqualValues(affiliateCut, s.w.sentToPayee("a1"), "the affiliate paid by the retry sent while the run waited for it")
	})
	s.Run("a cancel sent on the hold while the affiliate is paid, taken once the run waits on it", func() {
		s.SetupTest()
		s.uiCancelOnTheHold(nil)

		rec := s.run()

		s.Equal(payment.StatusCompensated, rec.Status, rec.Reason)
		s.Contains(rec.Compensated, "held payout cancelled by ops")
		s.Zero(s.w.sentToPayee("v1"))
		s.Zero(s.w.sentToPayee("a1"), "the affiliate's transfer taken back")
	})
	s.Run("a cancel sent before the first decision, as the vendor is paid", func() {
		s.SetupTest()
		s.w.failNext["affiliate"] = []error{rejected("insufficient platform balance")}
		s.w.onTransfer = func(in activities.TransferInput) {
			if in.Metadata["party"] == "vendor" {
				s.env.SignalWorkflow(SignalAdmin, map[string]any{"Action": "cancel", "Actor": "ops"})
			}
		}
		signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
		deciding := s.lastSavedAt(2 * time.Hour)
		signalAt(s.env, 3*time.Hour, SignalAdmin, map[string]any{"Action": "retry", "Actor": "ops"})

		rec := s.run()

		s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
		s.Contains(deciding.Reason, "ops's cancel, sent while the run asked no decision, not taken: the payment now waits for decision 1")
		s.EqualValues(vendorCut, s.w.sentToPayee("v1"), "the vendor keeps what it was paid")
	})
	s.Run("a second retry sent as the vendor's second refusal is saved", func() {
		s.SetupTest()
		deciding := s.secondRetryAsTheSecondRefusalIsSaved(
			map[string]any{"Action": "retry", "Actor": "ops"},
			map[string]any{"Action": "retry", "Actor": "ops2"},
			map[string]any{"Action": "cancel", "Actor": "ops"})

		rec := s.run()

		s.Equal(2, s.transfersTo("acct_v1"), "the second refusal is not retried by a retry sent before it was asked")
		s.Equal(payment.StatusPayoutFailed, deciding.Status, deciding.Reason)
		s.Contains(deciding.Reason, "ops2's retry, sent on decision 1, not taken: the payment now waits for decision 2", "sent as the second was saved: the first, which it answered")
		s.Equal(payment.StatusCompensated, rec.Status, rec.Reason)
		s.Contains(rec.Compensated, "cancelled by ops")
		s.Zero(s.w.sentToPayee("v1"))
	})
	s.Run("a cancel sent as the order's webhook came, kept for after the events", func() {
		s.SetupTest()
		deciding := s.cancelAsTheOrderCame(map[string]any{"Action": "cancel", "Actor": "ops"})

		rec := s.run()

		s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
		s.Equal(payment.StatusPayoutFailed, deciding.Status, "the cancel sent while the payment waited for its order is not the decision on the refusal: %s", deciding.Reason)
		s.Contains(deciding.Reason, "ops's cancel, sent on decision 0, not taken: the payment now waits for decision 1")
		s.Positive(s.w.sentToPayee("v1"))
		s.Equal(legOf(s.T(), rec, split.PartyVendor).Amount, s.w.sentToPayee("v1"), "the vendor keeps what it was paid")
	})
	s.Run("a cancel sent as a retry's payout is made, the vendor still held", func() {
		s.SetupTest()
		// The vendor held (decision 1), the affiliate refused (decision 2) and retried: a second
		// admin, who read the refusal, cancels as its payout is made. The run then waits on the
		// held vendor, whose account can receive by then.
		s.w.holds["v1"] = "cannot receive yet"
		s.w.failNext["affiliate"] = []error{rejected("insufficient platform balance")}
		sent := 0
		s.w.onTransfer = func(in activities.TransferInput) {
			if in.Metadata["party"] != "affiliate" {
				return
			}
			if sent++; sent == 2 {
				s.env.SignalWorkflow(SignalAdmin, map[string]any{"Action": "cancel", "Actor": "ops2"})
			}
		}
		signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
		s.env.RegisterDelayedCallback(func() {
			s.w.mu.Lock()
			s.w.holds["v1"] = ""
			s.w.mu.Unlock()
			s.env.SignalWorkflow(SignalAdmin, map[string]any{"Action": "retry", "Actor": "ops"})
		}, time.Hour)

		rec := s.run()

		s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
		s.EqualValues(vendorCut, s.w.sentToPayee("v1"), "the vendor paid by the ask as the run waits on its hold")
		s.EqualValues(affiliateCut, s.w.sentToPayee("a1"))
		s.Equal(2, rec.Decision)
	})
}

// uiCancelOnTheHold readies a payment whose vendor is held (its first decision) while the
// affiliate is still to be paid: an admin reads it held and cancels from the Temporal UI as the
// affiliate's transfer is made, and the vendor's account can receive a moment later. refusal, when
// set, is the provider's answer to that transfer (the payment's second decision); then at 3 h a
// retry, sent from the UI while the run waits on the refusal. It answers the payment as saved at
// 2 h.
func (s *workflowSuite) uiCancelOnTheHold(refusal error) *payment.Record {
	s.w.holds["v1"] = "cannot receive yet"
	if refusal != nil {
		s.w.failNext["affiliate"] = []error{refusal}
	}
	s.w.onTransfer = func(in activities.TransferInput) {
		if in.Metadata["party"] != "affiliate" || len(s.w.requests) > 0 {
			return
		}
		s.env.SignalWorkflow(SignalAdmin, map[string]any{"Action": "cancel", "Actor": "ops"})
		s.w.mu.Lock()
		s.w.holds["v1"] = ""
		s.w.mu.Unlock()
	}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	deciding := s.lastSavedAt(2 * time.Hour)
	signalAt(s.env, 3*time.Hour, SignalAdmin, map[string]any{"Action": "retry", "Actor": "ops"})
	return deciding
}

// On code path 23 a command from the Temporal UI is taken by whichever wait for a decision comes
// next, as before: the cancel sent on the hold compensates the payment at the affiliate's refusal.
func (s *workflowSuite) TestAnUnnumberedDecisionOnPath23IsTakenByTheNextWait() {
	s.uiCancelOnTheHold(rejected("insufficient platform balance"))
	in := testInput()
	in.CodePath = codePathCumulativeRefunds
	s.env.ExecuteWorkflow(Workflow, in)
	rec := result(s.T(), s.env)
	s.checkBooks(rec)

	s.Equal(payment.StatusCompensated, rec.Status, rec.Reason)
	s.Contains(rec.Compensated, "affiliate payout failed")
	s.Contains(rec.Compensated, "cancelled by ops")
	s.Zero(s.w.sentToPayee("v1"))
}

// The API sends a retry, cancel or release with the decision it read the payment waiting for; a
// payment that has movements due and waits for no decision gets its retry as an event instead.
// A retry made on the affiliate's refused payout that reaches the run once it waits for no decision
// (the refusal was decided meanwhile, and a refund left the vendor's reversal due) was dropped with
// a log line only: the admin, answered 202, read the payment unchanged and nothing said why. From
// code path 24 the payment's reason says it was not taken, as for a command made on another
// decision. It failed before:
//
//	"due: vendor reversal of 9.55 USD failed: insufficient funds in the destination account (an
//	admin's retry sends them again)" does not contain "ops2's retry, made on decision 1, not taken:
//	the payment waits for no decision now"
func (s *workflowSuite) TestANumberedCommandReachingARunThatAsksNoDecisionIsNoted() {
	s.w.failNext["affiliate"] = []error{rejected("insufficient platform balance")}
	s.w.failBack["vendor"] = []error{rejected("insufficient funds in the destination account")}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 10*time.Minute, SignalAdmin, map[string]any{"Action": "retry", "Actor": "ops", "Decision": 1})
	signalAt(s.env, 20*time.Minute, SignalEvent, refundEvent("evt_r1", 1100))
	signalAt(s.env, 30*time.Minute, SignalAdmin, map[string]any{"Action": "retry", "Actor": "ops2", "Decision": 1})
	resting := s.lastSavedAt(40 * time.Minute)

	rec := s.run()

	s.NotEmpty(legOf(s.T(), *resting, split.PartyVendor).Dues, "the vendor's reversal is due")
	s.Contains(resting.Reason, "ops2's retry, made on decision 1, not taken: the payment waits for no decision now")
	s.Equal(payment.StatusPayoutFailed, rec.Status, rec.Reason)
	s.Len(legOf(s.T(), rec, split.PartyVendor).Dues, 1, "the reversal is not retried by the dropped command")
}

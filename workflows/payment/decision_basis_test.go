package payment

import (
	"time"

	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// A decision reaches the run as a signal, which waits in the run's admin channel while the run is
// busy (a payout in flight) and is taken by the next wait for a decision, whatever that wait is
// about. An admin reads the payment held (the vendor's payee cannot receive) while the run still
// pays the affiliate, and cancels; the affiliate's payout is then refused for good: the cancel,
// made on the hold, was taken as the decision on the affiliate's failure and compensated every
// payee, although the vendor's account could receive by then and nobody had decided on the
// failure. Likewise a second retry made on the vendor's first refusal, taken as the decision on
// its second.
//
// From code path 22 a command carries the decision it was made on (AdminCommand.Decision, the
// payment's Record.Decision as saved, which the run moves on at each decision it asks for: a
// hold, a refused payout, a park): one made on another is dropped, and the payment's reason says
// so. The commands here are sent as the API sends them (JSON), so this test ran on the code
// before code path 22 too, where it failed:
//
//	a cancel made on the hold: Not equal: expected: "paid" actual: "compensated"
//	  (affiliate payout failed (insufficient platform balance); cancelled by ops)
//	a retry made on the first refusal: Not equal: expected: 2 actual: 3 (transfers to the vendor)
func (s *workflowSuite) TestADecisionIsTakenOnlyForTheDecisionItWasMadeOn() {
	s.Run("a cancel made on the hold, the affiliate's payout then refused", func() {
		s.SetupTest()
		s.w.holds["v1"] = "cannot receive yet"
		s.w.failNext["affiliate"] = []error{rejected("insufficient platform balance")}
		s.onFirstHold(func() {
			// The admin read the payment held (its first decision) and cancels; the account can
			// receive a moment later.
			s.env.SignalWorkflow(SignalAdmin, map[string]any{"Action": "cancel", "Actor": "ops", "Decision": 1})
			s.w.mu.Lock()
			s.w.holds["v1"] = ""
			s.w.mu.Unlock()
		})
		signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
		deciding := s.lastSavedAt(2 * time.Hour)
		// The affiliate's refusal is the payment's second decision: retried.
		signalAt(s.env, 3*time.Hour, SignalAdmin, map[string]any{"Action": "retry", "Actor": "ops", "Decision": 2})

		rec := s.run()

		s.Equal(payment.StatusPayoutFailed, deciding.Status, "the cancel made on the hold is not the decision on the refusal: %s", deciding.Reason)
		s.Contains(deciding.Reason, "ops's cancel, made on decision 1, not taken")
		s.Equal(2, deciding.Decision, "the hold, then the refusal")
		s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
		s.EqualValues(vendorCut, s.w.sentToPayee("v1"), "the vendor paid by the ask once the run waits for it")
		s.EqualValues(affiliateCut, s.w.sentToPayee("a1"), "the affiliate paid by the retry made on its refusal")
	})
	s.Run("a retry made on the vendor's first refusal, taken after its second", func() {
		s.SetupTest()
		// The second admin's retry is made on the first refusal (the API refuses it as
		// decision_pending; the Temporal UI does not).
		deciding := s.secondRetryAsTheSecondRefusalIsSaved(
			map[string]any{"Action": "retry", "Actor": "ops", "Decision": 1},
			map[string]any{"Action": "retry", "Actor": "ops2", "Decision": 1},
			map[string]any{"Action": "cancel", "Actor": "ops", "Decision": 2})

		rec := s.run()

		s.Equal(2, s.transfersTo("acct_v1"), "the second refusal is not retried on the first's decision")
		s.Equal(payment.StatusPayoutFailed, deciding.Status, deciding.Reason)
		s.Contains(deciding.Reason, "ops2's retry, made on decision 1, not taken")
		s.Equal(2, deciding.Decision, "the first refusal, then the second")
		s.Equal(payment.StatusCompensated, rec.Status, rec.Reason)
		s.Contains(rec.Compensated, "cancelled by ops")
		s.Zero(s.w.sentToPayee("v1"))
	})
}

// secondRetryAsTheSecondRefusalIsSaved readies a payment whose vendor's payout is refused twice:
// an admin retries the first refusal at 1 h (retry), a second admin's retry (second) comes as the
// run saves the second refusal, and at 3 h an admin cancels (cancel). It answers the payment as
// saved at 2 h.
func (s *workflowSuite) secondRetryAsTheSecondRefusalIsSaved(retry, second, cancel map[string]any) *payment.Record {
	s.w.failNext["vendor"] = []error{rejected("insufficient platform balance"), rejected("insufficient platform balance")}
	refusals := 0
	s.w.onSave = func(rec payment.Record) {
		if rec.Status != payment.StatusPayoutFailed {
			return
		}
		if refusals++; refusals == 2 {
			s.env.SignalWorkflow(SignalAdmin, second)
		}
	}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, time.Hour, SignalAdmin, retry)
	deciding := s.lastSavedAt(2 * time.Hour)
	signalAt(s.env, 3*time.Hour, SignalAdmin, cancel)
	return deciding
}

// transfersTo counts the transfer requests sent to dest, refused ones too.
func (s *workflowSuite) transfersTo(dest string) int {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	n := 0
	for _, in := range s.w.requests {
		if in.Destination == dest {
			n++
		}
	}
	return n
}

// On code path 21 a run takes a command by whichever wait for a decision comes next, as before:
// the cancel made on the hold compensates the payment at the affiliate's refusal.
func (s *workflowSuite) TestADecisionOnPath21IsTakenByTheNextWait() {
	s.w.holds["v1"] = "cannot receive yet"
	s.w.failNext["affiliate"] = []error{rejected("insufficient platform balance")}
	s.onFirstHold(func() {
		s.env.SignalWorkflow(SignalAdmin, map[string]any{"Action": "cancel", "Actor": "ops", "Decision": 1})
		s.w.mu.Lock()
		s.w.holds["v1"] = ""
		s.w.mu.Unlock()
	})
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	in := testInput()
	in.CodePath = codePathDecisionKept
	s.env.ExecuteWorkflow(Workflow, in)
	rec := result(s.T(), s.env)
	s.checkBooks(rec)

	s.Equal(payment.StatusCompensated, rec.Status, rec.Reason)
	s.Contains(rec.Compensated, "affiliate payout failed")
	s.Contains(rec.Compensated, "cancelled by ops")
	s.Zero(s.w.sentToPayee("v1"))
	s.Zero(legOf(s.T(), rec, split.PartyAffiliate).Transferred)
}

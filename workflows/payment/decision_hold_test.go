package payment

import (
	"strings"
	"time"

	"paysplit/activities"
	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// A payment's held legs are one decision (release or cancel), whichever legs are held and however
// often: from code path 22 a leg held beside another, or held again after its release or the run's
// ask, does not move the payment's decision on, so a release or cancel an admin (or a Connect
// event) made on the hold a moment before is taken, not dropped as made on another decision.
// Before, each leg held anew moved it on, and such a command was dropped (its reason
// "...made on decision 1, not taken..."), the leg released paid only by a later ask or command.
func (s *workflowSuite) TestAHoldIsOneDecisionWhateverLegsItHolds() {
	s.Run("the vendor's release made on its hold, the affiliate held next in the same payout", func() {
		s.SetupTest()
		s.w.holds["v1"] = "cannot receive yet"
		s.w.holds["a1"] = "cannot receive yet"
		s.onFirstHold(func() {
			// A Connect event for the vendor's account reads the payment saved held (decision 1)
			// and releases the vendor; the run is still checking the affiliate's payee.
			s.env.SignalWorkflow(SignalAdmin, map[string]any{"Action": "release", "Party": "vendor", "Actor": "stripe:account.updated", "Decision": 1})
			s.w.mu.Lock()
			s.w.holds["v1"] = ""
			s.w.mu.Unlock()
		})
		signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
		deciding := s.lastSavedAt(2 * time.Hour)
		s.env.RegisterDelayedCallback(func() {
			s.w.mu.Lock()
			s.w.holds["a1"] = ""
			s.w.mu.Unlock()
			s.env.SignalWorkflow(SignalAdmin, AdminCommand{Action: ActionRelease, Actor: "ops"})
		}, 3*time.Hour)

		rec := s.run()

		s.NotContains(deciding.Reason, "not taken", "the vendor's release made on the hold is taken")
		s.Equal(payment.LegTransferred, legOf(s.T(), *deciding, split.PartyVendor).State, deciding.Reason)
		s.Equal(payment.StatusHeld, deciding.Status, "the affiliate still held")
		s.Equal(1, deciding.Decision, "one decision: the held legs")
		s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
		s.EqualValues(vendorCut, s.w.sentToPayee("v1"))
		s.EqualValues(affiliateCut, s.w.sentToPayee("a1"))
	})
	s.Run("a cancel made on the hold, the leg held again by the run's ask", func() {
		s.SetupTest()
		s.w.holds["v1"] = "cannot receive yet"
		// The ask finds the account able to receive; Stripe refuses the transfer as the account
		// is restricted again, and the leg is held again.
		s.env.RegisterDelayedCallback(func() {
			s.w.mu.Lock()
			s.w.holds["v1"] = ""
			s.w.failNext["vendor"] = []error{rejected("account restricted")}
			s.w.holdOnRefusal = map[string]string{"v1": "restricted"}
			s.w.mu.Unlock()
		}, 30*time.Minute)
		sent := false
		s.w.onSave = func(rec payment.Record) {
			if l := rec.Leg(split.PartyVendor); !sent && l != nil && l.State == payment.LegHeld && strings.Contains(l.Reason, "restricted") {
				// An admin read the payment held (decision 1) and cancels as the run holds it again.
				sent = true
				s.env.SignalWorkflow(SignalAdmin, map[string]any{"Action": "cancel", "Actor": "ops", "Decision": 1})
			}
		}
		signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
		// Ends a run that dropped the cancel (the Temporal UI's cancel carries no number).
		signalAt(s.env, 10*time.Hour, SignalAdmin, AdminCommand{Action: ActionCancel, Actor: "ui"})
		in := testInput()
		in.Settings.HoldRecheckEvery = time.Hour
		s.env.ExecuteWorkflow(Workflow, in)
		rec := result(s.T(), s.env)
		s.checkBooks(rec)

		s.True(sent, "the leg was held again")
		s.Equal(payment.StatusCompensated, rec.Status, rec.Reason)
		s.Contains(rec.Compensated, "cancelled by ops", "the cancel made on the hold is taken")
		s.NotContains(rec.Reason, "not taken")
		s.Equal(1, rec.Decision, "one decision: the held leg")
		s.Zero(s.w.sentToPayee("v1"))
	})
}

// A payment parked again for its split (its order's webhook came and the split is still refused)
// asks the same decision, retry or cancel: from code path 22 an admin's cancel made on the park,
// sent as the run parks it again, is taken. Before, each park moved the decision on and the cancel
// was dropped ("made on decision 1, not taken"), the payment left parked.
func (s *workflowSuite) TestAPaymentParkedAgainAsksTheSameDecision() {
	s.w.enrich = func(activities.EnrichInput) activities.EnrichOutput {
		return activities.EnrichOutput{Problem: `unknown client "acme"`}
	}
	parks := 0
	s.w.onSave = func(rec payment.Record) {
		if rec.Status != payment.StatusNeedsAttention || strings.Contains(rec.Reason, staleMark) {
			return
		}
		if parks++; parks == 2 {
			// An admin read the payment parked (decision 1) and cancels as the run parks it again.
			s.env.SignalWorkflow(SignalAdmin, map[string]any{"Action": "cancel", "Actor": "ops", "Decision": 1})
		}
	}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, time.Hour, SignalEvent, Event{ID: "order-shopify-o-1", Kind: EventOrderReady})
	// Ends a run that dropped the cancel (the Temporal UI's cancel carries no number).
	signalAt(s.env, 10*time.Hour, SignalAdmin, AdminCommand{Action: ActionCancel, Actor: "ui"})

	rec := s.run()

	s.Equal(2, parks, "parked, then parked again after the order's webhook")
	s.Equal(payment.StatusCancelled, rec.Status, rec.Reason)
	s.Contains(rec.Reason, "cancelled by ops while parked", "the cancel made on the park is taken")
	s.Equal(1, rec.Decision, "one decision: the park")
	s.Empty(s.w.transfers)
}

// A payment waits for its order (no decision asked yet: decision 0) and an admin, who knows the
// order will never come, cancels it as the order's webhook comes. The run takes the order first
// and keeps the cancel for after the events (adminBeforeEvents), splits and pays; the affiliate's
// payout is refused for good, and the cancel, made on a payment nobody had been paid from, was
// taken as the decision on that refusal: the vendor, paid, was reversed. From code path 22 the API
// says a command's decision is checked (Checked) also when it is 0, so the run drops it there; a
// command from the Temporal UI (neither) is taken as before.
func (s *workflowSuite) TestACancelMadeBeforeTheFirstDecisionIsNotTakenForALaterOne() {
	// As the API sends it for a payment saved awaiting its metadata (decision 0).
	deciding := s.cancelAsTheOrderCame(map[string]any{"Action": "cancel", "Actor": "ops", "Checked": true})

	rec := s.run()

	s.Equal(payment.StatusPayoutFailed, deciding.Status, "the cancel made on the wait for the order is not the decision on the refusal: %s", deciding.Reason)
	s.Contains(deciding.Reason, "ops's cancel, made on decision 0, not taken")
	s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
	s.Equal(legOf(s.T(), rec, split.PartyVendor).Amount, s.w.sentToPayee("v1"), "the vendor keeps what it was paid")
	s.Equal(legOf(s.T(), rec, split.PartyAffiliate).Amount, s.w.sentToPayee("a1"))
	s.Positive(s.w.sentToPayee("v1"))
}

// cancelAsTheOrderCame readies a payment waiting for its order (no decision asked yet) that an
// admin cancels (cancel, the signal's payload) as the order's webhook comes: the run takes the
// order first and keeps the cancel for after the events (adminBeforeEvents), splits and pays, and
// the affiliate's payout is refused for good. At 3 h the API's retry of that refusal. It answers
// the payment as saved at 2 h.
func (s *workflowSuite) cancelAsTheOrderCame(cancel map[string]any) *payment.Record {
	known := false
	s.w.enrich = func(activities.EnrichInput) activities.EnrichOutput {
		if !known {
			return activities.EnrichOutput{Missing: []string{"order_id"}}
		}
		return activities.EnrichOutput{Order: payment.Order{ClientID: "acme", OrderID: "o-1", VendorID: "v1", AffiliateID: "a1", Subtotal: gross}}
	}
	s.w.failNext["affiliate"] = []error{rejected("insufficient platform balance")}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.env.RegisterDelayedCallback(func() {
		known = true
		s.env.SignalWorkflow(SignalEvent, Event{ID: "order-shopify-o-1", Kind: EventOrderReady})
		s.env.SignalWorkflow(SignalAdmin, cancel)
	}, 90*time.Second)
	deciding := s.lastSavedAt(2 * time.Hour)
	signalAt(s.env, 3*time.Hour, SignalAdmin, map[string]any{"Action": "retry", "Actor": "ops", "Decision": 1})
	return deciding
}

// A Connect event's release of the vendor, made on its hold (decision 1), comes as the run, its
// affiliate's refused payout (decision 2) retried, goes back to waiting on the held vendor: the run
// asks the hold's decision again, and from code path 22 takes the release made on it (a release
// checks the payee again before anything is sent). Before, it was dropped as made on decision 1
// while the number said 2, and the ask the run makes as it starts waiting on held legs was skipped
// for it: with asks off the vendor waited for an admin.
func (s *workflowSuite) TestAReleaseMadeOnTheHoldIsTakenOnceTheRunWaitsOnItAgain() {
	s.w.holds["v1"] = "cannot receive yet"
	s.w.failNext["affiliate"] = []error{rejected("insufficient platform balance")}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.env.RegisterDelayedCallback(func() {
		s.w.mu.Lock()
		s.w.holds["v1"] = ""
		s.w.mu.Unlock()
		s.env.SignalWorkflow(SignalAdmin, map[string]any{"Action": "retry", "Actor": "ops", "Decision": 2, "Checked": true})
		s.env.SignalWorkflow(SignalAdmin, map[string]any{"Action": "release", "Party": "vendor", "Actor": "stripe:account.updated", "Decision": 1, "Checked": true})
	}, time.Hour)
	deciding := s.lastSavedAt(2 * time.Hour)
	// Ends a run that dropped the release.
	signalAt(s.env, 10*time.Hour, SignalAdmin, AdminCommand{Action: ActionRelease, Actor: "ui"})

	rec := s.run()

	s.NotContains(deciding.Reason, "not taken")
	s.Equal(payment.StatusPaid, deciding.Status, "the vendor paid by the release made on its hold: %s", deciding.Reason)
	s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
	s.EqualValues(vendorCut, s.w.sentToPayee("v1"))
	s.EqualValues(affiliateCut, s.w.sentToPayee("a1"))
}

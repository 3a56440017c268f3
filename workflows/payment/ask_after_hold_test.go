package payment

import (
	"time"

	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// Code path 20: a held leg's payee is asked once more as soon as the hold is saved, and a release
// that reaches a run deciding another leg's failure is not a retry of it.

// onFirstHold calls f once, as the first save of the payment with v1's leg held starts: what
// happens between the run's save of the hold and its wait for the held legs (a Connect event, an
// admin who read the payment held).
func (s *workflowSuite) onFirstHold(f func()) {
	done := false
	s.w.onSave = func(rec payment.Record) {
		if l := rec.Leg(split.PartyVendor); !done && l != nil && l.State == payment.LegHeld {
			done = true
			f()
		}
	}
}

// runAskAfterHold runs the payment on code path 20 with asks every every (0: asks off).
func (s *workflowSuite) runAskAfterHold(every time.Duration) payment.Record {
	in := testInput()
	in.Provider = s.provider
	in.CodePath = codePathAskAfterHold
	in.Settings.HoldRecheckEvery = every
	s.env.ExecuteWorkflow(Workflow, in)
	rec := result(s.T(), s.env)
	s.checkBooks(rec)
	return rec
}

// An account that can receive by the time its leg's hold is saved (the Connect event that said so
// came before and found nothing held) is paid at once by the ask made as the run starts waiting,
// with asks every hour and with asks off (0) alike: the ask stands in for the event the race lost,
// it is no periodic ask. PayPal (no Connect events) gets the same single ask, harmlessly.
func (s *workflowSuite) TestHeldLegAskedOnceTheHoldIsSaved() {
	for _, tc := range []struct {
		name     string
		provider string
		every    time.Duration
	}{
		{"stripe, asks every hour", "stripe", time.Hour},
		{"stripe, asks off", "stripe", 0},
		{"paypal, asks every hour", "paypal", time.Hour},
	} {
		s.Run(tc.name, func() {
			s.SetupTest()
			s.provider = tc.provider
			s.w.holds["v1"] = "cannot receive yet"
			s.onFirstHold(func() { s.w.mu.Lock(); s.w.holds["v1"] = ""; s.w.mu.Unlock() })
			signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
			start := s.env.Now()

			rec := s.runAskAfterHold(tc.every)

			s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
			s.EqualValues(vendorCut, s.w.sentToPayee("v1"), "paid once, in full")
			s.Less(rec.Leg(split.PartyVendor).SentAt.Sub(start), time.Minute, "paid at the ask made once the hold was saved")
			s.Equal(3, s.payeeChecks("v1"), "the payout's check, the ask once the hold is saved, the release's check")
		})
	}
}

// An admin's cancel that comes after the hold was saved and before the run waits for its held
// legs (the payment read held; the run still paying its other legs) is taken before the ask made
// once the hold is saved: that ask found the payee able to receive and paid the leg, and the
// cancel was then dropped, nothing waiting for one.
func (s *workflowSuite) TestCancelBeforeTheAskAfterTheHoldIsTaken() {
	s.w.holds["v1"] = "cannot receive yet"
	s.onFirstHold(func() {
		s.w.mu.Lock()
		s.w.holds["v1"] = "" // the account can receive now
		s.w.mu.Unlock()
		s.env.SignalWorkflow(SignalAdmin, AdminCommand{Action: ActionCancel, Actor: "ops"})
	})
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))

	rec := s.runAskAfterHold(time.Hour)

	s.Equal(payment.StatusCompensated, rec.Status, rec.Reason)
	s.Zero(s.w.sentToPayee("v1"), "the held leg is not paid after the admin's cancel")
}

// An immediate ask that gets no answer (the payee's store away) neither fails the run nor asks
// again at once: with asks off the leg waits for an admin, who cancels it.
func (s *workflowSuite) TestAskAfterTheHoldWithoutAnswerWaits() {
	s.w.holds["v1"] = "cannot receive yet"
	down := false
	s.w.onSave = func(rec payment.Record) {
		// Once the other legs are paid: their payout's check retries until it is answered.
		if l := rec.Leg(split.PartyAffiliate); !down && l != nil && l.State == payment.LegTransferred {
			down = true
			s.w.setDown(stepResolvePayee, true)
		}
	}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 10*time.Hour, SignalAdmin, AdminCommand{Action: ActionCancel, Actor: "ops"})

	rec := s.runAskAfterHold(0)

	s.Equal(payment.StatusCompensated, rec.Status, rec.Reason)
	s.Zero(s.w.sentToPayee("v1"))
	s.Equal(1, s.payeeChecks("v1"), "only the payout's check was answered")
	s.True(down)
	s.Positive(s.w.calls["down:"+stepResolvePayee], "the ask was made")
}

// A release (a Connect event's, or an admin's, for the held vendor) that reaches the run while it
// waits for a decision on the affiliate's refused payout is not a retry of it, also when it names
// a party: the decision is still the admin's. A cancel or the decision timeout that follows
// compensates, and the held leg is not paid; a retry pays the affiliate, and the held vendor,
// whose account can receive meanwhile, is paid by the ask once the run waits for it.
func (s *workflowSuite) TestReleaseWhileDecidingIsNotARetry() {
	for _, tc := range []struct {
		name    string
		release AdminCommand
		then    *AdminCommand // nil: the decision times out
		paid    bool
		every   time.Duration // between asks; 0: asks off
	}{
		{"then cancel", AdminCommand{Action: ActionRelease, Actor: "stripe connect"}, &AdminCommand{Action: ActionCancel, Actor: "ops"}, false, time.Hour},
		{"naming the affiliate, then cancel", AdminCommand{Action: ActionRelease, Party: split.PartyAffiliate, Actor: "ops"}, &AdminCommand{Action: ActionCancel, Actor: "ops"}, false, time.Hour},
		{"then timeout", AdminCommand{Action: ActionRelease, Party: split.PartyVendor, Actor: "stripe connect"}, nil, false, time.Hour},
		{"then retry", AdminCommand{Action: ActionRelease, Actor: "stripe connect"}, &AdminCommand{Action: ActionRetry, Actor: "ops"}, true, time.Hour},
		// Asks off: the ignored release is not lost, the ask once the run waits for its held
		// legs is still made.
		{"asks off, then retry", AdminCommand{Action: ActionRelease, Actor: "stripe connect"}, &AdminCommand{Action: ActionRetry, Actor: "ops"}, true, 0},
	} {
		s.Run(tc.name, func() {
			s.SetupTest()
			s.w.holds["v1"] = "cannot receive yet"
			s.w.failNext["affiliate"] = []error{rejected("insufficient platform balance")}
			s.holdPayee(30*time.Second, "") // the vendor's account can receive: the release was sent for it
			signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
			signalAt(s.env, time.Minute, SignalAdmin, tc.release)
			deciding := s.lastSavedAt(2 * time.Hour)
			if tc.then != nil {
				signalAt(s.env, 3*time.Hour, SignalAdmin, *tc.then)
			}

			rec := s.runAskAfterHold(tc.every)

			s.Equal(payment.StatusPayoutFailed, deciding.Status, "still waiting for a decision: %s", deciding.Reason)
			if !tc.paid {
				s.Equal(payment.StatusCompensated, rec.Status, rec.Reason)
				s.Zero(s.w.sentToPayee("v1"), "the held leg is not paid after the compensation")
				s.Zero(s.w.sentToPayee("a1"))
				return
			}
			s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
			s.EqualValues(vendorCut, s.w.sentToPayee("v1"))
			s.EqualValues(affiliateCut, s.w.sentToPayee("a1"))
		})
	}
}

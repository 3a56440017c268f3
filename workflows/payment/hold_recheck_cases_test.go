package payment

// Held legs asked about again (code path 19) with what else can happen to their payment: an
// admin's or a Connect event's release in the same workflow task as the ask, refunds, a refund
// that fails, a lost dispute, the settle window, PayPal. Each is paid once, what is still its
// share, and the books agree (checkBooks in runWithHoldRecheck).

import (
	"errors"
	"time"

	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// An admin's release and a Connect event's (naming the vendor) that come just before the ask, in
// its workflow task, or just after it paid the leg: the vendor is paid once, under one key.
func (s *workflowSuite) TestHeldLegAskAndReleasesAtOnce() {
	for _, at := range []time.Duration{time.Hour - time.Second, time.Hour, time.Hour + time.Second, time.Hour + 2*time.Second} {
		s.Run(at.String(), func() {
			s.SetupTest()
			s.w.holds["v1"] = `vendor "v1" is not registered`
			signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
			s.holdPayee(30*time.Minute, "")
			signalAt(s.env, at, SignalAdmin, AdminCommand{Action: ActionRelease, Actor: "ops"})
			signalAt(s.env, at, SignalAdmin, AdminCommand{Action: ActionRelease, Party: split.PartyVendor, Actor: "stripe:account.updated evt_c1"})

			rec := s.runWithHoldRecheck(CurrentCodePath)

			s.Equal(payment.StatusPaid, rec.Status)
			s.EqualValues(vendorCut, s.w.sent("acct_v1"))
			s.Len(s.requestsUnder(wfID+"/transfer/vendor-v1/0"), 1, "sent once")
			s.Len(s.w.requests, 2, "one transfer a leg")
		})
	}
}

// A leg held in doubt (its first transfer's answer lost), an admin's release at, just before or
// just after the ask: asked under its key with the amount first sent, never under a new key.
func (s *workflowSuite) TestHeldLegInDoubtAskAndReleaseAtOnce() {
	for _, at := range []time.Duration{90*time.Minute - time.Second, 90 * time.Minute, 90*time.Minute + time.Millisecond} {
		s.Run(at.String(), func() {
			s.SetupTest()
			lost := madeButLost{errors.New("connection reset")}
			s.w.failNext["vendor"] = []error{lost, lost, lost}
			signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
			s.holdAndRetryAt(time.Hour, "Stripe account acct_v1 cannot receive transfers")
			s.holdPayee(70*time.Minute, "")
			signalAt(s.env, at, SignalAdmin, AdminCommand{Action: ActionRelease, Actor: "ops"})

			rec := s.runWithHoldRecheck(CurrentCodePath)

			s.Equal(payment.StatusPaid, rec.Status)
			s.EqualValues(vendorCut, s.w.sent("acct_v1"), "made once")
			for _, in := range s.requestsUnder(wfID + "/transfer/vendor-v1/0") {
				s.EqualValues(vendorCut, in.Amount)
			}
			s.Empty(s.requestsUnder(wfID+"/transfer/vendor-v1/1"), "no new key")
		})
	}
}

// A refund while the leg is held, before the ask or in its workflow task: the ask sends the
// vendor what remains of its share.
func (s *workflowSuite) TestHeldLegPartlyRefundedSentWhatRemains() {
	for _, at := range []time.Duration{30 * time.Minute, time.Hour, time.Hour + time.Second} {
		s.Run(at.String(), func() {
			s.SetupTest()
			s.w.holds["v1"] = `vendor "v1" is not registered`
			signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
			s.holdPayee(30*time.Minute, "")
			signalAt(s.env, at, SignalEvent, refundAt("evt_r1", 5000, 60))

			rec := s.runWithHoldRecheck(CurrentCodePath)

			s.Equal(payment.StatusPartiallyRefunded, rec.Status, rec.Reason)
			vendor := legOf(s.T(), rec, split.PartyVendor)
			s.Positive(vendor.Refunded)
			s.EqualValues(vendor.Amount-vendor.Refunded, s.w.sentToPayee("v1"))
		})
	}
}

// A refund in full while the leg is held, then its failure, the payee able to receive before
// either ask, after the first, or only after the settle window would have closed: the vendor gets
// its whole share once.
func (s *workflowSuite) TestHeldLegRefundFailedGetsItsShare() {
	for _, fixedAt := range []time.Duration{30 * time.Minute, 90 * time.Minute, 5 * time.Hour} {
		s.Run(fixedAt.String(), func() {
			s.SetupTest()
			s.w.holds["v1"] = `vendor "v1" is not registered`
			signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
			signalAt(s.env, 10*time.Minute, SignalEvent, refundAt("evt_r1", gross, 10))
			signalAt(s.env, 2*time.Hour, SignalEvent, refundFailedAt("evt_f1", "re_1", gross, 120))
			s.holdPayee(fixedAt, "")

			rec := s.runWithHoldRecheck(CurrentCodePath)

			s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
			s.EqualValues(vendorCut, s.w.sentToPayee("v1"))
			s.EqualValues(affiliateCut, s.w.sentToPayee("a1"))
		})
	}
}

// A dispute lost while the leg is held: in part, the ask sends what remains; in full, the leg is
// settled with nothing sent.
func (s *workflowSuite) TestHeldLegAfterALostDispute() {
	for _, lost := range []int64{3000, gross} {
		s.Run(map[bool]string{true: "in full", false: "in part"}[lost == gross], func() {
			s.SetupTest()
			s.w.holds["v1"] = `vendor "v1" is not registered`
			signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
			signalAt(s.env, 10*time.Minute, SignalEvent, disputeOpened("evt_d1", "dp_1"))
			signalAt(s.env, 20*time.Minute, SignalEvent, Event{ID: "evt_d2", Kind: EventDisputeClosed, DisputeID: "dp_1", DisputeStatus: "lost", Amount: lost})
			s.holdPayee(90*time.Minute, "")

			rec := s.runWithHoldRecheck(CurrentCodePath)

			vendor := legOf(s.T(), rec, split.PartyVendor)
			s.EqualValues(vendor.Amount-vendor.Refunded, s.w.sentToPayee("v1"))
			if lost == gross {
				s.Equal(payment.StatusRefunded, rec.Status, rec.Reason)
				s.Equal(payment.LegNothingDue, vendor.State)
			} else {
				s.Equal(payment.StatusPartiallyRefunded, rec.Status, rec.Reason)
				s.Equal(payment.LegTransferred, vendor.State)
			}
		})
	}
}

// A leg held in the settle window (a refund's failure gave back the share of a leg a refund before
// the capture left nothing): the payment is held past the window's end and the ask pays the leg.
func (s *workflowSuite) TestHeldLegInTheSettleWindowAskedPastItsEnd() {
	s.w.holds["v1"] = `vendor "v1" is not registered`
	signalAt(s.env, time.Second, SignalEvent, refundAt("evt_r1", gross, 0))
	signalAt(s.env, 2*time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 30*time.Minute, SignalEvent, refundFailedAt("evt_f1", "re_1", gross, 30))
	s.holdPayee(5*time.Hour, "")
	resting := s.lastSavedAt(3 * time.Hour)

	rec := s.runWithHoldRecheck(CurrentCodePath)

	s.Equal(payment.StatusHeld, resting.Status, resting.Reason)
	s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
	s.EqualValues(vendorCut, s.w.sentToPayee("v1"))
	s.EqualValues(affiliateCut, s.w.sentToPayee("a1"))
}

// A PayPal payee (no Connect events) given its receiver is paid at the next ask.
func (s *workflowSuite) TestHeldPayPalLegPaidAtTheAsk() {
	s.provider = "paypal"
	s.w.holds["v1"] = `vendor "v1" has no PayPal receiver`
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.holdPayee(30*time.Minute, "")

	rec := s.runWithHoldRecheck(CurrentCodePath)

	s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
	s.EqualValues(vendorCut, s.w.sentToPayee("v1"))
}

// A payment whose run closed held for a top-up (its run did not ask: HoldRecheckEvery 0, or an
// older path) gets a follow-up run for a refund: that run asks about the held top-up after its
// settle window, and sends what the payee is still owed once it can receive.
func (s *workflowSuite) TestHeldTopUpAskedAboutByAFollowUpRun() {
	s.taxRules()
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.holdPayee(30*time.Second, movedAway)
	signalAt(s.env, time.Minute, SignalEvent, correction("correction-v4", 4))
	due := s.run()
	s.Require().Equal(payment.StatusHeld, due.Status, "closed held for its top-up")

	s.followUp(due)
	signalAt(s.env, time.Minute, SignalEvent, refundAt("evt_r1", 100, 60*24))
	s.holdPayee(5*time.Hour, "")
	rec := s.runWithHoldRecheck(CurrentCodePath)

	s.Equal(payment.StatusPartiallyRefunded, rec.Status, rec.Reason)
	vendor := legOf(s.T(), rec, split.PartyVendor)
	s.Empty(vendor.Dues)
	s.EqualValues(vendor.Remaining(), s.w.sentToPayee("v1"), "the vendor holds its share of what stands")
	s.Require().Len(s.requestsUnder(topUpKey), 1, "the top-up sent once, under its key")
	s.EqualValues(vendor.Remaining()-9425, s.requestsUnder(topUpKey)[0].Amount, "what is still owed after the refund")
}

// A PayPal leg held while its transfer was in doubt, whose payee can receive again only after
// PayPal may have forgotten the key (29 days), is not released by an ask: the release could not
// send it again (it would pay twice), made the payment payout_failed and, with no admin decision
// within DecisionTimeout, compensated every leg although nobody had acted. It waits held, saying
// so, for the admin's resolve, as before the asks.
func (s *workflowSuite) TestHeldPayPalLegInDoubtPastItsKeyIsNotReleasedByAnAsk() {
	s.provider = "paypal"
	lost := madeButLost{errors.New("connection reset")}
	s.w.failNext["vendor"] = []error{lost, lost, lost}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.holdAndRetryAt(time.Hour, "PayPal account closed")
	s.holdPayee(30*24*time.Hour, "") // it can receive again a month later
	waiting := s.lastSavedAt(39 * 24 * time.Hour)
	signalAt(s.env, 40*24*time.Hour, SignalAdmin, resolve(true, "tr_"+vendorKey))

	rec := s.runWithHoldRecheck(CurrentCodePath)

	s.Equal(payment.StatusHeld, waiting.Status, "waiting for the admin's resolve (reason %q)", waiting.Reason)
	s.Contains(waiting.Reason, "so it is not sent again")
	s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
	s.Empty(rec.Compensated)
	s.EqualValues(vendorCut, s.w.sent("acct_v1"), "paid once, by the transfer in doubt the admin found")
	s.Len(s.requestsUnder(vendorKey), 3, "the payout's three attempts; nothing sent under the key after")
}

// A top-up held for its payee that an admin's retry pays while the run waits to ask about it
// (code path 19) ends the wait: the run closes with the retry, not at its next ask, which after
// several asks is many hours off (up to a day). Both a retry by the admin API's event and one
// sent from the Temporal UI.
func (s *workflowSuite) TestHeldTopUpPaidByARetryClosesTheRunAtOnce() {
	for name, retry := range map[string]func(){
		"event":   func() { signalAt(s.env, 20*time.Hour, SignalEvent, retryDues(1)) },
		"command": func() { signalAt(s.env, 20*time.Hour, SignalAdmin, AdminCommand{Action: ActionRetry, Actor: "ops"}) },
	} {
		s.Run(name, func() {
			s.SetupTest()
			s.taxRules()
			in := testInput()
			in.Settings.HoldRecheckEvery = time.Hour
			signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
			s.holdPayee(30*time.Second, movedAway)
			signalAt(s.env, time.Minute, SignalEvent, correction("correction-v4", 4))
			s.holdPayee(19*time.Hour, "") // fixed after the asks at 2, 4, 8 and 16 h; the next is at 32 h
			retry()
			start := s.env.Now()

			s.env.ExecuteWorkflow(Workflow, in)
			rec := result(s.T(), s.env)

			s.checkBooks(rec)
			s.paidTopUpOnce(rec)
			s.Empty(legOf(s.T(), rec, split.PartyVendor).Dues)
			s.Less(s.env.Now().Sub(start), 20*time.Hour+5*time.Minute, "the run closes with the retry that paid the held top-up")
		})
	}
}

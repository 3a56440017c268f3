package payment

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"paysplit/activities"
	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// An admin's word on a transfer in doubt (ActionResolve), for when the provider cannot be asked
// by key (PayPal after 30 days, or a refusal of a used key that does not link the batch).

const vendorKey = wfID + "/transfer/vendor-v1/0"

func resolve(made bool, ref string) AdminCommand {
	return AdminCommand{Action: ActionResolve, Party: split.PartyVendor, Made: made, Ref: ref, Actor: "ops"}
}

func (s *workflowSuite) TestResolveMadeBooksTheTransferInDoubt() {
	lost := madeButLost{errors.New("connection reset")}
	s.w.failNext["vendor"] = []error{lost, lost, lost}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, time.Hour, SignalAdmin, resolve(true, "tr_"+vendorKey))
	rec := s.run()

	s.Equal(payment.StatusPaid, rec.Status)
	vendor := legOf(s.T(), rec, split.PartyVendor)
	s.Equal("tr_"+vendorKey, vendor.TransferID)
	s.EqualValues(vendorCut, vendor.Transferred)
	s.Equal(4, s.w.calls["transfer"], "three attempts for the vendor and one for the affiliate: nothing sent again")
	s.EqualValues(vendorCut, s.w.sent("acct_v1"))
	s.Require().Len(s.w.confirmed, 1)
	s.Equal(vendorKey, s.w.confirmed[0].Transfer.IdempotencyKey)
	s.EqualValues(vendorCut, s.w.confirmed[0].Transfer.Amount, "checked against the key's own amount")
	s.Contains(s.w.entries[wfID+"/transfer/vendor-v1"].Description, "confirmed as tr_"+vendorKey+" by ops", "the books say whose word the entry rests on")
}

// Made, and a refund came while the leg was in doubt: the refund's share is taken back from the
// transfer confirmed, as after a retry that learnt it was made.
func (s *workflowSuite) TestResolveMadeTakesBackWhatARefundTookMeanwhile() {
	lost := madeButLost{errors.New("connection reset")}
	s.w.failNext["vendor"] = []error{lost, lost, lost}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 30*time.Minute, SignalEvent, refundEvent("evt_r1", 1100))
	signalAt(s.env, time.Hour, SignalAdmin, resolve(true, "tr_"+vendorKey))
	rec := s.run()

	s.Equal(payment.StatusPartiallyRefunded, rec.Status)
	vendor := legOf(s.T(), rec, split.PartyVendor)
	s.EqualValues(955, s.w.reversals[wfID+"/refund/1100/vendor-v1"].Amount, "the refund's share")
	s.EqualValues(vendor.Remaining(), s.w.sent("acct_v1"))
	s.Equal(4, s.w.calls["transfer"])
}

// A movement that is not the transfer (another key, a typo) says nothing: the leg stays in doubt
// under its key, and the admin's retry then asks with it.
func (s *workflowSuite) TestResolveWithAnotherMovementStaysInDoubt() {
	lost := madeButLost{errors.New("connection reset")}
	s.w.failNext["vendor"] = []error{lost, lost, lost}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, time.Hour, SignalAdmin, resolve(true, "tr_someone_else"))
	var midway payment.Record
	s.env.RegisterDelayedCallback(func() { midway = s.w.saved[len(s.w.saved)-1] }, 90*time.Minute)
	signalAt(s.env, 2*time.Hour, SignalAdmin, AdminCommand{Action: ActionRetry, Actor: "ops"})
	rec := s.run()

	s.Equal(payment.StatusPayoutFailed, midway.Status)
	s.Contains(midway.Reason, "still in doubt: ops named tr_someone_else")
	s.True(midway.Legs[0].InDoubt(wfID) || midway.Legs[1].InDoubt(wfID))
	s.Equal(payment.StatusPaid, rec.Status)
	vendor := legOf(s.T(), rec, split.PartyVendor)
	s.Equal(vendorKey, vendor.TransferKey, "the key is kept")
	s.True(s.w.transfers[vendorKey].Asked)
	s.EqualValues(vendorCut, s.w.sent("acct_v1"), "paid once")
}

// Not made: the leg leaves doubt with a new attempt, so a cancel has nothing to ask for and sends
// nothing (at PayPal, asking is sending), and a retry sends under a new key.
func (s *workflowSuite) TestResolveNotMade() {
	for _, tc := range []struct {
		name      string
		then      AdminAction
		status    payment.Status
		transfers int
		sent      int64
	}{
		{"then cancelled: nothing sent", ActionCancel, payment.StatusCompensated, 3, 0},
		{"then retried: a new key", ActionRetry, payment.StatusPaid, 5, vendorCut},
	} {
		s.Run(tc.name, func() {
			s.SetupTest()
			lost := errors.New("connection reset") // never made
			s.w.failNext["vendor"] = []error{lost, lost, lost}
			signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
			signalAt(s.env, time.Hour, SignalAdmin, resolve(false, ""))
			signalAt(s.env, 2*time.Hour, SignalAdmin, AdminCommand{Action: tc.then, Actor: "ops"})
			rec := s.run()

			s.Equal(tc.status, rec.Status)
			vendor := legOf(s.T(), rec, split.PartyVendor)
			s.Equal(1, vendor.Attempt)
			s.Equal(tc.transfers, s.w.calls["transfer"])
			s.EqualValues(tc.sent, s.w.sent("acct_v1"))
			s.Empty(s.w.confirmed, "nothing to check at the provider")
			if tc.then == ActionRetry {
				s.Equal(wfID+"/transfer/vendor-v1/1", vendor.TransferKey)
				s.False(s.w.transfers[vendor.TransferKey].Asked)
			}
		})
	}
}

// The provider says the movement named failed (a PayPal item denied, returned, unclaimed): it
// was not made, and the retry takes a new key.
func (s *workflowSuite) TestResolveMadeButTheProviderSaysItFailed() {
	lost := errors.New("connection reset")
	s.w.failNext["vendor"] = []error{lost, lost, lost}
	s.w.confirmAs = temporal.NewNonRetryableApplicationError("PayPal payout item X denied", activities.ErrTypeRejected, nil)
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, time.Hour, SignalAdmin, resolve(true, "B-1"))
	signalAt(s.env, 2*time.Hour, SignalAdmin, AdminCommand{Action: ActionRetry, Actor: "ops"})
	rec := s.run()

	s.Equal(payment.StatusPaid, rec.Status)
	vendor := legOf(s.T(), rec, split.PartyVendor)
	s.Equal(wfID+"/transfer/vendor-v1/1", vendor.TransferKey)
	s.EqualValues(vendorCut, s.w.sent("acct_v1"))
}

// A leg held while in doubt (its payee could no longer receive) is paid by a confirmed resolve:
// what was made is booked, nothing is sent, and the payment settles without a release.
func (s *workflowSuite) TestResolveMadeEndsAHoldInDoubt() {
	rec := s.heldInDoubt(resolve(true, "tr_"+vendorKey))

	s.Equal(payment.StatusPaid, rec.Status)
	vendor := legOf(s.T(), rec, split.PartyVendor)
	s.Equal(payment.LegTransferred, vendor.State)
	s.EqualValues(vendorCut, s.w.sent("acct_v1"))
	s.Equal(4, s.w.calls["transfer"])
}

// A resolve of a leg not in doubt (its payout refused) changes nothing: the refusal already gave
// the next attempt a new key.
func (s *workflowSuite) TestResolveOfALegNotInDoubtIsIgnored() {
	s.w.failNext["vendor"] = []error{rejected("account closed")}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, time.Hour, SignalAdmin, resolve(false, ""))
	signalAt(s.env, 2*time.Hour, SignalAdmin, AdminCommand{Action: ActionRetry, Actor: "ops"})
	rec := s.run()

	s.Equal(payment.StatusPaid, rec.Status)
	s.Equal(1, legOf(s.T(), rec, split.PartyVendor).Attempt, "one new key for the refusal, none for the resolve")
}

const topUpKey = wfID + "/correction/v4/vendor-v1"

func resolveDue(made bool, ref string) Event {
	return Event{ID: fmt.Sprintf("due-resolve-%t-%s", made, ref), Kind: EventResolveDue, DueKey: topUpKey, Made: made, Ref: ref, Actor: "finance"}
}

// topUpInDoubt runs a payment whose correction's top-up to the vendor got no answer on any
// attempt (made, when made says so): the run closes with the top-up due in doubt.
func (s *workflowSuite) topUpInDoubt(made bool) payment.Record {
	s.taxRules()
	var lost error = errors.New("connection reset")
	if made {
		lost = madeButLost{lost}
	}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.failAt(time.Minute-time.Millisecond, s.w.failNext, "vendor", lost, lost, lost)
	signalAt(s.env, time.Minute, SignalEvent, correction("correction-v4", 4))
	due := s.runInDoubt()
	s.Require().Equal(payment.StatusPayoutFailed, due.Status)
	dues := legOf(s.T(), due, split.PartyVendor).Dues
	s.Require().Len(dues, 1)
	s.Require().False(dues[0].Refused, "in doubt")
	return due
}

// A top-up due in doubt, resolved by an admin in a follow-up run: made as the movement named
// (checked, booked, nothing sent), or not made (refused: the retry sends under a new key).
func (s *workflowSuite) TestResolveTopUpDue() {
	for _, tc := range []struct {
		name    string
		made    bool // at the provider
		resolve Event
		retry   bool
		key     string // the top-up that paid the vendor
	}{
		{"made, and named", true, resolveDue(true, "tr_"+topUpKey), false, topUpKey},
		{"not made, and said so; then retried", false, resolveDue(false, ""), true, wfID + "/correction/v4.a1/vendor-v1"},
	} {
		s.Run(tc.name, func() {
			s.SetupTest()
			due := s.topUpInDoubt(tc.made)
			calls := s.w.calls["transfer"]
			s.followUp(due)
			signalAt(s.env, time.Second, SignalEvent, tc.resolve)
			if tc.retry {
				signalAt(s.env, time.Minute, SignalEvent, retryDues(1))
			}
			rec := s.run()

			s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
			s.Empty(legOf(s.T(), rec, split.PartyVendor).Dues)
			s.EqualValues(120, s.w.transfers[tc.key].Amount)
			s.EqualValues(vendorCut, s.w.sent("acct_v1"), "the vendor holds its share once")
			if !tc.retry {
				s.Equal(calls, s.w.calls["transfer"], "confirmed, not sent again")
				s.Len(s.w.confirmed, 1)
				s.Contains(s.w.entries[topUpKey].Description, "confirmed as tr_"+topUpKey+" by finance")
			}
		})
	}
}

// A movement named that is not the top-up leaves it in doubt under its key: nothing sent, nothing
// refused (a refusal would give the retry a new key, and pay again).
func (s *workflowSuite) TestResolveTopUpDueWithAnotherMovementStaysInDoubt() {
	due := s.topUpInDoubt(true)
	s.followUp(due)
	signalAt(s.env, time.Second, SignalEvent, resolveDue(true, "tr_other"))
	rec := s.runInDoubt()

	s.Equal(payment.StatusPayoutFailed, rec.Status)
	dues := legOf(s.T(), rec, split.PartyVendor).Dues
	s.Require().Len(dues, 1)
	s.False(dues[0].Refused)
	s.Equal(0, dues[0].Attempt, "the same key")
	s.Contains(rec.Reason, "no transfer tr_other")
}

// PayPal keeps a sender_batch_id 30 days: a top-up in doubt is asked again under its key within
// 29 days of its first send, and after that it is not sent again (it could pay twice) but stays
// due for an admin to resolve.
func (s *workflowSuite) TestPayPalTopUpInDoubtIsNotSentAgainAfterPayPalForgetsItsKey() {
	for _, tc := range []struct {
		name  string
		after time.Duration
		sent  bool
	}{
		{"after 10 days: asked under its key", 10 * 24 * time.Hour, true},
		{"after 30 days: not sent again", 30 * 24 * time.Hour, false},
	} {
		s.Run(tc.name, func() {
			s.SetupTest()
			s.provider = "paypal"
			due := s.topUpInDoubt(true)
			sentAt := legOf(s.T(), due, split.PartyVendor).Dues[0].SentAt
			s.Require().False(sentAt.IsZero(), "the key's first send is dated")
			calls := s.w.calls["transfer"]
			s.followUp(due)
			s.env.SetStartTime(sentAt.Add(tc.after))
			signalAt(s.env, time.Second, SignalEvent, retryDues(1))
			rec := s.runInDoubt()

			vendor := legOf(s.T(), rec, split.PartyVendor)
			if tc.sent {
				s.Equal(calls+1, s.w.calls["transfer"])
				s.True(s.w.transfers[topUpKey].Asked)
				s.Empty(vendor.Dues)
				s.Equal(payment.StatusPaid, rec.Status)
				return
			}
			s.Equal(calls, s.w.calls["transfer"], "nothing sent")
			s.Equal(payment.StatusPayoutFailed, rec.Status)
			s.Require().Len(vendor.Dues, 1)
			s.False(vendor.Dues[0].Refused)
			s.Equal(sentAt, vendor.Dues[0].SentAt)
			s.Contains(rec.Reason, "PayPal keeps a sender_batch_id 29 days, so it is not sent again")

			// The admin finds the payout in PayPal and names it: booked, still nothing sent.
			s.followUp(rec)
			s.env.SetStartTime(sentAt.Add(tc.after + time.Hour))
			signalAt(s.env, time.Second, SignalEvent, resolveDue(true, "tr_"+topUpKey))
			rec = s.run()
			s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
			s.Equal(calls, s.w.calls["transfer"])
			s.EqualValues(vendorCut, s.w.sent("acct_v1"))
		})
	}
}

// A cancel whose compensation asks a transfer in doubt again and still gets no answer: the
// payee may hold it, so the leg stays in doubt (payout_failed, compensated) instead of being
// cancelled unbooked, and nothing pays it meanwhile. The admin's resolve, an event to the closed
// payment, settles it: made, it is booked and taken back; not made, the leg is cancelled.
func (s *workflowSuite) TestCompensationLeavesATransferInDoubtForAResolve() {
	for _, tc := range []struct {
		name     string
		made     bool
		resolve  Event
		reversed int64
	}{
		{"made, and named", true, Event{ID: "r1", Kind: EventResolveDue, DueKey: vendorKey, Made: true, Ref: "tr_" + vendorKey, Actor: "finance"}, vendorCut},
		{"not made", false, Event{ID: "r1", Kind: EventResolveDue, DueKey: vendorKey, Actor: "finance"}, 0},
	} {
		s.Run(tc.name, func() {
			s.SetupTest()
			var lost error = errors.New("connection reset")
			if tc.made {
				lost = madeButLost{lost}
			}
			s.w.failNext["vendor"] = []error{lost, lost, lost, lost, lost, lost} // the payout's attempts and the compensation's
			signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
			signalAt(s.env, time.Hour, SignalAdmin, AdminCommand{Action: ActionCancel, Actor: "ops"})
			due := s.runInDoubt()

			s.Equal(payment.StatusPayoutFailed, due.Status)
			s.Contains(due.Compensated, "cancelled by ops")
			vendor := legOf(s.T(), due, split.PartyVendor)
			s.True(vendor.InDoubt(wfID), "not cancelled: the payee may hold it")
			s.Contains(due.Reason, "compensation asked again and got no answer")
			s.Equal(6, s.w.calls["transfer"])

			// A follow-up run for anything else (here a retry) does not pay it.
			s.followUp(due)
			signalAt(s.env, time.Second, SignalEvent, retryDues(1))
			again := s.runInDoubt()
			s.Equal(6, s.w.calls["transfer"], "a compensated payment pays nobody")
			s.Equal(payment.StatusPayoutFailed, again.Status)

			s.followUp(again)
			signalAt(s.env, time.Second, SignalEvent, tc.resolve)
			rec := s.run()
			s.Equal(payment.StatusCompensated, rec.Status, rec.Reason)
			vendor = legOf(s.T(), rec, split.PartyVendor)
			s.False(vendor.InDoubt(wfID))
			s.Equal(6, s.w.calls["transfer"], "nothing sent by the resolve")
			s.EqualValues(tc.reversed, s.w.reversals[wfID+"/compensate/vendor-v1"].Amount)
			s.Zero(s.w.sent("acct_v1"), "the vendor holds nothing")
			if !tc.made {
				s.Equal(payment.LegCancelled, vendor.State)
			}
		})
	}
}

// A PayPal leg held while its transfer was in doubt (the payee could no longer receive) waits
// for a release with no deadline. Released within 29 days of the key's first send, it is asked
// under the key; later, it is not sent again (PayPal may have forgotten the key and would pay
// twice) but waits in doubt for the admin's resolve; a cancel then leaves it in doubt too.
func (s *workflowSuite) TestPayPalTransferInDoubtIsNotSentAgainAfterPayPalForgetsItsKey() {
	for _, tc := range []struct {
		name  string
		after time.Duration
		then  AdminCommand
		want  payment.Status
		calls int
	}{
		{"released after 10 days: asked under its key", 10 * 24 * time.Hour, AdminCommand{}, payment.StatusPaid, 5},
		{"released after 30 days, then resolved", 30 * 24 * time.Hour, resolve(true, "tr_"+vendorKey), payment.StatusPaid, 4},
		{"released after 30 days, then cancelled", 30 * 24 * time.Hour, AdminCommand{Action: ActionCancel, Actor: "ops"}, payment.StatusPayoutFailed, 4},
	} {
		s.Run(tc.name, func() {
			s.SetupTest()
			s.provider = "paypal"
			lost := madeButLost{errors.New("connection reset")}
			s.w.failNext["vendor"] = []error{lost, lost, lost}
			signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
			s.holdAndRetryAt(time.Hour, "PayPal account closed")
			var waiting payment.Record
			s.env.RegisterDelayedCallback(func() {
				s.w.mu.Lock()
				delete(s.w.holds, "v1")
				s.w.mu.Unlock()
				s.env.SignalWorkflow(SignalAdmin, AdminCommand{Action: ActionRelease, Actor: "ops"})
			}, tc.after)
			s.env.RegisterDelayedCallback(func() { waiting = s.w.saved[len(s.w.saved)-1] }, tc.after+time.Minute)
			if tc.then.Action != "" {
				signalAt(s.env, tc.after+time.Hour, SignalAdmin, tc.then)
			}
			rec := s.runInDoubt()

			s.Equal(tc.want, rec.Status, rec.Reason)
			s.Equal(tc.calls, s.w.calls["transfer"], "transfer calls")
			if tc.calls == 4 {
				s.Equal(payment.StatusPayoutFailed, waiting.Status)
				s.Contains(waiting.Reason, "so it is not sent again")
			}
			vendor := legOf(s.T(), rec, split.PartyVendor)
			if tc.calls == 5 {
				s.True(s.w.transfers[vendorKey].Asked, "the release asks under the key: PayPal forgets it, Stripe after a day")
			}
			if tc.want == payment.StatusPaid {
				s.checkBooks(rec)
				s.EqualValues(vendorCut, s.w.sent("acct_v1"), "paid once")
				return
			}
			s.True(vendor.InDoubt(wfID), "the cancel left it in doubt: the compensation did not ask either")
			s.NotEmpty(rec.Compensated)
		})
	}
}

// A PayPal payout in doubt is not asked by a compensation: asking PayPal is sending again, which
// pays a payout that was never made, and a payout cannot be pulled back. The leg waits in doubt;
// the admin, having found nothing in PayPal, resolves it as not made, and nobody was paid.
func (s *workflowSuite) TestCompensationDoesNotAskPayPal() {
	s.provider = "paypal"
	lost := errors.New("connection reset") // never made
	s.w.failNext["vendor"] = []error{lost, lost, lost}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, time.Hour, SignalAdmin, AdminCommand{Action: ActionCancel, Actor: "ops"})
	due := s.run()

	s.Equal(payment.StatusPayoutFailed, due.Status)
	s.Contains(due.Reason, "PayPal is asked only by sending it again")
	s.True(legOf(s.T(), due, split.PartyVendor).InDoubt(wfID))
	s.Equal(3, s.w.calls["transfer"], "the payout's three attempts, no more")

	s.followUp(due)
	signalAt(s.env, time.Second, SignalEvent, Event{ID: "r1", Kind: EventResolveDue, DueKey: vendorKey, Actor: "finance"})
	rec := s.run()
	s.Equal(payment.StatusCompensated, rec.Status, rec.Reason)
	s.Equal(payment.LegCancelled, legOf(s.T(), rec, split.PartyVendor).State)
	s.Equal(3, s.w.calls["transfer"])
	s.Zero(s.w.sent("acct_v1"))
}

// A resolve sent again after its check at the provider got no answer is checked again (code path
// 11), not dropped as an event already seen: the API had answered 202 and the due stayed in doubt.
func (s *workflowSuite) TestResolveSentAgainAfterItsCheckFailed() {
	due := s.topUpInDoubt(true)
	s.followUp(due)
	s.w.confirmAs = errors.New("stripe: 503 service unavailable") // every attempt of the first check
	ev := resolveDue(true, "tr_"+topUpKey)
	signalAt(s.env, time.Second, SignalEvent, ev)
	s.env.RegisterDelayedCallback(func() { s.w.mu.Lock(); s.w.confirmAs = nil; s.w.mu.Unlock() }, 10*time.Minute)
	var midway payment.Record
	s.env.RegisterDelayedCallback(func() { midway = s.w.saved[len(s.w.saved)-1] }, 15*time.Minute)
	signalAt(s.env, 20*time.Minute, SignalEvent, ev) // the admin sends the same resolve again
	rec := s.runInDoubt()
	s.Require().Len(legOf(s.T(), midway, split.PartyVendor).Dues, 1, "the first resolve could not be checked")
	checks := len(s.w.confirmed)
	s.Greater(checks, 1, "the resolve sent again was checked")
	s.Empty(legOf(s.T(), rec, split.PartyVendor).Dues, "and booked the top-up")
	s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
}

// A resolve carries the key the API checked was in doubt: read after the leg moved on to another
// key (a retry's, itself in doubt), it is not applied to that one, which a "not made" would send
// again and pay the payee twice.
func (s *workflowSuite) TestResolveOfAnotherKeyIsIgnored() {
	lost := errors.New("connection reset") // key 0: never made, outcome unknown
	made := madeButLost{errors.New("connection reset")}
	s.w.failNext["vendor"] = []error{lost, lost, lost, rejected("insufficient platform balance"), made, made, made}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, time.Hour, SignalAdmin, AdminCommand{Action: ActionRetry, Actor: "ops-a"})
	// The retry of the second refusal, once the run asks it: from code path 24 one sent from the
	// Temporal UI while the run pays the first retry is dropped, and sent a millisecond after the
	// first it came during that payout whenever the transfer took a millisecond of wall time (the
	// test environment fires a timer due by wall time while an activity runs).
	signalAt(s.env, time.Hour+time.Minute, SignalAdmin, AdminCommand{Action: ActionRetry, Actor: "ops-a"})
	// ops-b found key 0 not made; by the time the run reads it, key 1 is the one in doubt.
	signalAt(s.env, time.Hour+2*time.Minute, SignalAdmin, AdminCommand{Action: ActionResolve, Party: split.PartyVendor,
		Made: false, Actor: "ops-b", Key: wfID + "/transfer/vendor-v1/0"})
	signalAt(s.env, 2*time.Hour, SignalAdmin, AdminCommand{Action: ActionRetry, Actor: "ops-a"})
	rec := s.runInDoubt()
	s.EqualValues(vendorCut, s.w.sent("acct_v1"), "the vendor is paid once")
	s.Contains(legOf(s.T(), rec, split.PartyVendor).TransferKey, "/transfer/vendor-v1/1", "the key in doubt was kept")
}

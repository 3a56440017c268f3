package payment

import (
	"errors"
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
	lost := madeButLost{errors.New("connection reset")}
	s.w.failNext["vendor"] = []error{lost, lost, lost}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.env.RegisterDelayedCallback(func() {
		s.w.mu.Lock()
		s.w.holds["v1"] = "Stripe account acct_v1 cannot receive transfers"
		s.w.mu.Unlock()
		s.env.SignalWorkflow(SignalAdmin, AdminCommand{Action: ActionRetry, Actor: "ops"})
	}, time.Hour)
	signalAt(s.env, 2*time.Hour, SignalAdmin, resolve(true, "tr_"+vendorKey))
	rec := s.run()

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

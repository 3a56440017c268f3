package payment

import (
	"time"

	"paysplit/activities"
	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// Top-ups go where the payee is paid now (code path 13): a correction's top-up, a failed refund's
// and a refused top-up's next attempt check the payee again, as a first payout and a release do;
// a top-up in doubt is asked again where its key went.

const movedAway = `payee "v1" is registered to another client`

// replaceAccount is an admin replacing v1's closed Stripe account (acct_v1, which refuses every
// transfer from then on) with acct_v1b, after its payout.
func (s *workflowSuite) replaceAccount(after time.Duration) {
	s.env.RegisterDelayedCallback(func() {
		s.w.mu.Lock()
		defer s.w.mu.Unlock()
		s.w.closed["acct_v1"], s.w.dests["v1"] = true, "acct_v1b"
	}, after)
}

// holdPayee makes the payee check hold v1 from then on (reason "" lifts it).
func (s *workflowSuite) holdPayee(after time.Duration, reason string) {
	s.holdPayeeOf("v1", after, reason)
}

// holdPayeeOf makes the payee check hold payee from then on (reason "" lifts it).
func (s *workflowSuite) holdPayeeOf(payee string, after time.Duration, reason string) {
	s.env.RegisterDelayedCallback(func() {
		s.w.mu.Lock()
		defer s.w.mu.Unlock()
		s.w.holds[payee] = reason
	}, after)
}

// requestsUnder are the transfer requests sent under key, in order.
func (s *workflowSuite) requestsUnder(key string) []activities.TransferInput {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	var out []activities.TransferInput
	for _, in := range s.w.requests {
		if in.IdempotencyKey == key {
			out = append(out, in)
		}
	}
	return out
}

// The vendor's account was closed after its payout and the admin registered its new one: the
// correction's top-up goes to the new account, not to the one cached at the payout, which refuses
// it (before code path 13 it stayed due there for good).
func (s *workflowSuite) TestCorrectionTopUpGoesToThePayeesCurrentAccount() {
	s.taxRules()
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.replaceAccount(30 * time.Second)
	signalAt(s.env, time.Minute, SignalEvent, correction("correction-v4", 4))
	rec := s.run()

	s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
	vendor := legOf(s.T(), rec, split.PartyVendor)
	s.Empty(vendor.Dues)
	s.Equal("acct_v1", s.w.transfers[wfID+"/transfer/vendor-v1/0"].Destination, "the payout went to the account of its time")
	s.Equal("acct_v1b", s.w.transfers[topUpKey].Destination, "the top-up to the payee's account now")
	s.EqualValues(120, s.w.transfers[topUpKey].Amount)
	s.Equal("acct_v1b", vendor.Destination, "the leg records where the payee is paid now")
	s.EqualValues(vendorCut, s.w.sentToPayee("v1"))
}

// The vendor's account is closed, so the correction's top-up is refused there and stays due; the
// admin registers the new account and retries: the retry's new key goes to the new account (before
// code path 13 it went to the closed one again, and the vendor's money was stuck for good).
func (s *workflowSuite) TestRefusedTopUpRetriedGoesToThePayeesNewAccount() {
	s.taxRules()
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.env.RegisterDelayedCallback(func() {
		s.w.mu.Lock()
		defer s.w.mu.Unlock()
		s.w.closed["acct_v1"] = true // closed, not replaced yet
	}, 30*time.Second)
	signalAt(s.env, time.Minute, SignalEvent, correction("correction-v4", 4))
	var due payment.Record
	s.env.RegisterDelayedCallback(func() { due = s.w.saved[len(s.w.saved)-1] }, 2*time.Minute)
	s.replaceAccount(5 * time.Minute)
	signalAt(s.env, 10*time.Minute, SignalEvent, retryDues(1))
	rec := s.run()

	s.Equal(payment.StatusPayoutFailed, due.Status)
	dues := legOf(s.T(), due, split.PartyVendor).Dues
	s.Require().Len(dues, 1)
	s.True(dues[0].Refused)
	s.Equal("acct_v1", dues[0].Destination, "refused where it was sent")
	s.Contains(dues[0].Reason, "is closed")

	s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
	s.Empty(legOf(s.T(), rec, split.PartyVendor).Dues)
	retried := s.w.transfers[wfID+"/correction/v4.a1/vendor-v1"]
	s.EqualValues(120, retried.Amount)
	s.Equal("acct_v1b", retried.Destination, "the retry's new key goes to the account the admin registered")
	s.EqualValues(vendorCut, s.w.sentToPayee("v1"))
	s.Equal(s.w.transfers[wfID+"/correction/v4/affiliate-a1"], activities.TransferInput{}, "the affiliate's excess is a reversal")
	s.Equal("tr_"+wfID+"/transfer/affiliate-a1/0", s.w.reversals[wfID+"/correction/v4/affiliate-a1"].TransferID, "reversals still target their transfer")
}

// A refund that failed gives the vendor its share again: the top-up goes to the payee's account
// now, not to the one closed since its payout.
func (s *workflowSuite) TestFailedRefundTopUpGoesToThePayeesCurrentAccount() {
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 10*time.Minute, SignalEvent, refundAt("evt_r1", 1100, 10))
	s.replaceAccount(15 * time.Minute)
	signalAt(s.env, 20*time.Minute, SignalEvent, refundFailedAt("evt_f1", "re_1", 1100, 20))
	rec := s.run()

	s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
	s.Zero(rec.Refunded)
	again := s.w.transfers[wfID+"/refund-failed/re_1/vendor-v1"]
	s.EqualValues(955, again.Amount)
	s.Equal("acct_v1b", again.Destination)
	s.Equal("acct_a1", s.w.transfers[wfID+"/refund-failed/re_1/affiliate-a1"].Destination)
	s.EqualValues(vendorCut, s.w.sentToPayee("v1"))
}

// The vendor was moved to another client after its payout: a payout or a release to it would be
// held, and so is the correction's top-up. It stays due, unsent, with the hold's reason, until the
// payee is fixed and an admin retries: then it is sent under its own key, which no provider saw.
func (s *workflowSuite) TestCorrectionTopUpToAPayeeMovedToAnotherClientIsHeld() {
	s.taxRules()
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.holdPayee(30*time.Second, movedAway)
	signalAt(s.env, time.Minute, SignalEvent, correction("correction-v4", 4))
	var held payment.Record
	var sentWhileHeld int
	s.env.RegisterDelayedCallback(func() {
		held = s.w.saved[len(s.w.saved)-1]
		sentWhileHeld = len(s.requestsUnder(topUpKey))
	}, 2*time.Minute)
	signalAt(s.env, 3*time.Minute, SignalEvent, retryDues(1)) // still held: nothing sent
	s.holdPayee(5*time.Minute, "")
	signalAt(s.env, 10*time.Minute, SignalEvent, retryDues(2))
	rec := s.run()

	s.Zero(sentWhileHeld, "nothing sent to a payee registered to another client")
	s.Equal(payment.StatusHeld, held.Status, "waiting on the payee (code path 14)")
	s.Contains(held.Reason, "registered to another client")
	vendor := legOf(s.T(), held, split.PartyVendor)
	s.Equal(payment.LegTransferred, vendor.State, "its payout stands; the top-up is what is held")
	s.Equal([]payment.Due{{Kind: payment.DueTopUp, Cause: wfID + "/correction/v4", What: "correction", Amount: 120, Refused: true, Held: true,
		Reason: "correction: top-up of 1.20 USD held: " + movedAway, Meta: map[string]string{"correction": "true"}}}, vendor.Dues)
	s.EqualValues(vendorCut-120, vendor.Transferred, "the payee holds its first share only")

	s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
	s.Equal(2, rec.DueRetries)
	s.Empty(legOf(s.T(), rec, split.PartyVendor).Dues)
	sent := s.requestsUnder(topUpKey)
	s.Require().Len(sent, 1, "sent once, at the retry after the payee was fixed, under the key it never sent")
	s.EqualValues(120, sent[0].Amount)
	s.Equal("acct_v1", sent[0].Destination)
	s.Empty(s.requestsUnder(wfID+"/correction/v4.a1/vendor-v1"), "no new key: the held one was never sent")
	s.EqualValues(vendorCut, s.w.sentToPayee("v1"))
}

// A failed refund's top-up to a payee moved to another client is held the same way; the other
// payees are paid theirs.
func (s *workflowSuite) TestFailedRefundTopUpToAPayeeMovedToAnotherClientIsHeld() {
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 10*time.Minute, SignalEvent, refundAt("evt_r1", 1100, 10))
	s.holdPayee(15*time.Minute, movedAway)
	signalAt(s.env, 20*time.Minute, SignalEvent, refundFailedAt("evt_f1", "re_1", 1100, 20))
	rec := s.run()

	s.Equal(payment.StatusHeld, rec.Status, "waiting on the payee (code path 14)")
	s.Contains(rec.Reason, "registered to another client")
	s.Empty(s.requestsUnder(wfID+"/refund-failed/re_1/vendor-v1"), "nothing sent to the vendor")
	dues := legOf(s.T(), rec, split.PartyVendor).Dues
	s.Require().Len(dues, 1)
	s.True(dues[0].Held)
	s.EqualValues(955, dues[0].Amount)
	s.EqualValues(48, s.w.transfers[wfID+"/refund-failed/re_1/affiliate-a1"].Amount, "the affiliate is paid its share")
	s.EqualValues(vendorCut-955, s.w.sentToPayee("v1"))
}

// A top-up whose key was sent and never answered is asked again under that key where it was sent,
// whatever the payee's account is now: another destination under the same key, Stripe refuses as
// a key reused with other parameters (or, once it forgot the key, pays a second time). Made, it is
// booked; never made (the old account refuses it now), it is refused, and the next attempt's new
// key goes to the new account.
func (s *workflowSuite) TestTopUpInDoubtIsAskedWhereItsKeyWent() {
	for _, made := range []bool{true, false} {
		s.Run(map[bool]string{true: "made", false: "never made"}[made], func() {
			s.SetupTest()
			due := s.topUpInDoubt(made)
			s.Equal("acct_v1", legOf(s.T(), due, split.PartyVendor).Dues[0].Destination, "the due records where its key went")
			s.followUp(due)
			s.replaceAccount(time.Second)
			signalAt(s.env, time.Minute, SignalEvent, retryDues(1))
			signalAt(s.env, 2*time.Minute, SignalEvent, retryDues(2))
			rec := s.run()

			s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
			asked := s.requestsUnder(topUpKey)
			s.Require().Len(asked, 4, "three attempts in doubt and the retry's ask")
			for _, in := range asked {
				s.Equal("acct_v1", in.Destination, "the key in doubt only ever goes where it first went")
			}
			s.True(asked[3].Asked)
			next := s.requestsUnder(wfID + "/correction/v4.a1/vendor-v1")
			if made {
				s.Empty(next, "made under its key: nothing sent again")
			} else {
				s.Require().Len(next, 1, "refused at the closed account: a new key")
				s.Equal("acct_v1b", next[0].Destination, "the new key goes where the payee is paid now")
			}
			s.EqualValues(vendorCut, s.w.sentToPayee("v1"))
		})
	}
}

// A top-up in doubt recorded before code path 13 does not say where its key went: the leg's
// destination of its time. A later top-up that goes to the payee's new account must not carry it
// along: the retry still asks at the old account.
func (s *workflowSuite) TestTopUpInDoubtFromBeforeKeepsItsDestination() {
	due := s.topUpInDoubt(true)
	vendor := due.Leg(split.PartyVendor)
	vendor.Dues[0].Destination = "" // as recorded before code path 13
	s.followUp(due)
	s.replaceAccount(time.Second)
	signalAt(s.env, 10*time.Minute, SignalEvent, refundAt("evt_r1", 1100, 10))
	signalAt(s.env, 20*time.Minute, SignalEvent, refundFailedAt("evt_f1", "re_1", 1100, 20)) // a top-up to the new account
	signalAt(s.env, 30*time.Minute, SignalEvent, retryDues(1))
	rec := s.run()

	s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
	s.Equal("acct_v1b", s.w.transfers[wfID+"/refund-failed/re_1/vendor-v1"].Destination)
	asked := s.requestsUnder(topUpKey)
	s.Require().Len(asked, 4)
	s.Equal("acct_v1", asked[3].Destination, "asked where its key went, not where the payee is paid now")
	s.Equal("acct_v1b", legOf(s.T(), rec, split.PartyVendor).Destination)
	s.EqualValues(vendorCut, s.w.sentToPayee("v1"))
}

// Before code path 13 a top-up went to the destination of the leg's first payout, unchecked: runs
// recorded on older paths replay as they ran.
func (s *workflowSuite) TestTopUpBeforeCodePath13GoesToTheLegsDestination() {
	s.taxRules()
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.replaceAccount(30 * time.Second)
	signalAt(s.env, time.Minute, SignalEvent, correction("correction-v4", 4))
	in := testInput()
	in.CodePath = codePathRecordUnits
	s.env.ExecuteWorkflow(Workflow, in)
	rec := result(s.T(), s.env)

	s.Equal(payment.StatusPayoutFailed, rec.Status)
	s.Equal("acct_v1", s.requestsUnder(topUpKey)[0].Destination)
}

package payment

// A held top-up (code path 13) through its lifecycle: each is paid once, where the payee is paid
// when it goes, and the books agree (checkBooks).

import (
	"fmt"
	"time"

	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// A payment whose only outstanding movement is a held top-up (its payee cannot receive) is held, as
// one whose leg is held: the platform waits on the payee, nothing failed (code path 14). Before,
// it was payout_failed, a failure to admins, their failed-payouts filter and payout_failed_age.
func (s *workflowSuite) TestHeldTopUpLeavesThePaymentHeld() {
	tests := []struct {
		codePath int
		want     payment.Status
	}{
		{codePathDisputeLoss, payment.StatusPayoutFailed},
		{codePathOutageProof, payment.StatusHeld},
	}
	for _, tt := range tests {
		s.Run(fmt.Sprint("code path ", tt.codePath), func() {
			s.SetupTest()
			s.taxRules()
			in := testInput()
			in.CodePath = tt.codePath
			signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
			s.holdPayee(30*time.Second, movedAway)
			signalAt(s.env, time.Minute, SignalEvent, correction("correction-v4", 4))
			s.env.ExecuteWorkflow(Workflow, in)
			rec := result(s.T(), s.env)
			s.checkBooks(rec)
			s.Equal(tt.want, rec.Status, rec.Reason)
			s.Contains(rec.Reason, movedAway)
			dues := legOf(s.T(), rec, split.PartyVendor).Dues
			s.Require().Len(dues, 1)
			s.True(dues[0].Held, "the top-up is held, not sent")
		})
	}
}

// Through PayPal: a held correction top-up, the payee fixed, the admin's retry.
func (s *workflowSuite) TestHeldTopUpPaidOnceThroughPayPal() {
	s.provider = "paypal"
	s.taxRules()
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.holdPayee(30*time.Second, movedAway)
	signalAt(s.env, time.Minute, SignalEvent, correction("correction-v4", 4))
	s.holdPayee(5*time.Minute, "")
	signalAt(s.env, 10*time.Minute, SignalEvent, retryDues(1))
	rec := s.run()
	s.paidTopUpOnce(rec)
}

// The automatic retry of dues, once the payee is fixed.
func (s *workflowSuite) TestHeldTopUpPaidOnceByTheAutomaticRetry() {
	s.taxRules()
	in := testInput()
	in.Settings.DueRetryEvery = 10 * time.Minute
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.holdPayee(30*time.Second, movedAway)
	signalAt(s.env, time.Minute, SignalEvent, correction("correction-v4", 4))
	s.holdPayee(15*time.Minute, "")
	s.env.ExecuteWorkflow(Workflow, in)
	rec := result(s.T(), s.env)
	s.checkBooks(rec)
	s.paidTopUpOnce(rec)
}

// Held, then a refund (less is owed), then fixed and retried: only what is still owed goes.
func (s *workflowSuite) TestHeldTopUpAfterARefundSendsWhatIsStillOwed() {
	s.taxRules()
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.holdPayee(30*time.Second, movedAway)
	signalAt(s.env, time.Minute, SignalEvent, correction("correction-v4", 4))
	signalAt(s.env, 3*time.Minute, SignalEvent, refundAt("evt_r1", 500, 3))
	s.holdPayee(5*time.Minute, "")
	signalAt(s.env, 10*time.Minute, SignalEvent, retryDues(1))
	rec := s.run()
	s.Equal(payment.StatusPartiallyRefunded, rec.Status, rec.Reason)
	s.Empty(legOf(s.T(), rec, split.PartyVendor).Dues)
}

// A follow-up run loads the payment with its held due and pays it once the payee is fixed.
func (s *workflowSuite) TestHeldTopUpInAFollowUpRun() {
	s.taxRules()
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.holdPayee(30*time.Second, movedAway)
	signalAt(s.env, time.Minute, SignalEvent, correction("correction-v4", 4))
	due := s.run()
	s.Require().Equal(payment.StatusHeld, due.Status, "waiting on the payee (code path 14)")
	s.followUp(due)
	s.holdPayee(time.Second, "")
	signalAt(s.env, time.Minute, SignalEvent, retryDues(1))
	rec := s.run()
	s.paidTopUpOnce(rec)
}

// Two dues on one leg (a refused correction top-up, then a held failed-refund top-up): each retry
// caps at what is owed, paid once.
func (s *workflowSuite) TestRefusedAndHeldTopUpsOnOneLegPaidOnce() {
	s.taxRules()
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.failAt(time.Minute-time.Millisecond, s.w.failNext, "vendor", rejected("insufficient funds"))
	signalAt(s.env, time.Minute, SignalEvent, correction("correction-v4", 4))
	signalAt(s.env, 10*time.Minute, SignalEvent, refundAt("evt_r1", 1100, 10))
	s.holdPayee(15*time.Minute, movedAway)
	signalAt(s.env, 20*time.Minute, SignalEvent, refundFailedAt("evt_f1", "re_1", 1100, 20))
	signalAt(s.env, 25*time.Minute, SignalEvent, retryDues(1))
	s.holdPayee(30*time.Minute, "")
	signalAt(s.env, 35*time.Minute, SignalEvent, retryDues(2))
	rec := s.run()
	s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
	s.Empty(legOf(s.T(), rec, split.PartyVendor).Dues)
	s.EqualValues(vendorCut, s.w.sentToPayee("v1"))
}

// A top-up in doubt, the payee held, the admin's resolve says not made: the next key is held while
// the payee is, then paid once after the fix.
func (s *workflowSuite) TestTopUpResolvedNotMadeWhileThePayeeIsHeld() {
	due := s.topUpInDoubt(false)
	s.followUp(due)
	s.holdPayee(time.Second, movedAway)
	signalAt(s.env, time.Minute, SignalEvent, resolveDue(false, ""))
	signalAt(s.env, 2*time.Minute, SignalEvent, retryDues(1))
	s.holdPayee(3*time.Minute, "")
	signalAt(s.env, 4*time.Minute, SignalEvent, retryDues(2))
	rec := s.run()
	s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
	s.EqualValues(vendorCut, s.w.sentToPayee("v1"))
}

// paidTopUpOnce checks that the payment ended paid with the vendor's top-up sent under its key
// once, the vendor holding its share.
func (s *workflowSuite) paidTopUpOnce(rec payment.Record) {
	s.T().Helper()
	s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
	s.Len(s.requestsUnder(topUpKey), 1)
	s.EqualValues(vendorCut, s.w.sentToPayee("v1"))
}

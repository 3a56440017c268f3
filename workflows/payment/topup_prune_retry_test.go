package payment

import (
	"errors"
	"time"

	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// refusedThenInDoubtOnPath12 is a payment recorded by a run on code path 12 (every production
// record today): a correction's top-up refused (120), then a refund (the vendor reversed 835) and
// its failure, whose top-up of 955 was made at Stripe but its answer lost (in doubt). Path 12
// never prunes, so the refused 120 (which the 955 now covers) is still on the leg.
func (s *workflowSuite) refusedThenInDoubtOnPath12() payment.Record {
	s.taxRules()
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.failAt(time.Minute-time.Millisecond, s.w.failNext, "vendor", rejected("insufficient funds"))
	signalAt(s.env, time.Minute, SignalEvent, correction("correction-v4", 4))
	signalAt(s.env, 10*time.Minute, SignalEvent, refundAt("evt_r1", 1100, 10))
	lost := madeButLost{errors.New("connection reset")}
	s.failAt(20*time.Minute-time.Millisecond, s.w.failNext, "vendor", lost, lost, lost)
	signalAt(s.env, 20*time.Minute, SignalEvent, refundFailedAt("evt_f1", "re_1", 1100, 20))
	in := testInput()
	in.CodePath = codePathRecordUnits
	s.env.ExecuteWorkflow(Workflow, in)
	rec := result(s.T(), s.env)
	dues := legOf(s.T(), rec, split.PartyVendor).Dues
	s.Require().Len(dues, 2)
	s.Require().True(dues[0].Refused)
	s.Require().False(dues[1].Refused, "the failed refund's top-up is in doubt")
	return rec
}

// A follow-up run on code path 13 started by the admin's retry (the retry is applied before the
// run settles, so before any pruneDues): the top-up in doubt is asked again and gets no answer;
// its failure resettles, pruneDues drops the refused 120 from leg.Dues while retryDues is
// mid-way, and retryDues then reads the due it just re-added at a stale index
// (leg.Dues[n:]): the top-up in doubt, made at Stripe, vanishes from the record.
func (s *workflowSuite) TestRetryOfDuesKeepsATopUpInDoubtWhilePruning() {
	due := s.refusedThenInDoubtOnPath12()
	s.followUp(due)
	s.w.failNext["vendor"] = []error{errors.New("timeout"), errors.New("timeout"), errors.New("timeout")}
	signalAt(s.env, 0, SignalEvent, retryDues(1))
	rec := s.runInDoubt()

	s.Equal(payment.StatusPayoutFailed, rec.Status, rec.Reason)
	vendor := legOf(s.T(), rec, split.PartyVendor)
	inDoubt := false
	for _, d := range vendor.Dues {
		if d.Key(vendor) == wfID+"/refund-failed/re_1/vendor-v1" && !d.Refused {
			inDoubt = true
		}
	}
	s.True(inDoubt, "the top-up in doubt (made at Stripe) is still due; dues: %+v", vendor.Dues)
	s.checkBooksOnceResolved(vendor)
}

// checkBooksOnceResolved: what the record holds, counting its top-ups in doubt as made (Holding),
// is what Stripe sent the vendor.
func (s *workflowSuite) checkBooksOnceResolved(vendor payment.Leg) {
	s.EqualValues(s.w.sentToPayee("v1"), vendor.Holding(), "vendor: held per the record (dues in doubt counted) vs sent")
}

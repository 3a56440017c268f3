package payment

import (
	"fmt"
	"time"

	"paysplit/internal/split"
)

// A refund that fails at once and is made again in the same second (a merchant's automatic
// retry): the customer got the second refund back. Its charge.refunded tells the same figure in
// the same second as the first's, which the record keeps once (figures are kept by value), so
// the payment's record is the one of a lone refund that failed in the second it was made, whose
// figure code path 25 takes as the refund's own: the retry is undone with the failure, and the
// payees keep money the customer got back. Code path 24 reads it right (and the lone refund
// wrong, TestRefundFailedInTheSecondItWasMade). Whole-second times cannot tell the two apart:
// the figures need what they were before (Stripe's previous_attributes.amount_refunded) or
// their event IDs.
func (s *workflowSuite) TestRefundRetriedInTheSecondItFailed() {
	s.T().Skip("known defect of code path 25, not fixed: the record cannot tell a retried refund from a lone one (README, refunds failed in the second they were made)")
	at := func(e Event) Event {
		e.OccurredAt = captureEvent("", 0).OccurredAt.Add(10 * time.Minute)
		return e
	}
	failed := at(refundFailedAt("evt_f1", "re_1", 1100, 0))
	failed.RefundMade = failed.OccurredAt
	for _, codePath := range []int{codePathUIDecision, CurrentCodePath} {
		s.Run(fmt.Sprint("code path ", codePath), func() {
			s.SetupTest()
			signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
			for i, e := range []Event{at(refundAt("evt_r1", 1100, 0)), failed, at(refundAt("evt_r2", 1100, 0))} {
				signalAt(s.env, time.Duration(10+i)*time.Minute, SignalEvent, e)
			}
			in := testInput()
			in.CodePath = codePath
			s.env.ExecuteWorkflow(Workflow, in)
			rec := result(s.T(), s.env)
			s.checkBooks(rec)
			s.EqualValues(1100, rec.Refunded, "the retry stands: the customer got it back")
			for _, p := range []split.Party{split.PartyVendor, split.PartyAffiliate} {
				leg := legOf(s.T(), rec, p)
				s.EqualValues(leg.Remaining(), s.w.sent("acct_"+leg.PayeeID), "%s holds its share of what stands", p)
			}
			s.booksHold(rec, 1100)
		})
	}
}

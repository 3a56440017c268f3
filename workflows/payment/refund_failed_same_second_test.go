package payment

import (
	"fmt"
	"time"

	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// A Stripe refund that fails in the second it was made (a card the issuer refuses refunds on, a
// refund canceled at once): its charge.refunded and its failure carry the same whole-second time.
// The figure is the refund's own (charge.refunded fires as a refund is made, so it counts it):
// the failure came after it, whichever was told first. Taken as already left out of that figure,
// the failure undid nothing: the payees stayed debited for money the customer never got back,
// and the platform kept it. From code path 25 the failure is undone; older paths keep their way.
// A second refund made after the failure in that same second is told by a figure too small to
// count the failed one: that figure left it out.
func (s *workflowSuite) TestRefundFailedInTheSecondItWasMade() {
	at := func(e Event, sec time.Duration) Event {
		e.OccurredAt = captureEvent("", 0).OccurredAt.Add(10*time.Minute + sec)
		return e
	}
	failed := func(id, refundID string, amount int64, made, told time.Duration) Event {
		f := at(refundFailedAt(id, refundID, amount, 0), told)
		f.RefundMade = at(Event{}, made).OccurredAt
		return f
	}
	tests := []struct {
		name     string
		codePath int
		events   []Event
		stands   int64
	}{
		{"figure first", CurrentCodePath, []Event{at(refundAt("evt_r1", 1100, 0), 0), failed("evt_f1", "re_1", 1100, 0, 0)}, 0},
		{"failure first", CurrentCodePath, []Event{failed("evt_f1", "re_1", 1100, 0, 0), at(refundAt("evt_r1", 1100, 0), 0)}, 0},
		{"a second later", CurrentCodePath, []Event{at(refundAt("evt_r1", 1100, 0), 0), failed("evt_f1", "re_1", 1100, 0, time.Second)}, 0},
		{"another refund after the failure, same second", CurrentCodePath, []Event{
			at(refundAt("evt_r1", 1100, 0), 0), failed("evt_f1", "re_1", 1100, 0, 0), at(refundAt("evt_r2", 500, 0), 0)}, 500},
		{"code path 24 keeps its way", codePathUIDecision, []Event{at(refundAt("evt_r1", 1100, 0), 0), failed("evt_f1", "re_1", 1100, 0, 0)}, 1100},
	}
	for _, tt := range tests {
		s.Run(tt.name, func() {
			rec := s.refundsStandAfter(tt.codePath, gross, tt.events, tt.stands)
			if tt.stands == 0 {
				s.Equal(payment.StatusPaid, rec.Status, fmt.Sprint(rec.Reason))
			}
		})
	}
}

// refundsStandAfter runs a capture of gross, then events a minute apart, on codePath, and checks
// that what stands of the refunds is stands, each payee holds its share of it and the books agree.
func (s *workflowSuite) refundsStandAfter(codePath int, gross int64, events []Event, stands int64) payment.Record {
	s.SetupTest()
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	for i, e := range events {
		signalAt(s.env, time.Duration(10+i)*time.Minute, SignalEvent, e)
	}
	in := testInput()
	in.CodePath = codePath
	s.env.ExecuteWorkflow(Workflow, in)
	rec := result(s.T(), s.env)
	s.checkBooks(rec)

	s.EqualValues(stands, rec.Refunded, "what stands of the refunds")
	for _, p := range []split.Party{split.PartyVendor, split.PartyAffiliate} {
		leg := legOf(s.T(), rec, p)
		s.EqualValues(leg.Remaining(), s.w.sent("acct_"+leg.PayeeID), "%s holds its share of what stands", p)
	}
	s.booksHold(rec, stands)
	return rec
}

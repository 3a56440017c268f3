package payment

import (
	"fmt"
	"time"
)

// A refund that fails at once and is made again in the same second (a merchant's automatic
// retry): the customer got the second refund back. Its charge.refunded tells the same figure in
// the same second as the first's. Kept once (by value), the record was the one of a lone refund
// that failed in the second it was made, whose figure code path 25 takes as the refund's own: the
// retry was undone with the failure, the customer refunded and the payees not debited. From code
// path 25 figures are kept per event, and two alike in one second have the failure between them,
// whatever order the three events are told in; the retry failing too, later or at once, leaves
// nothing refunded. Code path 24 reads the retry right (and the lone refund wrong,
// TestRefundFailedInTheSecondItWasMade).
func (s *workflowSuite) TestRefundRetriedInTheSecondItFailed() {
	at := func(e Event, after time.Duration) Event {
		e.OccurredAt = captureEvent("", 0).OccurredAt.Add(10*time.Minute + after)
		return e
	}
	failed := func(id, refundID string, after time.Duration) Event {
		f := at(refundFailedAt(id, refundID, 1100, 0), after)
		f.RefundMade = at(Event{}, 0).OccurredAt
		return f
	}
	first, f1, retry := at(refundAt("evt_r1", 1100, 0), 0), failed("evt_f1", "re_1", 0), at(refundAt("evt_r2", 1100, 0), 0)
	f2 := failed("evt_f2", "re_2", 24*time.Hour)
	orders := [][]Event{{first, f1, retry}, {first, retry, f1}, {f1, first, retry}, {f1, retry, first}, {retry, first, f1}, {retry, f1, first}}
	type run struct {
		name     string
		codePath int
		events   []Event
		stands   int64
	}
	runs := []run{{"code path 24", codePathUIDecision, orders[0], 1100}}
	for i, o := range orders {
		runs = append(runs, run{fmt.Sprint("order ", i), CurrentCodePath, o, 1100},
			run{fmt.Sprint("order ", i, ", the retry failed a day later"), CurrentCodePath, append(o[:3:3], f2), 0},
			run{fmt.Sprint("order ", i, ", the retry refused at once too"), CurrentCodePath, append(o[:3:3], failed("evt_f2", "re_2", 0)), 0})
	}
	for _, tt := range runs {
		s.Run(tt.name, func() {
			s.refundsStandAfter(tt.codePath, gross, tt.events, tt.stands)
		})
	}
}

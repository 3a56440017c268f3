package payment

import (
	"fmt"
	"time"
)

// Two refunds in one second with a failure between them: a refund of 100 made and failed at
// once, then one of 500 made (the customer got 500 back), tells the figures 100 and 500 and the
// failure of 100, as a refund of 100 and then one of 400 made before the 100 failed (400 back) does.
// Whole seconds cannot tell them apart, and code path 25 takes 400 for both: the payees were
// given back 100 of a refund the customer got. Stripe's charge.refunded says what the charge's
// figure moved from (previous_attributes.amount_refunded): 100 and 500 both from 0 is 600 made,
// 100 from 0 and 500 from 100 is 500 made. From code path 26 that is read, in whatever order the
// three events are told; an event that does not say it is read as before, and so is every event
// by a run of path 25.
func (s *workflowSuite) TestRefundFailedBetweenTwoRefundsOfItsSecond() {
	at := func(e Event) Event {
		e.OccurredAt = captureEvent("", 0).OccurredAt.Add(10 * time.Minute)
		return e
	}
	figure := func(id string, refunded int64, from *int64) Event {
		e := at(refundAt(id, refunded, 0))
		e.PreviousRefunded = from
		return e
	}
	failed := at(refundFailedAt("evt_f1", "re_1", 100, 0))
	failed.RefundMade = failed.OccurredAt
	from := func(v int64) *int64 { return &v }
	orders := func(a, b, c Event) [][]Event {
		return [][]Event{{a, b, c}, {a, c, b}, {b, a, c}, {b, c, a}, {c, a, b}, {c, b, a}}
	}
	type run struct {
		name     string
		codePath int
		events   []Event
		stands   int64
	}
	var runs []run
	for i, o := range orders(figure("evt_r1", 100, from(0)), failed, figure("evt_r2", 500, from(0))) {
		runs = append(runs, run{fmt.Sprint("failed, then 500 made: order ", i), CurrentCodePath, o, 500})
	}
	for i, o := range orders(figure("evt_r1", 100, from(0)), figure("evt_r2", 500, from(100)), failed) {
		runs = append(runs, run{fmt.Sprint("400 made, then failed: order ", i), CurrentCodePath, o, 400})
	}
	runs = append(runs,
		run{"without what they moved from, as before", CurrentCodePath, []Event{figure("evt_r1", 100, nil), failed, figure("evt_r2", 500, nil)}, 400},
		run{"code path 25 keeps its way", codePathRefundFailedBySecond, []Event{figure("evt_r1", 100, from(0)), failed, figure("evt_r2", 500, from(0))}, 400},
		// A figure not above the one it says it moved from says nothing of its refund.
		run{"a figure that did not move", CurrentCodePath, []Event{figure("evt_r1", 100, from(100)), failed, figure("evt_r2", 500, from(500))}, 400},
	)
	for _, tt := range runs {
		s.Run(tt.name, func() {
			s.refundsStandAfter(tt.codePath, gross, tt.events, tt.stands)
		})
	}
}

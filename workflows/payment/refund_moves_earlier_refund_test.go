package payment

import (
	"time"
)

// A refund of 400 made in one second, and in the next the 400 failed and then one of 200 was made:
// 200 stand. The 200's charge.refunded moved the charge's figure from 0 (Stripe's
// previous_attributes.amount_refunded): a refund of 400 that had not failed yet would have been
// in it, so the failure came before the 200 and the figure 200 leaves it out, as code path 25
// guessed. Read as surely counted in the figure, the failure took the 400 off 400 made: nothing
// stood and the payees were given back the 200 the customer got. So it was when the 400's figure
// did not say what it moved from (a figure kept by a run of path 25 before the payment's
// follow-up run, an event an older API replica relayed), for good, and while its charge.refunded
// had not come, until it came: the payees were paid back and then reversed again.
func (s *workflowSuite) TestRefundFailedBeforeALaterRefundOfItsSecond() {
	at := func(e Event, sec time.Duration) Event {
		e.OccurredAt = captureEvent("", 0).OccurredAt.Add(10*time.Minute + sec)
		return e
	}
	figure := func(id string, refunded int64, sec time.Duration, from *int64) Event {
		e := at(refundAt(id, refunded, 0), sec)
		e.PreviousRefunded = from
		return e
	}
	from := func(v int64) *int64 { return &v }
	failed := at(refundFailedAt("evt_f400", "re_400", 400, 0), time.Second)
	failed.RefundMade = at(Event{}, 0).OccurredAt
	tests := []struct {
		name   string
		events []Event
		undone int64 // what the failure gave back of what had been refunded when it was told
	}{
		{"the 400's figure without what it moved from", []Event{
			figure("evt_r400", 400, 0, nil), figure("evt_r200", 200, time.Second, from(0)), failed}, 200},
		{"the 400's figure told last", []Event{
			figure("evt_r200", 200, time.Second, from(0)), failed, figure("evt_r400", 400, 0, from(0))}, 0},
		{"the 200's figure told last", []Event{
			figure("evt_r400", 400, 0, from(0)), failed, figure("evt_r200", 200, time.Second, from(0))}, 400},
		{"in the order they happened", []Event{
			figure("evt_r400", 400, 0, from(0)), figure("evt_r200", 200, time.Second, from(0)), failed}, 200},
	}
	for _, tt := range tests {
		s.Run(tt.name, func() {
			s.refundsStandAfter(CurrentCodePath, gross, tt.events, 200)
			undo, ok := s.w.entries[wfID+"/refund-failed/re_400"]
			if tt.undone == 0 {
				s.False(ok, "nothing of the 200 refunded is given back to the payees: %+v", undo.Postings)
				return
			}
			s.Require().True(ok, "the failure is undone")
			s.EqualValues(tt.undone, undo.Postings[0].Amount, "what the failure gave back")
		})
	}
}

// A run of code path 25 told what the figures moved from keeps and pays out exactly what it does
// told nothing of it: the record it saves is the same.
func (s *workflowSuite) TestPath25RunKeepsNothingOfWhatFiguresMovedFrom() {
	at := func(e Event, sec time.Duration) Event {
		e.OccurredAt = captureEvent("", 0).OccurredAt.Add(10*time.Minute + sec)
		return e
	}
	from := func(v int64) *int64 { return &v }
	failed := at(refundFailedAt("evt_f100", "re_100", 100, 0), 0)
	failed.RefundMade = failed.OccurredAt
	events := func(told bool) []Event {
		r1, r2 := at(refundAt("evt_r1", 100, 0), 0), at(refundAt("evt_r2", 500, 0), 0)
		if told {
			r1.PreviousRefunded, r2.PreviousRefunded = from(0), from(0)
		}
		return []Event{r1, failed, r2}
	}
	without := s.refundsStandAfter(codePathRefundFailedBySecond, gross, events(false), 400)
	with := s.refundsStandAfter(codePathRefundFailedBySecond, gross, events(true), 400)
	for _, f := range with.RefundFigures {
		s.Zero(f.Added, "figure %+v", f)
	}
	s.Equal(without.RefundFigures, with.RefundFigures)
	for i := range with.Legs {
		with.Legs[i].SentAt = without.Legs[i].SentAt // the test clock's, run to run
	}
	s.Equal(without.Legs, with.Legs)
}

package payment

import (
	"fmt"
	"testing"
	"time"
)

// refundStep is one thing that happened to a Stripe charge: a refund made (fails false) or its
// failure, at a whole second.
type refundStep struct {
	refund int
	fails  bool
	sec    int
}

// Every history of three refunds (100, 200 and 400, each made in one of two seconds, each standing
// or failing in the second it was made or the next), in every order the seconds allow, told as
// Stripe tells it: each charge.refunded the charge's amount_refunded after its refund and before it
// (previous_attributes), each failure its refund's amount and when it was made. What each figure
// moved from leaves no history ambiguous: RefundsStandingByMoves is what stands in every one. Told
// without it, the figures are read by the second (RefundsStandingBySecond), which some histories
// fool.
func TestRefundsStandingByMovesInEveryHistory(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	amounts := []int64{100, 200, 400}
	var histories, fooled int
	for _, h := range refundHistories(len(amounts), 2) {
		var rec, told Record
		var charge, stands int64
		made := map[int]int{}
		for _, s := range h {
			at := t0.Add(time.Duration(s.sec) * time.Second)
			a := amounts[s.refund]
			if s.fails {
				charge -= a
				f := FailedRefund{ID: fmt.Sprint("re_", s.refund), Amount: a, Made: t0.Add(time.Duration(made[s.refund]) * time.Second), At: at}
				rec.FailedRefunds = append(rec.FailedRefunds, f)
				told.FailedRefunds = append(told.FailedRefunds, f)
				continue
			}
			made[s.refund] = s.sec
			charge += a
			fig := RefundFigure{At: at, Refunded: charge, Event: fmt.Sprint("evt_r", s.refund)}
			told.RefundFigures = append(told.RefundFigures, fig)
			fig.Added = a
			rec.RefundFigures = append(rec.RefundFigures, fig)
		}
		for i, a := range amounts {
			if !failedIn(h, i) {
				stands += a
			}
		}
		histories++
		if got := rec.RefundsStandingByMoves(); got != stands {
			t.Errorf("history %+v: RefundsStandingByMoves = %d, want %d", h, got, stands)
		}
		if got, bySecond := told.RefundsStandingByMoves(), told.RefundsStandingBySecond(); got != bySecond {
			t.Errorf("history %+v without what the figures added: RefundsStandingByMoves = %d, RefundsStandingBySecond %d", h, got, bySecond)
		}
		if told.RefundsStandingBySecond() != stands {
			fooled++
		}
	}
	t.Logf("%d histories, %d of them read wrong by the second", histories, fooled)
	if fooled == 0 {
		t.Fatal("no history is ambiguous by the second: the histories test nothing")
	}
}

func failedIn(h []refundStep, refund int) bool {
	for _, s := range h {
		if s.refund == refund && s.fails {
			return true
		}
	}
	return false
}

// refundHistories lists every history of n refunds over secs seconds: each refund made in a
// second, standing or failing in that second or a later one, the steps in every order that keeps
// the seconds in order and a failure after its refund.
func refundHistories(n, secs int) [][]refundStep {
	var out [][]refundStep
	var plan func(i int, steps []refundStep)
	plan = func(i int, steps []refundStep) {
		if i == n {
			out = append(out, orders(steps)...)
			return
		}
		for m := range secs {
			plan(i+1, append(steps[:len(steps):len(steps)], refundStep{refund: i, sec: m}))
			for f := m; f < secs; f++ {
				plan(i+1, append(steps[:len(steps):len(steps)], refundStep{refund: i, sec: m}, refundStep{refund: i, fails: true, sec: f}))
			}
		}
	}
	plan(0, nil)
	return out
}

// orders lists the orders of steps in which the seconds never go back and a refund's failure
// comes after it.
func orders(steps []refundStep) [][]refundStep {
	var out [][]refundStep
	used := make([]bool, len(steps))
	var walk func(h []refundStep)
	walk = func(h []refundStep) {
		if len(h) == len(steps) {
			out = append(out, h)
			return
		}
		for i, s := range steps {
			if used[i] || (len(h) > 0 && h[len(h)-1].sec > s.sec) || (s.fails && !madeIn(h, s.refund)) {
				continue
			}
			used[i] = true
			walk(append(h[:len(h):len(h)], s))
			used[i] = false
		}
	}
	walk(nil)
	return out
}

func madeIn(h []refundStep, refund int) bool {
	for _, s := range h {
		if s.refund == refund && !s.fails {
			return true
		}
	}
	return false
}

// The README's second: a refund of 100 made and failed, then one of 500 made (500 stand), or one
// of 100 and one of 400 made, then the 100 failed (400 stand). Told without what they added, the
// figures read as RefundsStandingBySecond reads them, 400 either way.
func TestRefundsStandingByMovesTellsTheSecondApart(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	failed := []FailedRefund{{ID: "re_1", Amount: 100, Made: t0, At: t0}}
	fig := func(event string, refunded, added int64) RefundFigure {
		return RefundFigure{At: t0, Refunded: refunded, Event: event, Added: added}
	}
	tests := []struct {
		name    string
		figures []RefundFigure
		want    int64
	}{
		{"failed, then 500 made", []RefundFigure{fig("evt_r1", 100, 100), fig("evt_r2", 500, 500)}, 500},
		{"400 made, then failed", []RefundFigure{fig("evt_r1", 100, 100), fig("evt_r2", 500, 400)}, 400},
		{"the same event told twice", []RefundFigure{fig("evt_r1", 100, 100), fig("evt_r2", 500, 500), fig("evt_r2", 500, 500)}, 500},
		{"not said", []RefundFigure{fig("evt_r1", 100, 0), fig("evt_r2", 500, 0)}, 400},
		{"said by one of them only (what it added, no more than read by the second)", []RefundFigure{fig("evt_r1", 100, 0), fig("evt_r2", 500, 500)}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Record{RefundFigures: tt.figures, FailedRefunds: failed}
			if got := r.RefundsStandingByMoves(); got != tt.want {
				t.Errorf("RefundsStandingByMoves = %d, want %d", got, tt.want)
			}
		})
	}
}

package payment

import (
	"testing"
	"time"
)

// A refund's failure in the second of a figure: RefundsStanding takes it as left out of the
// figure; RefundsStandingBySecond (code path 25) does not when the refund was made in that second
// too (the figure is the refund's own) unless the figure is too small to hold it.
func TestRefundsStandingBySecond(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	fig := func(sec int, refunded int64) RefundFigure {
		return RefundFigure{At: t0.Add(time.Duration(sec) * time.Second), Refunded: refunded}
	}
	told := func(sec int, refunded int64, event string) RefundFigure {
		f := fig(sec, refunded)
		f.Event = event
		return f
	}
	failed := func(made, at int, amount int64) FailedRefund {
		return FailedRefund{ID: "re_x", Amount: amount, Made: t0.Add(time.Duration(made) * time.Second), At: t0.Add(time.Duration(at) * time.Second)}
	}
	tests := []struct {
		name             string
		figures          []RefundFigure
		failed           []FailedRefund
		before, bySecond int64
	}{
		{"made and failed in the figure's second", []RefundFigure{fig(0, 1100)}, []FailedRefund{failed(0, 0, 1100)}, 1100, 0},
		{"failed a second later", []RefundFigure{fig(0, 1100)}, []FailedRefund{failed(0, 1, 1100)}, 0, 0},
		{"a figure after the failure", []RefundFigure{fig(0, 1100), fig(5, 0)}, []FailedRefund{failed(0, 3, 1100)}, 0, 0},
		{"a refund made after it in that second", []RefundFigure{fig(0, 1100), fig(0, 500)}, []FailedRefund{failed(0, 0, 1100)}, 1100, 500},
		{"made earlier, failed in another refund's second", []RefundFigure{fig(0, 300), fig(9, 500)}, []FailedRefund{failed(0, 9, 300)}, 500, 500},
		{"no figure yet", nil, []FailedRefund{failed(0, 0, 1100)}, 0, 0},
		// Made again in that second (a merchant's retry), the refund tells the same figure a
		// second time, in an event of its own: two figures alike in one second have a failure
		// between them, and the only one of that second is left out of the later.
		{"made again in that second", []RefundFigure{told(0, 1100, "evt_r1"), told(0, 1100, "evt_r2")}, []FailedRefund{failed(0, 0, 1100)}, 1100, 1100},
		// Kept without its event by a run before code path 25, the figure may be the same event's.
		{"alike a figure kept without its event", []RefundFigure{fig(0, 1100), told(0, 1100, "evt_r1")}, []FailedRefund{failed(0, 0, 1100)}, 1100, 0},
		{"its own figure told again", []RefundFigure{told(0, 1100, "evt_r1")}, []FailedRefund{failed(0, 0, 1100)}, 1100, 0},
		{"made again and failed too", []RefundFigure{told(0, 1100, "evt_r1"), told(0, 1100, "evt_r2")}, []FailedRefund{failed(0, 0, 1100), {ID: "re_y", Amount: 1100, Made: t0, At: t0.Add(time.Hour)}}, 0, 0},
		// The retry refused at once too: either failure may be the one between the figures, but
		// nothing stands (before, the failures taken from the one figure made it -1100).
		{"made again and refused again at once", []RefundFigure{told(0, 1100, "evt_r1"), told(0, 1100, "evt_r2")}, []FailedRefund{failed(0, 0, 1100), {ID: "re_y", Amount: 1100, Made: t0, At: t0}}, 1100, 0},
		// Two failures in that second: either may be the one between the figures alike.
		{"two failures in that second", []RefundFigure{told(0, 1100, "evt_r1"), told(0, 1100, "evt_r2")}, []FailedRefund{failed(0, 0, 1100), {ID: "re_y", Amount: 300, Made: t0.Add(-time.Hour), At: t0}}, 1100, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Record{RefundFigures: tt.figures, FailedRefunds: tt.failed}
			if got := r.RefundsStanding(); got != tt.before {
				t.Errorf("RefundsStanding = %d, want %d", got, tt.before)
			}
			if got := r.RefundsStandingBySecond(); got != tt.bySecond {
				t.Errorf("RefundsStandingBySecond = %d, want %d", got, tt.bySecond)
			}
		})
	}
}

package payment

import (
	"fmt"
	"testing"
	"time"
)

// A refund of 400 made, then in the next second the 400 failed and one of 200 was made from 0
// (200 stand). What the 200 moved from could not hold the 400, so the failure came before it:
// the figure leaves it out however little of the rest is told.
func TestRefundsStandingByMovesFailureBeforeALaterRefund(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Second)
	failed := []FailedRefund{{ID: "re_400", Amount: 400, Made: t0, At: t1}}
	tests := []struct {
		name    string
		figures []RefundFigure
		want    int64
	}{
		{"both say what they added", []RefundFigure{{At: t0, Refunded: 400, Event: "evt_r400", Added: 400}, {At: t1, Refunded: 200, Event: "evt_r200", Added: 200}}, 200},
		{"the 400's does not say it", []RefundFigure{{At: t0, Refunded: 400, Event: "evt_r400"}, {At: t1, Refunded: 200, Event: "evt_r200", Added: 200}}, 200},
		{"the 200's does not say it", []RefundFigure{{At: t0, Refunded: 400, Event: "evt_r400", Added: 400}, {At: t1, Refunded: 200, Event: "evt_r200"}}, 200},
		{"the 400's not told yet", []RefundFigure{{At: t1, Refunded: 200, Event: "evt_r200", Added: 200}}, 200},
		// The 200 made before the 400 failed moved from 400: the failure may have come after it.
		{"the 400 failed after the 200", []RefundFigure{{At: t0, Refunded: 400, Event: "evt_r400", Added: 400}, {At: t1, Refunded: 600, Event: "evt_r200", Added: 200}}, 200},
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

// A refund of 400 made at the end of a second, its charge.refunded created in the next, in which
// it failed: the figure is its own and counts it, though it moved from less than it. Nothing stands.
func TestRefundsStandingByMovesOwnRefundToldTheNextSecond(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Second)
	failed := []FailedRefund{{ID: "re_400", Amount: 400, Made: t0, At: t1}}
	r := Record{RefundFigures: []RefundFigure{{At: t1, Refunded: 400, Event: "evt_r400", Added: 400}}, FailedRefunds: failed}
	if got := r.RefundsStandingByMoves(); got != 0 {
		t.Errorf("RefundsStandingByMoves = %d, want 0", got)
	}
}

// Every history of TestRefundsStandingByMovesInEveryHistory with every failure told, told with
// any of its figures not come yet and any of those come not saying what they added, one at least
// saying it, and any figure of a refund made last in its second told as of the next (the event
// created in the second after its refund):
// RefundsStandingByMoves never reads more standing than stands (the payees are never debited for
// more than the customer got back), and with every figure told, each saying it, in its refund's
// second, reads what stands.
func TestRefundsStandingByMovesNeverAboveWhatStands(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	amounts := []int64{100, 200, 400}
	var readings, low int
	for _, h := range refundHistories(len(amounts), 2) {
		var figs []RefundFigure
		var skewable []bool // the figure's refund is the last of its second
		var failures []FailedRefund
		var charge, stands int64
		made := map[int]int{}
		for k, s := range h {
			at := t0.Add(time.Duration(s.sec) * time.Second)
			a := amounts[s.refund]
			if s.fails {
				charge -= a
				failures = append(failures, FailedRefund{ID: fmt.Sprint("re_", s.refund), Amount: a, Made: t0.Add(time.Duration(made[s.refund]) * time.Second), At: at})
				continue
			}
			made[s.refund] = s.sec
			charge += a
			figs = append(figs, RefundFigure{At: at, Refunded: charge, Event: fmt.Sprint("evt_r", s.refund), Added: a})
			skewable = append(skewable, k == len(h)-1 || h[k+1].sec > s.sec)
		}
		for i, a := range amounts {
			if !failedIn(h, i) {
				stands += a
			}
		}
		// Each figure: not come (0), come without what it added (1), come saying it (2).
		ways := 1
		for range figs {
			ways *= 3
		}
		for w := range ways * (1 << len(figs)) {
			skew := w / ways
			rec := Record{FailedRefunds: failures}
			whole, says := skew == 0, false
			for i, n := 0, w%ways; i < len(figs); i, n = i+1, n/3 {
				fig := figs[i]
				if skew&(1<<i) != 0 {
					if !skewable[i] {
						break
					}
					// The refund made at the end of its second, its charge.refunded created in the
					// next (Stripe's event and refund times are whole seconds of their own).
					fig.At = fig.At.Add(time.Second)
				}
				switch n % 3 {
				case 0:
					whole = false
				case 1:
					whole = false
					fig.Added = 0
					rec.RefundFigures = append(rec.RefundFigures, fig)
				case 2:
					says = true
					rec.RefundFigures = append(rec.RefundFigures, fig)
				}
			}
			if !says || !skewFits(skew, skewable) {
				continue // RefundsStandingBySecond, path 25's reading, which some histories fool
			}
			readings++
			got := rec.RefundsStandingByMoves()
			if got > stands || (whole && got != stands) {
				t.Errorf("history %+v told as %+v: RefundsStandingByMoves = %d, %d stand", h, rec.RefundFigures, got, stands)
			}
			if got < stands {
				low++
			}
		}
	}
	t.Logf("%d readings, %d of them low", readings, low)
}

func skewFits(skew int, skewable []bool) bool {
	for i, ok := range skewable {
		if skew&(1<<i) != 0 && !ok {
			return false
		}
	}
	return true
}

package payment

import (
	"slices"
	"testing"
)

func TestShortfallCountsMovementsInDoubtAsMade(t *testing.T) {
	base := Leg{Amount: 9545, Refunded: 955, Transferred: 9425, Reversed: 0}
	tests := []struct {
		name string
		dues []Due
		want int64
	}{
		{"books only: 8590 owed, 9425 held", nil, -835},
		{"a top-up in doubt will be made", []Due{{Kind: DueTopUp, Amount: 120}}, -955},
		{"a refused top-up is not", []Due{{Kind: DueTopUp, Amount: 120, Refused: true}}, -835},
		{"a reversal in doubt will be made", []Due{{Kind: DueReversal, Amount: 835}}, 0},
		{"a refused reversal is not", []Due{{Kind: DueReversal, Amount: 835, Refused: true}}, -835},
		{"both in doubt", []Due{{Kind: DueTopUp, Amount: 120}, {Kind: DueReversal, Amount: 955}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := base
			l.Dues = tt.dues
			if got := l.Shortfall(); got != tt.want {
				t.Fatalf("Shortfall() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestTransferLeftAndDuePrefix(t *testing.T) {
	l := Leg{TransferID: "tr_1", Transferred: 9545, Reversed: 300, TopUps: []TopUp{{TransferID: "tr_2", Amount: 120, Reversed: 20}}}
	if left, n := l.TransferLeft("tr_1"); left != 9545-300-100 || n != -1 {
		t.Fatalf("first transfer: left %d, top-up %d", left, n)
	}
	if left, n := l.TransferLeft("tr_2"); left != 100 || n != 0 {
		t.Fatalf("top-up: left %d, top-up %d", left, n)
	}
	for _, tt := range []struct {
		d    Due
		want string
	}{
		{Due{Cause: "wf/refund/1100"}, "wf/refund/1100"},
		{Due{Cause: "wf/refund/1100.t1", Attempt: 2}, "wf/refund/1100.t1.a2"},
	} {
		if got := tt.d.Prefix(); got != tt.want {
			t.Fatalf("Prefix() = %q, want %q", got, tt.want)
		}
	}
}

func TestFeeReturnsStandingLeavesOutThoseUndone(t *testing.T) {
	r := Record{FeeReturns: []string{"REF1", "REF2", "REF3"}, FeeReturnsUndone: []string{"REF2"}}
	if got := r.FeeReturnsStanding(); !slices.Equal(got, []string{"REF1", "REF3"}) {
		t.Fatalf("FeeReturnsStanding() = %v", got)
	}
	if !slices.Equal(r.FeeReturns, []string{"REF1", "REF2", "REF3"}) {
		t.Fatalf("FeeReturns changed: %v", r.FeeReturns)
	}
}

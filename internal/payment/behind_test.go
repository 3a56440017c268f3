package payment

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBehindListsWhatTheLastRunDidThatIsNotStored(t *testing.T) {
	vendor := Leg{Party: "vendor", PayeeID: "v1", Amount: 9000, Transferred: 9000, TransferID: "tr_1"}
	paid := Record{CaptureEntryID: 7, Legs: []Leg{vendor}}
	refunded := paid
	refunded.AppliedRefunds = []string{"re_1"}
	refunded.RefundFigures = []RefundFigure{{At: time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC), Refunded: 1000}}
	refunded.Refunded = 1000
	refunded.Legs = []Leg{vendor}
	refunded.Legs[0].Reversed = 900
	refunded.Legs[0].Refunded = 900

	corrected := paid
	corrected.CorrectedTo = []int{2}
	corrected.DueRetries = 1
	corrected.Legs = []Leg{vendor}
	corrected.Legs[0].Transferred = 9485
	corrected.Legs[0].TopUps = []TopUp{{TransferID: "tr_2", Amount: 485}}

	disputed := paid
	disputed.LostDisputes, disputed.ClosedDisputes, disputed.DisputeFeeIDs = []string{"dp_1"}, []string{"dp_1"}, []string{"txn_1"}
	failed := refunded
	failed.FailedRefunds = []FailedRefund{{ID: "re_1", Amount: 1000}}
	failed.FeeReturns, failed.FeeReturnsUndone = []string{"re_1"}, []string{"re_1"}

	// Code path 25 keeps a figure per event: the retry's figure, alike in value and second, is a
	// refund of its own (RefundsStandingBySecond), and a store without it is behind.
	retried := refunded
	retried.RefundFigures = []RefundFigure{{At: refunded.RefundFigures[0].At, Refunded: 1000, Event: "evt_r1"}}
	retriedToo := retried
	retriedToo.RefundFigures = append(slices.Clone(retried.RefundFigures), RefundFigure{At: refunded.RefundFigures[0].At, Refunded: 1000, Event: "evt_r2"})

	tests := []struct {
		name   string
		stored Record
		found  bool
		last   Record
		want   []string
	}{
		{"the same", refunded, true, refunded, nil},
		{"stored went further than the last completed run", refunded, true, paid, nil},
		{"erased entirely", Record{}, false, paid, []string{"the payment is not stored"}},
		{"a refund erased", paid, true, refunded, []string{"refund applied: re_1", "refunded 1000 as of 2026-11-27T03:00:00Z", "leg vendor-v1: reversed 900, stored 0"}},
		{"stored before its split", Record{}, true, paid, []string{"capture booked", "leg vendor-v1: transferred 9000, reversed 0, not stored"}},
		{"a correction and a retry erased", paid, true, corrected, []string{
			"corrected to rule v2", "admin retries taken: 1, stored 0", "leg vendor-v1: transferred 9485, stored 9000", "leg vendor-v1: top-up tr_2",
		}},
		{"a lost dispute erased", paid, true, disputed, []string{"dispute lost: dp_1", "dispute closed: dp_1", "dispute fee: txn_1"}},
		{"a failed refund erased", refunded, true, failed, []string{"refund failed: re_1", "fee returned with refund: re_1", "fee return undone for refund: re_1"}},
		{"a figure told again by another event erased", retried, true, retriedToo, []string{"refunded 1000 as of 2026-11-27T03:00:00Z (event evt_r2)"}},
		{"a leg the run never paid is not a fact", paid, true, Record{CaptureEntryID: 7, Legs: []Leg{vendor, {Party: "affiliate", PayeeID: "a1", Amount: 100}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, Behind(tt.stored, tt.found, tt.last))
		})
	}
}

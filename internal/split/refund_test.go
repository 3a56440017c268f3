package split

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/money"
)

func TestAllocateRefund(t *testing.T) {
	tests := []struct {
		name      string
		remaining []int64
		amount    int64
		want      []int64
		wantErr   error
		field     string
	}{
		// 10% of {900, 9185, 225}: exact 90, 918.5, 22.5; the single leftover
		// unit ties on remainder and goes to the lower index (vendor).
		{name: "usd ten percent", remaining: []int64{900, 9185, 225}, amount: 1031, want: []int64{90, 919, 22}},
		{name: "full refund reverses exactly", remaining: []int64{900, 9185, 225}, amount: 10310, want: []int64{900, 9185, 225}},
		// 1 yen over {105, 995}: 0.105 vs 0.995, the vendor has the larger remainder.
		{name: "jpy one unit", remaining: []int64{105, 995}, amount: 1, want: []int64{0, 1}},
		// 2.500 KWD of {330, 12610, 60} (total 13000): exact 63.46, 2425, 11.54;
		// floors sum to 2499 and the unit goes to the largest fraction, .54 (affiliate).
		{name: "kwd partial", remaining: []int64{330, 12610, 60}, amount: 2500, want: []int64{63, 2425, 12}},
		{name: "leg already fully refunded", remaining: []int64{0, 500, 0}, amount: 300, want: []int64{0, 300, 0}},
		{name: "zero refund", remaining: []int64{1, 2}, amount: 0, want: []int64{0, 0}},
		{name: "zero refund of nothing", remaining: []int64{0, 0}, amount: 0, want: []int64{0, 0}},
		{name: "no legs zero refund", remaining: nil, amount: 0, want: []int64{}},
		{name: "exceeds remaining", remaining: []int64{100, 200}, amount: 301, wantErr: ErrRefundExceedsRemaining, field: "301 > remaining 300"},
		{name: "nothing left", remaining: []int64{0, 0}, amount: 1, wantErr: ErrRefundExceedsRemaining, field: "remaining 0"},
		{name: "no legs", remaining: nil, amount: 1, wantErr: ErrRefundExceedsRemaining, field: "amount 1"},
		{name: "negative amount", remaining: []int64{100}, amount: -1, wantErr: ErrNegativeAmount, field: "amount -1"},
		{name: "negative remaining", remaining: []int64{100, -1}, amount: 1, wantErr: ErrNegativeAmount, field: "remaining[1] -1"},
		{name: "remaining overflows", remaining: []int64{math.MaxInt64, 1}, amount: 1, wantErr: money.ErrOverflow, field: "sum of remaining"},
		{name: "negative after overflow", remaining: []int64{math.MaxInt64, 1, -1}, amount: 1, wantErr: ErrNegativeAmount, field: "remaining[2] -1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AllocateRefund(tc.remaining, tc.amount)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				assert.Contains(t, err.Error(), tc.field)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestAllocateRefundDoesNotMutateInput(t *testing.T) {
	remaining := []int64{330, 12610, 60}
	_, err := AllocateRefund(remaining, 2500)
	require.NoError(t, err)
	assert.Equal(t, []int64{330, 12610, 60}, remaining)
}

package split

import (
	"math"
	"math/rand/v2"
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

func TestAllocateRefundPayable(t *testing.T) {
	tests := []struct {
		name      string
		remaining []int64 // platform, vendor[, affiliate]
		amount    int64
		unit      int64
		want      []int64
	}{
		// Proportional: 615, 4245, 140; the vendor up 55 and the affiliate up 60 from the platform.
		{name: "payees rounded up from the platform", remaining: []int64{12300, 84900, 2800}, amount: 5000, unit: 100, want: []int64{500, 4300, 200}},
		{name: "whole parts stay", remaining: []int64{10000, 80000, 10000}, amount: 10000, unit: 100, want: []int64{1000, 8000, 1000}},
		// Proportional: 9, 9041; the platform's 9 cannot give the vendor 59, so the vendor's 41
		// go to the platform, which has room for them.
		{name: "payee rounded down where the platform cannot give", remaining: []int64{100, 99900}, amount: 9050, unit: 100, want: []int64{50, 9000}},
		{name: "unit 1 is AllocateRefund", remaining: []int64{333, 667}, amount: 500, unit: 1, want: []int64{167, 333}},
		{name: "the whole remainder", remaining: []int64{12345, 98700}, amount: 111045, unit: 100, want: []int64{12345, 98700}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AllocateRefundPayable(tt.remaining, tt.amount, 0, tt.unit)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
	_, err := AllocateRefundPayable([]int64{100, 200}, 301, 0, 100)
	require.ErrorIs(t, err, ErrRefundExceedsRemaining, "AllocateRefund's checks stand")
}

// Over random whole legs and refunds: the parts sum to the refund, each within its leg, and a
// payee's part is whole unless neither the platform's part nor its room could even it out.
func TestAllocateRefundPayableProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for range propertyRuns {
		unit := []int64{10, 100, 1000}[rng.IntN(3)]
		remaining := make([]int64, 2+rng.IntN(3))
		var total int64
		for i := range remaining {
			remaining[i] = unit * rng.Int64N(1000)
			if i == 0 {
				remaining[i] += rng.Int64N(unit) // the platform's leg need not be whole
			}
			total += remaining[i]
		}
		amount := rng.Int64N(total + 1)
		got, err := AllocateRefundPayable(remaining, amount, 0, unit)
		require.NoError(t, err)
		var sum int64
		for i, p := range got {
			sum += p
			require.GreaterOrEqual(t, p, int64(0))
			require.LessOrEqual(t, p, remaining[i])
		}
		require.Equal(t, amount, sum)
		for i := 1; i < len(got); i++ {
			if frac := got[i] % unit; frac != 0 {
				require.True(t, got[0] < unit-frac || got[0]+frac > remaining[0],
					"payee %d's part %d of %v (platform %d of %d) could have been evened out", i, got[i], got, got[0], remaining[0])
			}
		}
	}
}

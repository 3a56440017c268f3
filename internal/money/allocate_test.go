package money

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAllocateLargestRemainder(t *testing.T) {
	tests := []struct {
		name    string
		total   int64
		weights []int64
		want    []int64
		wantErr error
	}{
		{name: "thirds tie to lower index", total: 100, weights: []int64{1, 1, 1}, want: []int64{34, 33, 33}},
		{name: "largest remainder wins", total: 7, weights: []int64{2, 3}, want: []int64{3, 4}},
		{name: "zero weight gets zero", total: 10, weights: []int64{0, 5, 5}, want: []int64{0, 5, 5}},
		{name: "total above sum", total: 10, weights: []int64{1, 2}, want: []int64{3, 7}},
		{name: "total equals sum returns weights", total: 10310, weights: []int64{900, 9185, 225}, want: []int64{900, 9185, 225}},
		{name: "tenth of a split", total: 1031, weights: []int64{900, 9185, 225}, want: []int64{90, 919, 22}},
		{name: "single weight", total: 42, weights: []int64{7}, want: []int64{42}},
		{name: "zero total", total: 0, weights: []int64{3, 4}, want: []int64{0, 0}},
		{name: "zero total no weights", total: 0, weights: nil, want: []int64{}},
		{name: "zero total zero weights", total: 0, weights: []int64{0, 0}, want: []int64{0, 0}},
		{name: "huge weights", total: math.MaxInt64, weights: []int64{math.MaxInt64 - 1, 1}, want: []int64{math.MaxInt64 - 1, 1}},
		{name: "huge total small weights", total: math.MaxInt64, weights: []int64{1, 1}, want: []int64{math.MaxInt64/2 + 1, math.MaxInt64 / 2}},
		{name: "negative total", total: -1, weights: []int64{1}, wantErr: ErrNegativeAmount},
		{name: "negative weight", total: 1, weights: []int64{1, -1}, wantErr: ErrNegativeAmount},
		{name: "weights overflow", total: 1, weights: []int64{math.MaxInt64, 1}, wantErr: ErrOverflow},
		{name: "negative after overflow", total: 1, weights: []int64{math.MaxInt64, 1, -1}, wantErr: ErrNegativeAmount},
		{name: "no weights", total: 1, weights: nil, wantErr: ErrInvalidArgument},
		{name: "all zero weights", total: 1, weights: []int64{0, 0}, wantErr: ErrInvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AllocateLargestRemainder(tc.total, tc.weights)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestAllocateLargestRemainderProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range 20000 {
		weights := make([]int64, rng.IntN(6)+1)
		scale := []int64{10, 10000, math.MaxInt64 / 8}[rng.IntN(3)]
		for i := range weights {
			if rng.IntN(4) > 0 {
				weights[i] = rng.Int64N(scale)
			}
		}
		var sum int64
		for _, w := range weights {
			sum += w // scale keeps the sum of at most 6 weights in range
		}
		if sum == 0 {
			continue
		}
		total := rng.Int64N(sum + 1)
		if rng.IntN(4) == 0 {
			total = rng.Int64N(math.MaxInt64) // sometimes more than the weights
		}
		parts, err := AllocateLargestRemainder(total, weights)
		require.NoError(t, err)
		checkAllocation(t, total, weights, sum, parts)

		again, err := AllocateLargestRemainder(total, weights)
		require.NoError(t, err)
		require.Equal(t, parts, again, "same input, same output")
	}
}

func checkAllocation(t *testing.T, total int64, weights []int64, sum int64, parts []int64) {
	t.Helper()
	require.Len(t, parts, len(weights))
	got := new(big.Int)
	for i, p := range parts {
		got.Add(got, big.NewInt(p))
		require.GreaterOrEqual(t, p, int64(0), "part %d", i)
		if weights[i] == 0 {
			require.Zero(t, p, "zero weight %d got a share", i)
		}
		if total <= sum {
			require.LessOrEqual(t, p, weights[i], "part %d exceeds its weight", i)
		}
		// |p*sum - total*w| < sum, i.e. within one unit of the exact share.
		diff := new(big.Int).Mul(big.NewInt(p), big.NewInt(sum))
		diff.Sub(diff, new(big.Int).Mul(big.NewInt(total), big.NewInt(weights[i])))
		require.Negative(t, diff.CmpAbs(big.NewInt(sum)), "part %d=%d not within one unit: total=%d weights=%v", i, p, total, weights)
	}
	require.Zero(t, got.Cmp(big.NewInt(total)), "parts %v sum to %s, want %d", parts, got, total)
}

package split

import (
	"math"
	"math/big"
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

// TestPartialRefundsDoNotDrift: however many partial refunds a payment has, what each leg has
// given back over them stays within a few units of its share of all that was refunded (one with
// two legs, fewer than the number of legs with more), each refund stays
// within what every leg still has, and the last refund returns exactly what is left. Weighing
// each refund by what the legs still have (AllocateRefund) let the roundings add up: eight
// hundred refunds of one unit of a payment split 100/900 took all 800 from the vendor and left
// the platform its whole commission.
func TestPartialRefundsDoNotDrift(t *testing.T) {
	t.Run("unit refunds", func(t *testing.T) {
		legs := []int64{100, 900}
		refunded := []int64{0, 0}
		for n := int64(1); n <= 1000; n++ {
			parts, err := AllocateRefundCumulative(legs, refunded, 1)
			require.NoError(t, err)
			refunded[0], refunded[1] = refunded[0]+parts[0], refunded[1]+parts[1]
			checkCumulativeShare(t, legs, refunded, n, 1) // two legs: exactly the largest remainder of n
		}
		require.Equal(t, legs, refunded)
	})
	t.Run("random sequences", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(21, 22))
		for range propertyRuns / 4 {
			o, r := randValid(rng)
			s, err := Compute(o, r)
			require.NoError(t, err)
			legs := s.Amounts()
			refunded := make([]int64, len(legs))
			var done int64
			for range rng.IntN(40) {
				left := o.Gross - done
				amount := rng.Int64N(left/4 + 1)
				if rng.IntN(2) == 0 {
					amount = min(left, rng.Int64N(100)) // small refunds stress rounding
				}
				parts := checkCumulativeRefund(t, legs, refunded, amount)
				for i, p := range parts {
					refunded[i] += p
				}
				done += amount
				checkCumulativeShare(t, legs, refunded, done, int64(len(legs)))
			}
			parts := checkCumulativeRefund(t, legs, refunded, o.Gross-done)
			for i, p := range parts {
				require.Equal(t, legs[i]-refunded[i], p, "the last refund returns what leg %d has left", i)
			}
		}
	})
}

// checkCumulativeRefund runs AllocateRefundCumulative and checks one refund's contract.
func checkCumulativeRefund(t testing.TB, legs, refunded []int64, amount int64) []int64 {
	t.Helper()
	parts, err := AllocateRefundCumulative(legs, refunded, amount)
	require.NoError(t, err, "legs %v refunded %v amount %d", legs, refunded, amount)
	var sum int64
	for i, p := range parts {
		require.GreaterOrEqual(t, p, int64(0), "part %d of %v", i, parts)
		require.LessOrEqual(t, p, legs[i]-refunded[i], "part %d of %v takes more than leg %d has left", i, parts, i)
		sum += p
	}
	require.Equal(t, amount, sum, "parts %v", parts)
	return parts
}

// checkCumulativeShare: each leg has given back within units of its exact share of done,
// |refunded[i]*gross - done*legs[i]| < units*gross, however many refunds done took.
func checkCumulativeShare(t *testing.T, legs, refunded []int64, done, units int64) {
	t.Helper()
	gross := new(big.Int)
	for _, l := range legs {
		gross.Add(gross, big.NewInt(l))
	}
	if gross.Sign() == 0 {
		return
	}
	for i := range legs {
		diff := new(big.Int).Mul(big.NewInt(refunded[i]), gross)
		diff.Sub(diff, new(big.Int).Mul(big.NewInt(done), big.NewInt(legs[i])))
		require.Negative(t, diff.CmpAbs(new(big.Int).Mul(gross, big.NewInt(units))), "leg %d gave back %d of %d after %d of %s refunded: not its share (legs %v, refunded %v)",
			i, refunded[i], legs[i], done, gross, legs, refunded)
	}
}

func TestAllocateRefundCumulativeRefuses(t *testing.T) {
	tests := []struct {
		name           string
		legs, refunded []int64
		amount         int64
		want           error
	}{
		{"lengths differ", []int64{1, 2}, []int64{0}, 1, money.ErrInvalidArgument},
		{"negative amount", []int64{1}, []int64{0}, -1, ErrNegativeAmount},
		{"negative leg", []int64{-1, 5}, []int64{0, 0}, 1, ErrNegativeAmount},
		{"negative refunded", []int64{1, 5}, []int64{0, -1}, 1, ErrNegativeAmount},
		{"leg refunded past itself", []int64{1, 5}, []int64{2, 0}, 1, ErrRefundExceedsRemaining},
		{"more than is left", []int64{100, 900}, []int64{10, 90}, 901, ErrRefundExceedsRemaining},
		{"legs overflow", []int64{math.MaxInt64, 1}, []int64{0, 0}, 1, money.ErrOverflow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts, err := AllocateRefundCumulative(tt.legs, tt.refunded, tt.amount)
			require.ErrorIs(t, err, tt.want)
			require.Nil(t, parts)
		})
	}
}

// A payment paid in whole units (PayPal in HUF: unit 100) keeps its payees' refund parts whole
// where the platform's part can even them out, as AllocateRefundPayable does.
func TestAllocateRefundCumulativePayable(t *testing.T) {
	legs := []int64{1000, 8500, 500} // platform, vendor, affiliate
	parts, err := AllocateRefundCumulativePayable(legs, []int64{0, 0, 0}, 3000, 0, 100)
	require.NoError(t, err)
	// 30%: 300, 2550, 150; the payees' parts are rounded up to whole units from the platform's.
	require.Equal(t, []int64{200, 2600, 200}, parts)
	parts, err = AllocateRefundCumulativePayable(legs, parts, 1234, 0, 100)
	require.NoError(t, err)
	require.EqualValues(t, 1234, parts[0]+parts[1]+parts[2])
	require.Zero(t, parts[1]%100, "vendor part %d whole", parts[1])
	require.Zero(t, parts[2]%100, "affiliate part %d whole", parts[2])
}

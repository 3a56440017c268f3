package money

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAddSubInt(t *testing.T) {
	tests := []struct {
		name     string
		a, b     int64
		add, sub int64
		addErr   bool
		subErr   bool
	}{
		{name: "small", a: 5, b: 3, add: 8, sub: 2},
		{name: "negatives", a: -5, b: -3, add: -8, sub: -2},
		{name: "max plus one", a: math.MaxInt64, b: 1, addErr: true, sub: math.MaxInt64 - 1},
		{name: "min minus one", a: math.MinInt64, b: 1, add: math.MinInt64 + 1, subErr: true},
		{name: "min plus min", a: math.MinInt64, b: math.MinInt64, addErr: true, sub: 0},
		{name: "zero minus min", a: 0, b: math.MinInt64, add: math.MinInt64, subErr: true},
		{name: "max minus min", a: math.MaxInt64, b: math.MinInt64, add: -1, subErr: true},
		{name: "max plus min", a: -1, b: math.MinInt64 + 1, add: math.MinInt64, sub: math.MaxInt64 - 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AddInt(tc.a, tc.b)
			if tc.addErr {
				require.ErrorIs(t, err, ErrOverflow)
			} else {
				require.NoError(t, err)
				assert.Equal(t, tc.add, got)
			}
			got, err = SubInt(tc.a, tc.b)
			if tc.subErr {
				require.ErrorIs(t, err, ErrOverflow)
			} else {
				require.NoError(t, err)
				assert.Equal(t, tc.sub, got)
			}
		})
	}
}

// TestAddSubIntProperty checks against math/big, which cannot overflow.
func TestAddSubIntProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		a, b := randInt64(rng), randInt64(rng)
		for _, op := range []struct {
			f   func(a, b int64) (int64, error)
			ref func(z, x, y *big.Int) *big.Int
		}{{AddInt, (*big.Int).Add}, {SubInt, (*big.Int).Sub}} {
			want := op.ref(new(big.Int), big.NewInt(a), big.NewInt(b))
			got, err := op.f(a, b)
			if want.IsInt64() {
				require.NoError(t, err, "a=%d b=%d", a, b)
				require.Equal(t, want.Int64(), got, "a=%d b=%d", a, b)
			} else {
				require.ErrorIs(t, err, ErrOverflow, "a=%d b=%d", a, b)
			}
		}
	}
}

func TestMulDivFloor(t *testing.T) {
	tests := []struct {
		name    string
		a, b, d int64
		want    int64
		wantErr error
	}{
		{name: "exact", a: 10000, b: 1000, d: 10000, want: 1000},
		{name: "floors", a: 999, b: 333, d: 10000, want: 33},
		{name: "zero", a: 0, b: 5, d: 7, want: 0},
		{name: "128-bit intermediate", a: math.MaxInt64, b: 10000, d: 10000, want: math.MaxInt64},
		{name: "128-bit floors", a: math.MaxInt64, b: 2500, d: 10000, want: math.MaxInt64 / 4},
		{name: "result overflows int64", a: math.MaxInt64, b: 2, d: 1, wantErr: ErrOverflow},
		{name: "quotient overflows uint64", a: math.MaxInt64, b: math.MaxInt64, d: 1, wantErr: ErrOverflow},
		{name: "negative a", a: -1, b: 1, d: 1, wantErr: ErrNegativeAmount},
		{name: "negative b", a: 1, b: -1, d: 1, wantErr: ErrNegativeAmount},
		{name: "zero divisor", a: 1, b: 1, d: 0, wantErr: ErrInvalidArgument},
		{name: "negative divisor", a: 1, b: 1, d: -3, wantErr: ErrInvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MulDivFloor(tc.a, tc.b, tc.d)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestMulDivFloorProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		a, b, d := abs(randInt64(rng)), abs(randInt64(rng)), abs(randInt64(rng))
		if d == 0 {
			d = 1
		}
		want := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
		want.Quo(want, big.NewInt(d)) // operands are non-negative, so Quo floors
		got, err := MulDivFloor(a, b, d)
		if want.IsInt64() {
			require.NoError(t, err, "a=%d b=%d d=%d", a, b, d)
			require.Equal(t, want.Int64(), got, "a=%d b=%d d=%d", a, b, d)
		} else {
			require.ErrorIs(t, err, ErrOverflow, "a=%d b=%d d=%d", a, b, d)
		}
	}
}

// randInt64 mixes magnitudes so boundaries near 0 and near the int64 limits
// are hit far more often than uniform sampling would manage.
func randInt64(rng *rand.Rand) int64 {
	switch rng.IntN(5) {
	case 0:
		return rng.Int64N(201) - 100
	case 1:
		return math.MaxInt64 - rng.Int64N(1000)
	case 2:
		return math.MinInt64 + rng.Int64N(1000)
	case 3:
		return rng.Int64N(1<<40) - 1<<39
	default:
		return int64(rng.Uint64())
	}
}

func abs(x int64) int64 {
	if x == math.MinInt64 {
		return math.MaxInt64
	}
	if x < 0 {
		return -x
	}
	return x
}

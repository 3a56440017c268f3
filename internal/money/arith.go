package money

import (
	"fmt"
	"math"
	"math/bits"
)

// AddInt returns a+b, or ErrOverflow when the sum leaves the int64 range.
func AddInt(a, b int64) (int64, error) {
	s := a + b
	// Overflow happened iff both operands share a sign the sum does not.
	if (a >= 0) == (b >= 0) && (s >= 0) != (a >= 0) {
		return 0, fmt.Errorf("%d + %d: %w", a, b, ErrOverflow)
	}
	return s, nil
}

// SubInt returns a-b, or ErrOverflow when the difference leaves the int64 range.
func SubInt(a, b int64) (int64, error) {
	d := a - b
	if (a >= 0) != (b >= 0) && (d >= 0) != (a >= 0) {
		return 0, fmt.Errorf("%d - %d: %w", a, b, ErrOverflow)
	}
	return d, nil
}

// MulDivFloor returns floor(a*b/d) for a, b >= 0 and d > 0. The product is
// kept in 128 bits so that, e.g., a large amount times basis points does not
// overflow before the division brings it back into range.
func MulDivFloor(a, b, d int64) (int64, error) {
	if a < 0 {
		return 0, fmt.Errorf("MulDivFloor a=%d: %w", a, ErrNegativeAmount)
	}
	if b < 0 {
		return 0, fmt.Errorf("MulDivFloor b=%d: %w", b, ErrNegativeAmount)
	}
	if d <= 0 {
		return 0, fmt.Errorf("MulDivFloor divisor d=%d must be > 0: %w", d, ErrInvalidArgument)
	}
	q, _, err := mulDivRem(uint64(a), uint64(b), uint64(d))
	if err != nil || q > math.MaxInt64 {
		return 0, fmt.Errorf("MulDivFloor %d*%d/%d: %w", a, b, d, ErrOverflow)
	}
	return int64(q), nil
}

// mulDivRem returns the quotient and remainder of a*b/d computed in 128 bits.
// bits.Div64 panics when the quotient needs more than 64 bits, which is
// exactly when the high word is >= d, so that case becomes an error first.
func mulDivRem(a, b, d uint64) (q, r uint64, err error) {
	hi, lo := bits.Mul64(a, b)
	if hi >= d {
		return 0, 0, ErrOverflow
	}
	q, r = bits.Div64(hi, lo, d)
	return q, r, nil
}

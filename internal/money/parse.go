package money

import (
	"fmt"
	"math"
)

// ParseAmount converts decimal text in c's precision to minor units, e.g.
// "12.34" USD -> 1234 and "1000" JPY -> 1000.
//
// The grammar is deliberately strict, -?[0-9]+(\.[0-9]{1,exp})?, because any
// leniency (thousands separators, exponents, silently rounding extra digits)
// is a way for an amount to change meaning between systems.
func ParseAmount(s string, c Currency) (int64, error) {
	exp := c.Exponent()
	if exp < 0 {
		return 0, fmt.Errorf("parse amount %q: currency %q: %w", s, c, ErrUnknownCurrency)
	}
	body, neg := s, false
	if len(body) > 0 && body[0] == '-' {
		body, neg = body[1:], true
	}
	// Accumulating the magnitude in uint64 lets the negative side reach
	// math.MinInt64, whose magnitude is one more than math.MaxInt64.
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	var mag uint64
	intDigits, fracDigits, seenDot := 0, 0, false
	for i := 0; i < len(body); i++ {
		ch := body[i]
		switch {
		case ch == '.' && !seenDot && intDigits > 0:
			seenDot = true
			continue
		case ch < '0' || ch > '9':
			return 0, fmt.Errorf("parse amount %q: unexpected %q at byte %d: %w", s, ch, i+len(s)-len(body), ErrInvalidAmount)
		}
		if seenDot {
			fracDigits++
			if fracDigits > exp {
				return 0, fmt.Errorf("parse amount %q: %s allows at most %d fraction digits: %w", s, c.Upper(), exp, ErrInvalidAmount)
			}
		} else {
			intDigits++
		}
		var ok bool
		if mag, ok = mulAdd10(mag, uint64(ch-'0'), limit); !ok {
			return 0, fmt.Errorf("parse amount %q: %w", s, ErrOverflow)
		}
	}
	if intDigits == 0 || (seenDot && fracDigits == 0) {
		return 0, fmt.Errorf("parse amount %q: want digits with an optional fraction, like 12.34: %w", s, ErrInvalidAmount)
	}
	for ; fracDigits < exp; fracDigits++ {
		var ok bool
		if mag, ok = mulAdd10(mag, 0, limit); !ok {
			return 0, fmt.Errorf("parse amount %q: %w", s, ErrOverflow)
		}
	}
	if neg {
		// Exact up to mag == 2^63: the conversion gives math.MinInt64 and
		// negating it wraps back to itself, which is the intended value.
		return -int64(mag), nil
	}
	return int64(mag), nil
}

// mulAdd10 returns m*10+d, or false when that would exceed limit.
func mulAdd10(m, d, limit uint64) (uint64, bool) {
	if m > (limit-d)/10 {
		return 0, false
	}
	return m*10 + d, true
}

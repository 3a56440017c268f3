package money

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
)

// FuzzParseAmount checks ParseAmount against a math/big reference and that
// anything it accepts survives a Format round trip.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"12.34", "-0.05", "1000", "1.234", "92233720368547758.08", "", "-", "1e3", ".5", "5.", "0.0001"} {
		for _, c := range []string{"usd", "jpy", "kwd", "clf", "xyz"} {
			f.Add(s, c)
		}
	}
	f.Fuzz(func(t *testing.T, s, cur string) {
		c := Currency(cur)
		got, err := ParseAmount(s, c)
		want, ok := referenceParse(s, c.Exponent())
		if err != nil {
			if ok {
				t.Fatalf("ParseAmount(%q, %q) = %v, reference accepted it as %s", s, cur, err, want)
			}
			if !errors.Is(err, ErrInvalidAmount) && !errors.Is(err, ErrOverflow) && !errors.Is(err, ErrUnknownCurrency) {
				t.Fatalf("ParseAmount(%q, %q) error wraps no sentinel: %v", s, cur, err)
			}
			return
		}
		if !ok || !want.IsInt64() || want.Int64() != got {
			t.Fatalf("ParseAmount(%q, %q) = %d, reference %s (ok=%v)", s, cur, got, want, ok)
		}
		number, _ := strings.CutSuffix(Format(got, c), " "+c.Upper())
		back, err := ParseAmount(number, c)
		if err != nil || back != got {
			t.Fatalf("round trip %d -> %q -> %d, %v", got, number, back, err)
		}
	})
}

// referenceParse is an independent, deliberately naive parser: it validates
// the grammar by hand and lets math/big do the arithmetic. ok reports whether
// the text is acceptable and in int64 range.
func referenceParse(s string, exp int) (*big.Int, bool) {
	if exp < 0 {
		return nil, false
	}
	body := strings.TrimPrefix(s, "-")
	intPart, frac, hasDot := strings.Cut(body, ".")
	if intPart == "" || (hasDot && frac == "") || len(frac) > exp {
		return nil, false
	}
	for _, r := range intPart + frac {
		if r < '0' || r > '9' {
			return nil, false
		}
	}
	v, ok := new(big.Int).SetString(intPart+frac+strings.Repeat("0", exp-len(frac)), 10)
	if !ok {
		return nil, false
	}
	if len(body) != len(s) {
		v.Neg(v)
	}
	return v, v.IsInt64()
}

// FuzzStripeUnits: an amount converted to Stripe's unit and back is the amount it was, either
// way round, or the conversion says why not (a fraction Stripe cannot carry, an overflow); never
// an amount off by a factor of ten.
func FuzzStripeUnits(f *testing.F) {
	for _, c := range []string{"isk", "UGX", "mga", "usd", "jpy", "kwd", "clf", "xyz"} {
		f.Add(int64(500000), c)
		f.Add(int64(-50), c)
		f.Add(int64(math.MaxInt64), c)
	}
	f.Fuzz(func(t *testing.T, amount int64, cur string) {
		c := Currency(cur)
		for _, way := range []struct {
			name        string
			there, back func(int64, Currency) (int64, error)
		}{{"to Stripe", ToStripe, FromStripe}, {"from Stripe", FromStripe, ToStripe}} {
			v, err := way.there(amount, c)
			if err != nil {
				if !errors.Is(err, ErrInvalidAmount) && !errors.Is(err, ErrOverflow) {
					t.Fatalf("%s %d %s: error wraps no sentinel: %v", way.name, amount, cur, err)
				}
				continue
			}
			back, err := way.back(v, c)
			if err != nil || back != amount {
				t.Fatalf("%s %d %s = %d, back %d, %v", way.name, amount, cur, v, back, err)
			}
			if StripeExponent(c) == c.Exponent() && v != amount {
				t.Fatalf("%s %d %s = %d, but Stripe counts %s as ISO does", way.name, amount, cur, v, cur)
			}
		}
	})
}

package money

import (
	"errors"
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

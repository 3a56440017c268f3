package money

import (
	"errors"
	"math"
	"testing"
)

// Stripe counts ISK and UGX in hundredths and MGA in whole ariary; everything else as ISO does.
func TestStripeUnits(t *testing.T) {
	for _, tt := range []struct {
		cur          Currency
		iso, stripe  int64 // the same amount in ISO minor units and in Stripe's
		exp, stripeE int
		unit         int64
	}{
		{"isk", 5000, 500000, 0, 2, 1},   // 5,000 kr
		{"ISK", 5000, 500000, 0, 2, 1},   // any case
		{"ugx", 3700, 370000, 0, 2, 1},   // 3,700 USh
		{"mga", 500000, 5000, 2, 0, 100}, // 5,000 Ar
		{"usd", 1999, 1999, 2, 2, 1},
		{"jpy", 500, 500, 0, 0, 1},
		{"kwd", 1250, 1250, 3, 3, 1},
		{"huf", 100050, 100050, 2, 2, 1}, // Stripe charges HUF in two decimals
	} {
		t.Run(string(tt.cur), func(t *testing.T) {
			if got := StripeExponent(tt.cur); got != tt.stripeE {
				t.Errorf("StripeExponent = %d, want %d", got, tt.stripeE)
			}
			if got := tt.cur.Exponent(); got != tt.exp {
				t.Errorf("Exponent = %d, want %d", got, tt.exp)
			}
			if got := StripeUnit(tt.cur); got != tt.unit {
				t.Errorf("StripeUnit = %d, want %d", got, tt.unit)
			}
			from, err := FromStripe(tt.stripe, tt.cur)
			if err != nil || from != tt.iso {
				t.Errorf("FromStripe(%d) = %d, %v; want %d", tt.stripe, from, err, tt.iso)
			}
			to, err := ToStripe(tt.iso, tt.cur)
			if err != nil || to != tt.stripe {
				t.Errorf("ToStripe(%d) = %d, %v; want %d", tt.iso, to, err, tt.stripe)
			}
		})
	}
}

// An amount with no exact counterpart in the other unit is refused, never rounded.
func TestStripeUnitsRefuseWhatDoesNotConvert(t *testing.T) {
	for _, tt := range []struct {
		name string
		conv func(int64, Currency) (int64, error)
		amt  int64
		cur  Currency
		want error
	}{
		{"ISK from Stripe with decimals", FromStripe, 500050, "isk", ErrInvalidAmount},
		{"MGA to Stripe with a fraction of an ariary", ToStripe, 500050, "mga", ErrInvalidAmount},
		{"ISK to Stripe beyond int64", ToStripe, math.MaxInt64 / 10, "isk", ErrOverflow},
		{"MGA from Stripe beyond int64", FromStripe, math.MinInt64 / 10, "mga", ErrOverflow},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if v, err := tt.conv(tt.amt, tt.cur); !errors.Is(err, tt.want) {
				t.Errorf("got %d, %v; want %v", v, err, tt.want)
			}
		})
	}
	// Unknown codes pass unchanged: only the three listed differ, and callers check currencies.
	if v, err := FromStripe(42, "xyz"); err != nil || v != 42 {
		t.Errorf("FromStripe of an unknown code = %d, %v", v, err)
	}
}

package money

import (
	"fmt"
	"strconv"
	"strings"
)

// Money pairs an amount in minor units with its currency.
type Money struct {
	Amount   int64    `json:"amount"`
	Currency Currency `json:"currency"`
}

// String renders m for humans and logs, e.g. "12.34 USD" or "-0.05 USD".
func (m Money) String() string { return Format(m.Amount, m.Currency) }

// Format renders amount in c's precision using integer arithmetic only, so
// the text is exact for the full int64 range. For an unknown currency the raw
// minor units are printed and labelled, since any decimal point would be a guess.
func Format(amount int64, c Currency) string {
	d, err := Decimal(amount, c)
	if err != nil {
		return fmt.Sprintf("%d minor units of unknown currency %q", amount, c.Upper())
	}
	return d + " " + c.Upper()
}

// Decimal renders amount as the plain decimal string providers' APIs take ("12.34" for 1234
// USD, "1000" for 1000 JPY), the inverse of ParseAmount. Unknown currencies are an error.
func Decimal(amount int64, c Currency) (string, error) {
	exp := c.Exponent()
	if exp < 0 {
		return "", fmt.Errorf("decimal of %q: %w", c.Upper(), ErrUnknownCurrency)
	}
	// uint64(-amount) is also correct for math.MinInt64: negation wraps to
	// itself and the conversion yields its true magnitude, 2^63.
	mag := uint64(amount)
	if amount < 0 {
		mag = uint64(-amount)
	}
	digits := strconv.FormatUint(mag, 10)
	if len(digits) <= exp {
		digits = strings.Repeat("0", exp-len(digits)+1) + digits
	}
	var b strings.Builder
	if amount < 0 {
		b.WriteByte('-')
	}
	cut := len(digits) - exp
	b.WriteString(digits[:cut])
	if exp > 0 {
		b.WriteByte('.')
		b.WriteString(digits[cut:])
	}
	return b.String(), nil
}

// Add returns m+o; both must be in the same currency.
func (m Money) Add(o Money) (Money, error) {
	if err := sameCurrency("add", m, o); err != nil {
		return Money{}, err
	}
	s, err := AddInt(m.Amount, o.Amount)
	if err != nil {
		return Money{}, fmt.Errorf("add %s: %w", m.Currency.Upper(), err)
	}
	return Money{Amount: s, Currency: m.Currency}, nil
}

// Sub returns m-o; both must be in the same currency.
func (m Money) Sub(o Money) (Money, error) {
	if err := sameCurrency("subtract", m, o); err != nil {
		return Money{}, err
	}
	d, err := SubInt(m.Amount, o.Amount)
	if err != nil {
		return Money{}, fmt.Errorf("subtract %s: %w", m.Currency.Upper(), err)
	}
	return Money{Amount: d, Currency: m.Currency}, nil
}

// sameCurrency ignores letter case because Currency values may have been
// built by conversion; "USD" and "usd" are the same money.
func sameCurrency(op string, m, o Money) error {
	if !strings.EqualFold(string(m.Currency), string(o.Currency)) {
		return fmt.Errorf("%s %q and %q: %w", op, m.Currency, o.Currency, ErrCurrencyMismatch)
	}
	return nil
}

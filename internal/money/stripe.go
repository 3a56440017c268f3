package money

import (
	"fmt"
	"math"
)

// stripeExponents are the currencies whose amounts Stripe's API counts in another minor unit than
// ISO 4217, which everything here keeps money in. From docs.stripe.com/currencies: ISK and UGX
// "transitioned to a zero-decimal currency, but backward compatibility requires you to represent
// it as a two-decimal value, where the decimal amount is always 00" (5 ISK is an amount of 500);
// MGA, two-decimal in ISO, is on Stripe's list of zero-decimal currencies (500 is 500 Ar). Read
// or sent as they are, such amounts are off by a hundred against orders and reports in ISO units.
var stripeExponents = map[Currency]int{"isk": 2, "ugx": 2, "mga": 0}

// StripeExponent is the number of minor-unit digits Stripe's API reads an amount in c with: the
// ISO exponent but for the currencies Stripe departs from it in (-1 for an unknown code).
func StripeExponent(c Currency) int {
	if e, ok := stripeExponents[c.lower()]; ok {
		return e
	}
	return c.Exponent()
}

// FromStripe converts an amount Stripe gives in c into ISO minor units. An amount that does not
// convert whole (an ISK amount with "decimals" Stripe says it never has) is an error, not
// rounded: money is not made or lost at the boundary. Currencies Stripe counts as ISO does, and
// codes this package does not know, pass unchanged.
func FromStripe(amount int64, c Currency) (int64, error) {
	e, ok := stripeExponents[c.lower()]
	if !ok {
		return amount, nil
	}
	v, err := rescale(amount, e, c.Exponent())
	if err != nil {
		return 0, fmt.Errorf("amount %d %s as Stripe counts it: %w", amount, c.Upper(), err)
	}
	return v, nil
}

// ToStripe converts an amount in ISO minor units of c into the unit Stripe's API reads. An amount
// Stripe cannot carry (a fraction of an ariary) is an error; StripeUnit says which amounts can.
func ToStripe(amount int64, c Currency) (int64, error) {
	e, ok := stripeExponents[c.lower()]
	if !ok {
		return amount, nil
	}
	v, err := rescale(amount, c.Exponent(), e)
	if err != nil {
		return 0, fmt.Errorf("%s cannot be sent to Stripe, which counts %s in units of %s: %w",
			Format(amount, c), c.Upper(), Format(StripeUnit(c), c), err)
	}
	return v, nil
}

// StripeUnit is the smallest amount, in ISO minor units of c, Stripe can move: 100 for MGA
// (whole ariary), 1 otherwise.
func StripeUnit(c Currency) int64 {
	unit := int64(1)
	for i := StripeExponent(c); i < c.Exponent(); i++ { // MGA only: Stripe's unit is the coarser
		unit *= 10
	}
	return unit
}

// rescale moves amount from a unit with from minor digits to one with to.
func rescale(amount int64, from, to int) (int64, error) {
	for ; from < to; from++ {
		if amount > math.MaxInt64/10 || amount < math.MinInt64/10 {
			return 0, ErrOverflow
		}
		amount *= 10
	}
	for ; from > to; from-- {
		if amount%10 != 0 {
			return 0, fmt.Errorf("not a whole unit: %w", ErrInvalidAmount)
		}
		amount /= 10
	}
	return amount, nil
}

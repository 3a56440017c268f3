package split

import (
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/money"
)

// wantComputeErr restates the contract's validation order independently of
// the implementation, using math/big so it cannot overflow.
func wantComputeErr(o Order, r Rule) error {
	if !o.Currency.Known() {
		return money.ErrUnknownCurrency
	}
	for _, v := range []int64{o.Gross, o.Subtotal, o.Tax, o.Shipping, o.Discount} {
		if v < 0 {
			return ErrNegativeAmount
		}
	}
	if o.Discount > o.Subtotal {
		return ErrDiscountExceedsSubtotal
	}
	sum := big.NewInt(o.Subtotal)
	sum.Sub(sum, big.NewInt(o.Discount)).Add(sum, big.NewInt(o.Tax)).Add(sum, big.NewInt(o.Shipping))
	if sum.Cmp(big.NewInt(o.Gross)) != 0 {
		return ErrComponentsMismatch
	}
	inBps := func(v int64) bool { return v >= 0 && v <= 10000 }
	switch {
	case !inBps(r.PlatformBps), !inBps(r.AffiliateBps):
		return ErrInvalidRule
	case r.PlatformBps+r.AffiliateBps > 10000:
		return ErrSharesOver100
	case r.MinPlatformFee < 0, r.MaxPlatformFee < 0, r.MaxPlatformFee > 0 && r.MinPlatformFee > r.MaxPlatformFee:
		return ErrInvalidRule
	}
	if o.VendorID == "" {
		return ErrMissingVendor
	}
	return nil
}

// wantSplit recomputes the split from the contract's formulas with math/big.
func wantSplit(o Order, r Rule) Split {
	base := big.NewInt(o.Subtotal - o.Discount)
	if r.CommissionOnTax {
		base.Add(base, big.NewInt(o.Tax))
	}
	if r.CommissionOnShipping {
		base.Add(base, big.NewInt(o.Shipping))
	}
	share := func(bps int64) int64 {
		v := new(big.Int).Mul(base, big.NewInt(bps))
		return v.Quo(v, big.NewInt(10000)).Int64()
	}
	var affiliate int64
	if o.AffiliateID != "" && !strings.EqualFold(o.AffiliateID, o.VendorID) {
		affiliate = share(r.AffiliateBps) // a vendor referring its own sale takes no affiliate share
	}
	platform := max(share(r.PlatformBps), r.MinPlatformFee)
	if r.MaxPlatformFee > 0 {
		platform = min(platform, r.MaxPlatformFee)
	}
	platform = min(platform, base.Int64()-affiliate)

	cur, _ := money.ParseCurrency(string(o.Currency))
	s := Split{Currency: cur, Gross: o.Gross, CommissionBase: base.Int64(), RuleVersion: r.Version, Legs: []Leg{
		{Party: PartyPlatform, PayeeID: "platform", Amount: platform},
		{Party: PartyVendor, PayeeID: o.VendorID, Amount: o.Gross - platform - affiliate},
	}}
	if o.AffiliateID != "" {
		s.Legs = append(s.Legs, Leg{Party: PartyAffiliate, PayeeID: o.AffiliateID, Amount: affiliate})
	}
	return s
}

// checkCompute runs Compute and checks it against the references above plus
// the invariants that must hold whatever the formulas say.
func checkCompute(t testing.TB, o Order, r Rule) (Split, error) {
	t.Helper()
	s, err := Compute(o, r)
	if want := wantComputeErr(o, r); want != nil {
		require.ErrorIs(t, err, want, "order %+v rule %+v", o, r)
		require.Zero(t, s)
		return s, err
	}
	require.NoError(t, err, "order %+v rule %+v", o, r)
	require.Equal(t, wantSplit(o, r), s, "order %+v rule %+v", o, r)

	total := new(big.Int)
	for _, l := range s.Legs {
		require.GreaterOrEqual(t, l.Amount, int64(0), "negative leg %+v in %+v", l, s)
		total.Add(total, big.NewInt(l.Amount))
	}
	require.Zero(t, total.Cmp(big.NewInt(o.Gross)), "legs %v sum to %s, gross %d", s.Legs, total, o.Gross)
	platform, _ := s.Leg(PartyPlatform)
	affiliate, _ := s.Leg(PartyAffiliate)
	require.LessOrEqual(t, platform.Amount+affiliate.Amount, s.CommissionBase, "commissions exceed base in %+v", s)
	return s, nil
}

// checkRefund checks AllocateRefund against its contract for any input.
func checkRefund(t testing.TB, remaining []int64, amount int64) ([]int64, error) {
	t.Helper()
	parts, err := AllocateRefund(remaining, amount)
	total, negative := new(big.Int), false
	for _, r := range remaining {
		total.Add(total, big.NewInt(r))
		negative = negative || r < 0
	}
	switch {
	case amount < 0 || negative:
		require.ErrorIs(t, err, ErrNegativeAmount)
	case !total.IsInt64():
		require.ErrorIs(t, err, money.ErrOverflow)
	case amount > total.Int64():
		require.ErrorIs(t, err, ErrRefundExceedsRemaining)
	default:
		require.NoError(t, err, "remaining %v amount %d", remaining, amount)
	}
	if err != nil {
		require.Nil(t, parts)
		return nil, err
	}
	require.Len(t, parts, len(remaining))
	got := new(big.Int)
	for i, p := range parts {
		got.Add(got, big.NewInt(p))
		require.GreaterOrEqual(t, p, int64(0), "part %d of %v", i, parts)
		require.LessOrEqual(t, p, remaining[i], "part %d of %v exceeds remaining %v", i, parts, remaining)
		if total.Sign() > 0 {
			// Proportional: |p*total - amount*remaining[i]| < total.
			diff := new(big.Int).Mul(big.NewInt(p), total)
			diff.Sub(diff, new(big.Int).Mul(big.NewInt(amount), big.NewInt(remaining[i])))
			require.Negative(t, diff.CmpAbs(total), "part %d=%d not proportional: remaining %v amount %d", i, p, remaining, amount)
		}
	}
	require.Zero(t, got.Cmp(big.NewInt(amount)), "parts %v sum to %s, want %d", parts, got, amount)
	if amount == total.Int64() {
		require.Equal(t, remaining, parts, "refunding everything must reverse each leg exactly")
	}
	return parts, nil
}

var isComputeSentinel = []error{money.ErrUnknownCurrency, ErrNegativeAmount, ErrDiscountExceedsSubtotal,
	ErrComponentsMismatch, ErrInvalidRule, ErrSharesOver100, ErrMissingVendor}

func wrapsSentinel(err error, sentinels []error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// randValid draws a valid order and rule across currencies and magnitudes up
// to a quarter of int64, so three components still sum without overflow.
func randValid(rng *rand.Rand) (Order, Rule) {
	scale := []int64{100, 1_000_000, 1_000_000_000_000, math.MaxInt64 / 4}[rng.IntN(4)]
	n := func() int64 {
		if rng.IntN(5) == 0 {
			return 0
		}
		return rng.Int64N(scale + 1)
	}
	o := Order{
		Currency: []money.Currency{"usd", "jpy", "kwd", "EUR", "bhd"}[rng.IntN(5)],
		Subtotal: n(), Tax: n(), Shipping: n(), VendorID: "vendor-1",
	}
	if rng.IntN(2) == 0 {
		o.Discount = rng.Int64N(o.Subtotal + 1)
	}
	o.Gross = o.Subtotal - o.Discount + o.Tax + o.Shipping
	if rng.IntN(2) == 0 {
		o.AffiliateID = []string{"aff-1", "aff-1", "aff-1", o.VendorID, "VENDOR-1"}[rng.IntN(5)] // now and then the vendor's own referral
	}

	r := Rule{ClientID: "client-1", Version: rng.IntN(5) + 1, PlatformBps: rng.Int64N(10001)}
	r.AffiliateBps = rng.Int64N(10001 - r.PlatformBps)
	r.CommissionOnTax, r.CommissionOnShipping = rng.IntN(2) == 0, rng.IntN(2) == 0
	if rng.IntN(3) == 0 {
		r.MinPlatformFee = n()
	}
	if rng.IntN(3) == 0 {
		r.MaxPlatformFee = r.MinPlatformFee + n()
	}
	return o, r
}

// twoVendorOrder has lines of two vendors and an affiliate: A sells 6000 with a 500 discount and
// 600 tax, B sells 3000 with 300 tax, and shipping is 900.
func twoVendorOrder() Order {
	return Order{Currency: "usd", Gross: 6000 - 500 + 600 + 3000 + 300 + 900, Subtotal: 9000, Tax: 900, Shipping: 900, Discount: 500,
		AffiliateID: "aff", Lines: []Line{
			{VendorID: "A", Subtotal: 4000, Tax: 400, Discount: 500},
			{VendorID: "B", Subtotal: 3000, Tax: 300},
			{VendorID: "A", Subtotal: 2000, Tax: 200},
		}}
}

package split

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

const propertyRuns = 20000

func TestComputeProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for range propertyRuns {
		o, r := randValid(rng)
		s, err := checkCompute(t, o, r)
		require.NoError(t, err)
		again, err := Compute(o, r)
		require.NoError(t, err)
		require.Equal(t, s, again, "same input, same output")
	}
}

// TestComputePropertyInvalid perturbs valid inputs so every rejection path is
// exercised with random values, not only the hand-written cases.
func TestComputePropertyInvalid(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	perturb := []func(o *Order, r *Rule){
		func(o *Order, _ *Rule) { o.Currency = "zzz" },
		func(o *Order, _ *Rule) { o.Tax = -1 - rng.Int64N(1000) },
		func(o *Order, _ *Rule) { o.Discount = o.Subtotal + 1 + rng.Int64N(1000) },
		func(o *Order, _ *Rule) { o.Gross += 1 + rng.Int64N(1000) },
		func(o *Order, _ *Rule) { o.Gross -= 1 + rng.Int64N(1000) },
		func(_ *Order, r *Rule) { r.PlatformBps = 10001 + rng.Int64N(1000) },
		func(_ *Order, r *Rule) { r.AffiliateBps = 10001 - r.PlatformBps + rng.Int64N(r.PlatformBps+1) },
		func(_ *Order, r *Rule) {
			r.MaxPlatformFee, r.MinPlatformFee = 1+rng.Int64N(1000), 1001+rng.Int64N(1000)
		},
		func(o *Order, _ *Rule) { o.VendorID = "" },
		func(o *Order, _ *Rule) { o.Subtotal, o.Gross = math.MaxInt64, math.MaxInt64 },
	}
	for range propertyRuns {
		o, r := randValid(rng)
		perturb[rng.IntN(len(perturb))](&o, &r)
		_, _ = checkCompute(t, o, r) // checkCompute asserts the expected outcome
	}
}

// TestCommissionBaseExcludesPassThrough: with the flags off, tax and
// shipping only move the vendor leg, and the discount reduces the base.
func TestCommissionBaseExcludesPassThrough(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for range propertyRuns {
		o, r := randValid(rng)
		r.CommissionOnTax, r.CommissionOnShipping = false, false
		s, err := checkCompute(t, o, r)
		require.NoError(t, err)
		require.Equal(t, o.Subtotal-o.Discount, s.CommissionBase)

		bare := o
		bare.Tax, bare.Shipping = 0, 0
		bare.Gross = o.Subtotal - o.Discount
		b, err := checkCompute(t, bare, r)
		require.NoError(t, err)
		require.Equal(t, s.CommissionBase, b.CommissionBase)
		require.Equal(t, s.Legs[0], b.Legs[0], "tax/shipping changed the platform leg")
		if o.AffiliateID != "" {
			require.Equal(t, s.Legs[2], b.Legs[2], "tax/shipping changed the affiliate leg")
		}
		require.Equal(t, o.Tax+o.Shipping, s.Legs[1].Amount-b.Legs[1].Amount, "vendor keeps tax and shipping")

		if o.Discount < o.Subtotal {
			more := o
			more.Discount++
			more.Gross--
			m, err := checkCompute(t, more, r)
			require.NoError(t, err)
			require.Equal(t, s.CommissionBase-1, m.CommissionBase, "discount must come off the base")
		}
	}
}

// TestRefundSequenceProperty replays random partial refunds against a real
// split, then refunds the rest and expects every leg reversed exactly.
func TestRefundSequenceProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for range propertyRuns / 4 {
		o, r := randValid(rng)
		s, err := checkCompute(t, o, r)
		require.NoError(t, err)
		original := s.Amounts()
		remaining := append([]int64(nil), original...)
		refunded := make([]int64, len(original))
		left := o.Gross

		for range rng.IntN(6) {
			if left < math.MaxInt64 {
				_, err := AllocateRefund(remaining, left+1)
				require.ErrorIs(t, err, ErrRefundExceedsRemaining)
			}
			amount := rng.Int64N(left + 1)
			if rng.IntN(2) == 0 {
				amount = min(left, rng.Int64N(100)) // small refunds stress rounding
			}
			parts, err := checkRefund(t, remaining, amount)
			require.NoError(t, err)
			for i, p := range parts {
				remaining[i] -= p
				refunded[i] += p
			}
			left -= amount
		}

		parts, err := checkRefund(t, remaining, left)
		require.NoError(t, err)
		require.Equal(t, remaining, parts, "final refund must take exactly what remains")
		for i, p := range parts {
			refunded[i] += p
		}
		require.Equal(t, original, refunded, "refunds over the sequence must reverse each leg exactly")
	}
}

package split

import (
	"errors"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestComputeMultiVendorOrder(t *testing.T) {
	// Two vendors: A sells 6000 with a 500 discount and 600 tax, B sells 3000 with 300 tax.
	// Shipping 900 is shared by net amount 5500 : 3000 → 582.35… and 317.64… → 582 + 318 (largest remainder).
	o := twoVendorOrder()
	s, err := Compute(o, Rule{Version: 2, PlatformBps: 1000, AffiliateBps: 500})
	require.NoError(t, err)
	require.Equal(t, []Leg{
		{Party: PartyPlatform, PayeeID: "platform", Amount: 550 + 300},
		{Party: PartyVendor, PayeeID: "A", Amount: 5500 + 600 + 582 - 550 - 275},
		{Party: PartyVendor, PayeeID: "B", Amount: 3000 + 300 + 318 - 300 - 150},
		{Party: PartyAffiliate, PayeeID: "aff", Amount: 275 + 150},
	}, s.Legs)
	require.Equal(t, o.Gross, s.Sum())
	require.EqualValues(t, 8500, s.CommissionBase, "tax and shipping excluded, discount deducted")
	require.Equal(t, 2, s.RuleVersion)
}

func TestComputeLinesRejectsInconsistentLines(t *testing.T) {
	base := Order{Currency: "usd", Gross: 1000, Subtotal: 1000, Lines: []Line{{VendorID: "A", Subtotal: 600}, {VendorID: "B", Subtotal: 400}}}
	tests := []struct {
		name string
		edit func(*Order)
		want error
	}{
		{"lines short of subtotal", func(o *Order) { o.Lines[1].Subtotal = 300 }, ErrComponentsMismatch},
		{"missing vendor", func(o *Order) { o.Lines[0].VendorID = "" }, ErrMissingVendor},
		{"negative line", func(o *Order) { o.Lines[0].Tax = -1 }, ErrNegativeAmount},
		{"line discount over its subtotal", func(o *Order) {
			o.Discount, o.Gross = 500, 500
			o.Lines[1].Discount = 500
		}, ErrDiscountExceedsSubtotal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			o.Lines = append([]Line(nil), base.Lines...)
			tt.edit(&o)
			_, err := Compute(o, Rule{PlatformBps: 1000})
			require.True(t, errors.Is(err, tt.want), "got %v", err)
		})
	}
}

// Property: for random multi-vendor orders the legs sum to gross, none is negative, and each
// vendor gets at least its own tax (its commission never touches tax or shipping).
func TestComputeLinesProperties(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for i := 0; i < 5000; i++ {
		n := 1 + rng.Intn(5)
		o := Order{Currency: "usd", AffiliateID: []string{"", "aff"}[rng.Intn(2)], Shipping: rng.Int63n(5000)}
		for j := 0; j < n; j++ {
			sub := rng.Int63n(100000)
			l := Line{VendorID: string(rune('A' + rng.Intn(3))), Subtotal: sub, Tax: rng.Int63n(10000), Discount: rng.Int63n(sub + 1)}
			o.Lines = append(o.Lines, l)
			o.Subtotal, o.Tax, o.Discount = o.Subtotal+l.Subtotal, o.Tax+l.Tax, o.Discount+l.Discount
		}
		o.Gross = o.Subtotal - o.Discount + o.Tax + o.Shipping
		r := Rule{PlatformBps: rng.Int63n(5000), AffiliateBps: rng.Int63n(5000), MinPlatformFee: rng.Int63n(100)}
		s, err := Compute(o, r)
		require.NoError(t, err)
		require.Equal(t, o.Gross, s.Sum())
		taxBy := map[string]int64{}
		for _, l := range o.Lines {
			taxBy[l.VendorID] += l.Tax
		}
		for _, l := range s.Legs {
			require.GreaterOrEqual(t, l.Amount, int64(0))
			if l.Party == PartyVendor {
				require.GreaterOrEqual(t, l.Amount, taxBy[l.PayeeID], "vendor %s keeps its tax", l.PayeeID)
			}
		}
		again, err := Compute(o, r)
		require.NoError(t, err)
		require.Equal(t, s, again)
	}
}

// A multi-vendor order's extras (a tip, duties, fees) are shared between the vendors as shipping
// is, by net amount, and are commissioned by no rule: the commission base is the one without them.
func TestComputeMultiVendorOrderSharesExtrasUncommissioned(t *testing.T) {
	o := twoVendorOrder()
	// Extras 1700 by net 5500 : 3000 → 1100 and 600 exactly.
	o.Extras, o.Gross = 1700, o.Gross+1700
	rule := Rule{Version: 2, PlatformBps: 1000, AffiliateBps: 500, CommissionOnShipping: true}
	s, err := Compute(o, rule)
	require.NoError(t, err)
	// Base A 5500 + 582 shipping = 6082: platform 608, affiliate 304; B 3000 + 318 = 3318: 331, 165.
	require.Equal(t, []Leg{
		{Party: PartyPlatform, PayeeID: "platform", Amount: 608 + 331},
		{Party: PartyVendor, PayeeID: "A", Amount: 5500 + 600 + 582 + 1100 - 608 - 304},
		{Party: PartyVendor, PayeeID: "B", Amount: 3000 + 300 + 318 + 600 - 331 - 165},
		{Party: PartyAffiliate, PayeeID: "aff", Amount: 304 + 165},
	}, s.Legs)
	require.Equal(t, o.Gross, s.Sum())
	require.EqualValues(t, 8500+900, s.CommissionBase, "shipping commissioned, as the rule says; the extras not")
}

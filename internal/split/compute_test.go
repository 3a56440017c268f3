package split

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/money"
)

// legs is shorthand for the expected amounts in leg order.
type legs []int64

// TestComputeExamples pins hand-checked numbers; the arithmetic is in the
// comment next to each case so a reviewer can redo it.
func TestComputeExamples(t *testing.T) {
	tests := []struct {
		name  string
		order Order
		rule  Rule
		base  int64
		want  legs // platform, vendor[, affiliate]
	}{
		{
			// base 10000-1000 = 9000; platform 9000*10% = 900;
			// affiliate 9000*2.5% = 225; vendor 10310-900-225 = 9185.
			name:  "usd with tax shipping discount affiliate",
			order: Order{Currency: "usd", Gross: 10310, Subtotal: 10000, Discount: 1000, Tax: 810, Shipping: 500, VendorID: "v1", AffiliateID: "a1"},
			rule:  Rule{PlatformBps: 1000, AffiliateBps: 250},
			base:  9000, want: legs{900, 9185, 225},
		},
		{
			// 999*3.33% = 33.2667 -> 33; 999*1.25% = 12.4875 -> 12; vendor 954 keeps both fractions.
			name:  "usd floors and vendor keeps leftovers",
			order: Order{Currency: "USD", Gross: 999, Subtotal: 999, VendorID: "v1", AffiliateID: "a1"},
			rule:  Rule{PlatformBps: 333, AffiliateBps: 125},
			base:  999, want: legs{33, 954, 12},
		},
		{
			// No affiliate id: the 5% affiliate share is not taken and stays with the vendor.
			name:  "usd affiliate share stays with vendor when absent",
			order: Order{Currency: "usd", Gross: 10000, Subtotal: 10000, VendorID: "v1"},
			rule:  Rule{PlatformBps: 1000, AffiliateBps: 500},
			base:  10000, want: legs{1000, 9000},
		},
		{
			// The rule's 30 minimum is in USD: in USD it applies, whatever the case of the codes.
			name:  "min fee in its currency",
			order: Order{Currency: "USD", Gross: 1000, Subtotal: 1000, VendorID: "v1"},
			rule:  Rule{PlatformBps: 100, MinPlatformFee: 30, FeeCurrency: "usd"},
			base:  1000, want: legs{30, 970},
		},
		{
			// A 0.30 USD minimum is not ¥30: 1000 * 1% = 10 yen, the percentage alone.
			name:  "min fee in another currency does not apply",
			order: Order{Currency: "jpy", Gross: 1000, Subtotal: 1000, VendorID: "v1"},
			rule:  Rule{PlatformBps: 100, MinPlatformFee: 30, FeeCurrency: "usd"},
			base:  1000, want: legs{10, 990},
		},
		{
			// A 25.00 USD cap is not 2.500 KWD: 1,000,000 fils * 5% = 50,000, uncapped.
			name:  "max fee in another currency does not apply",
			order: Order{Currency: "kwd", Gross: 1000000, Subtotal: 1000000, VendorID: "v1"},
			rule:  Rule{PlatformBps: 500, MaxPlatformFee: 2500, FeeCurrency: "usd"},
			base:  1000000, want: legs{50000, 950000},
		},
		{
			// A rule recorded before fee_currency existed (a run's history) keeps its bounds in
			// any currency, as it had them then.
			name:  "rule without fee currency bounds every currency",
			order: Order{Currency: "jpy", Gross: 1000, Subtotal: 1000, VendorID: "v1"},
			rule:  Rule{PlatformBps: 100, MinPlatformFee: 30},
			base:  1000, want: legs{30, 970},
		},
		{
			// 1000 * 1% = 10, raised to the 30 minimum; vendor 970.
			name:  "usd min fee",
			order: Order{Currency: "usd", Gross: 1000, Subtotal: 1000, VendorID: "v1"},
			rule:  Rule{PlatformBps: 100, MinPlatformFee: 30},
			base:  1000, want: legs{30, 970},
		},
		{
			// 1,000,000 * 5% = 50,000, capped at 2,500; vendor 997,500.
			name:  "usd max fee",
			order: Order{Currency: "usd", Gross: 1000000, Subtotal: 1000000, VendorID: "v1"},
			rule:  Rule{PlatformBps: 500, MinPlatformFee: 100, MaxPlatformFee: 2500},
			base:  1000000, want: legs{2500, 997500},
		},
		{
			// base 100; affiliate 10; min fee 95 capped at base-affiliate = 90;
			// the 50 tax is never eaten by the minimum; vendor 150-90-10 = 50.
			name:  "usd min fee capped at base minus affiliate",
			order: Order{Currency: "usd", Gross: 150, Subtotal: 100, Tax: 50, VendorID: "v1", AffiliateID: "a1"},
			rule:  Rule{AffiliateBps: 1000, MinPlatformFee: 95},
			base:  100, want: legs{90, 50, 10},
		},
		{
			// 1000 * 10.5% = 105; tax 100 is not commissionable; vendor 995.
			name:  "jpy tax excluded",
			order: Order{Currency: "jpy", Gross: 1100, Subtotal: 1000, Tax: 100, VendorID: "v1"},
			rule:  Rule{PlatformBps: 1050},
			base:  1000, want: legs{105, 995},
		},
		{
			// base 1100; 1100 * 10.5% = 115.5 -> 115; vendor 985.
			name:  "jpy commission on tax",
			order: Order{Currency: "jpy", Gross: 1100, Subtotal: 1000, Tax: 100, VendorID: "v1"},
			rule:  Rule{PlatformBps: 1050, CommissionOnTax: true},
			base:  1100, want: legs{115, 985},
		},
		{
			// 1 yen * 10% = 0.1 -> 0; the 5 yen minimum is capped at the 1 yen base.
			name:  "jpy one yen with min fee",
			order: Order{Currency: "jpy", Gross: 1, Subtotal: 1, VendorID: "v1"},
			rule:  Rule{PlatformBps: 1000, MinPlatformFee: 5},
			base:  1, want: legs{1, 0},
		},
		{
			// base 12345-345 = 12000; 2.75% = 330; 0.5% = 60; vendor 13000-330-60 = 12610.
			name:  "kwd shipping excluded",
			order: Order{Currency: "kwd", Gross: 13000, Subtotal: 12345, Discount: 345, Shipping: 1000, VendorID: "v1", AffiliateID: "a1"},
			rule:  Rule{PlatformBps: 275, AffiliateBps: 50},
			base:  12000, want: legs{330, 12610, 60},
		},
		{
			// base 13000; 2.75% = 357.5 -> 357; 0.5% = 65; vendor 13000-357-65 = 12578.
			name:  "kwd commission on shipping",
			order: Order{Currency: "kwd", Gross: 13000, Subtotal: 12345, Discount: 345, Shipping: 1000, VendorID: "v1", AffiliateID: "a1"},
			rule:  Rule{PlatformBps: 275, AffiliateBps: 50, CommissionOnShipping: true},
			base:  13000, want: legs{357, 12578, 65},
		},
		{
			// A tip, duties or fees (extras 2000) are in the gross and never commissioned, not
			// even by a rule that commissions shipping and tax: base 12000 + 1000 shipping + 810
			// tax = 13810; 2.75% = 379.775 -> 379; 0.5% = 69.05 -> 69; vendor 15810-379-69 = 15362.
			name:  "kwd extras never commissioned",
			order: Order{Currency: "kwd", Gross: 15810, Subtotal: 12345, Discount: 345, Tax: 810, Shipping: 1000, Extras: 2000, VendorID: "v1", AffiliateID: "a1"},
			rule:  Rule{PlatformBps: 275, AffiliateBps: 50, CommissionOnShipping: true, CommissionOnTax: true},
			base:  13810, want: legs{379, 15362, 69},
		},
		{
			// A minimum fee takes at most the commission base, never the extras: base 100, the
			// 2.00 minimum capped to 100, the 5.00 tip all the vendor's.
			name:  "usd minimum fee leaves extras alone",
			order: Order{Currency: "usd", Gross: 600, Subtotal: 100, Extras: 500, VendorID: "v1"},
			rule:  Rule{PlatformBps: 1000, MinPlatformFee: 200, CommissionOnShipping: true},
			base:  100, want: legs{100, 500},
		},
		{
			// Everything commissionable, 100% split: vendor keeps nothing.
			name:  "kwd all shares taken",
			order: Order{Currency: "kwd", Gross: 1001, Subtotal: 1001, VendorID: "v1", AffiliateID: "a1"},
			rule:  Rule{PlatformBps: 5000, AffiliateBps: 5000},
			base:  1001, want: legs{500, 1, 500},
		},
		{
			name:  "zero gross",
			order: Order{Currency: "usd", VendorID: "v1", AffiliateID: "a1"},
			rule:  Rule{PlatformBps: 1000, AffiliateBps: 1000, MinPlatformFee: 50},
			base:  0, want: legs{0, 0, 0},
		},
		{
			// The 128-bit intermediate keeps MaxInt64 * 10000 exact.
			name:  "max int64 gross",
			order: Order{Currency: "jpy", Gross: math.MaxInt64, Subtotal: math.MaxInt64, VendorID: "v1"},
			rule:  Rule{PlatformBps: 10000},
			base:  math.MaxInt64, want: legs{math.MaxInt64, 0},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Compute(tc.order, tc.rule)
			require.NoError(t, err)
			cur, err := money.ParseCurrency(string(tc.order.Currency))
			require.NoError(t, err)
			assert.Equal(t, cur, s.Currency, "currency is normalized to lowercase")
			assert.Equal(t, tc.order.Gross, s.Gross)
			assert.Equal(t, tc.base, s.CommissionBase)
			assert.Equal(t, []int64(tc.want), s.Amounts())
			assert.Equal(t, tc.order.Gross, s.Sum())

			require.GreaterOrEqual(t, len(s.Legs), 2)
			assert.Equal(t, Leg{Party: PartyPlatform, PayeeID: "platform", Amount: tc.want[0]}, s.Legs[0])
			assert.Equal(t, Leg{Party: PartyVendor, PayeeID: tc.order.VendorID, Amount: tc.want[1]}, s.Legs[1])
			if tc.order.AffiliateID != "" {
				require.Len(t, s.Legs, 3)
				assert.Equal(t, Leg{Party: PartyAffiliate, PayeeID: tc.order.AffiliateID, Amount: tc.want[2]}, s.Legs[2])
			} else {
				assert.Len(t, s.Legs, 2)
			}
		})
	}
}

func TestComputeRuleVersion(t *testing.T) {
	s, err := Compute(Order{Currency: "usd", Gross: 100, Subtotal: 100, VendorID: "v"}, Rule{ClientID: "c", Version: 7})
	require.NoError(t, err)
	assert.Equal(t, 7, s.RuleVersion)
}

func TestComputeRejects(t *testing.T) {
	valid := Order{Currency: "usd", Gross: 1100, Subtotal: 1000, Tax: 100, VendorID: "v1"}
	with := func(f func(o *Order)) Order { o := valid; f(&o); return o }
	okRule := Rule{PlatformBps: 1000}

	tests := []struct {
		name    string
		order   Order
		rule    Rule
		wantErr error
		field   string
	}{
		{name: "unknown currency", order: with(func(o *Order) { o.Currency = "xyz" }), rule: okRule, wantErr: money.ErrUnknownCurrency, field: `"xyz"`},
		{name: "empty currency", order: with(func(o *Order) { o.Currency = "" }), rule: okRule, wantErr: money.ErrUnknownCurrency, field: "currency"},
		{name: "negative gross", order: with(func(o *Order) { o.Gross = -1 }), rule: okRule, wantErr: ErrNegativeAmount, field: "gross -1"},
		{name: "negative subtotal", order: with(func(o *Order) { o.Subtotal = -1 }), rule: okRule, wantErr: ErrNegativeAmount, field: "subtotal -1"},
		{name: "negative tax", order: with(func(o *Order) { o.Tax = -2 }), rule: okRule, wantErr: ErrNegativeAmount, field: "tax -2"},
		{name: "negative shipping", order: with(func(o *Order) { o.Shipping = -3 }), rule: okRule, wantErr: ErrNegativeAmount, field: "shipping -3"},
		{name: "negative discount", order: with(func(o *Order) { o.Discount = -4 }), rule: okRule, wantErr: ErrNegativeAmount, field: "discount -4"},
		{name: "negative extras", order: with(func(o *Order) { o.Extras = -5 }), rule: okRule, wantErr: ErrNegativeAmount, field: "extras -5"},
		{name: "extras not in gross", order: with(func(o *Order) { o.Extras = 5 }), rule: okRule, wantErr: ErrComponentsMismatch, field: "extras 5"},
		{name: "discount exceeds subtotal", order: with(func(o *Order) { o.Discount = 1001 }), rule: okRule, wantErr: ErrDiscountExceedsSubtotal, field: "discount 1001"},
		{name: "gross too high", order: with(func(o *Order) { o.Gross = 1101 }), rule: okRule, wantErr: ErrComponentsMismatch, field: "gross 1101"},
		{name: "gross too low", order: with(func(o *Order) { o.Gross = 1000 }), rule: okRule, wantErr: ErrComponentsMismatch, field: "= 1100"},
		{name: "components overflow", order: with(func(o *Order) { o.Subtotal, o.Tax, o.Gross = math.MaxInt64, 1, math.MaxInt64 }), rule: okRule, wantErr: money.ErrOverflow, field: "overflows"},
		{name: "rule bps out of range", order: valid, rule: Rule{PlatformBps: 10001}, wantErr: ErrInvalidRule, field: "platform_bps 10001"},
		{name: "rule shares over 100", order: valid, rule: Rule{PlatformBps: 6000, AffiliateBps: 4001}, wantErr: ErrSharesOver100, field: "affiliate_bps 4001"},
		{name: "rule negative min", order: valid, rule: Rule{MinPlatformFee: -1}, wantErr: ErrInvalidRule, field: "min_platform_fee -1"},
		{name: "rule negative max", order: valid, rule: Rule{MaxPlatformFee: -1}, wantErr: ErrInvalidRule, field: "max_platform_fee -1"},
		{name: "rule min above max", order: valid, rule: Rule{MinPlatformFee: 10, MaxPlatformFee: 5}, wantErr: ErrInvalidRule, field: "max_platform_fee 5"},
		{name: "missing vendor", order: with(func(o *Order) { o.VendorID = "" }), rule: okRule, wantErr: ErrMissingVendor, field: "vendor_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Compute(tc.order, tc.rule)
			require.ErrorIs(t, err, tc.wantErr)
			assert.Contains(t, err.Error(), tc.field)
			assert.Zero(t, s, "no partial split on error")
		})
	}
	// The overflow case is still a components mismatch: no int64 gross can equal it.
	_, err := Compute(with(func(o *Order) { o.Subtotal, o.Tax, o.Gross = math.MaxInt64, 1, math.MaxInt64 }), okRule)
	require.ErrorIs(t, err, ErrComponentsMismatch)
}

func TestSplitHelpers(t *testing.T) {
	s := Split{Legs: []Leg{
		{Party: PartyPlatform, PayeeID: "platform", Amount: 10},
		{Party: PartyVendor, PayeeID: "v1", Amount: 85},
		{Party: PartyAffiliate, PayeeID: "a1", Amount: 5},
	}}
	l, ok := s.Leg(PartyVendor)
	require.True(t, ok)
	assert.Equal(t, "v1", l.PayeeID)
	_, ok = Split{Legs: s.Legs[:2]}.Leg(PartyAffiliate)
	assert.False(t, ok)

	assert.Equal(t, int64(100), s.Sum())
	sum, err := s.CheckedSum()
	require.NoError(t, err)
	assert.Equal(t, int64(100), sum)
	assert.Equal(t, []int64{10, 85, 5}, s.Amounts())

	bad := Split{Legs: []Leg{{Party: PartyVendor, Amount: math.MaxInt64}, {Party: PartyAffiliate, Amount: 1}}}
	_, err = bad.CheckedSum()
	require.ErrorIs(t, err, money.ErrOverflow)
	assert.Contains(t, err.Error(), "legs[1] (affiliate)")
}

package split

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/money"
)

// TestSelfReferralTakesNoAffiliateShare: an order whose affiliate is its own vendor (a vendor's
// own referral link or code: Shopify's `ref` note attribute naming the shop's vendor, metadata
// affiliate_id = vendor_id) has no third party to pay. A payee has one kind, and the payout checks
// it (ResolvePayee: "payee X is registered as vendor, not as affiliate"), so an affiliate leg to the vendor is
// held for good, an admin's release held again, and the share paid to nobody. The share is the
// vendor's, as when the order names no affiliate; the affiliate leg stays, at 0, so the split
// keeps its shape (a correction matches legs by party and payee).
func TestSelfReferralTakesNoAffiliateShare(t *testing.T) {
	rule := Rule{PlatformBps: 1000, AffiliateBps: 500, MinPlatformFee: 300, FeeCurrency: "usd"}
	tests := []struct {
		name  string
		order Order
		want  []Leg
	}{
		{
			name:  "single vendor",
			order: Order{Currency: "usd", Gross: 10800, Subtotal: 10000, Tax: 800, VendorID: "acme-v", AffiliateID: "acme-v"},
			// platform 10% of 10000; the 5% is not taken: vendor 10800 - 1000.
			want: []Leg{{PartyPlatform, "platform", 1000}, {PartyVendor, "acme-v", 9800}, {PartyAffiliate, "acme-v", 0}},
		},
		{
			name:  "single vendor with the minimum fee",
			order: Order{Currency: "usd", Gross: 2000, Subtotal: 2000, VendorID: "acme-v", AffiliateID: "acme-v"},
			// 10% is 200, raised to the 300 minimum: no affiliate share to leave room for.
			want: []Leg{{PartyPlatform, "platform", 300}, {PartyVendor, "acme-v", 1700}, {PartyAffiliate, "acme-v", 0}},
		},
		{
			// A refers the whole cart. A is a vendor payee, so an affiliate leg to A could never
			// be paid, whatever lines it came from: no share is taken, B keeps its 5% too.
			name: "multi-vendor, the affiliate is one of the vendors",
			order: Order{Currency: "usd", Gross: 9000, Subtotal: 9000, AffiliateID: "acme-a", Lines: []Line{
				{VendorID: "acme-a", Subtotal: 6000}, {VendorID: "acme-b", Subtotal: 3000},
			}},
			want: []Leg{{PartyPlatform, "platform", 600 + 300}, {PartyVendor, "acme-a", 5400}, {PartyVendor, "acme-b", 2700}, {PartyAffiliate, "acme-a", 0}},
		},
		{
			// Another vendor of the client recommends the cart: the caller says so.
			name: "multi-vendor, the affiliate is a vendor elsewhere",
			order: Order{Currency: "usd", Gross: 9000, Subtotal: 9000, AffiliateID: "acme-c", AffiliateIsVendor: true, Lines: []Line{
				{VendorID: "acme-a", Subtotal: 6000}, {VendorID: "acme-b", Subtotal: 3000},
			}},
			want: []Leg{{PartyPlatform, "platform", 900}, {PartyVendor, "acme-a", 5400}, {PartyVendor, "acme-b", 2700}, {PartyAffiliate, "acme-c", 0}},
		},
		{
			// Payee IDs match without regard to case (store.RegisteredPayeeID, ResolvePayee's
			// twin), so "Acme-V" is the vendor "acme-v": its leg would be held as a vendor's.
			name:  "single vendor, the affiliate in another case",
			order: Order{Currency: "usd", Gross: 10800, Subtotal: 10000, Tax: 800, VendorID: "acme-v", AffiliateID: "Acme-V"},
			want:  []Leg{{PartyPlatform, "platform", 1000}, {PartyVendor, "acme-v", 9800}, {PartyAffiliate, "Acme-V", 0}},
		},
		{
			name: "multi-vendor, the affiliate one of the vendors in another case",
			order: Order{Currency: "usd", Gross: 9000, Subtotal: 9000, AffiliateID: "ACME-A", Lines: []Line{
				{VendorID: "acme-a", Subtotal: 6000}, {VendorID: "acme-b", Subtotal: 3000},
			}},
			want: []Leg{{PartyPlatform, "platform", 600 + 300}, {PartyVendor, "acme-a", 5400}, {PartyVendor, "acme-b", 2700}, {PartyAffiliate, "ACME-A", 0}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Compute(tt.order, rule)
			require.NoError(t, err)
			assert.Equal(t, tt.want, s.Legs)
			assert.Equal(t, tt.order.Gross, s.Sum())
		})
	}
}

// TestAffiliateShareIsNotMovedByThePlatformsBounds: the affiliate's share is its rate of the
// commission base whatever the platform's minimum or maximum does; the bounds move money between
// the platform and the vendor only (the vendor gets the remainder), and a minimum never takes the
// affiliate's share, nor tax or shipping. A bound in another currency is not applied.
func TestAffiliateShareIsNotMovedByThePlatformsBounds(t *testing.T) {
	o := Order{Currency: "usd", Gross: 10800, Subtotal: 10000, Tax: 500, Shipping: 300, VendorID: "v", AffiliateID: "a"}
	tests := []struct {
		name string
		rule Rule
		want legs // platform, vendor, affiliate
	}{
		{"no bounds", Rule{PlatformBps: 1000, AffiliateBps: 500}, legs{1000, 9300, 500}},
		{"capped: the vendor gets what the platform does not take", Rule{PlatformBps: 1000, AffiliateBps: 500, MaxPlatformFee: 300, FeeCurrency: "usd"}, legs{300, 10000, 500}},
		{"raised: from the vendor's part", Rule{PlatformBps: 1000, AffiliateBps: 500, MinPlatformFee: 3000, FeeCurrency: "usd"}, legs{3000, 7300, 500}},
		{"raised past the base: the affiliate's share, tax and shipping stay", Rule{PlatformBps: 1000, AffiliateBps: 500, MinPlatformFee: 20000, FeeCurrency: "usd"}, legs{9500, 800, 500}},
		{"a minimum in another currency", Rule{PlatformBps: 1000, AffiliateBps: 500, MinPlatformFee: 3000, FeeCurrency: "eur"}, legs{1000, 9300, 500}},
		{"a cap in another currency", Rule{PlatformBps: 1000, AffiliateBps: 500, MaxPlatformFee: 300, FeeCurrency: "jpy"}, legs{1000, 9300, 500}},
		{"affiliate_bps 0: a leg of nothing", Rule{PlatformBps: 1000, MinPlatformFee: 3000, FeeCurrency: "usd"}, legs{3000, 7800, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Compute(o, tt.rule)
			require.NoError(t, err)
			assert.Equal(t, tt.want, amounts(s))
			assert.Equal(t, o.Gross, s.Sum())
		})
	}
}

// TestMultiVendorRefundsAccountForEveryUnit: partial refunds of multi-vendor orders (JPY, USD, KWD;
// vendors with nothing, a minimum fee bigger than a small vendor's part, an affiliate) are
// shared over every leg, the platform's, each vendor's and the affiliate's, in proportion to
// what each still has: the parts sum to the refund, none is negative or more than its leg has,
// and refunding the rest gives back exactly what each leg had.
func TestMultiVendorRefundsAccountForEveryUnit(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for range 3000 {
		o := Order{Currency: []money.Currency{"jpy", "usd", "kwd"}[rng.IntN(3)], AffiliateID: []string{"", "aff"}[rng.IntN(2)], Shipping: rng.Int64N(3000)}
		for range 1 + rng.IntN(5) {
			sub := []int64{0, 1, 7, rng.Int64N(50000)}[rng.IntN(4)]
			l := Line{VendorID: string(rune('A' + rng.IntN(4))), Subtotal: sub, Tax: rng.Int64N(2000), Discount: rng.Int64N(sub + 1)}
			o.Lines = append(o.Lines, l)
			o.Subtotal, o.Tax, o.Discount = o.Subtotal+l.Subtotal, o.Tax+l.Tax, o.Discount+l.Discount
		}
		o.Gross = o.Subtotal - o.Discount + o.Tax + o.Shipping
		r := Rule{PlatformBps: rng.Int64N(3000), AffiliateBps: rng.Int64N(3000), MinPlatformFee: rng.Int64N(500), MaxPlatformFee: 0}
		s, err := Compute(o, r)
		require.NoError(t, err)
		if rng.IntN(2) == 0 {
			s = s.PayableIn(100)
		}
		require.Equal(t, o.Gross, s.Sum())
		remaining := s.Amounts()
		left := o.Gross
		for left > 0 {
			amount := left
			if rng.IntN(3) > 0 {
				amount = rng.Int64N(left + 1)
			}
			parts, err := AllocateRefund(remaining, amount)
			require.NoError(t, err)
			var sum int64
			for i, p := range parts {
				require.GreaterOrEqual(t, p, int64(0))
				require.LessOrEqual(t, p, remaining[i], "leg %d: %v of %v", i, parts, remaining)
				remaining[i] -= p
				sum += p
			}
			require.Equal(t, amount, sum, "every unit of the refund is someone's")
			left -= amount
		}
		require.Equal(t, make([]int64, len(remaining)), remaining, "a refund in full gives back each leg")
	}
}

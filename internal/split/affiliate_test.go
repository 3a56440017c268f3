package split

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSelfReferralTakesNoAffiliateShare: an order whose affiliate is its own vendor (a vendor's
// own referral link or code: Shopify's `ref` note attribute naming the shop's vendor, metadata
// affiliate_id = vendor_id) has no third party to pay. A payee has one kind, and the payout checks
// it (ResolvePayee: "payee X is a vendor, not an affiliate"), so an affiliate leg to the vendor is
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

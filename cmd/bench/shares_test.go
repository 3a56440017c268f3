package main

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/split"
)

// TestBenchSharesAgreeWithTheSplit: the bench's own working of a rule (benchRule.shares, the
// oracle checkShares compares the books with) gives what split.Compute gives, for every order
// and rule of a day; if the two ever differ, one of them is wrong and the bench says so.
func TestBenchSharesAgreeWithTheSplit(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 0x5eed))
	clients := planClients(rng, 40, "7")
	for i := range 3000 {
		c := clients[rng.IntN(len(clients))]
		p, md := order(rng, c, "o")
		num := func(k string) int64 {
			var n int64
			for _, ch := range md[k] {
				n = 10*n + int64(ch-'0')
			}
			return n
		}
		s, err := split.Compute(split.Order{Currency: "usd", Gross: p.Gross, Subtotal: num("subtotal"), Tax: num("tax"),
			Shipping: num("shipping"), Discount: num("discount"), VendorID: p.VendorID, AffiliateID: p.AffiliateID},
			split.Rule{ClientID: c.ID, Version: 1, PlatformBps: c.Rule.PlatformBps, AffiliateBps: c.Rule.AffiliateBps,
				CommissionOnTax: c.Rule.OnTax, CommissionOnShipping: c.Rule.OnShipping})
		require.NoError(t, err)
		got := map[split.Party]int64{}
		for _, l := range s.Legs {
			got[l.Party] = l.Amount
		}
		want := map[split.Party]int64{split.PartyPlatform: p.WantPlatform, split.PartyVendor: p.WantVendor}
		if p.Affiliate {
			want[split.PartyAffiliate] = p.WantAffiliate
		}
		require.Equal(t, want, got, "order %d: %v, rule %+v", i, md, c.Rule)
	}
}

// TestCheckSharesCatchesWrongBooks: legs that add up and are each settled with their own
// amount, which the other checks accept, but pay the wrong party, the wrong payee, leave a payee
// unpaid, or put a refund on the platform alone.
func TestCheckSharesCatchesWrongBooks(t *testing.T) {
	p := plannedPayment{WorkflowID: "payment-stripe-pi_1", Provider: providerStripe, Currency: "usd", Gross: 10000,
		Affiliate: true, VendorID: "c-vendor-1", AffiliateID: "c-aff-1", WantPlatform: 1000, WantVendor: 8500, WantAffiliate: 500}
	good := func() ipayment.Record {
		return ipayment.Record{WorkflowID: p.WorkflowID, Gross: 10000, Currency: "usd", CapturedAt: time.Now(), Legs: []ipayment.Leg{
			{Party: split.PartyPlatform, PayeeID: "platform", Amount: 1000},
			{Party: split.PartyVendor, PayeeID: "c-vendor-1", Amount: 8500, Transferred: 8500, TransferEntryID: 7},
			{Party: split.PartyAffiliate, PayeeID: "c-aff-1", Amount: 500, Transferred: 500, TransferEntryID: 8},
		}}
	}
	tests := []struct {
		name     string
		planned  func(*plannedPayment)
		books    func(*ipayment.Record)
		wantKind string // "" for none
	}{
		{"as the rule says", nil, nil, ""},
		{"the platform keeps everything", nil, func(r *ipayment.Record) {
			r.Legs[0].Amount, r.Legs[1].Amount, r.Legs[1].Transferred, r.Legs[2].Amount, r.Legs[2].Transferred = 10000, 0, 0, 0, 0
		}, "shares"},
		{"another client's vendor paid", nil, func(r *ipayment.Record) { r.Legs[1].PayeeID = "other-vendor-3" }, "payee"},
		{"the affiliate never paid", nil, func(r *ipayment.Record) { r.Legs[2].TransferEntryID, r.Legs[2].Transferred = 0, 0 }, "payee not paid"},
		{"a leg the order has no party for", func(p *plannedPayment) {
			p.Affiliate, p.AffiliateID, p.WantVendor, p.WantAffiliate = false, "", 9000, 0
		},
			func(r *ipayment.Record) { r.Legs[1].Amount, r.Legs[1].Transferred = 8500, 8500 }, "shares"},
		{"a refund shared", func(p *plannedPayment) { p.Refunded = 2000 }, func(r *ipayment.Record) {
			r.Refunded, r.Legs[0].Refunded, r.Legs[1].Refunded, r.Legs[2].Refunded = 2000, 200, 1700, 100
		}, ""},
		{"a refund on the platform alone", func(p *plannedPayment) { p.Refunded = 2000 }, func(r *ipayment.Record) {
			r.Refunded, r.Legs[0].Refunded = 2000, 1000
			r.Legs[1].Refunded = 1000
		}, "refund shares"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pp, r := p, good()
			if tt.planned != nil {
				tt.planned(&pp)
			}
			if tt.books != nil {
				tt.books(&r)
			}
			var c checker
			c.checkShares(pp, r)
			if tt.wantKind == "" {
				assert.Empty(t, c.summary())
				return
			}
			require.NotEmpty(t, c.summary())
			assert.True(t, strings.HasPrefix(c.summary()[0], tt.wantKind+":"), "%v", c.summary())
		})
	}
}

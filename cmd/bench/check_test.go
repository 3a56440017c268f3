package main

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/ledger"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/split"
	"paysplit/testenv"
)

// A Stripe payment of 100.00 split 10.00 / 85.00 / 5.00, paid out, and the sums its entries post
// to each account when it ended right.
func paidPayment() (plannedPayment, ipayment.Record, map[string]int64) {
	p := plannedPayment{WorkflowID: "payment-stripe-pi_1", Provider: providerStripe, Ref: "pi_1", Currency: "usd", Gross: 10000,
		Affiliate: true, VendorID: "c-vendor-1", AffiliateID: "c-aff-1", WantPlatform: 1000, WantVendor: 8500, WantAffiliate: 500,
		WantStatus: ipayment.StatusPaid}
	r := ipayment.Record{WorkflowID: p.WorkflowID, Provider: providerStripe, Gross: 10000, Currency: "usd", Status: ipayment.StatusPaid,
		CapturedAt: time.Now(), Legs: []ipayment.Leg{
			{Party: split.PartyPlatform, PayeeID: "platform", Amount: 1000, State: ipayment.LegRetained},
			{Party: split.PartyVendor, PayeeID: "c-vendor-1", Destination: "acct_cvendor1", Amount: 8500, Transferred: 8500, TransferEntryID: 7,
				TransferKey: p.WorkflowID + "/transfer/vendor-c-vendor-1", State: ipayment.LegTransferred},
			{Party: split.PartyAffiliate, PayeeID: "c-aff-1", Destination: "acct_caff1", Amount: 500, Transferred: 500, TransferEntryID: 8,
				TransferKey: p.WorkflowID + "/transfer/affiliate-c-aff-1", State: ipayment.LegTransferred},
		}}
	books := map[string]int64{
		ledger.ProviderBalance(providerStripe): 1000, // the platform's share stays with the provider
		ledger.PlatformRevenue:                 -1000,
		ledger.VendorPayable("c-vendor-1"):     0,
		ledger.AffiliatePayable("c-aff-1"):     0,
	}
	return p, r, books
}

// refundedInFull is paidPayment refunded in full after its payout: both transfers reversed.
func refundedInFull(p *plannedPayment, r *ipayment.Record, books map[string]int64) {
	p.Refunded, p.WantStatus = p.Gross, ipayment.StatusRefunded
	r.Refunded, r.Status = r.Gross, ipayment.StatusRefunded
	for i := range r.Legs {
		l := &r.Legs[i]
		l.Refunded = l.Amount
		if l.Party != split.PartyPlatform {
			l.Reversed, l.State = l.Transferred, ipayment.LegReversed
		}
	}
	books[ledger.PlatformRevenue], books[ledger.ProviderBalance(providerStripe)] = 0, 0
}

// TestCheckPaymentCatchesWrongRuns: payments whose legs add up, are each settled and hold the
// right provider balance, which the checks before accepted, but whose run went wrong.
func TestCheckPaymentCatchesWrongRuns(t *testing.T) {
	tests := []struct {
		name     string
		change   func(p *plannedPayment, r *ipayment.Record, books map[string]int64)
		wantKind string // "" for none
	}{
		{"paid as the rule says", nil, ""},
		{"refunded in full after its payout", refundedInFull, ""},
		{"compensated, then refunded in full", func(p *plannedPayment, r *ipayment.Record, books map[string]int64) {
			// The payouts were undone by a compensation (a transfer refused, the others
			// reversed), then the refund came: the status says refunded, the money ends the same.
			refundedInFull(p, r, books)
			r.Compensated = "transfer to c-aff-1 refused"
			r.Legs[1].State = ipayment.LegCancelled
			r.Legs[2].State, r.Legs[2].Transferred, r.Legs[2].Reversed, r.Legs[2].TransferEntryID = ipayment.LegCancelled, 0, 0, 0
		}, "payment went wrong"},
		{"a payee leg left held under a final status", func(p *plannedPayment, r *ipayment.Record, books map[string]int64) {
			refundedInFull(p, r, books)
			r.Legs[2].State, r.Legs[2].Reason, r.Legs[2].Transferred, r.Legs[2].Reversed, r.Legs[2].TransferEntryID = ipayment.LegHeld, "payee not ready", 0, 0, 0
		}, "leg state"},
		{"a reversal still due", func(p *plannedPayment, r *ipayment.Record, books map[string]int64) {
			refundedInFull(p, r, books)
			r.Legs[1].Dues = []ipayment.Due{{Kind: ipayment.DueReversal, Cause: p.WorkflowID + "/refund/10000", Amount: 100}}
		}, "payment went wrong"},
		{"the capture credited the vendor more than its share", func(_ *plannedPayment, _ *ipayment.Record, books map[string]int64) {
			// Every entry balances and the provider's account is right, but the books still owe
			// the vendor 5.00 the platform earned.
			books[ledger.PlatformRevenue] += 500
			books[ledger.VendorPayable("c-vendor-1")] -= 500
		}, "books by account"},
		{"the affiliate's transfer debited the vendor's account", func(_ *plannedPayment, _ *ipayment.Record, books map[string]int64) {
			books[ledger.VendorPayable("c-vendor-1")] += 500
			books[ledger.AffiliatePayable("c-aff-1")] -= 500
		}, "books by account"},
		{"the payment's money moved on the other provider", func(_ *plannedPayment, _ *ipayment.Record, books map[string]int64) {
			books[ledger.ProviderBalance(providerStripe)] += 300
			books[ledger.ProviderBalance(providerPayPal)] -= 300
		}, "provider balance"},
		{"paid to a connected account not the payee's", func(_ *plannedPayment, r *ipayment.Record, _ map[string]int64) {
			r.Legs[1].Destination = "acct_cvendor2"
		}, "destination"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, r, books := paidPayment()
			if tt.change != nil {
				tt.change(&p, &r, books)
			}
			var c checker
			c.checkPayment(p, r, books)
			if tt.wantKind == "" {
				assert.Empty(t, c.summary())
				return
			}
			require.NotEmpty(t, c.summary(), "a wrong run passed")
			assert.True(t, strings.HasPrefix(c.summary()[0], tt.wantKind+":"), "%v", c.summary())
		})
	}
}

// TestCheckPayPalPayoutsReceiver: a PayPal payout of the right leg and amount made to another
// receiver than the payee's is not the payee paid.
func TestCheckPayPalPayoutsReceiver(t *testing.T) {
	p, r, books := paidPayment()
	p.WorkflowID, p.Provider, r.WorkflowID, r.Provider = "payment-paypal-CAP1", providerPayPal, "payment-paypal-CAP1", providerPayPal
	books[ledger.ProviderBalance(providerPayPal)] = books[ledger.ProviderBalance(providerStripe)]
	delete(books, ledger.ProviderBalance(providerStripe))
	for i := range r.Legs[1:] {
		l := &r.Legs[i+1]
		l.Destination = alnum(l.PayeeID) + "@payees.example.com"
		l.TransferKey = strings.Replace(l.TransferKey, "payment-stripe-pi_1", p.WorkflowID, 1)
	}
	made := func(vendorReceiver string) []testenv.PayPalPayout {
		return []testenv.PayPalPayout{
			{SenderBatchID: r.Legs[1].TransferKey, Receiver: vendorReceiver, Currency: "USD", Value: "85.00"},
			{SenderBatchID: r.Legs[2].TransferKey, Receiver: "caff1@payees.example.com", Currency: "USD", Value: "5.00"},
		}
	}
	for _, tt := range []struct {
		receiver string
		wantKind string
	}{{"cvendor1@payees.example.com", ""}, {"caff1@payees.example.com", "payout receiver"}} {
		t.Run(tt.receiver, func(t *testing.T) {
			var c checker
			c.checkPayment(p, r, maps.Clone(books))
			require.Empty(t, c.summary())
			c.checkPayPalPayouts(made(tt.receiver))
			if tt.wantKind == "" {
				assert.Empty(t, c.summary())
				return
			}
			require.NotEmpty(t, c.summary(), "a payout to another receiver passed")
			assert.True(t, strings.HasPrefix(c.summary()[0], tt.wantKind+":"), "%v", c.summary())
		})
	}
}

// TestCheckDeliveriesCatchesARedeliveryTakenAsNew: a re-delivery (same event ID) answered as a
// new event means the API stored the event twice and its payment is sent it twice; the money may
// still end right, but the day's duplicates are there to show it does not happen.
func TestCheckDeliveriesCatchesARedeliveryTakenAsNew(t *testing.T) {
	d := day{Payments: []plannedPayment{{WorkflowID: "payment-stripe-pi_1"}}, Events: []event{
		{Kind: kindCapture, Payment: 0, Parent: -1}, {Kind: kindDuplicate, Payment: 0, Parent: 0},
	}}
	for _, tt := range []struct {
		outcome  string
		wantKind string
	}{{"duplicate", ""}, {"accepted", "re-delivery taken as new"}} {
		t.Run(tt.outcome, func(t *testing.T) {
			var c checker
			c.checkDeliveries(d, []delivery{{Status: 200, Outcome: "accepted"}, {Status: 200, Outcome: tt.outcome}})
			if tt.wantKind == "" {
				assert.Empty(t, c.summary())
				return
			}
			require.NotEmpty(t, c.summary(), "a re-delivery taken as new passed")
			assert.True(t, strings.HasPrefix(c.summary()[0], tt.wantKind+":"), "%v", c.summary())
		})
	}
}

// TestCheckTransferEntriesPerPayment: a payment's transfer entries must be its legs' own, one
// each. The day's count alone let one payment's extra transfer and another's transfer booked
// under some other key cancel out, and legs naming each other's entry pass.
func TestCheckTransferEntriesPerPayment(t *testing.T) {
	p, r, _ := paidPayment()
	vendorKey, affKey := p.WorkflowID+"/transfer/vendor-c-vendor-1", p.WorkflowID+"/transfer/affiliate-c-aff-1"
	for _, tt := range []struct {
		name    string
		legs    func(r *ipayment.Record)
		entries map[int64]string
		wantErr bool
	}{
		{"each leg its own entry", nil, map[int64]string{7: vendorKey, 8: affKey}, false},
		{"the vendor paid twice (the second taken back)", nil, map[int64]string{7: vendorKey, 8: affKey, 9: vendorKey + "/1"}, true},
		{"the affiliate's transfer booked under another key", nil, map[int64]string{7: vendorKey, 8: p.WorkflowID + "/payout/affiliate-c-aff-1"}, true},
		{"the legs name each other's entry", func(r *ipayment.Record) { r.Legs[1].TransferEntryID, r.Legs[2].TransferEntryID = 8, 7 },
			map[int64]string{7: vendorKey, 8: affKey}, true},
		{"paid with no entry", func(r *ipayment.Record) { r.Legs[2].TransferEntryID = 0 }, map[int64]string{7: vendorKey}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rr := r
			rr.Legs = slices.Clone(r.Legs)
			if tt.legs != nil {
				tt.legs(&rr)
			}
			var c checker
			c.checkTransferEntries(p, rr, tt.entries)
			if !tt.wantErr {
				assert.Empty(t, c.summary())
				return
			}
			require.NotEmpty(t, c.summary(), "wrong transfer entries passed")
			assert.True(t, strings.HasPrefix(c.summary()[0], "transfer entries:"), "%v", c.summary())
		})
	}
}

package activities_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/internal/payment"
	"paysplit/internal/split"
	"paysplit/internal/store"
)

// TestComputeSplitAffiliateThatIsAVendor: the affiliate an order names (a Shopify note
// attribute, WooCommerce meta, the checkout's metadata: none checked against the payees) can be a
// payee of the client registered as a vendor, another shop's vendor recommending the cart. A
// payee has one kind, and the payout pays it only as that kind, so the affiliate leg is held for
// good: a release is held again, and the payee, in the books as a vendor, cannot be made an
// affiliate (409 payee_in_books). Its share is paid to nobody. It takes none, as an order without
// an affiliate: the share stays with the vendor, the affiliate leg stays at 0. An affiliate not
// registered (an admin can register it and release the leg) or another client's payee (held for
// an admin, never paid to it) is split as before.
func TestComputeSplitAffiliateThatIsAVendor(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, _, err := f.st.UpsertClient(ctx, store.Client{ID: "affco", Name: "Affiliate Co", DefaultCurrency: "usd"})
	require.NoError(t, err)
	for _, p := range []store.Payee{
		{ID: "affco-v", ClientID: "affco", Kind: store.KindVendor, StripeAccount: "acct_v1"},
		{ID: "affco-other-v", ClientID: "affco", Kind: store.KindVendor, StripeAccount: "acct_v1"},
		{ID: "affco-aff", ClientID: "affco", Kind: store.KindAffiliate, StripeAccount: "acct_v1"},
	} {
		_, _, err = f.st.UpsertPayee(ctx, p)
		require.NoError(t, err)
	}
	_, err = f.st.CreateRule(ctx, split.Rule{ClientID: "affco", PlatformBps: 1000, AffiliateBps: 500}, "test")
	require.NoError(t, err)

	// The leg to a vendor as an affiliate can never be paid: the payout's check holds it.
	out, err := f.a.ResolvePayee(ctx, activities.ResolvePayeeInput{PayeeID: "affco-other-v", Kind: string(split.PartyAffiliate), ClientID: "affco", Currency: "usd"})
	require.NoError(t, err)
	require.Contains(t, out.HoldReason, `"affco-other-v" is registered as vendor`)

	tests := []struct {
		affiliate     string
		vendor, share int64
	}{
		{"affco-other-v", 9000, 0},  // a vendor of the client: no share
		{"affco-v", 9000, 0},        // the order's own vendor: no share
		{"affco-aff", 8500, 500},    // an affiliate: 5%
		{"affco-nobody", 8500, 500}, // not registered: 5%, held until an admin registers it
		{"v-other", 8500, 500},      // another client's vendor: 5%, held for an admin
	}
	// Prepare reads the affiliate's payee once, with its registered ID (Enrich), and splits on
	// what it read: the same shares, whatever the spelling the capture's metadata gives it in.
	for i, tt := range tests {
		for _, spelling := range []string{tt.affiliate, strings.ToUpper(tt.affiliate)} {
			t.Run("prepared/"+spelling, func(t *testing.T) {
				id := fmt.Sprintf("payment-stripe-pi_aff_%d_%s", i, spelling)
				in := &activities.EnrichInput{WorkflowID: id, Provider: "stripe", PaymentID: "pi_aff", Gross: 10000, Currency: "usd", Fee: 1,
					Metadata: map[string]string{"client_id": "affco", "order_id": "o-aff-" + id, "vendor_id": "affco-v", "affiliate_id": spelling,
						"subtotal": "10000", "platform": "shopify"}}
				out, err := f.a.Prepare(ctx, activities.PrepareInput{WorkflowID: id, Capture: in, CapturedAt: nextSecond(), FirstRun: true})
				require.NoError(t, err)
				require.NotNil(t, out.Split, out.SplitProblem)
				want := tt.affiliate // the client's payee: taken under the ID registered
				if tt.affiliate == "affco-nobody" || tt.affiliate == "v-other" {
					want = spelling // none of the client's: as it came
				}
				assert.Equal(t, []split.Leg{
					{Party: split.PartyPlatform, PayeeID: "platform", Amount: 1000},
					{Party: split.PartyVendor, PayeeID: "affco-v", Amount: tt.vendor},
					{Party: split.PartyAffiliate, PayeeID: want, Amount: tt.share},
				}, out.Split.Legs)
			})
		}
	}
	for _, tt := range tests {
		t.Run(tt.affiliate, func(t *testing.T) {
			order := payment.Order{ClientID: "affco", OrderID: "o-aff", VendorID: "affco-v", AffiliateID: tt.affiliate, Subtotal: 10000}
			s, err := f.a.ComputeSplit(ctx, activities.ComputeSplitInput{Order: order, Gross: 10000, Currency: "usd", CapturedAt: nextSecond()})
			require.NoError(t, err)
			assert.Equal(t, []split.Leg{
				{Party: split.PartyPlatform, PayeeID: "platform", Amount: 1000},
				{Party: split.PartyVendor, PayeeID: "affco-v", Amount: tt.vendor},
				{Party: split.PartyAffiliate, PayeeID: tt.affiliate, Amount: tt.share},
			}, s.Legs)
		})
	}
}

package server

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/split"
	"paysplit/internal/store"
	"paysplit/testenv"
	"paysplit/workflows/payment"
)

// TestReleaseOfUnregisteredComesToNothingOnlyWhenNothingElseIsAsked: a release is refused
// (payee_not_registered) only when the run, which holds a released leg whose payee nobody
// registered again and then asks every held leg's and held top-up's payee at once (code path 20:
// awaitReleases, recheckHeld, askHeldDues), can do nothing with it. A top-up held for the vendor
// (its account could not receive a failed refund's give-back) is sent by that ask once the account
// can receive: an admin's retry of it is refused while a leg is held (invalid_state), so the
// release is an admin's one way to have it sent now, where the run's own asks back off to a day
// and only Stripe has Connect events.
func TestReleaseOfUnregisteredComesToNothingOnlyWhenNothingElseIsAsked(t *testing.T) {
	const client = "nothingco"
	st, ctx := storeWithClient(t, client)
	for _, p := range []store.Payee{
		{ID: "nothingco-vendor", ClientID: client, Kind: store.KindVendor, StripeAccount: "acct_nothingco"},
		{ID: "nothingco-Ann", ClientID: client, Kind: store.KindAffiliate}, // an admin's capitals
	} {
		_, _, err := st.UpsertPayee(ctx, p)
		require.NoError(t, err)
	}
	heldAffiliate := ipayment.Leg{Party: split.PartyAffiliate, PayeeID: "nothingco-nobody", Amount: 485, State: ipayment.LegHeld, Reason: `affiliate "nothingco-nobody" is not registered`}
	paidVendor := ipayment.Leg{Party: split.PartyVendor, PayeeID: "nothingco-vendor", Amount: 9545, Transferred: 9545, State: ipayment.LegTransferred}
	heldTopUp := paidVendor
	heldTopUp.Dues = []ipayment.Due{{Kind: ipayment.DueTopUp, Amount: 500, Refused: true, Held: true, Reason: "refund re_1 failed: top-up of 5.00 USD held: cannot receive transfers"}}
	nothingToSend := heldAffiliate
	nothingToSend.Refunded = nothingToSend.Amount
	twin := heldAffiliate
	twin.PayeeID = "nothingco-ann"

	for _, tc := range []struct {
		name     string
		provider string
		legs     []ipayment.Leg
		party    split.Party
		// refused: the destination the 409 tells the admin to register the payee with ("": taken)
		refused string
	}{
		{"the affiliate's payee nobody registered", "stripe", []ipayment.Leg{paidVendor, heldAffiliate}, "", "stripe_account"},
		{"named as its party", "stripe", []ipayment.Leg{paidVendor, heldAffiliate}, split.PartyAffiliate, "stripe_account"},
		{"a PayPal payment's payee is paid at its receiver", "paypal", []ipayment.Leg{paidVendor, heldAffiliate}, "", "paypal_receiver"},
		{"the vendor's top-up held: the ask after the release sends it", "stripe", []ipayment.Leg{heldTopUp, heldAffiliate}, split.PartyAffiliate, ""},
		{"the vendor's top-up held, all released", "stripe", []ipayment.Leg{heldTopUp, heldAffiliate}, "", ""},
		{"a refund left the leg nothing to send", "stripe", []ipayment.Leg{paidVendor, nothingToSend}, "", ""},
		{"registered in another case", "stripe", []ipayment.Leg{paidVendor, twin}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ipayment.Record{WorkflowID: tc.provider + ":nothingco", Provider: tc.provider, Currency: "usd", Status: ipayment.StatusHeld,
				Order: ipayment.Order{ClientID: client, OrderID: "o-1"}, Legs: tc.legs}
			err := releaseOfUnregistered(ctx, st, r, tc.party)
			if tc.refused == "" {
				require.NoError(t, err)
				return
			}
			ae := requireConflict(t, err, "payee_not_registered")
			require.Contains(t, ae.Message, "PUT /api/v1/admin/payees/nothingco-nobody")
			require.Contains(t, ae.Message, tc.refused, "where the payee is paid on the payment's rail")
		})
	}
}

// TestRetryOfMetadataNotAddingUpSaysWhatCanUnblockIt: a retry of a payment parked because its
// metadata's order does not add up is refused only while no order from the shop is there to read
// instead, on a run whose amounts compare with the metadata's (ISO units), and the refusal says
// what can unblock it. TikTok Shop never delivers an order (its pushes carry status changes
// only: storefront.TikTok), so "have the shop deliver the order" sent the admin after one that
// never comes: such a payment is cancelled, or its checkout's metadata corrected at the source
// for the payments to come.
func TestRetryOfMetadataNotAddingUpSaysWhatCanUnblockIt(t *testing.T) {
	const client = "noaddupco"
	st, ctx := storeWithClient(t, client)
	require.NoError(t, st.SaveOrder(ctx, ipayment.Order{ClientID: client, OrderID: "o-shop", VendorID: client + "-vendor", Platform: "shopify",
		Subtotal: 10000, Tax: 800, Shipping: 500, Discount: 300, Currency: "usd"}, "paid"))
	mismatch := "split: " + split.ErrComponentsMismatch.Error() + ": subtotal 9000 - discount 300 + tax 800 + shipping 500 + extras 0 = 10000, gross 11000"
	parked := func(provider, platform, orderID string, codePath int, reason string) ipayment.Record {
		return ipayment.Record{WorkflowID: provider + ":" + orderID, Provider: provider, Currency: "usd", Gross: 11000, Status: ipayment.StatusNeedsAttention,
			Reason: reason, CodePath: codePath, Order: ipayment.Order{ClientID: client, OrderID: orderID, VendorID: client + "-vendor", Platform: platform,
				Subtotal: 9000, Tax: 800, Shipping: 500, Discount: 300}}
	}
	// The wording of split.ErrComponentsMismatch before extras: the reason of a payment parked then.
	beforeExtras := "split: subtotal - discount + tax + shipping does not equal gross: subtotal 9000 - discount 300 + tax 800 + shipping 500 = 10000, gross 11000"
	addingUp := parked("stripe", "shopify", "o-7", payment.CurrentCodePath, "split: no split rule")
	addingUp.Order.Subtotal = 10000
	named := parked("stripe", "", "o-8", payment.CurrentCodePath, "order metadata missing after 1h0m0s: [subtotal platform]")
	named.Order = ipayment.Order{ClientID: client, OrderID: "o-8", VendorID: client + "-vendor"}
	for _, tc := range []struct {
		name string
		r    ipayment.Record
		// says is what the 409 tells the admin to do; "" when the retry is taken
		says, not string
	}{
		{"no order from the shop", parked("stripe", "shopify", "o-1", payment.CurrentCodePath, mismatch), "have the shop deliver order o-1", ""},
		{"a PayPal capture", parked("paypal", "woocommerce", "o-2", 0, mismatch), "have the shop deliver order o-2", ""},
		{"TikTok Shop delivers no order", parked("stripe", "tiktok", "o-3", payment.CurrentCodePath, mismatch), "cancel the payment", "have the shop deliver"},
		{"the shop's order is there", parked("stripe", "shopify", "o-shop", payment.CurrentCodePath, mismatch), "", ""},
		{"a Stripe run in Stripe's units", parked("stripe", "shopify", "o-4", payment.CodePathISOUnits-1, mismatch), "", ""},
		// The stored payment says the order does not add up, not the park's reason: a payment
		// parked before extras (2026-11) says so in the wording before them; one parked for
		// another reason first parks for its order once that is fixed.
		{"parked in the wording before extras", parked("stripe", "shopify", "o-6", payment.CurrentCodePath, beforeExtras), "have the shop deliver order o-6", ""},
		{"parked for another reason first", parked("stripe", "shopify", "o-5", payment.CurrentCodePath, "split: no split rule"), "have the shop deliver order o-5", ""},
		{"parked for another reason, its order adding up", addingUp, "", ""},
		{"parked for what its metadata lacks: only what its capture names", named, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := retryOfMetadataNotAddingUp(ctx, st, tc.r)
			if tc.says == "" {
				require.NoError(t, err)
				return
			}
			ae := requireConflict(t, err, "order_does_not_add_up")
			require.Contains(t, ae.Message, tc.says)
			if tc.not != "" {
				require.NotContains(t, ae.Message, tc.not)
			}
		})
	}
}

// requireConflict is err as the 409 API error with code.
func requireConflict(t *testing.T, err error, code string) *apiError {
	t.Helper()
	var ae *apiError
	require.True(t, errors.As(err, &ae), "an API error: %v", err)
	require.Equal(t, http.StatusConflict, ae.status)
	require.Equal(t, code, ae.Code)
	return ae
}

// storeWithClient is a store of a test database where client is registered.
func storeWithClient(t *testing.T, client string) (*store.Store, context.Context) {
	t.Helper()
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	_, _, err := st.UpsertClient(t.Context(), store.Client{ID: client, Name: client, DefaultCurrency: "usd"})
	require.NoError(t, err)
	return st, t.Context()
}

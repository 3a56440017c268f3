package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/payment"
	"paysplit/internal/split"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// TestHeldAtStripeAccount lists the payments a Connect event about an account may release: held
// (as the admin API releases), at Stripe, with a leg held whose payee is paid at the account now,
// and the parties of those legs, or a top-up due held for such a payee (TopUps). A payment held
// elsewhere, paid, failed with a leg held (the run waits for a decision on the failure, not a
// release), paid out at PayPal, with a top-up due that the provider refused (not held), or held
// for a payee of another client paid at the account (no event cures that) is not listed.
func TestHeldAtStripeAccount(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	c := newClient(t, s, "heldacct")
	account, other := fmt.Sprintf("acct_held%d", time.Now().UnixNano()), fmt.Sprintf("acct_other%d", time.Now().UnixNano())
	for id, p := range map[string]store.Payee{
		c + "-vendor": {Kind: "vendor", StripeAccount: account}, c + "-aff": {Kind: "affiliate", StripeAccount: account},
		c + "-v2": {Kind: "vendor", StripeAccount: other}, c + "-v3": {Kind: "vendor"},
	} {
		p.ID, p.ClientID = id, c
		_, _, err := s.UpsertPayee(ctx, p)
		require.NoError(t, err)
	}
	at := time.Now().UTC()
	held := func(id string, status payment.Status, provider string, change func(legs []payment.Leg)) payment.Record {
		r := paidRecord(c, c+"-"+id, at, 10000, 0)
		r.Status, r.Provider = status, provider
		for i := range r.Legs[1:] {
			r.Legs[1+i].Transferred, r.Legs[1+i].TransferID = 0, ""
		}
		change(r.Legs)
		require.NoError(t, s.SavePayment(ctx, r))
		return r
	}
	holdVendor := func(legs []payment.Leg) { legs[1].State, legs[1].Reason = payment.LegHeld, "cannot receive transfers" }
	both := held("both", payment.StatusHeld, "stripe", func(legs []payment.Leg) {
		holdVendor(legs)
		legs[2].State = payment.LegHeld
	})
	vendor := held("vendor", payment.StatusHeld, "stripe", holdVendor)
	held("paid", payment.StatusPaid, "stripe", func([]payment.Leg) {})
	held("failed", payment.StatusPayoutFailed, "stripe", func(legs []payment.Leg) {
		holdVendor(legs)
		legs[2].State = payment.LegFailed
	})
	held("paypal", payment.StatusHeld, "paypal", holdVendor)
	held("elsewhere", payment.StatusHeld, "stripe", func(legs []payment.Leg) {
		legs[1].PayeeID, legs[1].State = c+"-v2", payment.LegHeld
	})
	held("noaccount", payment.StatusHeld, "stripe", func(legs []payment.Leg) {
		legs[1].PayeeID, legs[1].State = c+"-v3", payment.LegHeld
	})
	// Held because its payee, paid at the account, is another client's: no event cures that.
	stranger := newClient(t, s, "heldother")
	_, _, err := s.UpsertPayee(ctx, store.Payee{ID: stranger + "-vendor", ClientID: stranger, Kind: "vendor", StripeAccount: account})
	require.NoError(t, err)
	held("otherclient", payment.StatusHeld, "stripe", func(legs []payment.Leg) {
		legs[1].PayeeID, legs[1].State, legs[1].Reason = stranger+"-vendor", payment.LegHeld, "registered to another client"
	})

	// A leg paid whose top-up due is held (held: its key never sent) or refused.
	topUpDue := func(leg *payment.Leg, held bool) {
		leg.Transferred, leg.TransferID, leg.State = leg.Amount, "tr_"+leg.Name(), payment.LegTransferred
		leg.Dues = []payment.Due{{Kind: payment.DueTopUp, Cause: "x/correction/v1", Amount: 120, Refused: true, Held: held, Reason: "correction: top-up of 120 held"}}
	}
	topUp := held("topup", payment.StatusHeld, "stripe", func(legs []payment.Leg) { topUpDue(&legs[1], true) })
	legAndTopUp := held("legandtopup", payment.StatusHeld, "stripe", func(legs []payment.Leg) {
		holdVendor(legs)
		topUpDue(&legs[2], true)
	})
	held("topupelse", payment.StatusHeld, "stripe", func(legs []payment.Leg) {
		legs[1].PayeeID = c + "-v2"
		topUpDue(&legs[1], true)
	})
	held("refusedtopup", payment.StatusPayoutFailed, "stripe", func(legs []payment.Leg) { topUpDue(&legs[1], false) })
	held("refusedheld", payment.StatusHeld, "stripe", func(legs []payment.Leg) { topUpDue(&legs[1], false) })

	got, err := s.HeldAtStripeAccount(ctx, account)
	require.NoError(t, err)
	var ids []string
	for _, h := range got {
		ids = append(ids, h.Record.WorkflowID)
		require.False(t, h.SavedAt.IsZero())
	}
	require.Equal(t, []string{both.WorkflowID, legAndTopUp.WorkflowID, topUp.WorkflowID, vendor.WorkflowID}, ids)
	require.Equal(t, []split.Party{split.PartyAffiliate, split.PartyVendor}, got[0].Parties)
	require.False(t, got[0].TopUps)
	require.Equal(t, []split.Party{split.PartyVendor}, got[1].Parties)
	require.True(t, got[1].TopUps, "its affiliate's top-up is held at the account too")
	require.Empty(t, got[2].Parties, "no leg held: a top-up is")
	require.True(t, got[2].TopUps)
	require.True(t, got[2].Record.Leg("vendor").Dues[0].Held)
	require.Equal(t, []split.Party{split.PartyVendor}, got[3].Parties)
	require.False(t, got[3].TopUps)
	require.Equal(t, payment.LegHeld, got[3].Record.Leg("vendor").State)

	// Saved again, the payment's SavedAt moves: a release is made once per save.
	first := got[3].SavedAt
	require.NoError(t, s.SavePayment(ctx, got[3].Record))
	again, err := s.HeldAtStripeAccount(ctx, account)
	require.NoError(t, err)
	require.True(t, again[3].SavedAt.After(first), "%s then %s", first, again[3].SavedAt)

	none, err := s.HeldAtStripeAccount(ctx, fmt.Sprintf("acct_none%d", time.Now().UnixNano()))
	require.NoError(t, err)
	require.Empty(t, none)
}

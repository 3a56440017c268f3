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
// and the parties of those legs. A payment held elsewhere, paid, failed with a leg held (the run
// waits for a decision on the failure, not a release), or paid out at PayPal is not listed.
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

	got, err := s.HeldAtStripeAccount(ctx, account)
	require.NoError(t, err)
	var ids []string
	for _, h := range got {
		ids = append(ids, h.Record.WorkflowID)
		require.False(t, h.SavedAt.IsZero())
	}
	require.Equal(t, []string{both.WorkflowID, vendor.WorkflowID}, ids)
	require.Equal(t, []split.Party{split.PartyAffiliate, split.PartyVendor}, got[0].Parties)
	require.Equal(t, []split.Party{split.PartyVendor}, got[1].Parties)
	require.Equal(t, payment.LegHeld, got[1].Record.Leg("vendor").State)

	// Saved again, the payment's SavedAt moves: a release is made once per save.
	first := got[1].SavedAt
	require.NoError(t, s.SavePayment(ctx, got[1].Record))
	again, err := s.HeldAtStripeAccount(ctx, account)
	require.NoError(t, err)
	require.True(t, again[1].SavedAt.After(first), "%s then %s", first, again[1].SavedAt)

	none, err := s.HeldAtStripeAccount(ctx, fmt.Sprintf("acct_none%d", time.Now().UnixNano()))
	require.NoError(t, err)
	require.Empty(t, none)
}

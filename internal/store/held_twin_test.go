package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/payment"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// TestHeldAtStripeAccountFindsALegHeldUnderAnotherCase: an affiliate leg split and held as
// <client>-jane (the shop's spelling, before anyone registered it) is paid to the client's payee
// registered as <client>-Jane (activities ResolvePayee, store.RegisteredPayeeID); once that payee's
// account can receive, Stripe's event about the account releases the leg, as it does a leg held
// under the payee's own ID. Before, the event looked the leg's ID up exactly and released nothing:
// the leg waited for its run's next ask, up to a day. A leg whose spelling is another client's
// payee's twin, or ambiguous between twins, is paid by no payee at the account and is not listed.
func TestHeldAtStripeAccountFindsALegHeldUnderAnotherCase(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	c, other := newClient(t, s, "heldtwin"), newClient(t, s, "heldtwinb")
	account := fmt.Sprintf("acct_heldtwin%d", time.Now().UnixNano())
	for _, p := range []store.Payee{
		{ID: c + "-Jane", ClientID: c, Kind: store.KindAffiliate, StripeAccount: account},
		{ID: c + "-Omar", ClientID: other, Kind: store.KindAffiliate, StripeAccount: account},
	} {
		_, _, err := s.UpsertPayee(ctx, p)
		require.NoError(t, err)
	}
	_, err := pool.Exec(ctx, `INSERT INTO payees (id, client_id, kind, stripe_account) VALUES ($1, $3, 'affiliate', $4), ($2, $3, 'affiliate', $4)`,
		c+"-Twin", c+"-TWIN", c, account)
	require.NoError(t, err)
	held := func(id, affiliate string) payment.Record {
		r := paidRecord(c, c+"-"+id, time.Now().UTC(), 10000, 0)
		r.Status = payment.StatusHeld
		leg := &r.Legs[2]
		leg.PayeeID, leg.State, leg.Transferred, leg.Reason = affiliate, payment.LegHeld, 0, "affiliate cannot receive transfers"
		require.NoError(t, s.SavePayment(ctx, r))
		return r
	}
	lower := held("lower", c+"-jane")
	exact := held("exact", c+"-Jane")
	held("otherclient", c+"-omar")
	held("ambiguous", c+"-twin")

	got, err := s.HeldAtStripeAccount(ctx, account)
	require.NoError(t, err)
	var ids []string
	for _, h := range got {
		ids = append(ids, h.Record.WorkflowID)
	}
	require.ElementsMatch(t, []string{lower.WorkflowID, exact.WorkflowID}, ids)
}

package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/ledger"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// TestPayeeIDTakenWhenItsTwinPaysItsHeldLeg: a leg held under a spelling nobody registered
// (<client>-jane, booked) is paid to the client's payee registered in another case
// (<client>-Jane) by its next payee check (activities ResolvePayee). Registering the booked
// spelling as well would make one affiliate two payees, and from then on every shop order
// (lower case, an exact ID wins) would go to the new one while the admin updates the old: it is
// refused like any case twin. The books' spelling may still be registered where no payee of its
// client and kind would be paid for it: the twin is another client's, or of another kind, or
// twins registered before they were refused make it ambiguous.
func TestPayeeIDTakenWhenItsTwinPaysItsHeldLeg(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	l := ledger.New(pool)
	ctx := t.Context()
	c, other := newClient(t, s, "twinpay"), newClient(t, s, "twinpayb")
	for _, p := range []store.Payee{
		{ID: c + "-Jane", ClientID: c, Kind: store.KindAffiliate},
		{ID: c + "-Omar", ClientID: other, Kind: store.KindAffiliate},
		{ID: c + "-Vic", ClientID: c, Kind: store.KindVendor},
	} {
		_, _, err := s.UpsertPayee(ctx, p)
		require.NoError(t, err)
	}
	_, err := pool.Exec(ctx, `INSERT INTO payees (id, client_id, kind) VALUES ($1, $3, 'affiliate'), ($2, $3, 'affiliate')`,
		c+"-Twin", c+"-TWIN", c)
	require.NoError(t, err)
	booked := []string{c + "-jane", c + "-omar", c + "-vic", c + "-twin"}
	for i, id := range booked {
		_, _, err := l.Post(ctx, ledger.Entry{IdempotencyKey: "payment-stripe-pi_" + id + "/capture", Currency: "usd", Reference: c,
			Postings: []ledger.Posting{{Account: ledger.ProviderBalance("stripe"), Amount: int64(100 + i)}, {Account: ledger.AffiliatePayable(id), Amount: -int64(100 + i)}}})
		require.NoError(t, err)
	}
	tests := []struct {
		name  string
		id    string
		taken string // the registered payee named in the refusal; "" when registered
	}{
		{"its client's twin of its kind pays it", c + "-jane", c + "-Jane"},
		{"the twin is another client's", c + "-omar", ""},
		{"the twin is of another kind", c + "-vic", ""},
		{"ambiguous twins", c + "-twin", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, created, err := s.UpsertPayee(ctx, store.Payee{ID: tt.id, ClientID: c, Kind: store.KindAffiliate, StripeAccount: "acct_twin1"})
			if tt.taken != "" {
				require.ErrorIs(t, err, store.ErrPayeeIDTaken)
				require.Contains(t, err.Error(), tt.taken)
				_, err := s.GetPayee(ctx, tt.id)
				require.ErrorIs(t, err, store.ErrNotFound, "nothing written")
				return
			}
			require.NoError(t, err)
			require.True(t, created)
		})
	}
}

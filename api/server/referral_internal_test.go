package server

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/store"
	"paysplit/internal/storefront"
	"paysplit/testenv"
)

// TestReferralAffiliateIsTheClientsAffiliate: the coupon fallback takes the first discount code
// (in the shop's order) whose payee ID is a registered affiliate of the order's client. A code
// in another case is the same payee (the ID is lower-cased); a code that makes another client's
// payee ID (a client ID that is a prefix of another's: acme + "shop x" = acme-shop + "x"), a
// vendor's, or nobody's is passed over. An affiliate an admin registered with capitals is found
// in any case and named as registered.
func TestReferralAffiliateIsTheClientsAffiliate(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	ctx := t.Context()
	for _, c := range []string{"refco", "refco-shop"} {
		_, _, err := st.UpsertClient(ctx, store.Client{ID: c, Name: c, DefaultCurrency: "usd"})
		require.NoError(t, err)
	}
	for _, p := range []store.Payee{
		{ID: "refco-jane", ClientID: "refco", Kind: store.KindAffiliate},
		{ID: "refco-mike", ClientID: "refco", Kind: store.KindAffiliate},
		{ID: "refco-Ann-Lee", ClientID: "refco", Kind: store.KindAffiliate}, // an admin's capitals
		{ID: "refco-shop-Yves", ClientID: "refco-shop", Kind: store.KindAffiliate},
		{ID: "refco-blue-fox", ClientID: "refco", Kind: store.KindVendor},
		{ID: "refco-shop-x", ClientID: "refco-shop", Kind: store.KindAffiliate},
	} {
		_, _, err := st.UpsertPayee(ctx, p)
		require.NoError(t, err)
	}
	ids := func(codes ...string) []string {
		var out []string
		for _, c := range codes {
			id, err := storefront.PayeeID("refco", c)
			require.NoError(t, err)
			out = append(out, id)
		}
		return out
	}
	tests := []struct {
		name  string
		codes []string
		want  string
	}{
		{"a plain discount, then the affiliate's code", ids("SPRING10", "JANE"), "refco-jane"},
		{"two affiliates: the first the shop sent", ids("Mike", "jane"), "refco-mike"},
		{"the same two the other way", ids("jane", "Mike"), "refco-jane"},
		{"another client's affiliate", ids("Shop X"), ""},
		{"another client's affiliate before this client's", ids("shop-x", "jane"), "refco-jane"},
		{"a vendor's name", ids("Blue Fox"), ""},
		{"an affiliate registered with capitals, as registered", ids("ANN LEE"), "refco-Ann-Lee"},
		{"another client's affiliate in another case", ids("shop yves"), ""},
		{"no codes", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := referralAffiliate(ctx, st, "refco", tt.codes)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

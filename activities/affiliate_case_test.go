package activities_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/internal/store"
)

// TestResolvePayeeFindsTheTwinRegisteredWithCapitals: a leg split as shop1-jane (the shop's
// lower-case slug) before an admin registered the affiliate as shop1-Jane, or while Enrich ran,
// is held "not registered". Its hold's recheck, an admin's release and a top-up ask ResolvePayee
// for the leg's own ID: the client's one payee of that ID in another case is where it is paid,
// as Enrich would have split it (store.RegisteredPayeeID). An exact ID still wins, another
// client's twin is never taken, and ambiguous twins leave the leg held.
func TestResolvePayeeFindsTheTwinRegisteredWithCapitals(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, p := range []store.Payee{
		{ID: "shop1-Jane", ClientID: "shop1", Kind: store.KindAffiliate, StripeAccount: "acct_jane"},
		{ID: "shop1-Max", ClientID: "shop2", Kind: store.KindAffiliate, StripeAccount: "acct_max"},
	} {
		_, _, err := f.st.UpsertPayee(ctx, p)
		require.NoError(t, err)
	}
	tests := []struct {
		name, payee        string
		wantDest, wantHold string
	}{
		{"held under the shop's spelling, paid to the registered twin", "shop1-jane", "acct_jane", ""},
		{"any case", "SHOP1-JANE", "acct_jane", ""},
		{"the registered spelling", "shop1-Jane", "acct_jane", ""},
		{"another client's twin is not taken", "shop1-max", "", `"shop1-max" is not registered`},
		{"nobody's", "shop1-zoe", "", "not registered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := f.a.ResolvePayee(ctx, activities.ResolvePayeeInput{PayeeID: tt.payee, Kind: "affiliate", ClientID: "shop1", Currency: "usd"})
			require.NoError(t, err)
			require.Equal(t, tt.wantDest, out.Destination)
			if tt.wantHold == "" {
				require.Empty(t, out.HoldReason)
			} else {
				require.Contains(t, out.HoldReason, tt.wantHold)
			}
		})
	}
}

package server_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/ledger"
)

// TestPayeeInTheBooksKeepsItsClient: a payee whose share a split booked keeps its client and
// kind (its account holds what that client's payments owe it; moved, its held legs could never
// be released); its account may change. A payee not yet in the books was only mistyped.
func TestPayeeInTheBooksKeepsItsClient(t *testing.T) {
	a := newAPI(t, nil)
	clientA, clientB := a.newClient("movea"), a.newClient("moveb")
	payee := uniqueID("move-vendor")
	put := func(body map[string]any) (int, map[string]any) {
		return a.json(req{method: http.MethodPut, path: "/api/v1/admin/payees/" + payee, key: adminKey, body: body})
	}

	code, out := put(map[string]any{"client_id": clientA, "kind": "vendor"})
	require.Equal(t, http.StatusCreated, code, out)
	code, out = put(map[string]any{"client_id": clientB, "kind": "vendor"})
	require.Equal(t, http.StatusOK, code, "not in the books yet: a typo fixed: %v", out)
	code, out = put(map[string]any{"client_id": clientA, "kind": "vendor"})
	require.Equal(t, http.StatusOK, code, out)

	// A split of client A's booked the payee's share.
	_, _, err := ledger.New(a.pool).Post(context.Background(), ledger.Entry{
		IdempotencyKey: uniqueID("move-split"), Currency: "usd", Reference: "payment-stripe-pi_move", Description: "split",
		Postings: []ledger.Posting{{Account: ledger.ProviderBalance("stripe"), Amount: 1000}, {Account: ledger.VendorPayable(payee), Amount: -1000}},
	})
	require.NoError(t, err)

	tests := []struct {
		name string
		body map[string]any
		want int
	}{
		{"to another client", map[string]any{"client_id": clientB, "kind": "vendor"}, http.StatusConflict},
		{"to another kind", map[string]any{"client_id": clientA, "kind": "affiliate"}, http.StatusConflict},
		{"a new account", map[string]any{"client_id": clientA, "kind": "vendor", "stripe_account": "acct_moved2"}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := put(tt.body)
			require.Equal(t, tt.want, code, out)
			if tt.want == http.StatusConflict {
				require.Equal(t, "payee_in_books", out["error"].(map[string]any)["code"])
			}
		})
	}
	p, err := a.store.GetPayee(context.Background(), payee)
	require.NoError(t, err)
	require.Equal(t, clientA, p.ClientID)
	require.Equal(t, "acct_moved2", p.StripeAccount)
}

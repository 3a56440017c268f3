package server_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBalancesAsOfATimeNotYetPastAre400: a month's close asked for before the month ended was
// answered 200 with the balance so far, as if final, and the same question asked after midnight
// answered otherwise (the entries of the evening). The ledger answers a past time only; the API
// says so, for all accounts and for one.
func TestBalancesAsOfATimeNotYetPastAre400(t *testing.T) {
	a := newAPI(t, nil)
	future := url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano))
	for _, path := range []string{
		"/api/v1/admin/ledger/balances?as_of=" + future,
		"/api/v1/admin/ledger/balances/platform:revenue?as_of=" + future,
	} {
		code, out := a.json(req{method: http.MethodGet, path: path, key: adminKey})
		require.Equal(t, http.StatusBadRequest, code, "%s: %v", path, out)
		require.Equal(t, "invalid_request", out["error"].(map[string]any)["code"], out)
	}
}

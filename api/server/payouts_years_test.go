package server_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/store"
)

// TestPayoutsRangeKeepsToYears1To9999: the client API's days lie within years 1-9999 (README,
// "Client API"), as /kpis and /revenue hold; /payouts, whose ends are optional, took
// from=0000-01-01 or to=0000-12-31 and answered 200, a day of a year no other endpoint (nor the
// reports, which refuse week 0000-Wnn) takes.
func TestPayoutsRangeKeepsToYears1To9999(t *testing.T) {
	a := newAPI(t, nil)
	c := a.newClient("y0")
	_, key := a.newKey(store.RoleClient, c)
	for _, q := range []string{"from=0000-01-01", "to=0000-12-31", "from=0000-06-01&to=2026-01-01"} {
		code, body := a.json(req{method: http.MethodGet, path: "/api/v1/payouts?" + q, key: key})
		require.Equal(t, http.StatusBadRequest, code, "%s: %v", q, body)
		e := body["error"].(map[string]any)
		require.Equal(t, "invalid_request", e["code"])
		require.Contains(t, e["message"], "0001-01-01")
	}
	code, body := a.json(req{method: http.MethodGet, path: "/api/v1/payouts?from=0001-01-01&to=9999-12-31", key: key})
	require.Equal(t, http.StatusOK, code, body)
}

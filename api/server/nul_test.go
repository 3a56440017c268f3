package server_test

import (
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/store"
)

// TestNULIsRefusedWith400: Postgres cannot store a NUL character as text, so one in a query
// value, a path parameter, a JSON string or a paging cursor is refused at the door with a 400
// that says where it was, never a 500 from the database; nothing is stored.
func TestNULIsRefusedWith400(t *testing.T) {
	a := newAPI(t, nil)
	c := a.newClient("nul")
	_, clientKey := a.newKey(store.RoleClient, c)
	cursor := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	keysBefore, err := a.store.ListAPIKeys(t.Context(), c)
	require.NoError(t, err)

	tests := []struct {
		name string
		r    req
		code string
		says string // in the message: where the NUL was
	}{
		// A client credential, on its own data only.
		{"client's reports cursor", req{method: "GET", path: "/api/v1/reports?cursor=" + cursor(`{"w":"\u0000"}`), key: clientKey}, "invalid_cursor", "cursor"},
		{"client's payouts cursor", req{method: "GET", path: "/api/v1/payouts?cursor=" + cursor(`{"t":"2026-01-01T00:00:00Z","w":"\u0000","l":"x"}`), key: clientKey}, "invalid_cursor", "cursor"},
		{"client's own client_id", req{method: "GET", path: "/api/v1/client?client_id=" + c + "%00", key: clientKey}, "invalid_request", "client_id"},
		// Admin.
		{"admin's client_id", req{method: "GET", path: "/api/v1/client?client_id=%00", key: adminKey}, "invalid_request", "client_id"},
		{"payments by client", req{method: "GET", path: "/api/v1/admin/payments?client_id=%00", key: adminKey}, "invalid_request", "client_id"},
		{"audit by actor", req{method: "GET", path: "/api/v1/admin/audit?actor=%00", key: adminKey}, "invalid_request", "actor"},
		{"admin payments cursor", req{method: "GET", path: "/api/v1/admin/payments?cursor=" + cursor(`{"t":"2026-01-01T00:00:00Z","w":"\u0000"}`), key: adminKey}, "invalid_cursor", "cursor"},
		{"audit cursor", req{method: "GET", path: "/api/v1/admin/audit?cursor=" + cursor(`{"id":1,"x":"\u0000"}`), key: adminKey}, "invalid_cursor", "cursor"},
		{"a query parameter's name", req{method: "GET", path: "/api/v1/admin/clients?a%00=1", key: adminKey}, "invalid_request", "name"},
		{"path parameter", req{method: "GET", path: "/api/v1/admin/clients/a%00b/settings", key: adminKey}, "invalid_request", "client_id"},
		{"client name", req{method: "PUT", path: "/api/v1/admin/clients/" + c, key: adminKey, body: map[string]any{"name": "a\u0000b", "default_currency": "usd"}}, "invalid_request", "body"},
		{"API key name", req{method: "POST", path: "/api/v1/admin/api-keys", key: adminKey, body: map[string]any{"role": "client", "client_id": c, "name": "a\u0000"}}, "invalid_request", "body"},
		{"a JSON key", req{method: "PUT", path: "/api/v1/admin/clients/" + c + "/settings", key: adminKey, body: map[string]any{"x\u0000": 1}}, "invalid_request", "body"},
		{"login key", req{method: "POST", path: "/api/v1/session", body: map[string]any{"key": "\u0000"}}, "invalid_request", "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := a.json(tt.r)
			require.Equal(t, http.StatusBadRequest, code, "%v", body)
			e := body["error"].(map[string]any)
			require.Equal(t, tt.code, e["code"], "%v", body)
			require.Contains(t, e["message"], tt.says)
		})
	}

	got, err := a.store.GetClient(t.Context(), c)
	require.NoError(t, err)
	require.Equal(t, "Nul Shop", got.Name, "the client is unchanged")
	keysAfter, err := a.store.ListAPIKeys(t.Context(), c)
	require.NoError(t, err)
	require.Len(t, keysAfter, len(keysBefore), "no key was created")

	// A \u0000 written out (an escaped backslash) is text like any other.
	code, body := a.json(req{method: "PUT", path: "/api/v1/admin/clients/" + c, key: adminKey, body: map[string]any{"name": `a\u0000b`, "default_currency": "usd"}})
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.Equal(t, `a\u0000b`, body["name"])
}

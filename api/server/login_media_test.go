package server_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/store"
)

// TestLoginTakesJSONInUTF8Only: every body is JSON in UTF-8, another type or charset 415
// (README, "API"). The login checked only that Content-Type began with "application/json", so
// "application/json; charset=iso-8859-1" or "application/jsonx" opened a session (201), where
// every other endpoint answers 415.
func TestLoginTakesJSONInUTF8Only(t *testing.T) {
	a := newAPI(t, nil)
	c := a.newClient("loginct")
	_, key := a.newKey(store.RoleClient, c)
	for _, ct := range []string{"application/json; charset=iso-8859-1", "application/jsonx", "application/json-seq"} {
		code, body := a.json(req{method: http.MethodPost, path: "/api/v1/session", body: map[string]string{"key": key},
			header: map[string]string{"Content-Type": ct}})
		require.Equal(t, http.StatusUnsupportedMediaType, code, "%s: %v", ct, body)
		require.Equal(t, "unsupported_media_type", body["error"].(map[string]any)["code"])
	}
	for _, ct := range []string{"application/json", "application/json; charset=UTF-8", "Application/JSON"} {
		code, body := a.json(req{method: http.MethodPost, path: "/api/v1/session", body: map[string]string{"key": key},
			header: map[string]string{"Content-Type": ct}})
		require.Equal(t, http.StatusCreated, code, "%s: %v", ct, body)
	}
}

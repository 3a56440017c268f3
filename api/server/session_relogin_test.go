package server_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/store"
)

// TestLoginEndsTheSessionTheBrowserHeld: a login replaces the browser's session cookie, so the
// session that cookie named must end with it. It stayed live for the rest of its 12 hours, and
// nobody could log it out any more: the logout ends the session of the cookie it is sent, which
// the browser no longer has. On a shared computer the next person's login left the previous
// client's session open to whoever had copied its cookie. A refused login changes nothing.
func TestLoginEndsTheSessionTheBrowserHeld(t *testing.T) {
	a := newAPI(t, nil)
	alpha, bravo := a.newClient("alpha"), a.newClient("bravo")
	_, keyA := a.newKey(store.RoleClient, alpha)
	_, keyB := a.newKey(store.RoleClient, bravo)
	login := func(key string, held []*http.Cookie) (int, []*http.Cookie) {
		t.Helper()
		res, body := a.send(req{method: http.MethodPost, path: "/api/v1/session", body: map[string]string{"key": key}, cookies: held})
		if res.StatusCode == http.StatusCreated {
			require.NotNil(t, cookieNamed(res.Cookies(), "paysplit_session"), string(body))
		}
		return res.StatusCode, res.Cookies()
	}
	me := func(cookies []*http.Cookie) (int, map[string]any) {
		t.Helper()
		return a.json(req{method: http.MethodGet, path: "/api/v1/me", cookies: cookies})
	}
	tests := []struct {
		name  string
		again string // the key of the second login in the same browser
	}{
		{"the same key again", keyA},
		{"another client's key", keyB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, first := login(keyA, nil)
			require.Equal(t, http.StatusCreated, code)
			code, second := login(tt.again, first)
			require.Equal(t, http.StatusCreated, code)
			code, body := me(first)
			require.Equal(t, http.StatusUnauthorized, code, "the replaced session of %s is still live: %v", alpha, body)
			code, body = me(second)
			require.Equal(t, http.StatusOK, code, body)
		})
	}
	t.Run("a refused login", func(t *testing.T) {
		code, first := login(keyA, nil)
		require.Equal(t, http.StatusCreated, code)
		code, _ = login("psk_wrong", first)
		require.Equal(t, http.StatusUnauthorized, code)
		code, body := me(first)
		require.Equal(t, http.StatusOK, code, body)
		require.Equal(t, alpha, body["client_id"])
	})
}

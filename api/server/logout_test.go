package server_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/store"
)

// TestLogoutAlwaysClearsTheCookies: a browser whose session is no longer live (expired in
// Postgres while the cookie lives on, its key revoked, or no session cookie at all) logs out with
// 204 and both cookies cleared. Before, authentication refused such a logout with 401 and no
// Set-Cookie, so the stale cookies stayed in the browser. A live session is ended server-side too.
func TestLogoutAlwaysClearsTheCookies(t *testing.T) {
	a := newAPI(t, nil)
	c := a.newClient("logout")
	tests := []struct {
		name string
		// end makes the session not live (or leaves it); it returns the request to log out with.
		end func(t *testing.T, keyID string, cookies []*http.Cookie, csrf string) req
	}{
		{"live session", func(_ *testing.T, _ string, cookies []*http.Cookie, csrf string) req {
			return req{method: http.MethodDelete, path: "/api/v1/session", cookies: cookies, header: map[string]string{"X-CSRF-Token": csrf}}
		}},
		{"session expired server-side", func(t *testing.T, keyID string, cookies []*http.Cookie, csrf string) req {
			_, err := a.pool.Exec(t.Context(), `UPDATE sessions SET expires_at = now() - interval '1 minute' WHERE key_id = $1`, keyID)
			require.NoError(t, err)
			return req{method: http.MethodDelete, path: "/api/v1/session", cookies: cookies, header: map[string]string{"X-CSRF-Token": csrf}}
		}},
		{"key revoked", func(t *testing.T, keyID string, cookies []*http.Cookie, csrf string) req {
			code, body := a.json(req{method: http.MethodDelete, path: "/api/v1/admin/api-keys/" + keyID, key: adminKey})
			require.Equal(t, http.StatusOK, code, body)
			return req{method: http.MethodDelete, path: "/api/v1/session", cookies: cookies, header: map[string]string{"X-CSRF-Token": csrf}}
		}},
		{"only the CSRF cookie left", func(t *testing.T, keyID string, cookies []*http.Cookie, _ string) req {
			_, err := a.pool.Exec(t.Context(), `DELETE FROM sessions WHERE key_id = $1`, keyID)
			require.NoError(t, err)
			return req{method: http.MethodDelete, path: "/api/v1/session", cookies: []*http.Cookie{cookieNamed(cookies, "paysplit_csrf")}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keyID, key := a.newKey(store.RoleClient, c)
			cookies, csrf := a.login(key)
			res, body := a.send(tt.end(t, keyID, cookies, csrf))
			require.Equal(t, http.StatusNoContent, res.StatusCode, string(body))
			for _, name := range []string{"paysplit_session", "paysplit_csrf"} {
				ck := cookieNamed(res.Cookies(), name)
				require.NotNil(t, ck, "%s is not cleared", name)
				require.Empty(t, ck.Value, name)
				require.Negative(t, ck.MaxAge, "%s must be deleted by the browser", name)
			}
			code, _ := a.json(req{method: http.MethodGet, path: "/api/v1/me", cookies: cookies})
			require.Equal(t, http.StatusUnauthorized, code, "the session is over server-side")
		})
	}
}

// TestLogoutStillChecksWhatItActsOn: a logout that would end a live session still needs the
// session's CSRF token, and a bearer key that does not match is still refused.
func TestLogoutStillChecksWhatItActsOn(t *testing.T) {
	a := newAPI(t, nil)
	c := a.newClient("logout-check")
	_, key := a.newKey(store.RoleClient, c)
	cookies, _ := a.login(key)
	tests := []struct {
		name   string
		r      req
		status int
		code   string
	}{
		{"live session without its CSRF token", req{method: http.MethodDelete, path: "/api/v1/session", cookies: cookies, header: map[string]string{"X-CSRF-Token": "nope"}}, 403, "csrf_failed"},
		{"wrong bearer key", req{method: http.MethodDelete, path: "/api/v1/session", key: "psk_wrong"}, 401, "unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := a.json(tt.r)
			require.Equal(t, tt.status, code, body)
			require.Equal(t, tt.code, body["error"].(map[string]any)["code"])
		})
	}
	code, _ := a.json(req{method: http.MethodGet, path: "/api/v1/me", cookies: cookies})
	require.Equal(t, http.StatusOK, code, "a refused logout leaves the session live")
}

package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestClientDataIsNeverStoredByCaches: every /api/v1 answer says Cache-Control: no-store. A
// browser session is a cookie, not an Authorization header, so nothing in the request keeps a
// shared cache (a proxy, a CDN in front of the load balancer) from storing a client's payouts and
// handing them to the next caller of the same URL, and the browser's disk cache kept them after
// logout on a shared computer; the login's answer carries the session's CSRF token.
func TestClientDataIsNeverStoredByCaches(t *testing.T) {
	f := newScopedFixture(t)
	a := f.a
	noStore := func(t *testing.T, res *http.Response, body []byte) {
		t.Helper()
		require.Contains(t, strings.Split(strings.ReplaceAll(res.Header.Get("Cache-Control"), " ", ""), ","), "no-store",
			"%s %s answered %d (%d bytes) with Cache-Control %q", res.Request.Method, res.Request.URL.Path, res.StatusCode,
			len(body), res.Header.Get("Cache-Control"))
	}
	cookiesA, csrfA := a.login(f.keyA)
	for _, e := range clientEndpoints {
		if e.method == http.MethodDelete {
			continue // the logout, below
		}
		t.Run(e.method+" "+e.path, func(t *testing.T) {
			res, body := a.send(req{method: e.method, path: e.path, key: f.keyA})
			require.Equal(t, e.ok, res.StatusCode, string(body))
			noStore(t, res, body)
			res, body = a.send(req{method: e.method, path: e.path, cookies: cookiesA, header: map[string]string{"X-CSRF-Token": csrfA}})
			require.Equal(t, e.ok, res.StatusCode, string(body))
			noStore(t, res, body)
		})
	}
	t.Run("admin", func(t *testing.T) {
		res, body := a.send(req{method: http.MethodGet, path: "/api/v1/admin/api-keys?client_id=" + f.alpha, key: adminKey})
		require.Equal(t, http.StatusOK, res.StatusCode, string(body))
		noStore(t, res, body)
	})
	t.Run("login and logout", func(t *testing.T) {
		res, body := a.send(req{method: http.MethodPost, path: "/api/v1/session", body: map[string]string{"key": f.keyA}})
		require.Equal(t, http.StatusCreated, res.StatusCode, string(body))
		noStore(t, res, body)
		res, body = a.send(req{method: http.MethodDelete, path: "/api/v1/session", cookies: cookiesA, header: map[string]string{"X-CSRF-Token": csrfA}})
		require.Equal(t, http.StatusNoContent, res.StatusCode, string(body))
		noStore(t, res, body)
	})
	t.Run("refusals", func(t *testing.T) {
		res, body := a.send(req{method: http.MethodGet, path: "/api/v1/payouts?client_id=" + f.alpha, key: f.keyB})
		require.Equal(t, http.StatusForbidden, res.StatusCode, string(body))
		noStore(t, res, body)
	})
}

package server_test

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"paysplit/api/server"
	"paysplit/internal/payment"
	"paysplit/internal/store"
)

// scopedFixture is two clients with data of every kind, keys and a browser session for each.
type scopedFixture struct {
	a              *apiEnv
	alpha, bravo   string
	keyA, keyB     string
	revokedA       string
	cookiesB       []*http.Cookie
	csrfB          string
	paymentOfAlpha string
}

func newScopedFixture(t *testing.T) *scopedFixture {
	a := newAPI(t, nil)
	ctx := t.Context()
	f := &scopedFixture{a: a, alpha: a.newClient("alpha"), bravo: a.newClient("bravo")}
	yesterday := time.Now().UTC().Add(-24 * time.Hour)
	for _, c := range []string{f.alpha, f.bravo} {
		require.NoError(t, a.store.SavePayment(ctx, paidRecord(c, c+"-pi1", yesterday, 10000, 0, payment.StatusPaid)))
		require.NoError(t, a.store.SavePayment(ctx, paidRecord(c, c+"-pi2", yesterday, 5000, 0, payment.StatusHeld)))
		require.NoError(t, a.store.UpsertKPIDay(ctx, store.KPIDay{ClientID: c, Day: yesterday, Visitors: 321, NewVisitors: 12, Sessions: 400, BounceRateBps: 4200, Revenue: 15000, Currency: "usd"}))
		require.NoError(t, a.store.SaveReport(ctx, store.Report{ClientID: c, ISOWeek: "2026-W07", S3Key: "reports/" + c + "/2026-W07.pdf"}))
	}
	f.paymentOfAlpha = "payment-stripe-" + f.alpha + "-pi1"
	_, f.keyA = a.newKey(store.RoleClient, f.alpha)
	_, f.keyB = a.newKey(store.RoleClient, f.bravo)
	revokedID, revoked := a.newKey(store.RoleClient, f.alpha)
	code, body := a.json(req{method: http.MethodDelete, path: "/api/v1/admin/api-keys/" + revokedID, key: adminKey})
	require.Equal(t, http.StatusOK, code, body)
	f.revokedA = revoked
	f.cookiesB, f.csrfB = a.login(f.keyB)
	return f
}

// clientEndpoints are every client-API route with the status a permitted call answers. The test
// below fails when the server registers a client route that is not listed here.
var clientEndpoints = []struct {
	method, path string
	ok           int
	scoped       bool // takes ?client_id= (an admin's choice, a client's own only)
	marks        bool // a permitted answer shows the client's data
}{
	{http.MethodGet, "/api/v1/me", http.StatusOK, false, false},
	{http.MethodGet, "/api/v1/client", http.StatusOK, true, true},
	{http.MethodGet, "/api/v1/kpis", http.StatusOK, true, true},
	{http.MethodPost, "/api/v1/kpis/refresh", http.StatusNotImplemented, true, false},
	{http.MethodGet, "/api/v1/kpis/visitors", http.StatusOK, true, true},
	{http.MethodGet, "/api/v1/revenue", http.StatusOK, true, true},
	{http.MethodGet, "/api/v1/payouts", http.StatusOK, true, true},
	{http.MethodGet, "/api/v1/reports", http.StatusOK, true, true},
	{http.MethodDelete, "/api/v1/session", http.StatusNoContent, false, false},
}

// TestClientEndpointsAreScopedToTheCredential tries every client endpoint with no credentials, a
// revoked key, another client's key and another client's browser session: 401 or 403 and not a
// byte of the other client's data. A client's own key sees its own data, never the other's.
func TestClientEndpointsAreScopedToTheCredential(t *testing.T) {
	f := newScopedFixture(t)
	a := f.a

	listed := map[string]bool{}
	for _, e := range clientEndpoints {
		listed[e.method+" "+e.path] = true
	}
	for _, r := range a.srv.Routes() {
		if strings.HasPrefix(r.Path, "/api/v1/") && !strings.HasPrefix(r.Path, "/api/v1/admin") &&
			r.Method != echo.RouteNotFound && r.Path != "/api/v1/openapi.json" && !(r.Path == "/api/v1/session" && r.Method == http.MethodPost) {
			require.True(t, listed[r.Method+" "+r.Path], "client route %s %s has no row in clientEndpoints", r.Method, r.Path)
		}
	}

	// noAlpha fails when a body shows anything of client alpha: its ID, name, orders or payments.
	noAlpha := func(t *testing.T, body []byte) {
		t.Helper()
		require.NotContains(t, strings.ToLower(string(body)), "alpha", "leaked another client's data: %s", body)
	}
	withClient := func(path, client string) string { return path + "?client_id=" + url.QueryEscape(client) }
	csrf := func(method string) map[string]string {
		if method == http.MethodGet {
			return nil
		}
		return map[string]string{"X-CSRF-Token": f.csrfB}
	}

	for _, e := range clientEndpoints {
		// ?client_id= only where the endpoint takes it: the logout answers 204 without a live
		// session, and a parameter openapi.yaml does not list for it fails the spec check.
		target := e.path
		if e.scoped {
			target = withClient(e.path, f.alpha)
		}
		t.Run(e.method+" "+e.path, func(t *testing.T) {
			cases := []struct {
				name   string
				r      req
				status int
				code   string
			}{
				{"no credentials", req{method: e.method, path: target}, 401, "unauthorized"},
				{"unknown key", req{method: e.method, path: target, key: "psk_not-a-key"}, 401, "unauthorized"},
				{"revoked key of the client", req{method: e.method, path: target, key: f.revokedA}, 401, "unauthorized"},
				{"forged session cookie", req{method: e.method, path: target,
					cookies: []*http.Cookie{{Name: "paysplit_session", Value: "forged"}}}, 401, "unauthorized"},
			}
			if e.scoped {
				cases = append(cases,
					struct {
						name   string
						r      req
						status int
						code   string
					}{"another client's key", req{method: e.method, path: target, key: f.keyB}, 403, "forbidden"},
					struct {
						name   string
						r      req
						status int
						code   string
					}{"another client's session", req{method: e.method, path: target, cookies: f.cookiesB, header: csrf(e.method)}, 403, "forbidden"},
				)
			}
			for _, tc := range cases {
				if e.method == http.MethodDelete && (tc.name == "no credentials" || tc.name == "forged session cookie") {
					// Logging out without a live session is no error: the cookies are cleared
					// (TestLogoutAlwaysClearsTheCookies); there is nothing of anyone's to show.
					tc.status, tc.code = http.StatusNoContent, ""
				}
				t.Run(tc.name, func(t *testing.T) {
					res, body := a.send(tc.r)
					require.Equal(t, tc.status, res.StatusCode, string(body))
					if tc.code != "" {
						require.Contains(t, string(body), `"code":"`+tc.code+`"`)
					}
					noAlpha(t, body)
				})
			}
			if e.method == http.MethodDelete {
				return // logging out is covered by TestBrowserSessionAndCSRF
			}
			// The other client's own key works and still shows nothing of alpha.
			res, body := a.send(req{method: e.method, path: e.path, key: f.keyB})
			require.Equal(t, e.ok, res.StatusCode, string(body))
			noAlpha(t, body)
			// Alpha's key sees alpha: the check above would have caught real data.
			res, body = a.send(req{method: e.method, path: e.path, key: f.keyA})
			require.Equal(t, e.ok, res.StatusCode, string(body))
			if e.marks {
				require.Contains(t, string(body), f.alpha)
				require.NotContains(t, string(body), f.bravo)
			}
		})
	}

	// A client credential reaches no admin route, whatever the route: each one answers 403 with
	// nothing but the error (this covers routes added later too).
	for _, r := range a.srv.Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1/admin") || r.Method == echo.RouteNotFound {
			continue
		}
		path := strings.NewReplacer(":client_id", f.alpha, ":workflow_id", f.paymentOfAlpha, ":payee_id", f.alpha+"-vendor",
			":key_id", "key_x", ":provider", "shopify").Replace(r.Path)
		t.Run("admin "+r.Method+" "+r.Path, func(t *testing.T) {
			res, body := a.send(req{method: r.Method, path: path, key: f.keyB, body: map[string]any{}})
			require.Equal(t, http.StatusForbidden, res.StatusCode, string(body))
			noAlpha(t, body)
			res, body = a.send(req{method: r.Method, path: path, cookies: f.cookiesB, header: csrf(r.Method), body: map[string]any{}})
			require.Equal(t, http.StatusForbidden, res.StatusCode, string(body))
			noAlpha(t, body)
			res, body = a.send(req{method: r.Method, path: path, body: map[string]any{}})
			require.Equal(t, http.StatusUnauthorized, res.StatusCode, string(body))
			noAlpha(t, body)
		})
	}

	// An admin reads any client by naming it, and must name one.
	code, body := a.json(req{method: http.MethodGet, path: withClient("/api/v1/kpis", f.alpha), key: adminKey})
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, f.alpha, body["client_id"])
	code, body = a.json(req{method: http.MethodGet, path: "/api/v1/kpis", key: adminKey})
	require.Equal(t, http.StatusBadRequest, code, body)
	code, body = a.json(req{method: http.MethodGet, path: withClient("/api/v1/kpis", "ghost"), key: adminKey})
	require.Equal(t, http.StatusNotFound, code, body)
	// Naming its own client is fine for a client key.
	code, body = a.json(req{method: http.MethodGet, path: withClient("/api/v1/payouts", f.bravo), key: f.keyB})
	require.Equal(t, http.StatusOK, code, body)
}

func cookieNamed(cs []*http.Cookie, name string) *http.Cookie {
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// TestSessionCookiesSecure: the cookies are Secure in production whatever the request, and
// otherwise when the request came over TLS, which only a trusted proxy's X-Forwarded-Proto may say.
func TestSessionCookiesSecure(t *testing.T) {
	loopback := []*net.IPNet{{IP: net.IPv4(127, 0, 0, 0), Mask: net.CIDRMask(8, 32)}}
	other := []*net.IPNet{{IP: net.IPv4(10, 0, 0, 0), Mask: net.CIDRMask(8, 32)}}
	tests := []struct {
		name       string
		trusted    []*net.IPNet
		production bool
		proto      string
		want       bool
	}{
		{name: "plain HTTP", want: false},
		{name: "a client's own X-Forwarded-Proto", proto: "https", want: false},
		{name: "X-Forwarded-Proto from another network than the proxies'", trusted: other, proto: "https", want: false},
		{name: "a trusted proxy that terminated TLS", trusted: loopback, proto: "https", want: true},
		{name: "a trusted proxy that took plain HTTP", trusted: loopback, proto: "http", want: false},
		{name: "production", production: true, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPI(t, func(d *server.Deps) { d.TrustedProxies, d.SecureCookies = tt.trusted, tt.production })
			_, key := a.newKey(store.RoleClient, a.newClient("sec"))
			header := map[string]string{}
			if tt.proto != "" {
				header["X-Forwarded-Proto"] = tt.proto
			}
			res, body := a.send(req{method: http.MethodPost, path: "/api/v1/session", body: map[string]string{"key": key}, header: header})
			require.Equal(t, http.StatusCreated, res.StatusCode, string(body))
			for _, name := range []string{"paysplit_session", "paysplit_csrf"} {
				if tt.want {
					name = "__Host-" + name // TestSessionCookiesTakeTheHostPrefixWhenSecure
				}
				require.Equal(t, tt.want, cookieNamed(res.Cookies(), name).Secure, name)
			}
		})
	}
}

// TestBrowserSessionAndCSRF exchanges a key for the session cookie and checks its attributes,
// that state-changing cookie requests need the session's CSRF token, and that logout ends it.
func TestBrowserSessionAndCSRF(t *testing.T) {
	a := newAPI(t, nil)
	c := a.newClient("sess")
	_, key := a.newKey(store.RoleClient, c)

	tests := []struct {
		name   string
		r      req
		status int
		code   string
	}{
		{"form post", req{method: http.MethodPost, path: "/api/v1/session", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 415, "unsupported_media_type"},
		{"wrong key", req{method: http.MethodPost, path: "/api/v1/session", body: map[string]string{"key": "psk_wrong"}}, 401, "unauthorized"},
		{"no key", req{method: http.MethodPost, path: "/api/v1/session", body: map[string]string{}}, 400, "invalid_request"},
		{"unknown field", req{method: http.MethodPost, path: "/api/v1/session", body: map[string]string{"key": key, "role": "admin"}}, 400, "invalid_json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := a.json(tt.r)
			require.Equal(t, tt.status, code, body)
			require.Equal(t, tt.code, body["error"].(map[string]any)["code"])
		})
	}

	res, body := a.send(req{method: http.MethodPost, path: "/api/v1/session", body: map[string]string{"key": key}})
	require.Equal(t, http.StatusCreated, res.StatusCode, string(body))
	require.NotContains(t, string(body), key, "the key is never echoed")
	sess := cookieNamed(res.Cookies(), "paysplit_session")
	require.NotNil(t, sess)
	require.True(t, sess.HttpOnly)
	require.Equal(t, http.SameSiteStrictMode, sess.SameSite)
	require.Equal(t, "/", sess.Path)
	require.False(t, sess.Secure, "plain HTTP in the test")
	csrfCookie := cookieNamed(res.Cookies(), "paysplit_csrf")
	require.NotNil(t, csrfCookie)
	require.False(t, csrfCookie.HttpOnly, "the page reads it")
	require.Contains(t, string(body), csrfCookie.Value)
	cookies := []*http.Cookie{sess, csrfCookie}

	// X-Forwarded-Proto from a client that is not one of the trusted proxies is not taken.
	res, _ = a.send(req{method: http.MethodPost, path: "/api/v1/session", body: map[string]string{"key": key}, header: map[string]string{"X-Forwarded-Proto": "https"}})
	require.Equal(t, http.StatusCreated, res.StatusCode)
	require.False(t, cookieNamed(res.Cookies(), "paysplit_session").Secure, "no trusted proxies")

	code, me := a.json(req{method: http.MethodGet, path: "/api/v1/me", cookies: cookies})
	require.Equal(t, http.StatusOK, code, me)
	require.Equal(t, c, me["client_id"])
	require.Equal(t, true, me["session"])

	csrfCases := []struct {
		name   string
		header map[string]string
		status int
	}{
		{"no token", nil, 403},
		{"wrong token", map[string]string{"X-CSRF-Token": "nope"}, 403},
		{"another session's token", map[string]string{"X-CSRF-Token": func() string { _, t := a.login(key); return t }()}, 403},
		{"the session's token", map[string]string{"X-CSRF-Token": csrfCookie.Value}, 501},
	}
	for _, tt := range csrfCases {
		t.Run("csrf "+tt.name, func(t *testing.T) {
			code, body := a.json(req{method: http.MethodPost, path: "/api/v1/kpis/refresh", cookies: cookies, header: tt.header})
			require.Equal(t, tt.status, code, body)
			if tt.status == 403 {
				require.Equal(t, "csrf_failed", body["error"].(map[string]any)["code"])
			}
		})
	}

	// A bearer header that does not match is refused even next to a valid cookie.
	code, _ = a.json(req{method: http.MethodGet, path: "/api/v1/me", cookies: cookies, key: "psk_wrong"})
	require.Equal(t, http.StatusUnauthorized, code)

	res, _ = a.send(req{method: http.MethodDelete, path: "/api/v1/session", cookies: cookies, header: map[string]string{"X-CSRF-Token": csrfCookie.Value}})
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	cleared := cookieNamed(res.Cookies(), "paysplit_session")
	require.NotNil(t, cleared)
	require.Empty(t, cleared.Value)
	code, _ = a.json(req{method: http.MethodGet, path: "/api/v1/me", cookies: cookies})
	require.Equal(t, http.StatusUnauthorized, code, "the session is over server-side, not just in the browser")
}

// TestRateLimitPerKey: each credential has its own budget.
func TestRateLimitPerKey(t *testing.T) {
	a := newAPI(t, func(d *server.Deps) { d.RateLimit, d.RateBurst = 0.0001, 3 })
	// Set up through the store: the admin key has a budget of 3 here too.
	c := uniqueID("rate")
	_, _, err := a.store.UpsertClient(t.Context(), store.Client{ID: c, Name: "Rate", DefaultCurrency: "usd"})
	require.NoError(t, err)
	_, keyA, err := a.store.CreateAPIKey(t.Context(), store.RoleClient, c, "", "test")
	require.NoError(t, err)
	_, keyB, err := a.store.CreateAPIKey(t.Context(), store.RoleClient, c, "", "test")
	require.NoError(t, err)
	for i := range 3 {
		code, body := a.json(req{method: http.MethodGet, path: "/api/v1/me", key: keyA})
		require.Equal(t, http.StatusOK, code, "request %d: %v", i, body)
	}
	res, body := a.send(req{method: http.MethodGet, path: "/api/v1/me", key: keyA})
	require.Equal(t, http.StatusTooManyRequests, res.StatusCode, string(body))
	require.Contains(t, string(body), `"code":"rate_limited"`)
	require.NotEmpty(t, res.Header.Get("Retry-After"))
	code, _ := a.json(req{method: http.MethodGet, path: "/api/v1/me", key: keyB})
	require.Equal(t, http.StatusOK, code, "another key is not slowed down by the first")
}

// TestAddressLimitsIgnoreForwardingHeaders: logins and failed credentials are limited per
// address, and the address is the connection's: a client cannot take a fresh budget for each
// attempt by sending its own X-Forwarded-For or X-Real-IP. Behind proxies named in
// TrustedProxies the address is read from X-Forwarded-For, past those proxies only. A request
// from an address out of failures is refused before its credential is even checked.
func TestAddressLimitsIgnoreForwardingHeaders(t *testing.T) {
	const burst = 2
	loopback := &net.IPNet{IP: net.IPv4(127, 0, 0, 0), Mask: net.CIDRMask(8, 32)}
	other := &net.IPNet{IP: net.IPv4(198, 51, 100, 0), Mask: net.CIDRMask(24, 32)}
	login := func(_ int, h map[string]string) req {
		return req{method: http.MethodPost, path: "/api/v1/session", body: map[string]string{"key": "guess"}, header: h}
	}
	bearer := func(i int, h map[string]string) req {
		return req{method: http.MethodGet, path: "/api/v1/me", key: fmt.Sprintf("psk_guess%d", i), header: h}
	}
	xff := func(i int) map[string]string {
		return map[string]string{"X-Forwarded-For": fmt.Sprintf("203.0.113.%d", i)}
	}
	realIP := func(i int) map[string]string { return map[string]string{"X-Real-IP": fmt.Sprintf("203.0.113.%d", i)} }
	tests := []struct {
		name    string
		trusted []*net.IPNet
		attempt func(int, map[string]string) req
		header  func(int) map[string]string
		limited bool
	}{
		{"login, X-Forwarded-For", nil, login, xff, true},
		{"login, X-Real-IP", nil, login, realIP, true},
		{"bearer key, X-Forwarded-For", nil, bearer, xff, true},
		{"bearer key, X-Real-IP", nil, bearer, realIP, true},
		{"login behind a proxy that is not ours", []*net.IPNet{other}, login, xff, true},
		{"bearer key behind a proxy that is not ours", []*net.IPNet{other}, bearer, xff, true},
		{"login behind our proxy: one budget per client", []*net.IPNet{loopback}, login, xff, false},
		{"bearer key behind our proxy: one budget per client", []*net.IPNet{loopback}, bearer, xff, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPI(t, func(d *server.Deps) { d.RateLimit, d.RateBurst, d.TrustedProxies = 0.0001, burst, tt.trusted })
			for i := range 3 * burst {
				res, body := a.send(tt.attempt(i, tt.header(i)))
				if i < burst || !tt.limited {
					require.Equal(t, http.StatusUnauthorized, res.StatusCode, "attempt %d: %s", i, body)
					continue
				}
				require.Equal(t, http.StatusTooManyRequests, res.StatusCode, "attempt %d from the same connection: %s", i, body)
				require.Contains(t, string(body), `"code":"rate_limited"`)
				require.NotEmpty(t, res.Header.Get("Retry-After"))
			}
		})
	}

	t.Run("an address out of failures is refused even with a good key", func(t *testing.T) {
		a := newAPI(t, func(d *server.Deps) { d.RateLimit, d.RateBurst = 0.0001, burst })
		code, body := a.json(req{method: http.MethodGet, path: "/api/v1/me", key: adminKey})
		require.Equal(t, http.StatusOK, code, "successes take nothing from the budget: %v", body)
		for i := range burst {
			code, body = a.json(bearer(i, nil))
			require.Equal(t, http.StatusUnauthorized, code, "%v", body)
		}
		code, body = a.json(req{method: http.MethodGet, path: "/api/v1/me", key: adminKey})
		require.Equal(t, http.StatusTooManyRequests, code, "no answer tells a guess right from wrong any more: %v", body)
		code, body = a.json(req{method: http.MethodGet, path: "/api/v1/me"})
		require.Equal(t, http.StatusTooManyRequests, code, "%v", body)
	})
}

// TestBootstrapSessionEndsWhenTheKeyIsRotated: a browser session opened with the bootstrap
// ADMIN_API_KEY lives only as long as that key is the configured one. Rotating the key (an API
// started with another ADMIN_API_KEY on the same database) ends its sessions, as revoking a stored
// key ends the sessions of that key.
func TestBootstrapSessionEndsWhenTheKeyIsRotated(t *testing.T) {
	const rotatedKey = "rotated-admin-key-123"
	old := newAPI(t, nil) // ADMIN_API_KEY = adminKey
	oldCookies, _ := old.login(adminKey)
	rotated := newAPI(t, func(d *server.Deps) { d.AdminAPIKey = rotatedKey })
	newCookies, _ := rotated.login(rotatedKey)
	noBootstrap := newAPI(t, func(d *server.Deps) { d.AdminAPIKey = "" })

	tests := []struct {
		name string
		api  *apiEnv
		r    req
		want int
	}{
		{"the old key's session, where it is still the key", old, req{cookies: oldCookies}, http.StatusOK},
		{"the old key, rotated", rotated, req{key: adminKey}, http.StatusUnauthorized},
		{"the old key's session, rotated", rotated, req{cookies: oldCookies}, http.StatusUnauthorized},
		{"the new key's session", rotated, req{cookies: newCookies}, http.StatusOK},
		{"the new key's session where the old key is configured", old, req{cookies: newCookies}, http.StatusUnauthorized},
		{"a bootstrap session where no bootstrap key is configured", noBootstrap, req{cookies: newCookies}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.r.method, tt.r.path = http.MethodGet, "/api/v1/admin/clients"
			code, body := tt.api.json(tt.r)
			require.Equal(t, tt.want, code, "%v", body)
		})
	}
}

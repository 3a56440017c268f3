package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/api/server"
	"paysplit/internal/store"
)

// jarBrowser is a client with a cookie jar, as a browser keeps and sends cookies, on the API's plain
// or TLS listener.
type jarBrowser struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newJarBrowser(t *testing.T, base string, hc *http.Client) *jarBrowser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := *hc
	c.Jar = jar
	return &jarBrowser{t: t, base: base, hc: &c}
}

func (b *jarBrowser) do(method, path string, body any, header map[string]string) (*http.Response, []byte) {
	b.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(b.t, err)
		rd = bytes.NewReader(raw)
	}
	hr, err := http.NewRequest(method, b.base+path, rd)
	require.NoError(b.t, err)
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		hr.Header.Set(k, v)
	}
	res, err := b.hc.Do(hr)
	require.NoError(b.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(b.t, err)
	checkAgainstSpec(b.t, hr, res, raw)
	return res, raw
}

func (b *jarBrowser) cookie(name string) string {
	u, err := url.Parse(b.base)
	require.NoError(b.t, err)
	for _, c := range b.hc.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// tlsListener serves the API's handler over HTTPS too, beside newAPI's plain listener.
func tlsListener(t *testing.T, a *apiEnv) (string, *http.Client) {
	ts := httptest.NewTLSServer(a.srv)
	t.Cleanup(ts.Close)
	return ts.URL, ts.Client()
}

// TestSessionCookiesTakeTheHostPrefixWhenSecure: whenever the cookies are Secure (the request came
// over TLS, through a trusted proxy that says so, or APP_ENV=production) they are named
// __Host-paysplit_session and __Host-paysplit_csrf, with Path=/ and no Domain, so that no other
// host (a sibling subdomain, or a network attacker answering plain HTTP) can set or shadow them.
// Plain-HTTP development keeps the unprefixed names, which a browser takes without Secure.
func TestSessionCookiesTakeTheHostPrefixWhenSecure(t *testing.T) {
	loopback := []*net.IPNet{{IP: net.IPv4(127, 0, 0, 0), Mask: net.CIDRMask(8, 32)}}
	tests := []struct {
		name       string
		tls        bool
		trusted    []*net.IPNet
		proto      string
		production bool
		secure     bool
	}{
		{name: "plain HTTP", secure: false},
		{name: "a client's own X-Forwarded-Proto", proto: "https", secure: false},
		{name: "over TLS", tls: true, secure: true},
		{name: "a trusted proxy that terminated TLS", trusted: loopback, proto: "https", secure: true},
		{name: "production", production: true, secure: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPI(t, func(d *server.Deps) { d.TrustedProxies, d.SecureCookies = tt.trusted, tt.production })
			_, key := a.newKey(store.RoleClient, a.newClient("host"))
			base, hc := a.url, http.DefaultClient
			if tt.tls {
				base, hc = tlsListener(t, a)
			}
			header := map[string]string{}
			if tt.proto != "" {
				header["X-Forwarded-Proto"] = tt.proto
			}
			res, body := newJarBrowser(t, base, hc).do(http.MethodPost, "/api/v1/session", map[string]string{"key": key}, header)
			require.Equal(t, http.StatusCreated, res.StatusCode, string(body))
			prefix, other := "", "__Host-"
			if tt.secure {
				prefix, other = "__Host-", ""
			}
			for _, name := range []string{"paysplit_session", "paysplit_csrf"} {
				ck := cookieNamed(res.Cookies(), prefix+name)
				require.NotNil(t, ck, "%s%s set: %v", prefix, name, res.Header.Values("Set-Cookie"))
				require.NotEmpty(t, ck.Value)
				require.Equal(t, tt.secure, ck.Secure, name)
				require.Equal(t, "/", ck.Path, name)
				require.Empty(t, ck.Domain, name)
				require.Equal(t, http.SameSiteStrictMode, ck.SameSite, name)
				require.Equal(t, name == "paysplit_session", ck.HttpOnly, name)
				if stale := cookieNamed(res.Cookies(), other+name); stale != nil {
					require.Empty(t, stale.Value, "only a clearing of %s%s", other, name)
					require.Negative(t, stale.MaxAge)
				}
			}
			for _, raw := range res.Header.Values("Set-Cookie") {
				require.NotContains(t, strings.ToLower(raw), "domain=", raw)
			}
		})
	}
}

// TestSessionWorksEndToEndInBothModes: a browser logs in, reads, changes something with its CSRF
// token (read from the cookie, as the dashboard does) and logs out, over plain HTTP and over
// HTTPS, on one server.
func TestSessionWorksEndToEndInBothModes(t *testing.T) {
	a := newAPI(t, nil)
	c := a.newClient("e2e")
	_, key := a.newKey(store.RoleClient, c)
	tlsBase, tlsClient := tlsListener(t, a)
	for _, mode := range []struct {
		name, base, csrfCookie string
		hc                     *http.Client
	}{
		{"plain HTTP", a.url, "paysplit_csrf", http.DefaultClient},
		{"HTTPS", tlsBase, "__Host-paysplit_csrf", tlsClient},
	} {
		t.Run(mode.name, func(t *testing.T) {
			b := newJarBrowser(t, mode.base, mode.hc)
			res, body := b.do(http.MethodPost, "/api/v1/session", map[string]string{"key": key}, nil)
			require.Equal(t, http.StatusCreated, res.StatusCode, string(body))
			csrf := b.cookie(mode.csrfCookie)
			require.NotEmpty(t, csrf, "the page reads the CSRF token from %s", mode.csrfCookie)

			res, body = b.do(http.MethodGet, "/api/v1/me", nil, nil)
			require.Equal(t, http.StatusOK, res.StatusCode, string(body))
			require.Contains(t, string(body), `"session":true`)
			require.Contains(t, string(body), c)

			res, body = b.do(http.MethodPost, "/api/v1/kpis/refresh", nil, nil)
			require.Equal(t, http.StatusForbidden, res.StatusCode, "no CSRF token: %s", body)
			res, body = b.do(http.MethodPost, "/api/v1/kpis/refresh", nil, map[string]string{"X-CSRF-Token": csrf})
			require.Equal(t, http.StatusNotImplemented, res.StatusCode, "past authentication and CSRF: %s", body)

			res, body = b.do(http.MethodDelete, "/api/v1/session", nil, map[string]string{"X-CSRF-Token": csrf})
			require.Equal(t, http.StatusNoContent, res.StatusCode, string(body))
			res, body = b.do(http.MethodGet, "/api/v1/me", nil, nil)
			require.Equal(t, http.StatusUnauthorized, res.StatusCode, string(body))
		})
	}
}

// TestUnprefixedSessionCookieOverHTTPS: after the upgrade, a browser over HTTPS still holding
// paysplit_session from before is not taken (it is the cookie another host could have set; the
// user logs in again), and its login ends that session and clears the old cookies.
func TestUnprefixedSessionCookieOverHTTPS(t *testing.T) {
	a := newAPI(t, nil)
	_, key := a.newKey(store.RoleClient, a.newClient("old"))
	base, hc := tlsListener(t, a)
	old, _ := a.login(key) // over plain HTTP: the unprefixed names, as before the upgrade
	oldSession := cookieNamed(old, "paysplit_session")
	require.NotNil(t, oldSession)

	send := func(method, path string, body any) *http.Response {
		var rd io.Reader
		if body != nil {
			raw, err := json.Marshal(body)
			require.NoError(t, err)
			rd = bytes.NewReader(raw)
		}
		hr, err := http.NewRequest(method, base+path, rd)
		require.NoError(t, err)
		if body != nil {
			hr.Header.Set("Content-Type", "application/json")
		}
		hr.AddCookie(&http.Cookie{Name: oldSession.Name, Value: oldSession.Value})
		res, err := hc.Do(hr)
		require.NoError(t, err)
		raw, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		res.Body.Close()
		checkAgainstSpec(t, hr, res, raw)
		return res
	}
	require.Equal(t, http.StatusUnauthorized, send(http.MethodGet, "/api/v1/me", nil).StatusCode, "the unprefixed cookie is not read over HTTPS")

	res := send(http.MethodPost, "/api/v1/session", map[string]string{"key": key})
	require.Equal(t, http.StatusCreated, res.StatusCode)
	require.NotNil(t, cookieNamed(res.Cookies(), "__Host-paysplit_session"))
	for _, name := range []string{"paysplit_session", "paysplit_csrf"} {
		cleared := cookieNamed(res.Cookies(), name)
		require.NotNil(t, cleared, "the login clears %s", name)
		require.Empty(t, cleared.Value)
		require.Negative(t, cleared.MaxAge)
	}
	code, _ := a.json(req{method: http.MethodGet, path: "/api/v1/me", cookies: []*http.Cookie{oldSession}})
	require.Equal(t, http.StatusUnauthorized, code, "the login ended the session the old cookie held")
}

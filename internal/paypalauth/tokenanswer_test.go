package paypalauth_test

import (
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/paypalauth"
)

// tokenServer answers the token endpoint with token and /v1/call 200 {} to the bearer of
// A21AAgood, 401 otherwise.
func tokenServer(t *testing.T, token http.HandlerFunc) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/oauth2/token", token)
	mux.HandleFunc("/v1/call", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer A21AAgood" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{}`)
	})
	mux.HandleFunc("/proxy/sign-in", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html><body>Please sign in to the proxy</body></html>")
	})
	mux.HandleFunc("/v1/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/v1/call", http.StatusFound)
	})
	mux.HandleFunc("/proxy/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func callWithToken(t *testing.T, base string) error {
	t.Helper()
	c, err := paypalauth.NewClient("id", "secret", base, &http.Client{})
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/v1/call", nil)
	require.NoError(t, err)
	var out map[string]any
	return paypalauth.SendWithAuth(t.Context(), c, req, &out)
}

// PayPal's own token answer (its scopes, app_id and nonce beside the token, a charset in its
// Content-Type, gzip on the wire, expires_in as a number or a string) is used as it was.
func TestGoodTokenAnswerIsUsed(t *testing.T) {
	const real = `{"scope":"https://uri.paypal.com/services/payments/payouts https://uri.paypal.com/services/reporting/search/read",` +
		`"access_token":"A21AAgood","token_type":"Bearer","app_id":"APP-80W284485P519543T","expires_in":32400,"nonce":"2026-11-28T15:35:36ZaYZlGvEkV4"}`
	for name, h := range map[string]http.HandlerFunc{
		"plain": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, real)
		},
		"charset, gzip": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json;charset=UTF-8")
			w.Header().Set("Content-Encoding", "gzip")
			z := gzip.NewWriter(w)
			_, _ = io.WriteString(z, real)
			_ = z.Close()
		},
		"expires_in a string": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, strings.Replace(real, `32400`, `"32400"`, 1))
		},
	} {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, callWithToken(t, tokenServer(t, h).URL))
		})
	}
}

// A token answer plutov cannot read is the token request's failure whatever its form: a JSON
// error answer plutov cannot decode as its ErrorResponse (it failed with a bare json error), and
// a redirect of the token request (to a proxy's sign-in page, whose HTML reached plutov as the
// answer of a request that is no token request, or to JSON without a token: plutov's panic with
// its lock held).
func TestUnreadableTokenAnswerIsTheTokenRequestsFailure(t *testing.T) {
	for name, h := range map[string]http.HandlerFunc{
		"503 JSON string": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `"Service Unavailable"`)
		},
		"502 JSON details not a list": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, `{"message":"Bad Gateway","details":"upstream timed out"}`)
		},
		"302 to a sign-in page": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "/proxy/sign-in")
			w.WriteHeader(http.StatusFound)
		},
		"302 to a JSON page without a token": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "/proxy/status")
			w.WriteHeader(http.StatusFound)
		},
		"307 to a sign-in page": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "/proxy/sign-in")
			w.WriteHeader(http.StatusTemporaryRedirect)
		},
	} {
		t.Run(name, func(t *testing.T) {
			err := callWithToken(t, tokenServer(t, h).URL)
			require.Error(t, err)
			require.True(t, paypalauth.TokenRequestFailed(err), "the token request's failure: %v", err)
		})
	}
}

// Only the token request's redirects are refused: another call's are followed as net/http
// follows them, or as the caller's client says.
func TestCallRedirectsFollowedAsBefore(t *testing.T) {
	srv := tokenServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"A21AAgood","token_type":"Bearer","expires_in":32400}`)
	})

	get := func(hc *http.Client) error {
		c, err := paypalauth.NewClient("id", "secret", srv.URL, hc)
		require.NoError(t, err)
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/v1/moved", nil)
		require.NoError(t, err)
		var out map[string]any
		return paypalauth.SendWithAuth(t.Context(), c, req, &out)
	}
	require.NoError(t, get(&http.Client{}), "followed")
	refused := errors.New("no redirects here")
	err := get(&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return refused }})
	require.ErrorIs(t, err, refused, "the caller's client says")
}

package server_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestHEADIsAnsweredAsGET: every GET resource must answer HEAD (RFC 9110 9.3.2) with the status
// and headers GET would have, and no body. Echo routes HEAD apart, so a HEAD of the dashboard or
// of /healthz, what uptime checks and link checkers send, was 404 not_found, as if the page were
// gone, and a HEAD of a client endpoint 404 even without credentials.
func TestHEADIsAnsweredAsGET(t *testing.T) {
	a := newAPI(t, nil)
	cl := a.newClient("headco")
	_, key := a.newKey("client", cl)
	do := func(method, path, key string) (*http.Response, []byte) {
		hr, err := http.NewRequest(method, a.url+path, nil)
		require.NoError(t, err)
		if key != "" {
			hr.Header.Set("Authorization", "Bearer "+key)
		}
		res, err := http.DefaultClient.Do(hr)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res, b
	}
	for _, tc := range []struct{ name, path, key string }{
		{"dashboard", "/", ""},
		{"health", "/healthz", ""},
		{"static file", "/static/app.js", ""},
		{"client endpoint", "/api/v1/kpis", key},
		{"client endpoint without credentials", "/api/v1/kpis", ""},
		{"admin endpoint with a client key", "/api/v1/admin/clients", key},
		{"no such path", "/api/v1/nothing-here", key},
	} {
		t.Run(tc.name, func(t *testing.T) {
			get, _ := do(http.MethodGet, tc.path, tc.key)
			head, body := do(http.MethodHead, tc.path, tc.key)
			require.Equal(t, get.StatusCode, head.StatusCode)
			require.Equal(t, get.Header.Get("Content-Type"), head.Header.Get("Content-Type"))
			require.Empty(t, body, "HEAD has no body")
		})
	}
}

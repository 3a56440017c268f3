package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"paysplit/internal/payment"
)

// TestMisspelledFilterIsRefused: ?client=acme (for client_id) listed every client's payments,
// and an admin acting on them believed they were acme's. A query parameter the operation does
// not take is 400 unknown_parameter, naming the ones it does take.
func TestMisspelledFilterIsRefused(t *testing.T) {
	a := newAPI(t, nil)
	acme, other := a.newClient("acme"), a.newClient("other")
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []string{acme, other} {
		require.NoError(t, a.store.SavePayment(t.Context(), paidRecord(c, uniqueID("pi"), at, 10000, 0, payment.StatusPaid)))
	}

	code, body := a.json(req{method: http.MethodGet, path: "/api/v1/admin/payments?client=" + acme, key: adminKey})
	require.Equal(t, http.StatusBadRequest, code, "a misspelled filter is refused, not ignored: %v", body)
	require.Equal(t, map[string]any{"error": map[string]any{"code": "unknown_parameter",
		"message": `query parameter "client" is not one of: client_id, vendor_id, order_id, status, from, to, limit, cursor`}}, body)

	// Spelled right, it filters.
	code, body = a.json(req{method: http.MethodGet, path: "/api/v1/admin/payments?client_id=" + acme, key: adminKey})
	require.Equal(t, http.StatusOK, code, body)
	require.Len(t, body["payments"], 1)

	// A query Go cannot read had its pairs dropped without a word: no filter, every client's rows.
	// And one given twice was read once, the other value dropped.
	for _, q := range []string{"client_id=" + acme + ";status=paid", "client_id=" + acme + "%zz", "client_id=" + other + "&client_id=" + acme} {
		code, body = a.json(req{method: http.MethodGet, path: "/api/v1/admin/payments?" + q, key: adminKey})
		require.Equal(t, http.StatusBadRequest, code, "%s: %v", q, body)
		require.Equal(t, "invalid_query", body["error"].(map[string]any)["code"], q)
	}

	// A client's key too: its scope is its own, but a filter it misspelled is no less refused.
	_, clientKey := a.newKey("client", acme)
	tests := []struct {
		name, path, key, message string
	}{
		{"two unknown, named in order", "/api/v1/payouts?stat=held&client=" + acme, clientKey,
			`query parameters "client", "stat" are not any of: client_id, from, to, state, limit, cursor`},
		{"an operation that takes none", "/api/v1/me?client_id=" + acme, clientKey,
			`query parameter "client_id" is not taken: this operation has no query parameters`},
		{"a name in another case", "/api/v1/admin/payments?Client_ID=" + acme, adminKey,
			`query parameter "Client_ID" is not one of: client_id, vendor_id, order_id, status, from, to, limit, cursor`},
		{"an empty name", "/api/v1/admin/clients?=x", adminKey, `query parameter "" is not one of: status`},
		{"HEAD as GET", "/api/v1/admin/clients?state=active", adminKey, `query parameter "state" is not one of: status`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := http.MethodGet
			if strings.HasPrefix(tt.name, "HEAD") {
				method = http.MethodHead
			}
			res, raw := a.send(req{method: method, path: tt.path, key: tt.key})
			require.Equal(t, http.StatusBadRequest, res.StatusCode, string(raw))
			if method == http.MethodHead {
				return // no body to read
			}
			var out map[string]map[string]string
			require.NoError(t, json.Unmarshal(raw, &out), string(raw))
			require.Equal(t, "unknown_parameter", out["error"]["code"])
			require.Equal(t, tt.message, out["error"]["message"])
		})
	}
}

// TestEveryAPIOperationRefusesUnknownQueryParameters: every route under /api/v1 (admin, client,
// session, the document), whatever its method, refuses a query parameter it does not take before
// its handler runs.
func TestEveryAPIOperationRefusesUnknownQueryParameters(t *testing.T) {
	a := newAPI(t, nil)
	n := 0
	for _, r := range a.srv.Routes() {
		if r.Method == echo.RouteNotFound || !strings.HasPrefix(r.Path, "/api/v1/") {
			continue
		}
		n++
		path := echoParam.ReplaceAllString(r.Path, "zz") + "?zz_unknown=1"
		t.Run(r.Method+" "+r.Path, func(t *testing.T) {
			hr, err := http.NewRequest(r.Method, a.url+path, bytes.NewReader([]byte("{}")))
			require.NoError(t, err)
			hr.Header.Set("Content-Type", "application/json")
			hr.Header.Set("Authorization", "Bearer "+adminKey)
			res, err := http.DefaultClient.Do(hr)
			require.NoError(t, err)
			defer res.Body.Close()
			raw, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			require.Equal(t, http.StatusBadRequest, res.StatusCode, string(raw))
			require.Contains(t, string(raw), `"code":"unknown_parameter"`)
			require.Contains(t, string(raw), `query parameter \"zz_unknown\" is not`)
			checkAgainstSpec(t, hr, res, raw)
		})
	}
	require.Greater(t, n, 50)
}

// TestQueryParametersOutsideTheAPIAreLeftAlone: providers may append their own query parameters
// to a webhook's URL, load balancers and scrapers theirs to the probes, and a browser's cache
// busting to the dashboard's files: none of those is refused for a parameter.
func TestQueryParametersOutsideTheAPIAreLeftAlone(t *testing.T) {
	a := newAPI(t, nil)
	// Sent raw: the document lists no parameters for these, so the spec check would object to the
	// very requests this test is about.
	raw := func(method, path string, body []byte) (int, string) {
		hr, err := http.NewRequest(method, a.url+path, bytes.NewReader(body))
		require.NoError(t, err)
		if body != nil {
			hr.Header.Set("Content-Type", "application/json")
		}
		res, err := http.DefaultClient.Do(hr)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res.StatusCode, string(b)
	}
	for _, path := range []string{"/?v=2", "/static/app.js?v=2026-11-27", "/healthz?probe=lb", "/readyz?x=1", "/metrics?name[]=up"} {
		code, body := raw(http.MethodGet, path, nil)
		require.Equal(t, http.StatusOK, code, "%s: %.300s", path, body)
	}
	// The webhooks answer as they would without the parameter (here: unsigned, or for a client
	// that does not exist), never unknown_parameter.
	for _, path := range []string{"/webhooks/stripe?source=dashboard", "/webhooks/stripe-connect?x=1", "/webhooks/paypal?x=1",
		"/webhooks/shopify/nobody?x=1", "/webhooks/instagram/nobody?hub.mode=subscribe&extra=1"} {
		method, body := http.MethodPost, []byte("{}")
		if strings.HasPrefix(path, "/webhooks/instagram") {
			method, body = http.MethodGet, nil
		}
		code, out := raw(method, path, body)
		require.NotEqual(t, http.StatusOK, code, "%s: %s", path, out)
		require.NotContains(t, out, "unknown_parameter", path)
	}
}

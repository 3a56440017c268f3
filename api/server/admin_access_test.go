package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/payment"
	"paysplit/internal/store"
)

// auditOf returns the audit entries of one target, newest first.
func (a *apiEnv) auditOf(target string) []map[string]any {
	a.t.Helper()
	code, body := a.json(req{method: http.MethodGet, path: "/api/v1/admin/audit?target=" + target, key: adminKey})
	require.Equal(a.t, http.StatusOK, code, body)
	var out []map[string]any
	for _, e := range body["entries"].([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

func TestAdminChangesAreAudited(t *testing.T) {
	a := newAPI(t, nil)
	c := a.newClient("audit")
	code, body := a.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + c, key: adminKey,
		body: map[string]any{"name": "Renamed Shop", "default_currency": "eur"}})
	require.Equal(t, http.StatusOK, code, body)

	entries := a.auditOf("client:" + c)
	require.Len(t, entries, 2)
	update, create := entries[0], entries[1]
	require.Equal(t, "client.upsert", update["action"])
	require.Equal(t, "admin:bootstrap", update["actor"])
	require.NotEmpty(t, update["request_id"])
	require.Nil(t, create["before"], "a creation has no before")
	require.Equal(t, "Audit Shop", update["before"].(map[string]any)["name"])
	require.Equal(t, "Renamed Shop", update["after"].(map[string]any)["name"])
	require.Equal(t, "eur", update["after"].(map[string]any)["default_currency"])

	// A change that fails validation is not applied and not audited.
	code, _ = a.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + c, key: adminKey,
		body: map[string]any{"name": "", "default_currency": "eur"}})
	require.Equal(t, http.StatusBadRequest, code)
	require.Len(t, a.auditOf("client:"+c), 2)

	// Settings: defaults, update, validation, audit with before and after.
	code, body = a.json(req{method: http.MethodGet, path: "/api/v1/admin/clients/" + c + "/settings", key: adminKey})
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "30d", body["default_period"])
	code, body = a.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + c + "/settings", key: adminKey,
		body: map[string]any{"default_period": "7d", "accent_color": "#0f766e"}})
	require.Equal(t, http.StatusOK, code, body)
	code, body = a.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + c + "/settings", key: adminKey,
		body: map[string]any{"default_period": "1y", "accent_color": "#0f766e"}})
	require.Equal(t, http.StatusBadRequest, code, body)
	code, body = a.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/ghost/settings", key: adminKey,
		body: map[string]any{"default_period": "7d", "accent_color": "#0f766e"}})
	require.Equal(t, http.StatusNotFound, code, body)
	settings := a.auditOf("client:" + c)[0]
	require.Equal(t, "settings.update", settings["action"])
	require.Equal(t, "30d", settings["before"].(map[string]any)["default_period"])
	require.Equal(t, "7d", settings["after"].(map[string]any)["default_period"])

	// Webhook secrets are write-only: no answer, listing or audit entry contains them.
	const secret = "shpss_top_secret_value_123"
	res, raw := a.send(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + c + "/webhook-secrets/shopify", key: adminKey,
		body: map[string]any{"secret": secret}})
	require.Equal(t, http.StatusCreated, res.StatusCode, string(raw))
	require.NotContains(t, string(raw), secret)
	res, raw = a.send(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + c + "/webhook-secrets/shopify", key: adminKey,
		body: map[string]any{"secret": secret + "-rotated"}})
	require.Equal(t, http.StatusOK, res.StatusCode, string(raw))
	for _, bad := range []struct{ provider, secret string }{{"Shop%20ify", secret}, {"shopify", "short"}} {
		code, body := a.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + c + "/webhook-secrets/" + bad.provider, key: adminKey,
			body: map[string]any{"secret": bad.secret}})
		require.Equal(t, http.StatusBadRequest, code, body)
	}
	res, raw = a.send(req{method: http.MethodGet, path: "/api/v1/admin/clients/" + c + "/webhook-secrets", key: adminKey})
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, string(raw), `"provider":"shopify"`)
	require.NotContains(t, string(raw), secret)
	res, raw = a.send(req{method: http.MethodGet, path: "/api/v1/admin/audit?target=webhook_secret:" + c + "/shopify", key: adminKey})
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, string(raw), "webhook_secret.set")
	require.NotContains(t, string(raw), secret)
	got, err := a.store.ClientWebhookSecret(t.Context(), c, "shopify")
	require.NoError(t, err)
	require.Equal(t, secret+"-rotated", string(got), "the storefront webhooks read the latest secret")
	res, _ = a.send(req{method: http.MethodDelete, path: "/api/v1/admin/clients/" + c + "/webhook-secrets/shopify", key: adminKey})
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	_, err = a.store.ClientWebhookSecret(t.Context(), c, "shopify")
	require.ErrorIs(t, err, store.ErrNotFound)

	// API keys: shown once, listed without the secret, revocation audited and effective.
	keyID, key := a.newKey(store.RoleClient, c)
	code, body = a.json(req{method: http.MethodGet, path: "/api/v1/admin/api-keys?client_id=" + c, key: adminKey})
	require.Equal(t, http.StatusOK, code, body)
	listing, _ := json.Marshal(body)
	require.Contains(t, string(listing), keyID)
	require.NotContains(t, string(listing), key)
	for _, bad := range []map[string]any{{"role": "client"}, {"role": "admin", "client_id": c}, {"role": "root"}, {"role": "client", "client_id": "ghost"}} {
		code, body := a.json(req{method: http.MethodPost, path: "/api/v1/admin/api-keys", key: adminKey, body: bad})
		require.Equal(t, http.StatusBadRequest, code, "%v: %v", bad, body)
	}
	code, _ = a.json(req{method: http.MethodGet, path: "/api/v1/me", key: key})
	require.Equal(t, http.StatusOK, code)
	code, body = a.json(req{method: http.MethodDelete, path: "/api/v1/admin/api-keys/" + keyID, key: adminKey})
	require.Equal(t, http.StatusOK, code, body)
	require.NotNil(t, body["revoked_at"])
	code, _ = a.json(req{method: http.MethodGet, path: "/api/v1/me", key: key})
	require.Equal(t, http.StatusUnauthorized, code)
	revoke := a.auditOf("api_key:" + keyID)
	require.Len(t, revoke, 1)
	require.Nil(t, revoke[0]["before"].(map[string]any)["revoked_at"])
	require.NotNil(t, revoke[0]["after"].(map[string]any)["revoked_at"])
	created, _ := json.Marshal(a.auditOf("api_keys"))
	require.Contains(t, string(created), keyID)
	require.NotContains(t, string(created), key, "the audit log never holds a key")
	code, _ = a.json(req{method: http.MethodDelete, path: "/api/v1/admin/api-keys/key_nope", key: adminKey})
	require.Equal(t, http.StatusNotFound, code)

	// An admin key created through the API is an admin, and its changes name it.
	adminID, adminSecret := a.newKey(store.RoleAdmin, "")
	code, body = a.json(req{method: http.MethodPut, path: "/api/v1/admin/payees/" + c + "-vendor", key: adminSecret,
		body: map[string]any{"client_id": c, "kind": "vendor", "stripe_account": "acct_123"}})
	require.Equal(t, http.StatusCreated, code, body)
	payee := a.auditOf("payee:" + c + "-vendor")
	require.Len(t, payee, 1)
	require.Equal(t, "admin:"+adminID, payee[0]["actor"])

	// The audit log pages with cursors and filters by actor.
	code, body = a.json(req{method: http.MethodGet, path: "/api/v1/admin/audit?actor=admin:" + adminID, key: adminKey})
	require.Equal(t, http.StatusOK, code, body)
	require.Len(t, body["entries"], 1)
	seen := map[float64]bool{}
	cursor := ""
	for page := 0; page < 50; page++ {
		path := "/api/v1/admin/audit?limit=3&target=client:" + c
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		code, body = a.json(req{method: http.MethodGet, path: path, key: adminKey})
		require.Equal(t, http.StatusOK, code, body)
		for _, e := range body["entries"].([]any) {
			id := e.(map[string]any)["id"].(float64)
			require.False(t, seen[id])
			seen[id] = true
		}
		next, _ := body["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	require.Len(t, seen, 3, "create, update, settings")
}

// The audit log records the server's own request ID, the one its answer carries in X-Request-Id,
// never the caller's: an X-Request-Id a caller sends (here one naming another change, 16 KiB long)
// would otherwise make an admin change's entry point at another request, or bloat the log nothing
// can be erased from.
func TestAuditLogRecordsTheServersRequestID(t *testing.T) {
	a := newAPI(t, nil)
	c := a.newClient("rid")
	for _, tt := range []struct{ name, sent string }{
		{"an ID naming another change, padded", "req-of-another-change-" + strings.Repeat("a", 16<<10)},
		{"a plausible ID", "0123456789abcdef"},
		{"none", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			header := map[string]string{}
			if tt.sent != "" {
				header["X-Request-Id"] = tt.sent
			}
			res, body := a.send(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + c, key: adminKey,
				body: map[string]any{"name": "Renamed " + tt.name, "default_currency": "usd"}, header: header})
			require.Equal(t, http.StatusOK, res.StatusCode, string(body))
			answered := res.Header.Get("X-Request-Id")
			require.Regexp(t, `^[A-Za-z0-9]{16,64}$`, answered, "the server's own ID, short and plain")
			require.NotEqual(t, tt.sent, answered, "the caller's X-Request-Id is not taken")
			entries := a.auditOf("client:" + c)
			require.NotEmpty(t, entries)
			require.Equal(t, answered, entries[0]["request_id"], "the audit entry names the request that made the change")
		})
	}
}

func TestAdminListings(t *testing.T) {
	a := newAPI(t, nil)
	c, other := a.newClient("lists"), a.newClient("others")
	ctx := t.Context()
	for _, p := range []struct{ id, client, kind string }{{c + "-v", c, "vendor"}, {c + "-a", c, "affiliate"}, {other + "-v", other, "vendor"}} {
		code, body := a.json(req{method: http.MethodPut, path: "/api/v1/admin/payees/" + p.id, key: adminKey,
			body: map[string]any{"client_id": p.client, "kind": p.kind}})
		require.Equal(t, http.StatusCreated, code, body)
	}
	code, body := a.json(req{method: http.MethodGet, path: "/api/v1/admin/payees?client_id=" + c, key: adminKey})
	require.Equal(t, http.StatusOK, code, body)
	require.Len(t, body["payees"], 2)
	code, body = a.json(req{method: http.MethodGet, path: "/api/v1/admin/payees?client_id=" + c + "&kind=vendor", key: adminKey})
	require.Equal(t, http.StatusOK, code, body)
	require.Len(t, body["payees"], 1)
	code, _ = a.json(req{method: http.MethodGet, path: "/api/v1/admin/payees?kind=boss", key: adminKey})
	require.Equal(t, http.StatusBadRequest, code)

	june := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	for _, r := range []payment.Record{
		paidRecord(c, c+"-paid", june, 1000, 0, payment.StatusPaid),
		paidRecord(c, c+"-held", june.AddDate(0, 0, 1), 1000, 0, payment.StatusHeld),
		paidRecord(c, c+"-failed", june.AddDate(0, 0, 2), 1000, 0, payment.StatusPayoutFailed),
		paidRecord(other, other+"-held", june, 1000, 0, payment.StatusHeld),
	} {
		require.NoError(t, a.store.SavePayment(ctx, r))
	}
	ids := func(body map[string]any) []string {
		var out []string
		for _, p := range body["payments"].([]any) {
			out = append(out, p.(map[string]any)["workflow_id"].(string))
		}
		return out
	}
	code, body = a.json(req{method: http.MethodGet, path: "/api/v1/admin/payouts?client_id=" + c, key: adminKey})
	require.Equal(t, http.StatusOK, code, body)
	require.ElementsMatch(t, []string{"payment-stripe-" + c + "-held", "payment-stripe-" + c + "-failed"}, ids(body))
	code, body = a.json(req{method: http.MethodGet, path: "/api/v1/admin/payouts?client_id=" + c + "&status=held", key: adminKey})
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, []string{"payment-stripe-" + c + "-held"}, ids(body))
	code, _ = a.json(req{method: http.MethodGet, path: "/api/v1/admin/payouts?status=paid", key: adminKey})
	require.Equal(t, http.StatusBadRequest, code)

	// Payments by date: a date "to" includes its whole day; RFC 3339 bounds are exact.
	code, body = a.json(req{method: http.MethodGet, path: "/api/v1/admin/payments?client_id=" + c + "&from=2026-06-11&to=2026-06-11", key: adminKey})
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, []string{"payment-stripe-" + c + "-held"}, ids(body))
	code, body = a.json(req{method: http.MethodGet, path: "/api/v1/admin/payments?client_id=" + c + "&from=2026-06-10T12:00:00Z&to=2026-06-12T12:00:00Z", key: adminKey})
	require.Equal(t, http.StatusOK, code, body)
	require.ElementsMatch(t, []string{"payment-stripe-" + c + "-paid", "payment-stripe-" + c + "-held"}, ids(body))
	// Pages follow the cursor, newest capture first, to a last page with no next cursor.
	var paged []string
	path := "/api/v1/admin/payments?limit=1&client_id=" + c
	for page := 0; ; page++ {
		require.Less(t, page, 4, "the payments pages do not end")
		code, body = a.json(req{method: http.MethodGet, path: path, key: adminKey})
		require.Equal(t, http.StatusOK, code, body)
		paged = append(paged, ids(body)...)
		next, _ := body["next_cursor"].(string)
		if next == "" {
			require.Nil(t, body["next_cursor"], body)
			break
		}
		path = "/api/v1/admin/payments?limit=1&client_id=" + c + "&cursor=" + url.QueryEscape(next)
	}
	require.Equal(t, []string{"payment-stripe-" + c + "-failed", "payment-stripe-" + c + "-held", "payment-stripe-" + c + "-paid"}, paged)
	for _, q := range []string{"from=soon", "from=2026-06-12&to=2026-06-10", "limit=-1", "cursor=bm90LWpzb24"} {
		code, _ := a.json(req{method: http.MethodGet, path: "/api/v1/admin/payments?" + q, key: adminKey})
		require.Equal(t, http.StatusBadRequest, code, q)
	}
}

// TestDashboardIsServedWithChartJSVendored checks the page, its strict CSP, and that the vendored
// Chart.js is the version the Makefile pins (make vendor-chartjs).
func TestDashboardIsServedWithChartJSVendored(t *testing.T) {
	a := newAPI(t, nil)
	res, body := a.send(req{method: http.MethodGet, path: "/"})
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, res.Header.Get("Content-Type"), "text/html")
	csp := res.Header.Get("Content-Security-Policy")
	require.Contains(t, csp, "script-src 'self'")
	require.Contains(t, csp, "connect-src 'self'")
	require.NotRegexp(t, `(?i)<script[^>]+src="(https?:)?//`, string(body), "nothing from another origin")
	require.Contains(t, string(body), `/static/vendor/chart.umd.js`)

	makefile, err := os.ReadFile("../../Makefile")
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^CHARTJS_VERSION\s*:?=\s*(\S+)`).FindSubmatch(makefile)
	require.NotNil(t, m, "Makefile pins CHARTJS_VERSION")
	res, body = a.send(req{method: http.MethodGet, path: "/static/vendor/chart.umd.js"})
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, res.Header.Get("Content-Type"), "javascript")
	require.Contains(t, string(body[:200]), "Chart.js v"+string(m[1]))

	for _, p := range []string{"/static/", "/static/vendor", "/static/vendor/", "/static/nope.js", "/static/../server.go", "/static/%2e%2e/server.go"} {
		res, body := a.send(req{method: http.MethodGet, path: p})
		require.Equal(t, http.StatusNotFound, res.StatusCode, "%s: %s", p, body)
		require.False(t, strings.Contains(string(body), "package server"), p)
	}
}

// A DELETE of a webhook secret under a name no storefront webhook reads (a typo) is bad input,
// answered 400 naming the valid providers as the PUT is, where it was 404 as if the secret were
// merely unset. A secret a release before the PUT's check stored under such a name can still be
// removed.
func TestDeleteWebhookSecretOfAnUnknownProviderIs400(t *testing.T) {
	a := newAPI(t, nil)
	c := a.newClient("secretdel")
	tests := []struct {
		name, provider string
		stored         bool
		want           int
		wantIn         string
	}{
		{name: "misspelt, nothing stored", provider: "shopfy", want: http.StatusBadRequest, wantIn: "shopify, woocommerce, tiktok"},
		{name: "known, nothing stored", provider: "woocommerce", want: http.StatusNotFound},
		{name: "misspelt, stored by an older release", provider: "wocommerce", stored: true, want: http.StatusNoContent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.stored {
				_, _, err := a.store.SetClientWebhookSecret(t.Context(), c, tc.provider, []byte("legacy-secret-value"), "admin")
				require.NoError(t, err)
			}
			res, raw := a.send(req{method: http.MethodDelete, path: "/api/v1/admin/clients/" + c + "/webhook-secrets/" + tc.provider, key: adminKey})
			require.Equal(t, tc.want, res.StatusCode, string(raw))
			require.Contains(t, string(raw), tc.wantIn)
			if tc.stored {
				_, err := a.store.ClientWebhookSecret(t.Context(), c, tc.provider)
				require.ErrorIs(t, err, store.ErrNotFound)
			}
		})
	}
}

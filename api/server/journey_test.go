package server_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"paysplit/internal/ledger"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/stripeevent"
	"paysplit/testenv"
	"paysplit/workflows/payment"
)

// TestBrokenStripeRefundsAndDisputesAreRefused: refunds and disputes Stripe could not have sent
// (an unknown currency, a negative figure, more refunded than charged) were answered 200 and
// applied (a dispute of -500 "zzz" made a payment disputed); they are refused as a broken capture
// is, with the reason, and nothing is stored or started.
func TestBrokenStripeRefundsAndDisputesAreRefused(t *testing.T) {
	s := newStack(t, payment.Settings{})
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	rows := func() string {
		var out []string
		for _, table := range []string{"payments", "journal_entries", "webhook_deliveries", "webhook_inbox"} {
			var n int
			require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n))
			out = append(out, fmt.Sprintf("%s=%d", table, n))
		}
		return strings.Join(out, " ")
	}
	event := func(typ, object string) []byte {
		return []byte(`{"id":"evt_jrny_` + strings.ReplaceAll(typ, ".", "_") + `","object":"event","api_version":"2023-10-16","created":` +
			fmt.Sprint(time.Now().Unix()) + `,"type":"` + typ + `","data":{"object":` + object + `}}`)
	}
	tests := []struct {
		name, pi, message string
		body              []byte
	}{
		{"refund in an unknown currency", "pi_jrny2", "unknown currency",
			event("charge.refunded", `{"id":"ch_jr2","object":"charge","amount":1000,"amount_refunded":100,"currency":"zzz","payment_intent":"pi_jrny2"}`)},
		{"negative refunded amount", "pi_jrny3", "amount_refunded -100",
			event("charge.refunded", `{"id":"ch_jr3","object":"charge","amount":1000,"amount_refunded":-100,"currency":"usd","payment_intent":"pi_jrny3"}`)},
		{"refunded beyond the charge", "pi_jrny4", "amount_refunded 2000",
			event("charge.refunded", `{"id":"ch_jr4","object":"charge","amount":1000,"amount_refunded":2000,"currency":"usd","payment_intent":"pi_jrny4"}`)},
		{"dispute of a negative amount", "pi_jrny5", "positive amount",
			event("charge.dispute.created", `{"id":"dp_jr5","object":"dispute","amount":-500,"currency":"usd","status":"needs_response","payment_intent":"pi_jrny5"}`)},
		{"dispute in an unknown currency", "pi_jrny6", "unknown currency",
			event("charge.dispute.closed", `{"id":"dp_jr6","object":"dispute","amount":500,"currency":"zzz","status":"lost","payment_intent":"pi_jrny6"}`)},
	}
	before := rows()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := s.webhook(stripeevent.Sign(tt.body, webhookSecret, time.Now()))
			require.Equal(t, http.StatusBadRequest, code, "%v", out)
			e, ok := out["error"].(map[string]any)
			require.True(t, ok, "error shape: %v", out)
			require.Equal(t, "invalid_event", e["code"])
			require.Contains(t, e["message"], tt.message)
			_, err := s.tc.DescribeWorkflow(ctx, payment.WorkflowID("stripe", tt.pi), "")
			var nf *serviceerror.NotFound
			require.True(t, errors.As(err, &nf), "no workflow for %s: %v", tt.pi, err)
		})
	}
	require.Equal(t, before, rows(), "nothing was stored")
}

// TestOnboardingMistakesAreRefusedWithTheirReason replays what a new agency admin got wrong
// onboarding a client by the README, each of which was answered 2xx or with a reason that
// misled: every one must be a 4xx whose message says what is wrong, and write nothing.
func TestOnboardingMistakesAreRefusedWithTheirReason(t *testing.T) {
	a := newAPI(t, nil)
	c := a.newClient("jrny")
	ctx := context.Background()
	paid := paidRecord(c, c+"-1", time.Now().Add(-time.Hour), 10000, 0, ipayment.StatusPaid)
	require.NoError(t, a.store.SavePayment(ctx, paid))
	// A TikTok shop with its app secret but not its app key, an Instagram one without the
	// handshake's verify token.
	for _, p := range []string{"tiktok", "instagram", "shopify"} {
		code, out := a.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + c + "/webhook-secrets/" + p, key: adminKey,
			body: map[string]any{"secret": p + "-secret-123"}})
		require.Equal(t, http.StatusCreated, code, out)
	}
	// A signed Shopify order whose vendor is not UTF-8: decoded, it became "Vendor\uFFFD1", stored
	// under a payee ID hashed from the replacement character that no spelling registers.
	notUTF8 := "{\"id\":9001006,\"currency\":\"USD\",\"financial_status\":\"paid\",\"updated_at\":\"2026-11-27T10:05:00Z\"," +
		"\"line_items\":[{\"vendor\":\"Vendor\xff1\",\"price\":\"10.00\",\"quantity\":1}],\"shipping_lines\":[]}"
	mac := hmac.New(sha256.New, []byte("shopify-secret-123"))
	mac.Write([]byte(notUTF8))
	shopSig := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	rows := func() string {
		var out []string
		for _, q := range []string{
			"SELECT count(*) FROM clients WHERE id = $1",
			"SELECT count(*) FROM client_webhook_secrets WHERE client_id = $1",
			"SELECT count(*) FROM payments WHERE client_id = $1",
			"SELECT count(*) FROM orders WHERE client_id = $1",
			"SELECT count(*) FROM audit_log WHERE target LIKE '%' || $1 || '%'",
			"SELECT count(*) FROM monitors WHERE name LIKE $1 || '%'",
		} {
			var n int
			require.NoError(t, a.pool.QueryRow(ctx, q, c).Scan(&n))
			out = append(out, fmt.Sprintf("%s: %d", q, n))
		}
		return strings.Join(out, "; ")
	}

	const json = "application/json"
	tests := []struct {
		name, method, path, contentType, body string
		auth                                  bool
		header                                map[string]string
		status                                int
		code, message                         string
	}{
		// A webhook secret under a name no storefront reads was stored and answered 201.
		{"webhook secret for a misspelt storefront", "PUT", "/api/v1/admin/clients/" + c + "/webhook-secrets/shopfy", json,
			`{"secret":"shpss_0123456789"}`, true, nil, 400, "invalid_request",
			`"shopfy" must be one of shopify, woocommerce, tiktok, tiktok-app-key, instagram, instagram-verify-token`},
		// A secret with unpaired surrogates (or bytes that are not UTF-8) decodes to U+FFFD: the
		// secret stored was not the one sent, and no delivery would ever verify.
		{"webhook secret that does not decode as sent", "PUT", "/api/v1/admin/clients/" + c + "/webhook-secrets/shopify", json,
			`{"secret":"\ud800\ud800\ud800\ud800"}`, true, nil, 400, "invalid_request", "U+FFFD"},
		// Decoding errors quoted Go: "cannot unmarshal array into Go value of type struct { Name
		// string \"json:\\\"name\\\"\"; ... }", "Go struct field .platform_bps of type int64", "EOF".
		{"body that is not an object", "PUT", "/api/v1/admin/clients/" + c, json, `[1,2]`, true, nil, 400, "invalid_json", "request body must be a JSON object, not an array"},
		{"share as a string", "POST", "/api/v1/admin/clients/" + c + "/split-rules", json, `{"platform_bps":"1000"}`, true, nil, 400, "invalid_json", "platform_bps must be a whole number within 64 bits, not a string"},
		{"share with a fraction", "POST", "/api/v1/admin/clients/" + c + "/split-rules", json, `{"platform_bps":10.5}`, true, nil, 400, "invalid_json", "platform_bps must be a whole number within 64 bits, not 10.5"},
		{"recipients as a string", "PUT", "/api/v1/admin/clients/" + c + "/report-settings", json, `{"recipients":"a@b.example"}`, true, nil, 400, "invalid_json", "recipients must be an array of strings, not a string"},
		{"empty body", "PUT", "/api/v1/admin/clients/" + c, json, ` `, true, nil, 400, "invalid_json", "request body is empty"},
		// A client ID with a typo listed nothing, as if the client had nothing, where the client API
		// (and every admin endpoint with the client in its path) answers 404.
		{"payments of an unknown client", "GET", "/api/v1/admin/payments?client_id=" + c + "-typo", "", "", true, nil, 404, "not_found", c + "-typo"},
		{"payouts of an unknown client", "GET", "/api/v1/admin/payouts?client_id=" + c + "-typo", "", "", true, nil, 404, "not_found", c + "-typo"},
		{"payees of an unknown client", "GET", "/api/v1/admin/payees?client_id=" + c + "-typo", "", "", true, nil, 404, "not_found", c + "-typo"},
		{"api keys of an unknown client", "GET", "/api/v1/admin/api-keys?client_id=" + c + "-typo", "", "", true, nil, 404, "not_found", c + "-typo"},
		{"reports of an unknown client", "GET", "/api/v1/admin/reports?client_id=" + c + "-typo", "", "", true, nil, 404, "not_found", c + "-typo"},
		// A monitor of a client that does not exist was created and could never fire.
		{"monitor of an unknown client", "POST", "/api/v1/admin/monitors", json,
			`{"name":"` + c + ` stale","kind":"kpi_sync_stale","hours":2,"client_id":"` + c + `-typo"}`, true, nil, 400, "invalid_request", c + "-typo"},
		// Year 0 (the week ending 0000-01-09) was rendered, stored and listed to the client, whose
		// own API refuses any day outside 0001-9999.
		{"report of a week in year 0", "POST", "/api/v1/admin/reports/" + c + "/0000-W01/regenerate", "", "", true, nil,
			400, "invalid_request", "0001-9999"},
		// A status filter with a typo listed nothing, as if no payment had that status.
		{"payments with an unknown status", "GET", "/api/v1/admin/payments?client_id=" + c + "&status=payout-failed", "", "", true, nil,
			400, "invalid_request", "status must be one of awaiting_capture,"},
		// A correction without its rule version was "split rule v0 of client ...: not found".
		{"correction without a rule version", "POST", "/api/v1/admin/payments/" + paid.WorkflowID + "/correct", json, `{}`, true, nil,
			400, "invalid_request", "rule_version is required"},
		// Bytes that are not UTF-8 in a filter were refused by Postgres as "text", naming nothing.
		{"query parameter not UTF-8", "GET", "/api/v1/admin/payments?client_id=a%ffb", "", "", true, nil,
			400, "invalid_request", "query parameter client_id must be UTF-8"},
		// A body declared in another charset was decoded as UTF-8 and refused for its "U+FFFD".
		{"body in latin1", "PUT", "/api/v1/admin/clients/" + c, "application/json; charset=iso-8859-1",
			"{\"name\":\"Caf\xe9\",\"default_currency\":\"usd\"}", true, nil, 415, "unsupported_media_type", "UTF-8"},
		// The client has "tiktok" and "instagram" but not the app key: the answer is a bad
		// signature, as for a client that does not exist (the missing secret is named in the log:
		// TestStorefrontWebhookAnswersDoNotTellWhetherAClientExists).
		{"tiktok app key missing", "POST", "/webhooks/tiktok/" + c, json, `{}`, false, map[string]string{"Authorization": "0123"},
			401, "invalid_signature", "tiktok signature verification failed"},
		{"shopify order not UTF-8", "POST", "/webhooks/shopify/" + c, json, notUTF8, false,
			map[string]string{"X-Shopify-Hmac-Sha256": shopSig, "X-Shopify-Webhook-Id": "jrny-1", "X-Shopify-Topic": "orders/paid"},
			400, "malformed_payload", "not UTF-8"},
		{"instagram verify token missing", "GET", "/webhooks/instagram/" + c + "?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1", "", "", false, nil,
			403, "invalid_verify_token", "hub.verify_token does not match"},
	}
	before := rows()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hr, err := http.NewRequest(tt.method, a.url+tt.path, strings.NewReader(tt.body))
			require.NoError(t, err)
			if tt.contentType != "" {
				hr.Header.Set("Content-Type", tt.contentType)
			}
			if tt.auth {
				hr.Header.Set("Authorization", "Bearer "+adminKey)
			}
			for k, v := range tt.header {
				hr.Header.Set(k, v)
			}
			res, err := http.DefaultClient.Do(hr)
			require.NoError(t, err)
			defer res.Body.Close()
			raw, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			checkAgainstSpec(t, hr, res, raw)
			require.Equal(t, tt.status, res.StatusCode, string(raw))
			var out struct {
				Error struct{ Code, Message string }
			}
			require.NoError(t, stdjson.Unmarshal(raw, &out), string(raw))
			require.Equal(t, tt.code, out.Error.Code)
			require.Contains(t, out.Error.Message, tt.message)
			require.NotRegexp(t, `Go (struct|value)|int64|\[\]string`, out.Error.Message, "the reason in the API's terms")
		})
	}
	require.Equal(t, before, rows(), "nothing was stored")
	code, out := a.json(req{method: http.MethodGet, path: "/api/v1/admin/clients/" + c + "/webhook-secrets", key: adminKey})
	require.Equal(t, http.StatusOK, code, out)
	require.NotContains(t, fmt.Sprint(out), "shopfy")
}

// TestManualReconciliationAnswersTheDayAskedInTheListsShape: a manual reconciliation of
// 0001-01-01 reconciled yesterday instead (the zero date is the workflow's "no date") and said so
// only in its answer's day, and the answer's runs spoke Go (RunID, DriftCount) where
// GET /api/v1/admin/reconciliation says id and drift_count.
func TestManualReconciliationAnswersTheDayAskedInTheListsShape(t *testing.T) {
	s := newStack(t, payment.Settings{})
	code, out := s.do(http.MethodPost, "/api/v1/admin/reconciliation/run", map[string]any{"date": "0001-01-01"}, adminKey)
	require.Equal(t, http.StatusBadRequest, code, out)
	require.Contains(t, out["error"].(map[string]any)["message"], "2000-01-01")

	day := time.Now().UTC().AddDate(0, 0, -2).Format(time.DateOnly)
	code, out = s.do(http.MethodPost, "/api/v1/admin/reconciliation/run", map[string]any{"date": day}, adminKey)
	require.Equal(t, http.StatusOK, code, out)
	require.True(t, strings.HasPrefix(out["day"].(string), day), "the day asked: %v", out["day"])
	require.Contains(t, out["workflow_id"], day)
	run, ok := out["runs"].(map[string]any)["stripe"].(map[string]any)
	require.True(t, ok, "a stripe run: %v", out["runs"])
	for _, k := range []string{"id", "checked", "drift_count", "drifts"} {
		require.Contains(t, run, k, "as GET /api/v1/admin/reconciliation names it")
	}
	require.NotContains(t, run, "RunID")
	code, list := s.do(http.MethodGet, "/api/v1/admin/reconciliation?limit=2", nil, adminKey)
	require.Equal(t, http.StatusOK, code, list)
	ids := []any{}
	for _, r := range list["runs"].([]any) {
		ids = append(ids, r.(map[string]any)["id"])
	}
	require.Contains(t, ids, run["id"], "the run the list shows")
}

// TestBalancesAtTheFirstInstantAreEmpty: ?as_of=0001-01-01T00:00:00Z is the zero time, which the
// ledger reads as "now": the balances of today were answered as those of year 1.
func TestBalancesAtTheFirstInstantAreEmpty(t *testing.T) {
	a := newAPI(t, nil)
	c := a.newClient("asof")
	entry := ledger.Entry{IdempotencyKey: c + "/asof", Currency: "usd", Reference: c, Description: "as_of test",
		Postings: []ledger.Posting{{Account: "provider:stripe", Amount: 100}, {Account: "vendor_payable:" + c + "-v", Amount: -100}}}
	_, _, err := ledger.New(a.pool).Post(t.Context(), entry)
	require.NoError(t, err)
	for _, path := range []string{
		"/api/v1/admin/ledger/balances?as_of=0001-01-01T00:00:00Z",
		"/api/v1/admin/ledger/balances/vendor_payable:" + c + "-v" + "?as_of=0001-01-01T00:00:00Z",
	} {
		code, out := a.json(req{method: http.MethodGet, path: path, key: adminKey})
		require.Equal(t, http.StatusOK, code, out)
		require.Empty(t, out["balances"], "%s: nothing was booked by then", path)
		if as, ok := out["as_of"]; ok {
			require.Equal(t, "0001-01-01T00:00:00Z", as, "the instant asked")
		}
	}
	code, out := a.json(req{method: http.MethodGet, path: "/api/v1/admin/ledger/balances/vendor_payable:" + c + "-v", key: adminKey})
	require.Equal(t, http.StatusOK, code, out)
	require.NotEmpty(t, out["balances"], "now it has the entry")
}

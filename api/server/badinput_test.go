package server_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"paysplit/internal/stripeevent"
	"paysplit/testenv"
	"paysplit/workflows/payment"
)

// TestBadInputIsRefusedAndLeavesNoTrace sends every kind of bad request to every endpoint that
// takes input. Each must answer a 4xx with a reason, store nothing and start no workflow.
func TestBadInputIsRefusedAndLeavesNoTrace(t *testing.T) {
	s := newStack(t, payment.Settings{})
	s.seed("badco")
	queue := "payments-" + t.Name()
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()

	rows := func() string {
		var out []string
		for _, table := range []string{"clients", "payees", "split_rules", "payments", "orders", "journal_entries", "webhook_deliveries", "audit_log"} {
			q := "SELECT count(*) FROM " + table
			if table == "webhook_deliveries" {
				// Except PayPal's transmission records: every verified transmission is recorded
				// with its body's hash, refused ones too, so that its headers never carry another
				// body. They hold no data of the event and do not change the answer to PayPal's
				// retry (checked below).
				q += " WHERE provider <> 'paypal-transmission'"
			}
			var n int
			require.NoError(t, pool.QueryRow(ctx, q).Scan(&n))
			out = append(out, fmt.Sprintf("%s=%d", table, n))
		}
		return strings.Join(out, " ")
	}
	workflows := func() int {
		res, err := s.tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: fmt.Sprintf("TaskQueue = '%s'", queue)})
		require.NoError(t, err)
		return len(res.Executions)
	}

	json := "application/json"
	capture := func(mutate func(*stripeevent.Capture)) []byte {
		c := capture("badco", "pi_bad1")
		if mutate != nil {
			mutate(&c)
		}
		return c.Body()
	}
	signed := func(body []byte) http.Header {
		h := http.Header{}
		h.Set("Stripe-Signature", stripeevent.Sign(body, webhookSecret, time.Now()).Signature)
		return h
	}
	rawStripe := func(obj string) []byte {
		return []byte(`{"id":"evt_raw","object":"event","api_version":"2023-10-16","created":1,"type":"payment_intent.succeeded","data":{"object":` + obj + `}}`)
	}
	paypalBody := func(resource string) []byte {
		return []byte(`{"id":"WH-BAD","event_type":"PAYMENT.CAPTURE.COMPLETED","create_time":"2026-11-25T10:00:00Z","resource":` + resource + `}`)
	}
	feeOther := `{"id":"CAPF","amount":{"currency_code":"USD","value":"10.00"},"seller_receivable_breakdown":{"paypal_fee":{"currency_code":"EUR","value":"0.59"}}}`
	refundFee := `{"id":"WH-BADR","event_type":"PAYMENT.CAPTURE.REFUNDED","create_time":"2026-11-25T10:00:00Z","resource":{"id":"R9","amount":{"currency_code":"USD","value":"1.00"},"seller_payable_breakdown":{"paypal_fee":{"currency_code":"USD","value":"1.50"}},"links":[{"rel":"up","href":"https://api.paypal.com/v2/payments/captures/CAPF"}]}}`
	feeAbove := `{"id":"CAPG","amount":{"currency_code":"USD","value":"10.00"},"seller_receivable_breakdown":{"paypal_fee":{"currency_code":"USD","value":"10.01"}}}`

	big := bytes.Repeat([]byte("a"), 1<<20+10)
	longID := strings.Repeat("x", 300)
	admin := http.Header{}
	admin.Set("Authorization", "Bearer "+adminKey)

	tests := []struct {
		name, method, path, contentType string
		body                            []byte
		header                          http.Header
		status                          int
		code                            string
	}{
		// Stripe webhook.
		{"stripe: no signature", "POST", "/webhooks/stripe", json, capture(nil), nil, 400, "invalid_signature"},
		{"stripe: wrong secret", "POST", "/webhooks/stripe", json, capture(nil), hdr("Stripe-Signature", stripeevent.Sign(capture(nil), "whsec_other", time.Now()).Signature), 400, "invalid_signature"},
		{"stripe: replayed older than tolerance", "POST", "/webhooks/stripe", json, capture(nil), hdr("Stripe-Signature", stripeevent.Sign(capture(nil), webhookSecret, time.Now().Add(-10*time.Minute)).Signature), 400, "invalid_signature"},
		{"stripe: malformed JSON", "POST", "/webhooks/stripe", json, []byte(`{"id":`), signed([]byte(`{"id":`)), 400, "invalid_event"},
		{"stripe: wrong content type", "POST", "/webhooks/stripe", "text/plain", capture(nil), signed(capture(nil)), 415, "unsupported_media_type"},
		{"stripe: body over 1 MiB", "POST", "/webhooks/stripe", json, big, signed(big), 413, "body_too_large"},
		{"stripe: negative amount", "POST", "/webhooks/stripe", json, rawStripe(`{"id":"pi_neg","object":"payment_intent","amount":-500,"currency":"usd"}`), signed(rawStripe(`{"id":"pi_neg","object":"payment_intent","amount":-500,"currency":"usd"}`)), 400, "invalid_event"},
		{"stripe: overflowing amount", "POST", "/webhooks/stripe", json, rawStripe(`{"id":"pi_big","object":"payment_intent","amount":92233720368547758070,"currency":"usd"}`), signed(rawStripe(`{"id":"pi_big","object":"payment_intent","amount":92233720368547758070,"currency":"usd"}`)), 400, "invalid_event"},
		{"stripe: unknown currency", "POST", "/webhooks/stripe", json, capture(func(c *stripeevent.Capture) { c.Currency = "xyz" }), signed(capture(func(c *stripeevent.Capture) { c.Currency = "xyz" })), 400, "invalid_event"},
		{"stripe: very long payment ID", "POST", "/webhooks/stripe", json, capture(func(c *stripeevent.Capture) { c.PaymentIntent = "pi_" + longID }), signed(capture(func(c *stripeevent.Capture) { c.PaymentIntent = "pi_" + longID })), 400, "invalid_event"},
		{"stripe: SQL in payment ID", "POST", "/webhooks/stripe", json, capture(func(c *stripeevent.Capture) { c.PaymentIntent = "pi_1'; DROP TABLE payments;--" }), signed(capture(func(c *stripeevent.Capture) { c.PaymentIntent = "pi_1'; DROP TABLE payments;--" })), 400, "invalid_event"},
		// PayPal webhook.
		{"paypal: no signature", "POST", "/webhooks/paypal", json, paypalBody(`{"id":"CAPX","amount":{"currency_code":"USD","value":"1.00"}}`), nil, 400, "invalid_signature"},
		{"paypal: malformed JSON", "POST", "/webhooks/paypal", json, []byte(`{"id":`), s.paypal.Sign([]byte(`{"id":`)), 400, "invalid_event"},
		{"paypal: wrong content type", "POST", "/webhooks/paypal", "application/x-www-form-urlencoded", []byte("a=b"), s.paypal.Sign([]byte("a=b")), 415, "unsupported_media_type"},
		{"paypal: negative amount", "POST", "/webhooks/paypal", json, paypalBody(`{"id":"CAPN","amount":{"currency_code":"USD","value":"-1.00"}}`), s.paypal.Sign(paypalBody(`{"id":"CAPN","amount":{"currency_code":"USD","value":"-1.00"}}`)), 400, "invalid_event"},
		{"paypal: too many decimals", "POST", "/webhooks/paypal", json, paypalBody(`{"id":"CAPD","amount":{"currency_code":"JPY","value":"1.5"}}`), s.paypal.Sign(paypalBody(`{"id":"CAPD","amount":{"currency_code":"JPY","value":"1.5"}}`)), 400, "invalid_event"},
		{"paypal: unknown currency", "POST", "/webhooks/paypal", json, paypalBody(`{"id":"CAPU","amount":{"currency_code":"ZZZ","value":"1.00"}}`), s.paypal.Sign(paypalBody(`{"id":"CAPU","amount":{"currency_code":"ZZZ","value":"1.00"}}`)), 400, "invalid_event"},
		{"paypal: fee in another currency", "POST", "/webhooks/paypal", json, paypalBody(feeOther), s.paypal.Sign(paypalBody(feeOther)), 400, "invalid_event"},
		{"paypal: refund giving back more fee than it refunds", "POST", "/webhooks/paypal", json, []byte(refundFee), s.paypal.Sign([]byte(refundFee)), 400, "invalid_event"},
		{"paypal: fee above the capture", "POST", "/webhooks/paypal", json, paypalBody(feeAbove), s.paypal.Sign(paypalBody(feeAbove)), 400, "invalid_event"},
		{"paypal: very long capture ID", "POST", "/webhooks/paypal", json, paypalBody(`{"id":"` + longID + `","amount":{"currency_code":"USD","value":"1.00"}}`), s.paypal.Sign(paypalBody(`{"id":"` + longID + `","amount":{"currency_code":"USD","value":"1.00"}}`)), 400, "invalid_event"},
		// Storefront webhook.
		{"shopify: unknown client", "POST", "/webhooks/shopify/ghost", json, []byte(`{}`), hdr("X-Shopify-Hmac-Sha256", "AAAA"), 401, "invalid_signature"},
		{"shopify: bad signature", "POST", "/webhooks/shopify/badco", json, []byte(`{}`), hdr("X-Shopify-Hmac-Sha256", "AAAA"), 401, ""},
		// Admin API.
		{"admin: no key", "PUT", "/api/v1/admin/clients/newco", json, []byte(`{"name":"N","default_currency":"usd"}`), nil, 401, "unauthorized"},
		{"admin: malformed JSON", "PUT", "/api/v1/admin/clients/newco", json, []byte(`{"name":`), admin, 400, "invalid_json"},
		{"admin: wrong content type", "PUT", "/api/v1/admin/clients/newco", "text/plain", []byte(`{"name":"N","default_currency":"usd"}`), admin, 415, "unsupported_media_type"},
		{"admin: body over 1 MiB", "PUT", "/api/v1/admin/clients/newco", json, append([]byte(`{"name":"`), big...), admin, 413, "body_too_large"},
		{"admin: SQL in client ID", "PUT", "/api/v1/admin/clients/x';DROP%20TABLE%20clients;--", json, []byte(`{"name":"N","default_currency":"usd"}`), admin, 400, "invalid_request"},
		{"admin: very long client ID", "PUT", "/api/v1/admin/clients/" + longID, json, []byte(`{"name":"N","default_currency":"usd"}`), admin, 400, "invalid_request"},
		{"admin: unknown currency", "PUT", "/api/v1/admin/clients/newco", json, []byte(`{"name":"N","default_currency":"abc"}`), admin, 400, "invalid_request"},
		{"admin: payee of unknown client", "PUT", "/api/v1/admin/payees/newpayee", json, []byte(`{"client_id":"ghost","kind":"vendor"}`), admin, 400, "invalid_request"},
		{"admin: negative share", "POST", "/api/v1/admin/clients/badco/split-rules", json, []byte(`{"platform_bps":-1}`), admin, 400, "invalid_request"},
		{"admin: overflowing share", "POST", "/api/v1/admin/clients/badco/split-rules", json, []byte(`{"platform_bps":92233720368547758070}`), admin, 400, "invalid_json"},
		{"admin: shares over 100%", "POST", "/api/v1/admin/clients/badco/split-rules", json, []byte(`{"platform_bps":6000,"affiliate_bps":5000}`), admin, 400, "invalid_request"},
		{"admin: negative minimum fee", "POST", "/api/v1/admin/clients/badco/split-rules", json, []byte(`{"platform_bps":100,"min_platform_fee":-5}`), admin, 400, "invalid_request"},
		{"admin: fee bounds in an unknown currency", "POST", "/api/v1/admin/clients/badco/split-rules", json, []byte(`{"platform_bps":100,"min_platform_fee":50,"fee_currency":"usx"}`), admin, 400, "invalid_request"},
		{"admin: correct an unknown payment", "POST", "/api/v1/admin/payments/payment-stripe-nope/correct", json, []byte(`{"rule_version":1}`), admin, 404, "not_found"},
		{"admin: reconcile a bad date", "POST", "/api/v1/admin/reconciliation/run", json, []byte(`{"date":"yesterday"}`), admin, 400, "invalid_request"},
	}
	before, wfBefore := rows(), workflows()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, s.api.URL+tt.path, bytes.NewReader(tt.body))
			require.NoError(t, err)
			for k, v := range tt.header {
				req.Header[k] = v
			}
			req.Header.Set("Content-Type", tt.contentType)
			code, out := s.send(req)
			require.Equal(t, tt.status, code, "%v", out)
			e, ok := out["error"].(map[string]any)
			require.True(t, ok, "error shape: %v", out)
			require.NotEmpty(t, e["message"], "a reason")
			if tt.code != "" {
				require.Equal(t, tt.code, e["code"])
			}
		})
	}
	require.Equal(t, before, rows(), "nothing was stored")

	// PayPal retrying a refused delivery (same transmission, same body) is refused for the same
	// reason, not as a replay.
	negative := paypalBody(`{"id":"CAPR","amount":{"currency_code":"USD","value":"-1.00"}}`)
	h := s.paypal.Sign(negative)
	for range 2 {
		code, out := s.paypalWebhook(negative, h)
		require.Equal(t, http.StatusBadRequest, code, out)
		require.Equal(t, "invalid_event", out["error"].(map[string]any)["code"])
	}
	require.Equal(t, wfBefore, workflows(), "no workflow started")
}

func hdr(k, v string) http.Header {
	h := http.Header{}
	h.Set(k, v)
	return h
}

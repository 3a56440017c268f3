package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"paysplit/api/server"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/paypalevent"
	"paysplit/internal/stripeevent"
	"paysplit/testenv"
	"paysplit/workflows/payment"
)

// Secrets each test client is given, one per storefront (TikTok and Meta need two).
var shopSecrets = map[string]string{
	"shopify":                "shpss_test_secret_1",
	"woocommerce":            "wc_test_secret_123",
	"tiktok":                 "tts_app_secret_123",
	"tiktok-app-key":         "6abc1def2ghi",
	"instagram":              "meta_app_secret_123",
	"instagram-verify-token": "verify-me-12345",
}

// signalRecorder is the Temporal client as the API sees it: it notes every signal, can be made to
// fail like an unreachable server, and passes the rest to the real client (or, without one,
// answers that the workflow does not exist).
type signalRecorder struct {
	client.Client
	mu      sync.Mutex
	signals []string
	events  []payment.Event
	fail    error
}

func (r *signalRecorder) SignalWorkflow(ctx context.Context, id, runID, name string, arg any) error {
	r.mu.Lock()
	fail := r.fail
	if fail == nil {
		r.signals = append(r.signals, id)
		if ev, ok := arg.(payment.Event); ok {
			r.events = append(r.events, ev)
		}
	}
	r.mu.Unlock()
	if fail != nil {
		return fail
	}
	if r.Client == nil {
		return serviceerror.NewNotFound("workflow not found")
	}
	return r.Client.SignalWorkflow(ctx, id, runID, name, arg)
}

func (r *signalRecorder) setFail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = err
}

func (r *signalRecorder) sent() ([]string, []payment.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.signals...), append([]payment.Event(nil), r.events...)
}

// shopEnv is the API with a client whose storefront secrets are set through the admin API.
type shopEnv struct {
	*apiEnv
	client   string
	logs     *testenv.LogBuffer
	temporal *signalRecorder
}

// newShopEnv starts the API; tc and queue are the Temporal client and task queue behind it (nil
// for tests that never reach a workflow).
func newShopEnv(t *testing.T, tc client.Client, queue string) *shopEnv {
	t.Helper()
	logs, rec := &testenv.LogBuffer{}, &signalRecorder{Client: tc}
	a := newAPI(t, func(d *server.Deps) {
		d.Temporal, d.Logger = rec, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		if queue != "" {
			d.TaskQueue = queue
		}
	})
	e := &shopEnv{apiEnv: a, logs: logs, temporal: rec}
	e.client = e.newShopClient()
	return e
}

// newShopClient creates a client and sets every storefront secret for it.
func (e *shopEnv) newShopClient() string {
	id := e.newClient("shop")
	for provider, secret := range shopSecrets {
		code, body := e.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + id + "/webhook-secrets/" + provider,
			key: adminKey, body: map[string]any{"secret": secret}})
		require.Equal(e.t, http.StatusCreated, code, body)
	}
	return id
}

func shopSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "internal", "storefront", "testdata", name))
	require.NoError(t, err)
	return b
}

func hmacOf(secret string, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// delivery is one signed storefront request, built the way each platform builds it.
type delivery struct {
	platform string
	body     []byte
	header   map[string]string
}

func shopifyDelivery(topic, id string, body []byte) delivery {
	return delivery{platform: "shopify", body: body, header: map[string]string{
		"Content-Type": "application/json", "X-Shopify-Topic": topic, "X-Shopify-Webhook-Id": id,
		"X-Shopify-Shop-Domain": "acme-pottery.myshopify.com", "X-Shopify-API-Version": "2024-01",
		"X-Shopify-Hmac-Sha256": base64.StdEncoding.EncodeToString(hmacOf(shopSecrets["shopify"], body)),
	}}
}

func wooDelivery(topic, id string, body []byte) delivery {
	resource, event, _ := strings.Cut(topic, ".")
	return delivery{platform: "woocommerce", body: body, header: map[string]string{
		"Content-Type": "application/json", "X-WC-Webhook-Topic": topic, "X-WC-Webhook-Resource": resource,
		"X-WC-Webhook-Event": event, "X-WC-Webhook-Delivery-ID": id, "X-WC-Webhook-ID": "15",
		"X-WC-Webhook-Source":    "https://shop.example.org/",
		"X-WC-Webhook-Signature": base64.StdEncoding.EncodeToString(hmacOf(shopSecrets["woocommerce"], body)),
	}}
}

func tiktokDelivery(body []byte) delivery {
	return delivery{platform: "tiktok", body: body, header: map[string]string{
		"Content-Type":  "application/json",
		"Authorization": hex.EncodeToString(hmacOf(shopSecrets["tiktok"], []byte(shopSecrets["tiktok-app-key"]), body)),
	}}
}

func instagramDelivery(body []byte) delivery {
	return delivery{platform: "instagram", body: body, header: map[string]string{
		"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=" + hex.EncodeToString(hmacOf(shopSecrets["instagram"], body)),
	}}
}

// post sends a delivery for a client; the answer must match openapi.yaml.
func (e *shopEnv) post(client string, d delivery) (int, map[string]any) {
	e.t.Helper()
	return e.postReader(client, d, bytes.NewReader(d.body))
}

func (e *shopEnv) postReader(client string, d delivery, body io.Reader) (int, map[string]any) {
	e.t.Helper()
	hr, err := http.NewRequest(http.MethodPost, e.url+"/webhooks/"+d.platform+"/"+client, body)
	require.NoError(e.t, err)
	for k, v := range d.header {
		hr.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(hr)
	require.NoError(e.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	checkAgainstSpec(e.t, hr, res, raw)
	out := map[string]any{}
	require.NoError(e.t, json.Unmarshal(raw, &out), string(raw))
	return res.StatusCode, out
}

func errCode(out map[string]any) string {
	if e, ok := out["error"].(map[string]any); ok {
		return e["code"].(string)
	}
	return ""
}

// stored dumps every row a client has in the storefront tables, as JSON text.
func (e *shopEnv) stored(client string) string {
	e.t.Helper()
	var parts []string
	for _, q := range []string{
		`SELECT coalesce(json_agg(o)::text, '') FROM orders o WHERE client_id = $1`,
		`SELECT coalesce(json_agg(l)::text, '') FROM order_lines l WHERE client_id = $1`,
		`SELECT coalesce(json_agg(d)::text, '') FROM webhook_deliveries d WHERE client_id = $1`,
	} {
		var s string
		require.NoError(e.t, e.pool.QueryRow(context.Background(), q, client).Scan(&s))
		parts = append(parts, s)
	}
	return strings.Join(parts, "")
}

func (e *shopEnv) updatedAt(client, orderID string) time.Time {
	e.t.Helper()
	var at time.Time
	require.NoError(e.t, e.pool.QueryRow(context.Background(), `SELECT updated_at FROM orders WHERE client_id = $1 AND order_id = $2`,
		client, orderID).Scan(&at))
	return at
}

func (e *shopEnv) status(client, orderID string) string {
	e.t.Helper()
	var s string
	require.NoError(e.t, e.pool.QueryRow(context.Background(), `SELECT status FROM orders WHERE client_id = $1 AND order_id = $2`,
		client, orderID).Scan(&s))
	return s
}

// customerData is the PII the samples carry; none of it may be stored or logged. Each is long or
// punctuated enough never to turn up by chance in a request ID, hash or timestamp.
var customerData = []string{
	"jane doe", "jane.doe@example.com", "+15555550142", "orchard street", "brooklyn", "203.0.113.54", "•••• 4242",
	"credit_card", "birthday", "neighbour", "maria garcia", "maria.garcia@example.org", "elm avenue", "512-555-0199",
	"192.0.2.77", "buzzer", "priya shah", "harbor road", "n8miblde3i",
}

func TestStorefrontWebhooksStoreNormalizedOrders(t *testing.T) {
	e := newShopEnv(t, nil, "")
	c := e.client
	tests := []struct {
		name    string
		d       delivery
		orderID string
		want    ipayment.Order
		status  string
	}{
		{
			name: "shopify multi-vendor order", d: shopifyDelivery("orders/paid", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", shopSample(t, "shopify_orders_paid.json")),
			orderID: "5934021746733", status: "paid",
			want: ipayment.Order{ClientID: c, OrderID: "5934021746733", Platform: "shopify", Currency: "usd", AffiliateID: c + "-greenkitchenblog",
				Subtotal: 11500, Tax: 828 + 80, Shipping: 1079 - 80, Discount: 1150, Lines: []ipayment.OrderLine{
					{VendorID: c + "-blue-fox-ceramics", Subtotal: 9000, Tax: 648 + 63, Discount: 900},
					{VendorID: c + "-oak-thread", Subtotal: 2500, Tax: 180 + 17, Discount: 250},
				}},
		},
		{
			// Shop in USD, customer charged in EUR: stored in EUR, the currency of the payment.
			name: "shopify multi-currency order", d: shopifyDelivery("orders/paid", "6f0e2a91-multi-currency-1", shopSample(t, "shopify_orders_paid_multi_currency.json")),
			orderID: "6240113358902", status: "paid",
			want: ipayment.Order{ClientID: c, OrderID: "6240113358902", Platform: "shopify", Currency: "eur", AffiliateID: c + "-greenkitchenblog",
				Subtotal: 12555, Tax: 941 + 37, Shipping: 873 - 37, Discount: 1256, Lines: []ipayment.OrderLine{
					{VendorID: c + "-blue-fox-ceramics", Subtotal: 10230, Tax: 774 + 30, Discount: 1023},
					{VendorID: c + "-oak-thread", Subtotal: 2325, Tax: 167 + 7, Discount: 233},
				}},
		},
		{
			name: "woocommerce order with coupon and tax", d: wooDelivery("order.created", "7c3fb1d5e4a2b6c8d0e1f2a3b4c5d6e7", shopSample(t, "woocommerce_order_created.json")),
			orderID: "7311", status: "processing",
			want: ipayment.Order{ClientID: c, OrderID: "7311", Platform: "woocommerce", Currency: "usd", AffiliateID: c + "-mike-reviews",
				Subtotal: 5000, Tax: 360 + 48, Shipping: 648 - 48, Discount: 500, Lines: []ipayment.OrderLine{
					{VendorID: c + "-17", Subtotal: 3000, Tax: 216 + 29, Discount: 300},
					{VendorID: c + "-23", Subtotal: 2000, Tax: 144 + 19, Discount: 200},
				}},
		},
		{
			name: "instagram order", d: instagramDelivery(shopSample(t, "instagram_commerce_order.json")),
			orderID: "368508827392800", status: "created",
			want: ipayment.Order{ClientID: c, OrderID: "368508827392800", Platform: "instagram", Currency: "usd", VendorID: c + "-110493227123456",
				Subtotal: 6000, Tax: 480, Shipping: 500, Discount: 500},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out := e.post(c, tc.d)
			require.Equal(t, http.StatusOK, code, out)
			require.Equal(t, "stored", out["status"])
			require.Equal(t, []any{tc.orderID}, out["order_ids"])
			got, err := e.store.GetOrder(context.Background(), c, tc.orderID)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.status, e.status(c, tc.orderID))

			// The same delivery again: acknowledged, nothing written.
			before := e.updatedAt(c, tc.orderID)
			code, out = e.post(c, tc.d)
			require.Equal(t, http.StatusOK, code, out)
			require.Equal(t, "duplicate", out["status"])
			require.Equal(t, before, e.updatedAt(c, tc.orderID))
		})
	}

	// A refund only moves the status; replaying the paid delivery after it changes nothing back.
	refund := shopifyDelivery("refunds/create", "0d5c2f6e-refund-1", shopSample(t, "shopify_refunds_create.json"))
	code, out := e.post(c, refund)
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "updated", out["status"])
	require.Equal(t, "refunded", e.status(c, "5934021746733"), "the refund gave back the whole order")
	code, out = e.post(c, tests[0].d)
	require.Equal(t, "duplicate", out["status"], code)
	require.Equal(t, "refunded", e.status(c, "5934021746733"))

	// The multi-currency order's refund comes in EUR, the order's currency: the whole 131.13 EUR
	// back is a whole refund.
	code, out = e.post(c, shopifyDelivery("refunds/create", "0d5c2f6e-refund-eur", shopSample(t, "shopify_refunds_create_multi_currency.json")))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "refunded", e.status(c, "6240113358902"), "the refund gave back the whole order")

	// Instagram moves the order along; an ID that another platform already used is refused (200
	// invalid_order, as the conflict is for good: TestStorefrontOrderOfAnotherPlatformIsRefusedNotRetried).
	code, out = e.post(c, instagramDelivery(shopSample(t, "instagram_order_status.json")))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "in_progress", e.status(c, "368508827392800"))
	clash := []byte(`{"id":7311,"currency":"USD","financial_status":"paid","line_items":[{"vendor":"Other","price":"1.00","quantity":1}]}`)
	code, out = e.post(c, shopifyDelivery("orders/paid", "clash-1", clash))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "invalid_order", out["status"], out)
	require.Contains(t, out["reason"], "already stored from woocommerce")
	got, err := e.store.GetOrder(context.Background(), c, "7311")
	require.NoError(t, err)
	require.Equal(t, "woocommerce", got.Platform)

	// No customer data in any stored row or log line, though the payloads were full of it.
	rows, logs := strings.ToLower(e.stored(c)), strings.ToLower(e.logs.String())
	require.Contains(t, rows, "5934021746733")
	require.Contains(t, logs, "storefront webhook")
	for _, s := range customerData {
		assert.NotContains(t, rows, s, "customer data stored")
		assert.NotContains(t, logs, s, "customer data logged")
	}
	for _, secret := range shopSecrets {
		assert.NotContains(t, logs, strings.ToLower(secret), "a webhook secret was logged")
	}
}

func TestStorefrontWebhooksRejectBadInput(t *testing.T) {
	e := newShopEnv(t, nil, "")
	c := e.client
	unconfigured := e.newClient("bare") // exists, but has no secrets
	ctx := context.Background()
	// A payment waits for the sample order: no bad delivery may wake it.
	require.NoError(t, e.store.AddOrderWaiter(ctx, c, "5934021746733", "payment-stripe-pi_waiting"))

	paid := shopSample(t, "shopify_orders_paid.json")
	good := shopifyDelivery("orders/paid", "delivery-good", paid)
	wrongSecret := shopifyDelivery("orders/paid", "d-1", paid)
	wrongSecret.header["X-Shopify-Hmac-Sha256"] = base64.StdEncoding.EncodeToString(hmacOf("not-the-secret", paid))
	unsigned := shopifyDelivery("orders/paid", "d-2", paid)
	delete(unsigned.header, "X-Shopify-Hmac-Sha256")
	tampered := shopifyDelivery("orders/paid", "d-3", paid)
	tampered.body = bytes.Replace(paid, []byte(`"40.00"`), []byte(`"4.00"`), 1)
	wooBad := wooDelivery("order.created", "d-4", shopSample(t, "woocommerce_order_created.json"))
	wooBad.header["X-WC-Webhook-Signature"] = "bm90IGEgc2lnbmF0dXJl"
	tiktokBodyOnly := tiktokDelivery(shopSample(t, "tiktok_order_status_change.json"))
	tiktokBodyOnly.header["Authorization"] = hex.EncodeToString(hmacOf(shopSecrets["tiktok"], tiktokBodyOnly.body))
	igBad := instagramDelivery(shopSample(t, "instagram_commerce_order.json"))
	igBad.header["X-Hub-Signature-256"] = "sha256=" + hex.EncodeToString(hmacOf("other", igBad.body))
	noDeliveryID := shopifyDelivery("orders/paid", "", paid)
	big := append(append([]byte(`{"id":1,"pad":"`), bytes.Repeat([]byte("x"), 1<<20)...), `"}`...)

	tests := []struct {
		name   string
		client string
		d      delivery
		chunk  bool // send without Content-Length
		status int
		code   string
	}{
		// Answered as a bad signature, so that the path does not tell which clients exist.
		{"unknown client", "nobody-here", good, false, http.StatusUnauthorized, "invalid_signature"},
		{"malformed client id", "bad..id%20x", good, false, http.StatusUnauthorized, "invalid_signature"},
		{"client without secrets", unconfigured, good, false, http.StatusUnauthorized, "invalid_signature"},
		{"shopify wrong secret", c, wrongSecret, false, http.StatusUnauthorized, "invalid_signature"},
		{"shopify unsigned", c, unsigned, false, http.StatusUnauthorized, "invalid_signature"},
		{"shopify tampered body", c, tampered, false, http.StatusUnauthorized, "invalid_signature"},
		{"woocommerce bad signature", c, wooBad, false, http.StatusUnauthorized, "invalid_signature"},
		{"tiktok signed without the app key", c, tiktokBodyOnly, false, http.StatusUnauthorized, "invalid_signature"},
		{"instagram bad signature", c, igBad, false, http.StatusUnauthorized, "invalid_signature"},
		{"malformed json", c, shopifyDelivery("orders/paid", "d-5", []byte(`{"id": 5934021746733, "line_items": [`)), false, http.StatusBadRequest, "malformed_payload"},
		// An order that is well-formed but cannot be read (no vendor, totals off) is answered 200
		// invalid_order and kept for an admin: TestStorefrontUnreadableOrderIsAnsweredAndKeptForAnAdmin.
		{"no delivery id", c, noDeliveryID, false, http.StatusBadRequest, "missing_delivery_id"},
		{"body over 1 MiB", c, shopifyDelivery("orders/paid", "d-8", big), false, http.StatusRequestEntityTooLarge, "body_too_large"},
		{"body over 1 MiB, chunked", c, shopifyDelivery("orders/paid", "d-9", big), true, http.StatusRequestEntityTooLarge, "body_too_large"},
		{"shopify topic not handled", c, shopifyDelivery("customers/create", "d-10", []byte(`{"id":1,"email":"jane.doe@example.com"}`)), false, http.StatusOK, ""},
		{"tiktok push type not handled", c, tiktokDelivery(shopSample(t, "tiktok_package_update.json")), false, http.StatusOK, ""},
		{"woocommerce topic not handled", c, wooDelivery("product.updated", "d-11", []byte(`{"id":1180}`)), false, http.StatusOK, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader = bytes.NewReader(tc.d.body)
			if tc.chunk {
				body = io.MultiReader(body) // no length known: sent chunked
			}
			code, out := e.postReader(tc.client, tc.d, body)
			require.Equal(t, tc.status, code, out)
			require.Equal(t, tc.code, errCode(out), out)
			if code == http.StatusOK {
				require.Equal(t, "ignored", out["status"])
			}
			require.Empty(t, e.stored(c), "nothing stored")
			require.Empty(t, e.stored(unconfigured), "nothing stored")
			signals, _ := e.temporal.sent()
			require.Empty(t, signals, "no workflow signalled")
		})
	}

	// The WooCommerce ping on webhook creation: unsigned, form-encoded, answered and forgotten.
	ping := delivery{platform: "woocommerce", body: shopSample(t, "woocommerce_ping.txt"),
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "WooCommerce/8.6.1 Hookshot (WordPress/6.4.3)"}}
	code, out := e.post(c, ping)
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "ping", out["status"])
	require.Empty(t, e.stored(c))

	// The good delivery does what the bad ones did not: stores and wakes the waiting payment.
	code, out = e.post(c, good)
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "stored", out["status"])
	require.NotEmpty(t, e.stored(c))
	signals, events := e.temporal.sent()
	require.Equal(t, []string{"payment-stripe-pi_waiting"}, signals)
	require.Equal(t, payment.Event{ID: "order-shopify-delivery-good", Kind: payment.EventOrderReady}, events[0])
}

func TestStorefrontStatusUpdates(t *testing.T) {
	e := newShopEnv(t, nil, "")
	c, ctx := e.client, context.Background()
	// TikTok pushes carry no amounts: they move the status of an order stored with the full order.
	require.NoError(t, e.store.SaveOrder(ctx, ipayment.Order{ClientID: c, OrderID: "576461413038785752", Platform: "tiktok", Currency: "usd",
		VendorID: c + "-7494049642642441621", Subtotal: 2500}, "unpaid"))
	d := tiktokDelivery(shopSample(t, "tiktok_order_status_change.json"))
	code, out := e.post(c, d)
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "updated", out["status"])
	require.Equal(t, "awaiting_shipment", e.status(c, "576461413038785752"))
	code, out = e.post(c, d)
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "duplicate", out["status"], "deduplicated on tts_notification_id")
}

func TestStorefrontSignalFailureLetsTheShopRetry(t *testing.T) {
	e := newShopEnv(t, nil, "")
	c, ctx := e.client, context.Background()
	require.NoError(t, e.store.AddOrderWaiter(ctx, c, "7311", "payment-stripe-pi_retry"))
	d := wooDelivery("order.updated", "9f8e7d6c5b4a", shopSample(t, "woocommerce_order_created.json"))

	e.temporal.setFail(serviceerror.NewUnavailable("connection refused"))
	code, out := e.post(c, d)
	require.Equal(t, http.StatusServiceUnavailable, code, out)
	require.Equal(t, "temporal_unavailable", errCode(out))
	var claims int
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries WHERE client_id = $1`, c).Scan(&claims))
	require.Zero(t, claims, "the delivery is forgotten, so the retry is not taken for a duplicate")

	e.temporal.setFail(nil)
	code, out = e.post(c, d)
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "stored", out["status"])
	signals, _ := e.temporal.sent()
	require.Equal(t, []string{"payment-stripe-pi_retry"}, signals)
}

func TestInstagramHandshake(t *testing.T) {
	e := newShopEnv(t, nil, "")
	bare := e.newClient("bare")
	tests := []struct {
		name, client, query string
		status              int
		body                string
	}{
		{"right token", e.client, "hub.mode=subscribe&hub.verify_token=verify-me-12345&hub.challenge=1158201444", http.StatusOK, "1158201444"},
		{"wrong token", e.client, "hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1158201444", http.StatusForbidden, "invalid_verify_token"},
		{"not a handshake", e.client, "hub.mode=unsubscribe&hub.verify_token=verify-me-12345&hub.challenge=1", http.StatusBadRequest, "invalid_handshake"},
		{"no token configured", bare, "hub.mode=subscribe&hub.verify_token=verify-me-12345&hub.challenge=1", http.StatusForbidden, "invalid_verify_token"},
		{"unknown client", "nobody-here", "hub.mode=subscribe&hub.verify_token=verify-me-12345&hub.challenge=1", http.StatusForbidden, "invalid_verify_token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, raw := e.send(req{method: http.MethodGet, path: "/webhooks/instagram/" + tc.client + "?" + tc.query})
			require.Equal(t, tc.status, res.StatusCode, string(raw))
			if tc.status == http.StatusOK {
				require.Equal(t, tc.body, string(raw))
				require.True(t, strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain"))
				return
			}
			var out map[string]any
			require.NoError(t, json.Unmarshal(raw, &out))
			require.Equal(t, tc.body, errCode(out))
		})
	}
}

// A Stripe payment names only its client and order; it waits for the order, and the Shopify
// webhook that brings the order wakes it at once (the poll is an hour away) and it is split per
// vendor line.
func TestStorefrontOrderWakesWaitingPayment(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, EnrichPoll: time.Hour, EnrichWait: 2 * time.Hour})
	e := newShopEnv(t, s.tc, "payments-"+t.Name())
	c := e.client
	code, body := e.json(req{method: http.MethodPost, path: "/api/v1/admin/clients/" + c + "/split-rules", key: adminKey,
		body: map[string]any{"platform_bps": 1000, "affiliate_bps": 500}})
	require.Equal(t, http.StatusCreated, code, body)
	payees := map[string]string{c + "-blue-fox-ceramics": "vendor", c + "-oak-thread": "vendor", c + "-greenkitchenblog": "affiliate"}
	for id, kind := range payees {
		code, body := e.json(req{method: http.MethodPut, path: "/api/v1/admin/payees/" + id, key: adminKey,
			body: map[string]any{"client_id": c, "kind": kind, "stripe_account": "acct_" + strings.ReplaceAll(strings.TrimPrefix(id, c+"-"), "-", "")}})
		require.Equal(t, http.StatusCreated, code, body)
	}

	pi := "pi_" + strings.ReplaceAll(c, "-", "")
	capture := stripeevent.Capture{EventID: "evt_" + pi, PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd", Amount: 12257, Created: time.Now(),
		Metadata: map[string]string{"client_id": c, "order_id": "5934021746733"}}
	code, out := s.webhook(stripeevent.Sign(capture.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, out)
	id := payment.WorkflowID("stripe", pi)
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		rec, err := e.store.GetPayment(context.Background(), id)
		if assert.NoError(ct, err) {
			assert.Equal(ct, ipayment.StatusAwaitingMetadata, rec.Status)
		}
		waiters, err := e.store.OrderWaiters(context.Background(), c, "5934021746733")
		assert.NoError(ct, err)
		assert.Equal(ct, []string{id}, waiters)
	}, 30*time.Second, 100*time.Millisecond)

	code, out = e.post(c, shopifyDelivery("orders/paid", "wake-1", shopSample(t, "shopify_orders_paid.json")))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "stored", out["status"])
	signals, _ := e.temporal.sent()
	require.Equal(t, []string{id}, signals)

	rec := s.result(id)
	require.Equal(t, ipayment.StatusPaid, rec.Status, rec.Reason)
	require.Len(t, rec.Order.Lines, 2, "split per vendor line")
	require.Equal(t, c+"-greenkitchenblog", rec.Order.AffiliateID)
	var total int64
	paid := map[string]bool{}
	for _, l := range rec.Legs {
		total += l.Amount
		if l.State != ipayment.LegRetained { // the platform keeps its share
			paid[l.PayeeID] = l.State == ipayment.LegTransferred
		}
	}
	require.Equal(t, rec.Gross, total, "the legs share the whole payment")
	require.Equal(t, map[string]bool{c + "-blue-fox-ceramics": true, c + "-oak-thread": true, c + "-greenkitchenblog": true}, paid)
}

// A WooCommerce order with a coupon and tax, paid through PayPal: the commission is taken on the
// subtotal less the discount only; tax and shipping go to the vendors untouched.
func TestWooCommerceOrderPaidByPayPalExcludesTaxAndDiscount(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, EnrichPoll: time.Hour, EnrichWait: 2 * time.Hour})
	e := newShopEnv(t, s.tc, "payments-"+t.Name())
	c := e.client
	code, body := e.json(req{method: http.MethodPost, path: "/api/v1/admin/clients/" + c + "/split-rules", key: adminKey,
		body: map[string]any{"platform_bps": 1000, "affiliate_bps": 500}})
	require.Equal(t, http.StatusCreated, code, body)
	for id, kind := range map[string]string{c + "-17": "vendor", c + "-23": "vendor", c + "-mike-reviews": "affiliate"} {
		code, body := e.json(req{method: http.MethodPut, path: "/api/v1/admin/payees/" + id, key: adminKey,
			body: map[string]any{"client_id": c, "kind": kind, "paypal_receiver": strings.ReplaceAll(strings.TrimPrefix(id, c+"-"), "-", "") + "@example.com"}})
		require.Equal(t, http.StatusCreated, code, body)
	}
	code, out := e.post(c, wooDelivery("order.created", "woo-pay-1", shopSample(t, "woocommerce_order_created.json")))
	require.Equal(t, http.StatusOK, code, out)

	// The order: subtotal 5000 (vendor 17: 3000, vendor 23: 2000), coupon 500 (300 + 200), tax 360
	// (216 + 144), shipping 648; total 55.08.
	event := paypalevent.Build("WH-WOO-1", "PAYMENT.CAPTURE.COMPLETED", time.Now(), map[string]any{
		"id": "CAPWOO1", "status": "COMPLETED", "amount": map[string]string{"currency_code": "USD", "value": "55.08"},
		"custom_id": "client_id=" + c, "invoice_id": "7311",
	})
	code, out = s.paypalWebhook(event, s.paypal.Sign(event))
	require.Equal(t, http.StatusOK, code, out)
	rec := s.result(payment.WorkflowID("paypal", "CAPWOO1"))
	require.Equal(t, ipayment.StatusPaid, rec.Status, rec.Reason)
	require.EqualValues(t, 4500, rec.CommissionBase, "subtotal less discount; tax and shipping excluded")
	// Vendor 17: net 2700 → platform 270, affiliate 135; shipping 648 × 2700/4500 = 388.8 → 389.
	// Vendor 23: net 1800 → platform 180, affiliate 90; shipping 259.
	legs := map[string]int64{}
	for _, l := range rec.Legs {
		legs[l.PayeeID] = l.Amount
	}
	require.Equal(t, map[string]int64{
		"platform": 270 + 180, c + "-17": 2700 + 216 + 389 - 270 - 135, c + "-23": 1800 + 144 + 259 - 180 - 90, c + "-mike-reviews": 135 + 90,
	}, legs)
	var paid int
	for _, p := range s.paypal.Payouts() {
		if strings.HasPrefix(p.SenderBatchID, rec.WorkflowID+"/") {
			paid++
		}
	}
	require.Equal(t, 3, paid, "two vendors and the affiliate paid through PayPal payouts")
}

// WooCommerce's delivery ID is a hash of the webhook and the second it was made: two deliveries
// in the same second share it. The second (another order) is stored, not answered duplicate;
// the same delivery sent again still is one.
func TestWooCommerceSameSecondDeliveriesAreNotDuplicates(t *testing.T) {
	e := newShopEnv(t, nil, "")
	c, ctx := e.client, context.Background()
	first := shopSample(t, "woocommerce_order_created.json")
	second := bytes.Replace(bytes.Replace(first, []byte(`"id": 7311,`), []byte(`"id": 7312,`), 1),
		[]byte(`"number": "7311"`), []byte(`"number": "7312"`), 1)
	require.NotEqual(t, first, second)
	sameSecond := "3b1e5f0c9a7d2e4b6c8a0f1e3d5c7b9a" // wp_hash(webhook id . the same second)
	code, out := e.post(c, wooDelivery("order.updated", sameSecond, first))
	require.Equal(t, "stored", out["status"], code)
	code, out = e.post(c, wooDelivery("order.updated", sameSecond, second))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "stored", out["status"], "another order's delivery in the same second")
	_, err := e.store.GetOrder(ctx, c, "7312")
	require.NoError(t, err)
	code, out = e.post(c, wooDelivery("order.updated", sameSecond, second))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "duplicate", out["status"], "the same delivery again")
}

// scrapeSeries returns the /metrics lines of one metric whose labels contain every given label.
func scrapeSeries(t *testing.T, baseURL, metric string, labels ...string) []string {
	t.Helper()
	res, err := http.Get(baseURL + "/metrics")
	require.NoError(t, err)
	defer res.Body.Close()
	var out []string
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, metric+"{") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if ok {
			out = append(out, line)
		}
	}
	require.NoError(t, sc.Err())
	return out
}

// A topic the API does not handle is counted under the one label "other". X-Shopify-Topic and
// X-WC-Webhook-Topic are not covered by the shop's HMAC, and TikTok's type and Meta's object are
// in bodies every client can sign for its own shop: as labels verbatim, each new one was a new
// time series of paysplit_webhook_events_total, without bound (memory, and every scrape grows).
func TestStorefrontUnhandledTopicsShareOneMetricLabel(t *testing.T) {
	e := newShopEnv(t, nil, "")
	const n = 20
	for _, tt := range []struct {
		platform string
		delivery func(i int) delivery
	}{
		{"shopify", func(i int) delivery {
			return shopifyDelivery(fmt.Sprintf("attacker/topic-%d-%s", i, strings.Repeat("x", 200)), fmt.Sprintf("dl-%d", i), []byte(`{"id": 1}`))
		}},
		{"woocommerce", func(i int) delivery {
			return wooDelivery(fmt.Sprintf("attacker.topic-%d", i), fmt.Sprintf("dl-%d", i), []byte(`{"id": 1}`))
		}},
		{"tiktok", func(i int) delivery {
			return tiktokDelivery([]byte(fmt.Sprintf(`{"type": %d, "tts_notification_id": "n-%d", "data": {}}`, 1000+i, i)))
		}},
		{"instagram", func(i int) delivery {
			return instagramDelivery([]byte(fmt.Sprintf(`{"object": "attacker-%d", "entry": []}`, i)))
		}},
	} {
		t.Run(tt.platform, func(t *testing.T) {
			for i := range n {
				code, out := e.post(e.client, tt.delivery(i))
				require.Equal(t, http.StatusOK, code, out)
				require.Equal(t, "ignored", out["status"])
			}
			series := scrapeSeries(t, e.url, "paysplit_webhook_events_total", `provider="`+tt.platform+`"`, `outcome="ignored"`)
			require.Len(t, series, 1, "every unhandled topic is one series: %.300s", strings.Join(series, "\n"))
			require.Contains(t, series[0], `type="other"`)
			require.True(t, strings.HasSuffix(series[0], fmt.Sprintf(" %d", n)), "all %d counted: %s", n, series[0])
		})
	}
}

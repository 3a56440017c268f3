package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"paysplit/activities"
	"paysplit/api/server"
	"paysplit/internal/ledger"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/paypalhook"
	"paysplit/internal/store"
	"paysplit/internal/stripeevent"
	"paysplit/testenv"
	"paysplit/workflows/payment"
	"paysplit/workflows/reconcile"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	adminKey      = "test-admin-key"
	webhookSecret = "whsec_test"
)

// stack is the real thing end to end: Postgres, a Temporal dev server, stripe-mock behind a
// recording proxy, a worker and the API over HTTP.
type stack struct {
	t      *testing.T
	api    *httptest.Server
	tc     client.Client
	ledger *ledger.Ledger
	stripe *testenv.StripeProxy
	paypal *testenv.PayPal
}

func newStack(t *testing.T, settings payment.Settings) *stack {
	pool, _ := testenv.Postgres(t)
	tc := testenv.TemporalClient(t)
	proxy := testenv.NewStripeProxy(t, testenv.StripeMock(t))
	pp := testenv.NewPayPal(t)
	queue := "payments-" + t.Name()

	ppClient, err := activities.NewPayPalClient("paysplit-test", "secret", pp.APIBase, pp.HTTPClient())
	require.NoError(t, err)
	w := worker.New(tc, queue, worker.Options{})
	payment.Register(w)
	reconcile.Register(w)
	stripeClient := activities.NewStripeClient("sk_test_123", proxy.URL, nil)
	w.RegisterActivity(&activities.Activities{
		Store: store.New(pool), Ledger: ledger.New(pool), Stripe: stripeClient, PayPal: ppClient,
	})
	w.RegisterActivity(&activities.Reconciler{Store: store.New(pool), Stripe: stripeClient, PayPal: ppClient})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	srv := server.New(server.Deps{
		Pool: pool, Store: store.New(pool), Ledger: ledger.New(pool), Temporal: tc, TaskQueue: queue,
		AdminAPIKey: adminKey, StripeWebhookSecret: webhookSecret, TemporalUIURL: "http://127.0.0.1:8233",
		Namespace: "default", Settings: settings, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		PayPalVerifier: server.OfflinePayPalVerifier{V: &paypalhook.Verifier{WebhookID: pp.WebhookID, HTTP: pp.HTTPClient()}},
	})
	api := httptest.NewServer(srv)
	t.Cleanup(api.Close)
	return &stack{t: t, api: api, tc: tc, ledger: ledger.New(pool), stripe: proxy, paypal: pp}
}

func (s *stack) do(method, path string, body any, key string) (int, map[string]any) {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(s.t, err)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.api.URL+path, r)
	require.NoError(s.t, err)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	return s.send(req)
}

func (s *stack) send(req *http.Request) (int, map[string]any) {
	s.t.Helper()
	res, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer res.Body.Close()
	var out map[string]any
	require.NoError(s.t, json.NewDecoder(res.Body).Decode(&out))
	return res.StatusCode, out
}

func (s *stack) webhook(d stripeevent.Delivery) (int, map[string]any) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.api.URL+"/webhooks/stripe", bytes.NewReader(d.Body))
	require.NoError(s.t, err)
	req.Header.Set("Stripe-Signature", d.Signature)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	return s.send(req)
}

// seed registers a client with a vendor, an affiliate and a 10% / 5% rule through the admin API.
func (s *stack) seed(client string) {
	s.t.Helper()
	code, body := s.do(http.MethodPut, "/api/v1/admin/clients/"+client, map[string]any{"name": "Acme Shop", "default_currency": "usd"}, adminKey)
	require.Equal(s.t, http.StatusCreated, code, body)
	for id, kind := range map[string]string{client + "-vendor": "vendor", client + "-aff": "affiliate"} {
		code, body = s.do(http.MethodPut, "/api/v1/admin/payees/"+id, map[string]any{"client_id": client, "kind": kind, "stripe_account": "acct_" + kind + "1"}, adminKey)
		require.Equal(s.t, http.StatusCreated, code, body)
	}
	code, body = s.do(http.MethodPost, "/api/v1/admin/clients/"+client+"/split-rules", map[string]any{"platform_bps": 1000, "affiliate_bps": 500}, adminKey)
	require.Equal(s.t, http.StatusCreated, code, body)
	require.EqualValues(s.t, 1, body["version"])
}

func capture(client, pi string) stripeevent.Capture {
	return stripeevent.Capture{
		EventID: "evt_" + pi, PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd", Amount: 11000, Created: time.Now(),
		Metadata: map[string]string{
			"client_id": client, "order_id": "order-" + pi, "vendor_id": client + "-vendor", "affiliate_id": client + "-aff",
			"subtotal": "10000", "tax": "800", "shipping": "500", "discount": "300", "platform": "shopify",
			"customer_email": "someone@example.com", // must be dropped before it reaches history
		},
	}
}

func (s *stack) result(id string) ipayment.Record {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var rec ipayment.Record
	require.NoError(s.t, s.tc.GetWorkflow(ctx, id, "").Get(ctx, &rec))
	return rec
}

func TestStripePaymentEndToEnd(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	s.seed("acme")
	ev := capture("acme", "pi_e2e1")
	delivery := stripeevent.Sign(ev.Body(), webhookSecret, time.Now())

	code, body := s.webhook(delivery)
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "accepted", body["status"])
	id := payment.WorkflowID("stripe", "pi_e2e1")
	rec := s.result(id)
	require.Equal(t, ipayment.StatusPaid, rec.Status, rec.Reason)
	require.Equal(t, 1, rec.RuleVersion)

	transfers := s.stripe.Calls(http.MethodPost, "/v1/transfers")
	require.Len(t, transfers, 2)
	want := map[string]struct {
		amount, dest string
	}{
		id + "/transfer/vendor-acme-vendor/0": {"9545", "acct_vendor1"},
		id + "/transfer/affiliate-acme-aff/0": {"485", "acct_affiliate1"},
	}
	for _, tr := range transfers {
		w, ok := want[tr.IdempotencyKey]
		require.True(t, ok, "unexpected idempotency key %q", tr.IdempotencyKey)
		assert.Equal(t, w.amount, tr.Form.Get("amount"))
		assert.Equal(t, w.dest, tr.Form.Get("destination"))
		assert.Equal(t, "ch_pi_e2e1", tr.Form.Get("source_transaction"))
		assert.Equal(t, "order-pi_e2e1", tr.Form.Get("transfer_group"))
		assert.Equal(t, id, tr.Form.Get("metadata[workflow_id]"))
	}

	ctx := context.Background()
	unbalanced, err := s.ledger.Unbalanced(ctx)
	require.NoError(t, err)
	require.Empty(t, unbalanced)
	entries, err := s.ledger.EntriesByReference(ctx, id)
	require.NoError(t, err)
	require.Len(t, entries, 3, "capture and two transfers")
	require.Equal(t, map[string]int64{
		ledger.VendorPayable("acme-vendor"): 0, ledger.AffiliatePayable("acme-aff"): 0,
		ledger.PlatformRevenue: -970, ledger.ProviderBalance("stripe"): 970,
	}, s.paymentBalances(id))

	// The admin API shows the legs with their transfers.
	code, view := s.do(http.MethodGet, "/api/v1/admin/payments/"+id, nil, adminKey)
	require.Equal(t, http.StatusOK, code, view)
	require.Equal(t, "paid", view["status"])
	legs := view["legs"].([]any)
	require.Len(t, legs, 3)
	for _, l := range legs {
		leg := l.(map[string]any)
		if leg["party"] == "platform" {
			assert.Nil(t, leg["transfer_id"])
			assert.EqualValues(t, 970, leg["amount"])
		} else {
			assert.NotEmpty(t, leg["transfer_id"])
		}
	}

	// The same webhook three more times: acknowledged, nothing new anywhere.
	for range 3 {
		code, body = s.webhook(stripeevent.Sign(ev.Body(), webhookSecret, time.Now()))
		require.Equal(t, http.StatusOK, code, body)
		require.Equal(t, "duplicate", body["status"])
	}
	require.Len(t, s.stripe.Calls(http.MethodPost, "/v1/transfers"), 2)
	entries, err = s.ledger.EntriesByReference(ctx, id)
	require.NoError(t, err)
	require.Len(t, entries, 3)
	require.Equal(t, 1, s.runs(id), "one workflow execution for the payment")

	// No customer data reached the workflow's history.
	hist := s.history(id)
	require.NotContains(t, string(hist), "someone@example.com")
	s.record("stripe_paid.json", hist)

	// A refund after the run closed starts a follow-up run that reverses the payees' shares.
	refund := stripeevent.Refund{EventID: "evt_re1", PaymentIntent: "pi_e2e1", Charge: "ch_pi_e2e1", Currency: "usd", Amount: 11000, AmountRefunded: 1100, Created: time.Now()}
	code, body = s.webhook(stripeevent.Sign(refund.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	rec = s.result(id)
	require.Equal(t, ipayment.StatusPartiallyRefunded, rec.Status)
	s.record("stripe_refund_followup.json", s.history(id))
	reversals := s.stripe.Calls(http.MethodPost, "")
	var keys []string
	for _, c := range reversals {
		if c.IdempotencyKey != "" && c.Path != "/v1/transfers" {
			keys = append(keys, c.IdempotencyKey)
		}
	}
	require.ElementsMatch(t, []string{id + "/refund/1100/vendor-acme-vendor", id + "/refund/1100/affiliate-acme-aff"}, keys)
	unbalanced, err = s.ledger.Unbalanced(ctx)
	require.NoError(t, err)
	require.Empty(t, unbalanced)
	// The platform keeps 970 − 97 of its commission; the payees' payables are settled.
	require.Equal(t, map[string]int64{
		ledger.VendorPayable("acme-vendor"): 0, ledger.AffiliatePayable("acme-aff"): 0,
		ledger.PlatformRevenue: -873, ledger.ProviderBalance("stripe"): 873,
	}, s.paymentBalances(id))
}

func TestRefundBeforeCaptureEndToEnd(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	s.seed("early")
	refund := stripeevent.Refund{EventID: "evt_re2", PaymentIntent: "pi_e2e2", Charge: "ch_pi_e2e2", Currency: "usd", Amount: 11000, AmountRefunded: 11000, Created: time.Now()}
	code, body := s.webhook(stripeevent.Sign(refund.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	code, body = s.webhook(stripeevent.Sign(capture("early", "pi_e2e2").Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	rec := s.result(payment.WorkflowID("stripe", "pi_e2e2"))
	require.Equal(t, ipayment.StatusRefunded, rec.Status)
	s.record("stripe_refund_before_capture.json", s.history(payment.WorkflowID("stripe", "pi_e2e2")))
	for _, c := range s.stripe.Calls(http.MethodPost, "/v1/transfers") {
		require.NotContains(t, c.IdempotencyKey, "pi_e2e2", "a fully refunded payment pays nobody")
	}
}

func TestWebhookRejectsBadInput(t *testing.T) {
	s := newStack(t, payment.Settings{})
	body := capture("acme", "pi_bad").Body()
	tests := []struct {
		name   string
		d      stripeevent.Delivery
		status int
		code   string
	}{
		{"wrong secret", stripeevent.Sign(body, "whsec_other", time.Now()), 400, "invalid_signature"},
		{"too old", stripeevent.Sign(body, webhookSecret, time.Now().Add(-6*time.Minute)), 400, "invalid_signature"},
		{"no signature", stripeevent.Delivery{Body: body}, 400, "invalid_signature"},
		{"tampered body", stripeevent.Delivery{Body: append([]byte(" "), body...), Signature: stripeevent.Sign(body, webhookSecret, time.Now()).Signature}, 400, "invalid_signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := s.webhook(tt.d)
			require.Equal(t, tt.status, code)
			require.Equal(t, tt.code, out["error"].(map[string]any)["code"])
		})
	}
	other := []byte(`{"id":"evt_x","object":"event","api_version":"2023-10-16","created":1,"type":"customer.created","data":{"object":{"id":"cus_1","object":"customer"}}}`)
	code, out := s.webhook(stripeevent.Sign(other, webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ignored", out["status"])
	require.Equal(t, 0, s.runs("payment-stripe-cus_1"))
}

func TestWebhookAnswers503WhenTemporalIsDown(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	down, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	require.NoError(t, err)
	defer down.Close()
	srv := server.New(server.Deps{Pool: pool, Store: store.New(pool), Ledger: ledger.New(pool), Temporal: down, TaskQueue: "q",
		AdminAPIKey: adminKey, StripeWebhookSecret: webhookSecret, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	api := httptest.NewServer(srv)
	defer api.Close()
	d := stripeevent.Sign(capture("acme", "pi_down").Body(), webhookSecret, time.Now())
	req, err := http.NewRequest(http.MethodPost, api.URL+"/webhooks/stripe", bytes.NewReader(d.Body))
	require.NoError(t, err)
	req.Header.Set("Stripe-Signature", d.Signature)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, res.StatusCode, "Stripe must deliver again")
}

// record saves a history for the replay tests in workflows/payment when RECORD_HISTORY is set
// (`make record-histories`), so every change to the workflow is replayed against real runs.
func (s *stack) record(name string, hist []byte) {
	if os.Getenv("RECORD_HISTORY") == "" {
		return
	}
	require.NoError(s.t, os.WriteFile(filepath.Join("..", "..", "workflows", "payment", "testdata", name), hist, 0o644))
}

// paymentBalances sums the postings of one payment's journal entries per account: the books of
// that payment alone, whatever other tests in the package posted.
func (s *stack) paymentBalances(id string) map[string]int64 {
	s.t.Helper()
	entries, err := s.ledger.EntriesByReference(context.Background(), id)
	require.NoError(s.t, err)
	out := map[string]int64{}
	for _, e := range entries {
		for _, p := range e.Postings {
			out[p.Account] += p.Amount
		}
	}
	return out
}

// runs counts the executions (runs) of a workflow ID.
func (s *stack) runs(id string) int {
	s.t.Helper()
	ctx := context.Background()
	n := 0
	var token []byte
	for {
		res, err := s.tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowId = '%s'", id), NextPageToken: token,
		})
		require.NoError(s.t, err)
		n += len(res.Executions)
		if token = res.NextPageToken; len(token) == 0 {
			return n
		}
	}
}

// history returns a closed workflow's first run's history as JSON (the format replay tests read).
func (s *stack) history(id string) []byte {
	s.t.Helper()
	ctx := context.Background()
	it := s.tc.GetWorkflowHistory(ctx, id, "", false, 0)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(s.t, err)
		h.Events = append(h.Events, ev)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(h)
	require.NoError(s.t, err)
	return b
}

package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"paysplit/api/server"
	"paysplit/internal/ledger"
	"paysplit/internal/payment"
	"paysplit/internal/secrets"
	"paysplit/internal/split"
	"paysplit/internal/store"
	"paysplit/testenv"
	stackpkg "paysplit/testenv/stack"
)

// apiEnv is the API over HTTP on the test database, without a worker: the client API and most of
// the admin API only read and write Postgres. Every response it sees is checked against the
// OpenAPI document.
type apiEnv struct {
	t     *testing.T
	url   string
	srv   *server.Server
	pool  *pgxpool.Pool
	store *store.Store
}

var testSecretsKey = bytes.Repeat([]byte{42}, 32)

// newAPI starts the server; mod may change its Deps (rate limits, clock, Temporal).
func newAPI(t *testing.T, mod func(*server.Deps)) *apiEnv {
	t.Helper()
	pool, _ := testenv.Postgres(t)
	box, err := secrets.New(testSecretsKey)
	require.NoError(t, err)
	st := store.New(pool, store.WithSecrets(box))
	// Nothing listens there: these tests never reach Temporal.
	nowhere, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	require.NoError(t, err)
	t.Cleanup(nowhere.Close)
	d := server.Deps{
		Pool: pool, Store: st, Ledger: ledger.New(pool), Temporal: nowhere, TaskQueue: "q",
		AdminAPIKey: adminKey, StripeWebhookSecret: webhookSecret, TemporalUIURL: "http://127.0.0.1:8233", Namespace: "default",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), RateLimit: 1000, RateBurst: 1000,
	}
	if mod != nil {
		mod(&d)
	}
	srv := server.New(d)
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { ts.Close(); _ = srv.Close() })
	return &apiEnv{t: t, url: ts.URL, srv: srv, pool: pool, store: st}
}

// req is one request: a bearer key and/or cookies, extra headers, a JSON body.
type req struct {
	method, path string
	body         any
	key          string
	cookies      []*http.Cookie
	header       map[string]string
}

// send performs r and returns the response with its body read; the response must match the
// OpenAPI document's description of that operation and status.
func (a *apiEnv) send(r req) (*http.Response, []byte) {
	a.t.Helper()
	var rd io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		require.NoError(a.t, err)
		rd = bytes.NewReader(b)
	}
	hr, err := http.NewRequest(r.method, a.url+r.path, rd)
	require.NoError(a.t, err)
	if r.body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.key != "" {
		hr.Header.Set("Authorization", "Bearer "+r.key)
	}
	for _, c := range r.cookies {
		hr.AddCookie(c)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(hr)
	require.NoError(a.t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(a.t, err)
	checkAgainstSpec(a.t, hr, res, body)
	return res, body
}

// json sends r and decodes a JSON object answer.
func (a *apiEnv) json(r req) (int, map[string]any) {
	a.t.Helper()
	res, body := a.send(r)
	out := map[string]any{}
	if len(body) > 0 {
		require.NoError(a.t, json.Unmarshal(body, &out), string(body))
	}
	return res.StatusCode, out
}

var idSeq atomic.Int64

// uniqueID makes IDs unique within the test binary's shared database.
func uniqueID(prefix string) string {
	return fmt.Sprintf("%s-%d%d", prefix, time.Now().UnixNano()%1e6, idSeq.Add(1))
}

// newClient creates a client through the admin API.
func (a *apiEnv) newClient(prefix string) string {
	a.t.Helper()
	id := uniqueID(prefix)
	code, body := a.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + id, key: adminKey,
		body: map[string]any{"name": strings.ToUpper(prefix[:1]) + prefix[1:] + " Shop", "default_currency": "usd"}})
	require.Equal(a.t, http.StatusCreated, code, body)
	return id
}

// newKey creates an API key through the admin API and returns the secret.
func (a *apiEnv) newKey(role, clientID string) (id, secret string) {
	a.t.Helper()
	code, body := a.json(req{method: http.MethodPost, path: "/api/v1/admin/api-keys", key: adminKey,
		body: map[string]any{"role": role, "client_id": clientID, "name": "test " + role}})
	require.Equal(a.t, http.StatusCreated, code, body)
	return body["api_key"].(map[string]any)["id"].(string), body["key"].(string)
}

// login exchanges a key for the session cookie and returns the cookies and CSRF token.
func (a *apiEnv) login(key string) ([]*http.Cookie, string) {
	a.t.Helper()
	res, body := a.send(req{method: http.MethodPost, path: "/api/v1/session", body: map[string]string{"key": key}})
	require.Equal(a.t, http.StatusCreated, res.StatusCode, string(body))
	var out struct {
		CSRF string `json:"csrf_token"`
	}
	require.NoError(a.t, json.Unmarshal(body, &out))
	return res.Cookies(), out.CSRF
}

// paidRecord is a captured payment split 10% platform, 5% affiliate, the rest to the vendor, with
// refunds split the same way: the shape the payment workflow persists.
func paidRecord(clientID, id string, at time.Time, gross, refunded int64, status payment.Status) payment.Record {
	platform, affiliate := gross/10, gross/20
	vendor := gross - platform - affiliate
	pr, ar := refunded/10, refunded/20
	vr := refunded - pr - ar
	vendorState, reason := payment.LegTransferred, ""
	switch status {
	case payment.StatusHeld:
		vendorState, reason = payment.LegHeld, "connected account cannot receive transfers"
	case payment.StatusPayoutFailed:
		vendorState, reason = payment.LegFailed, "transfer refused"
	}
	transferred, reversed := vendor, vr
	if vendorState != payment.LegTransferred {
		transferred, reversed = 0, 0
	}
	return payment.Record{
		WorkflowID: "payment-stripe-" + id, Provider: "stripe", PaymentID: id, ChargeID: "ch_" + id, Currency: "usd",
		Gross: gross, Refunded: refunded, Status: status, CapturedAt: at, RuleVersion: 1,
		Order: payment.Order{ClientID: clientID, OrderID: "order-" + id, VendorID: clientID + "-vendor", AffiliateID: clientID + "-aff",
			Platform: "shopify", Subtotal: gross},
		Legs: []payment.Leg{
			{Party: split.PartyPlatform, Amount: platform, Refunded: pr, State: payment.LegRetained},
			{Party: split.PartyVendor, PayeeID: clientID + "-vendor", Amount: vendor, Refunded: vr, Transferred: transferred,
				Reversed: reversed, State: vendorState, Reason: reason},
			{Party: split.PartyAffiliate, PayeeID: clientID + "-aff", Amount: affiliate, Refunded: ar, Transferred: affiliate,
				Reversed: ar, State: payment.LegTransferred, TransferID: "tr_aff_" + id},
		},
	}
}

// checkAgainstSpec fails the test when a response's status is not documented for its operation or
// its body does not match the documented schema (the stack's requests are checked the same way).
func checkAgainstSpec(t *testing.T, hr *http.Request, res *http.Response, body []byte) {
	t.Helper()
	stackpkg.CheckAgainstSpec(t, hr, res, body)
}

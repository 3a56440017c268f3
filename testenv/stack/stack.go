// Package stack runs the whole platform for tests that need all of it at once: Postgres, a
// Temporal dev server, stripe-mock behind the stateful proxy, a PayPal fake, the API over HTTP and
// (unless a test brings its own) an in-process worker. Check verifies the books afterwards.
package stack

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"paysplit/activities"
	"paysplit/api/server"
	"paysplit/internal/db"
	"paysplit/internal/ledger"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/paypalhook"
	"paysplit/internal/store"
	"paysplit/internal/stripeevent"
	"paysplit/testenv"
	"paysplit/workflows/payment"
	"paysplit/workflows/reconcile"
)

// Credentials the stack's API is configured with.
const (
	AdminKey      = "test-admin-key"
	WebhookSecret = "whsec_test"
	// ConnectWebhookSecret signs the deliveries of the Stripe Connect endpoint.
	ConnectWebhookSecret = "whsec_test_connect"
	StripeKey            = "sk_test_PaysplitStack123"
	PayPalSecret         = "paypal-secret-paysplit-stack"
)

// Options shape a stack.
type Options struct {
	Settings payment.Settings
	// DatabaseURL, when set, is a migrated database the whole stack uses (say, on a
	// testenv.OwnPostgres a test crashes) instead of the test binary's shared one.
	DatabaseURL string
	// WorkerDatabaseURL, when set, is what the in-process worker's pool connects to (say,
	// through a testenv.TCPProxy that a test cuts).
	WorkerDatabaseURL string
	// NoWorker leaves the worker to the test (the real worker program as a process).
	NoWorker bool
	// Logger receives the API's and the worker's logs; nil discards them.
	Logger *slog.Logger
	// CuttableTemporal connects the API to Temporal through TemporalLine, a proxy a test cuts
	// (the worker keeps its own line).
	CuttableTemporal bool
	// WebhookAck is when the API (and its replicas) answer webhooks; zero: once Temporal took them.
	WebhookAck server.WebhookAck
	// PayPal has the real worker program (WorkerEnv) pay PayPal payouts through the stack's
	// PayPal fake too, as the in-process worker always does. Check verifies PayPal's side from
	// the fake's record whenever there is one.
	PayPal bool
}

// Stack is a running platform.
type Stack struct {
	T           testing.TB
	API         *httptest.Server
	Temporal    client.Client
	TemporalURL string
	Pool        *pgxpool.Pool
	DatabaseURL string
	Store       *store.Store
	Ledger      *ledger.Ledger
	Stripe      *testenv.StripeProxy
	PayPal      *testenv.PayPal
	Queue       string
	// TemporalLine is the API's line to Temporal when Options.CuttableTemporal is set.
	TemporalLine *testenv.TCPProxy

	mu       sync.Mutex
	outcomes map[string]int  // webhook answers by status ("accepted", "duplicate", ...)
	accepted map[string]bool // workflow IDs a webhook was acknowledged for
	// disputeFees are the dispute fees acknowledged events stated: workflow ID -> balance
	// transaction -> fee.
	disputeFees map[string]map[string]int64
	// refundsFailed are the refunds whose failure the proxy was told, by refund ID, and
	// lastRefundFailure when each charge's last one failed (an older charge.refunded is stale).
	refundsFailed     map[string]bool
	lastRefundFailure map[string]int64
	opts              Options
	shared            client.Client // the test's Temporal client, which replicas use

	// paypalTold is what the acknowledged PayPal events said, by workflow ID; receivers the
	// PayPal receivers the test gave each payee through the admin API; paypalCA the file
	// holding the fake's CA for the worker program (Options.PayPal).
	paypalTold map[string]*paypalTold
	receivers  map[string]map[string]bool
	paypalCA   string
}

// New starts a stack; everything stops with the test.
func New(t testing.TB, o Options) *Stack {
	t.Helper()
	pool, dbURL := stackDatabase(t, o.DatabaseURL)
	host, _ := testenv.Temporal(t)
	tc := testenv.TemporalClient(t)
	s := &Stack{
		T: t, Temporal: tc, TemporalURL: host, Pool: pool, DatabaseURL: dbURL, Store: store.New(pool), Ledger: ledger.New(pool),
		Stripe: testenv.NewStripeProxy(t, testenv.StripeMock(t)), PayPal: testenv.NewPayPal(t),
		Queue: "payments-" + strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()), outcomes: map[string]int{}, accepted: map[string]bool{},
		disputeFees: map[string]map[string]int64{}, refundsFailed: map[string]bool{}, lastRefundFailure: map[string]int64{},
		paypalTold: map[string]*paypalTold{}, receivers: map[string]map[string]bool{},
	}
	if o.PayPal {
		s.paypalCA = filepath.Join(t.TempDir(), "paypal-ca.pem")
		require.NoError(t, os.WriteFile(s.paypalCA, s.PayPal.CAPEM(), 0o600))
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.opts = o
	if !o.NoWorker {
		s.startWorker(o)
	}
	s.shared = tc
	s.API, _ = s.serveAPI(s.apiTemporal(tc), server.RelayOptions{})
	return s
}

// stackDatabase is the database at url, or the test binary's shared one.
func stackDatabase(t testing.TB, url string) (*pgxpool.Pool, string) {
	if url == "" {
		return testenv.Postgres(t)
	}
	pool, err := db.Connect(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool, url
}

// testRateLimit is the stack's API budget per credential (requests per second and burst). A test
// makes all its admin calls with one key, as fast as the API answers: under the production budget
// (10 a second, bursts of 40) a test making more than 40 passed only while the calls took long
// enough to refill the rest, and was refused 429 rate_limited when they did not. The limiter is
// tested on servers of its own (api/server's access tests), as cmd/bench lifts it for its seeding.
const testRateLimit = 1000

// serveAPI starts an API program on the stack's database, task queue and settings.
func (s *Stack) serveAPI(tc client.Client, relay server.RelayOptions) (*httptest.Server, *server.Server) {
	srv := server.New(server.Deps{
		Pool: s.Pool, Store: s.Store, Ledger: s.Ledger, Temporal: tc, TaskQueue: s.Queue, RateLimit: testRateLimit, RateBurst: testRateLimit,
		AdminAPIKey: AdminKey, StripeWebhookSecret: WebhookSecret, StripeConnectWebhookSecret: ConnectWebhookSecret, TemporalUIURL: "http://127.0.0.1:8233",
		Namespace: "default", Settings: s.opts.Settings, Logger: s.opts.Logger, Relay: relay, WebhookAck: s.opts.WebhookAck,
		PayPalVerifier: server.OfflinePayPalVerifier{V: &paypalhook.Verifier{WebhookID: s.PayPal.WebhookID, Env: paypalhook.EnvironmentOf(s.PayPal.APIBase), HTTP: s.PayPal.HTTPClient()}},
	})
	api := httptest.NewServer(srv)
	s.T.Cleanup(func() {
		api.Close()
		_ = srv.Close() // stops the webhook relay before the database goes
	})
	return api, srv
}

// Replica starts a second API program next to the stack's, sharing its database, task queue and
// Temporal, as another replica behind the load balancer would; relay tunes its webhook relay.
func (s *Stack) Replica(relay server.RelayOptions) (*httptest.Server, *server.Server) {
	s.T.Helper()
	return s.serveAPI(s.shared, relay)
}

// apiTemporal is the API's Temporal client: the shared one, or one through a cuttable line.
func (s *Stack) apiTemporal(shared client.Client) client.Client {
	if !s.opts.CuttableTemporal {
		return shared
	}
	s.TemporalLine = testenv.NewTCPProxy(s.T, s.TemporalURL)
	c, err := client.Dial(client.Options{HostPort: s.TemporalLine.Addr, Logger: tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))})
	require.NoError(s.T, err)
	s.T.Cleanup(c.Close)
	return c
}

func (s *Stack) startWorker(o Options) {
	t := s.T
	pool := s.Pool
	if o.WorkerDatabaseURL != "" {
		var err error
		pool, err = db.Connect(context.Background(), o.WorkerDatabaseURL)
		require.NoError(t, err)
		t.Cleanup(pool.Close)
	}
	pp, err := activities.NewPayPalClient("paysplit-test", PayPalSecret, s.PayPal.APIBase, s.PayPal.HTTPClient())
	require.NoError(t, err)
	stripeClient := activities.NewStripeClient(StripeKey, s.Stripe.URL, nil)
	// The worker logs through its own client, so a test can read what it logged.
	wc, err := client.Dial(client.Options{HostPort: s.TemporalURL, Logger: tlog.NewStructuredLogger(o.Logger)})
	require.NoError(t, err)
	t.Cleanup(wc.Close)
	w := worker.New(wc, s.Queue, WorkerOptions())
	payment.Register(w)
	reconcile.Register(w)
	st := store.New(pool)
	w.RegisterActivity(&activities.Activities{Store: st, Ledger: ledger.New(pool), Stripe: stripeClient, PayPal: pp, Runs: activities.TemporalRuns{Client: wc, SavedQuery: payment.QuerySaved}})
	w.RegisterActivity(&activities.Reconciler{Store: st, Stripe: stripeClient, PayPal: pp})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
}

// WorkerEnv is the environment the real worker program needs to join this stack; with
// Options.PayPal, also the PayPal fake's address, credentials and CA (SSL_CERT_FILE), as
// cmd/bench wires it.
func (s *Stack) WorkerEnv() map[string]string {
	env := map[string]string{
		"DATABASE_URL": s.DatabaseURL, "TEMPORAL_ADDRESS": s.TemporalURL, "TASK_QUEUE": s.Queue,
		"STRIPE_API_BASE": s.Stripe.URL, "STRIPE_API_KEY": StripeKey, "WORKER_HTTP_ADDR": "127.0.0.1:0",
	}
	if s.opts.PayPal {
		for k, v := range s.payPalEnv() {
			env[k] = v
		}
	}
	return env
}

// Do calls the API with JSON.
func (s *Stack) Do(method, path string, body any, key string) (int, map[string]any) {
	s.T.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(s.T, err)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.API.URL+path, r)
	require.NoError(s.T, err)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	code, out := s.send(req)
	if method == http.MethodPut && strings.HasPrefix(path, "/api/v1/admin/payees/") && (code == http.StatusOK || code == http.StatusCreated) {
		s.receiverSet(strings.TrimPrefix(path, "/api/v1/admin/payees/"), body)
	}
	return code, out
}

// send performs req and decodes its JSON object answer, which must match the OpenAPI document's
// description of that operation and status (CheckAgainstSpec).
func (s *Stack) send(req *http.Request) (int, map[string]any) {
	s.T.Helper()
	res, err := http.DefaultClient.Do(req)
	require.NoError(s.T, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(s.T, err)
	CheckAgainstSpec(s.T, req, res, body)
	var out map[string]any
	require.NoError(s.T, json.Unmarshal(body, &out), "%s", body)
	return res.StatusCode, out
}

// StripeWebhook delivers a signed Stripe event and remembers what the API answered.
func (s *Stack) StripeWebhook(d stripeevent.Delivery) (int, map[string]any) {
	s.T.Helper()
	return s.StripeWebhookTo(s.API.URL, d)
}

// StripeWebhookTo delivers a signed Stripe event to the API at baseURL (a replica).
func (s *Stack) StripeWebhookTo(baseURL string, d stripeevent.Delivery) (int, map[string]any) {
	s.T.Helper()
	req, err := http.NewRequest(http.MethodPost, baseURL+"/webhooks/stripe", bytes.NewReader(d.Body))
	require.NoError(s.T, err)
	req.Header.Set("Stripe-Signature", d.Signature)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	s.chargeMade(d.Body)
	code, out := s.send(req)
	s.note(code, out)
	if code == http.StatusOK {
		s.disputeFeesTold(d.Body)
	}
	return code, out
}

// StripeConnectWebhook delivers a signed event of a connected account to the API's Connect
// endpoint.
func (s *Stack) StripeConnectWebhook(d stripeevent.Delivery) (int, map[string]any) {
	s.T.Helper()
	req, err := http.NewRequest(http.MethodPost, s.API.URL+"/webhooks/stripe-connect", bytes.NewReader(d.Body))
	require.NoError(s.T, err)
	req.Header.Set("Stripe-Signature", d.Signature)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	return s.send(req)
}

// LoseWebhook makes Stripe do what an event says (the proxy learns the charge, the refund or the
// dispute) while its webhook never reaches the API: a delivery lost for good, which only
// reconciliation can find.
func (s *Stack) LoseWebhook(body []byte) { s.chargeMade(body) }

// disputeFeesTold remembers the dispute fees an acknowledged dispute event stated, by balance
// transaction, for Check.
func (s *Stack) disputeFeesTold(body []byte) {
	var d struct {
		PaymentIntent string `json:"payment_intent"`
		Currency      string `json:"currency"`
		Funds         []struct {
			ID       string `json:"id"`
			Fee      int64  `json:"fee"`
			Currency string `json:"currency"`
		} `json:"balance_transactions"`
	}
	if typ, ok := stripeObject(body, &d); !ok || !strings.HasPrefix(typ, "charge.dispute.") {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := payment.WorkflowID("stripe", d.PaymentIntent)
	for _, f := range d.Funds {
		if f.Currency == d.Currency {
			if s.disputeFees[id] == nil {
				s.disputeFees[id] = map[string]int64{}
			}
			s.disputeFees[id][f.ID] = f.Fee
		}
	}
}

// stripeObject decodes a Stripe event's data.object into obj and returns the event's type.
func stripeObject(body []byte, obj any) (string, bool) {
	var evt struct {
		Type string `json:"type"`
		Data struct {
			Object json.RawMessage `json:"object"`
		} `json:"data"`
	}
	if json.Unmarshal(body, &evt) != nil || json.Unmarshal(evt.Data.Object, obj) != nil {
		return "", false
	}
	return evt.Type, true
}

// chargeMade tells the Stripe proxy what Stripe knows before it sends an event: the charge
// behind a payment_intent.succeeded (with Stripe's standard fee and the PaymentIntent's metadata),
// what a charge.refunded says was refunded (unless a refund failed since), that a refund failed
// (its amount no longer refunded, once per refund), that a charge.dispute.* disputes its charge.
func (s *Stack) chargeMade(body []byte) {
	var o struct {
		ID             string            `json:"id"`
		Status         string            `json:"status"`
		Amount         int64             `json:"amount"`
		AmountRefunded int64             `json:"amount_refunded"`
		Currency       string            `json:"currency"`
		Charge         any               `json:"charge"`
		LatestCharge   string            `json:"latest_charge"`
		Metadata       map[string]string `json:"metadata"`
		Created        int64             `json:"created"` // a PaymentIntent's, when the event says it
	}
	var evt struct {
		Created int64 `json:"created"` // the PaymentIntent succeeded then (created a moment before)
	}
	_ = json.Unmarshal(body, &evt)
	typ, ok := stripeObject(body, &o)
	switch {
	case !ok:
	case typ == "payment_intent.succeeded" && o.LatestCharge != "":
		s.Stripe.AddCharge(testenv.StripeCharge{ID: o.LatestCharge, Currency: o.Currency, Amount: o.Amount, Fee: testenv.StripeFee(o.Amount),
			PaymentIntent: o.ID, Created: time.Unix(cmp.Or(o.Created, evt.Created), 0), Metadata: o.Metadata})
	case typ == "charge.refunded":
		s.mu.Lock()
		stale := evt.Created < s.lastRefundFailure[o.ID]
		s.mu.Unlock()
		if !stale {
			s.Stripe.RefundCharge(o.ID, o.AmountRefunded)
		}
	case (typ == "charge.refund.updated" || typ == "refund.updated" || typ == "refund.failed") && (o.Status == "failed" || o.Status == "canceled"):
		ch, _ := o.Charge.(string)
		s.mu.Lock()
		first := !s.refundsFailed[o.ID]
		s.refundsFailed[o.ID] = true
		s.lastRefundFailure[ch] = max(s.lastRefundFailure[ch], evt.Created)
		s.mu.Unlock()
		if first {
			s.Stripe.FailRefund(ch, o.Amount)
		}
	case strings.HasPrefix(typ, "charge.dispute."):
		if ch, _ := o.Charge.(string); ch != "" {
			s.Stripe.DisputeCharge(ch)
		}
	}
}

// Forwarded waits, when the API acknowledges webhooks once stored (server.AckOnStore), until
// the relay handed the delivered event (the webhook body whose top-level "id" it is) to Temporal;
// tests that read a workflow right after a webhook call it first. Acknowledged once Temporal took
// it, the event is there already.
func (s *Stack) Forwarded(provider string, body []byte) {
	s.T.Helper()
	if s.opts.WebhookAck != server.AckOnStore {
		return
	}
	var evt struct {
		ID string `json:"id"`
	}
	require.NoError(s.T, json.Unmarshal(body, &evt))
	require.NotEmpty(s.T, evt.ID, "the webhook body has an event id")
	require.EventuallyWithT(s.T, func(c *assert.CollectT) {
		var forwarded bool
		if assert.NoError(c, s.Pool.QueryRow(context.Background(), `SELECT forwarded_at IS NOT NULL FROM webhook_inbox
			WHERE provider = $1 AND event_id = $2`, provider, evt.ID).Scan(&forwarded)) {
			assert.True(c, forwarded, "inbox event %s/%s forwarded", provider, evt.ID)
		}
	}, 30*time.Second, 20*time.Millisecond)
}

func (s *Stack) note(code int, out map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	status, _ := out["status"].(string)
	if code != http.StatusOK {
		status = fmt.Sprintf("http_%d", code)
	}
	s.outcomes[status]++
	if id, ok := out["workflow_id"].(string); ok && code == http.StatusOK {
		s.accepted[id] = true
	}
}

// Outcomes counts the webhook answers by status.
func (s *Stack) Outcomes() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.outcomes {
		out[k] = v
	}
	return out
}

// Seed registers a client with a vendor (<client>-vendor), an affiliate (<client>-aff) and a
// 10% / 5% rule through the admin API.
func (s *Stack) Seed(clientID string) {
	s.T.Helper()
	code, body := s.Do(http.MethodPut, "/api/v1/admin/clients/"+clientID, map[string]any{"name": "Shop " + clientID, "default_currency": "usd"}, AdminKey)
	require.Contains(s.T, []int{http.StatusOK, http.StatusCreated}, code, body)
	for id, kind := range map[string]string{clientID + "-vendor": "vendor", clientID + "-aff": "affiliate"} {
		code, body = s.Do(http.MethodPut, "/api/v1/admin/payees/"+id, map[string]any{"client_id": clientID, "kind": kind, "stripe_account": "acct_" + kind + "1"}, AdminKey)
		require.Contains(s.T, []int{http.StatusOK, http.StatusCreated}, code, body)
	}
	code, body = s.Do(http.MethodPost, "/api/v1/admin/clients/"+clientID+"/split-rules", map[string]any{"platform_bps": 1000, "affiliate_bps": 500}, AdminKey)
	require.Equal(s.T, http.StatusCreated, code, body)
}

// Capture is a payment_intent.succeeded for an 11000-cent order of a seeded client.
func Capture(clientID, pi string) stripeevent.Capture {
	return stripeevent.Capture{
		EventID: "evt_" + pi, PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd", Amount: 11000, Created: time.Now(),
		Metadata: map[string]string{
			"client_id": clientID, "order_id": "order-" + pi, "vendor_id": clientID + "-vendor", "affiliate_id": clientID + "-aff",
			"subtotal": "10000", "tax": "800", "shipping": "500", "discount": "300", "platform": "shopify",
		},
	}
}

// AwaitStatus waits until a payment's stored status is one of want, and returns it.
func (s *Stack) AwaitStatus(id string, within time.Duration, want ...ipayment.Status) ipayment.Record {
	s.T.Helper()
	var rec ipayment.Record
	require.EventuallyWithT(s.T, func(c *assert.CollectT) {
		r, err := s.Store.GetPayment(context.Background(), id)
		if !assert.NoError(c, err) {
			return
		}
		rec = r
		assert.Contains(c, want, r.Status, "payment %s is %s (%s)", id, r.Status, r.Reason)
	}, within, 100*time.Millisecond)
	return rec
}

// Runs counts the executions of a workflow ID.
func (s *Stack) Runs(id string) int {
	s.T.Helper()
	res, err := s.Temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("WorkflowId = '%s'", id),
	})
	require.NoError(s.T, err)
	return len(res.Executions)
}

// Send performs a request and decodes the JSON answer, checked against the OpenAPI document.
func (s *Stack) Send(req *http.Request) (int, map[string]any) {
	s.T.Helper()
	return s.send(req)
}

// Result waits for a payment workflow's run to finish and returns its final state.
func (s *Stack) Result(id string) ipayment.Record {
	s.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var rec ipayment.Record
	require.NoError(s.T, s.Temporal.GetWorkflow(ctx, id, "").Get(ctx, &rec))
	return rec
}

// PaymentBalances sums the postings of one payment's journal entries per account: the books of
// that payment alone, whatever else the test binary posted.
func (s *Stack) PaymentBalances(id string) map[string]int64 {
	s.T.Helper()
	entries, err := s.Ledger.EntriesByReference(context.Background(), id)
	require.NoError(s.T, err)
	out := map[string]int64{}
	for _, e := range entries {
		for _, p := range e.Postings {
			out[p.Account] += p.Amount
		}
	}
	return out
}

// History returns the latest run's history as JSON, the format replay tests read.
func (s *Stack) History(id string) []byte {
	s.T.Helper()
	return testenv.HistoryJSON(s.T, s.Temporal, id)
}

// WorkerOptions are the options of the stack's in-process worker (testenv.WorkerOptions).
func WorkerOptions() worker.Options { return testenv.WorkerOptions() }

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"paysplit/api/server"
	"paysplit/internal/config"
	"paysplit/internal/ledger"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/store"
	"paysplit/internal/stripeevent"
	"paysplit/telemetry"
	"paysplit/testenv"
	"paysplit/workflows/payment"
)

const (
	adminKey      = "test-admin-key"
	webhookSecret = "whsec_test"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// buildWorker compiles this package, the real worker program, into dir.
func buildWorker(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "worker")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build ./worker: %s", out)
	return bin
}

// programSetup is what a test of the worker program runs against: Postgres, Temporal, Stripe
// (stripe-mock behind a recording proxy), and the API on queue with client seeded.
type programSetup struct {
	api   *apiStack
	proxy *testenv.StripeProxy
	bin   string
	base  map[string]string
}

func setupProgram(t *testing.T, queue, client string) programSetup {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the worker program")
	}
	_, dbURL := testenv.Postgres(t)
	hostPort, ns := testenv.Temporal(t)
	proxy := testenv.NewStripeProxy(t, testenv.StripeMock(t))
	api := newAPI(t, queue)
	api.seed(t, client)
	return programSetup{api: api, proxy: proxy, bin: buildWorker(t, t.TempDir()), base: map[string]string{
		"APP_ENV": "development", "DATABASE_URL": dbURL, "TEMPORAL_ADDRESS": hostPort, "TEMPORAL_NAMESPACE": ns,
		"TASK_QUEUE": queue, "STRIPE_API_KEY": "sk_test_123", "STRIPE_API_BASE": proxy.URL,
	}}
}

// env is the worker's environment: the setup's, with extra on top.
func (p programSetup) env(extra map[string]string) map[string]string {
	out := maps.Clone(p.base)
	maps.Copy(out, extra)
	return out
}

// workerProc is a running worker program: its JSON log lines and its ops HTTP address.
type workerProc struct {
	cmd      *exec.Cmd
	httpAddr string
	mu       sync.Mutex
	lines    []string
	exited   chan struct{}
	exitErr  error
}

func startWorker(t *testing.T, bin string, env map[string]string) *workerProc {
	t.Helper()
	p := &workerProc{httpAddr: testenv.FreeAddr(t), exited: make(chan struct{})}
	cmd := exec.Command(bin)
	cmd.Env = os.Environ()
	env["WORKER_HTTP_ADDR"] = p.httpAddr
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout
	require.NoError(t, cmd.Start())
	p.cmd = cmd
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
		}
		p.exitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("worker log:\n%s", p.log())
		}
	})
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		res, err := http.Get("http://" + p.httpAddr + "/readyz")
		if !assert.NoError(c, err) {
			return
		}
		res.Body.Close()
		assert.Equal(c, http.StatusOK, res.StatusCode)
	}, 60*time.Second, 100*time.Millisecond, "worker /readyz")
	return p
}

func (p *workerProc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// waitLog waits for a log line with the given msg.
func (p *workerProc) waitLog(t *testing.T, msg string) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Contains(c, p.log(), `"msg":"`+msg)
	}, 30*time.Second, 20*time.Millisecond, "worker log line %q", msg)
}

// stop sends SIGTERM and waits for the program to exit; it must exit 0.
func (p *workerProc) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	p.wait(t)
}

func (p *workerProc) wait(t *testing.T) {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(90 * time.Second):
		t.Fatalf("worker did not exit after SIGTERM")
	}
	require.NoError(t, p.exitErr, "worker exit status; its log:\n%s", p.log())
}

// metrics scrapes a /metrics endpoint and sums every series of each metric (histograms by
// their sample count).
func scrape(t require.TestingT, url string) map[string]float64 {
	res, err := http.Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(res.Body)
	require.NoError(t, err)
	out := map[string]float64{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			switch {
			case m.Counter != nil:
				out[name] += m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[name] += m.GetGauge().GetValue()
			case m.Histogram != nil:
				out[name] += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// collector is a minimal OTLP/HTTP trace receiver: the worker program exports its spans here.
type collector struct {
	URL   string
	mu    sync.Mutex
	spans []span
}

type span struct {
	Service, Name, TraceID string
}

func newCollector(t *testing.T) *collector {
	c := &collector{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil || r.URL.Path != "/v1/traces" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		for _, rs := range req.GetResourceSpans() {
			service := ""
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.GetKey() == "service.name" {
					service = kv.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					c.spans = append(c.spans, span{Service: service, Name: s.GetName(), TraceID: hex.EncodeToString(s.GetTraceId())})
				}
			}
		}
		c.mu.Unlock()
		resp, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(resp)
	}))
	t.Cleanup(srv.Close)
	c.URL = srv.URL
	return c
}

func (c *collector) named(name string) []span {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []span
	for _, s := range c.spans {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// apiStack is the API program's wiring (telemetry, Temporal client, server, tracing middleware)
// in process, recording its spans in memory.
type apiStack struct {
	url   string
	tc    client.Client
	spans *tracetest.InMemoryExporter
}

func newAPI(t *testing.T, queue string) *apiStack {
	t.Helper()
	pool, _ := testenv.Postgres(t)
	hostPort, ns := testenv.Temporal(t)
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tel, err := telemetry.New(t.Context(), telemetry.Options{Service: "paysplit-api", Logger: quiet, TracerProvider: tp})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	opts, err := tel.ClientOptions(config.Config{TemporalAddress: hostPort, TemporalNamespace: ns})
	require.NoError(t, err)
	tc, err := client.Dial(opts)
	require.NoError(t, err)
	t.Cleanup(tc.Close)
	srv := server.New(server.Deps{
		Pool: pool, Store: store.New(pool), Ledger: ledger.New(pool), Temporal: tc, TaskQueue: queue,
		AdminAPIKey: adminKey, StripeWebhookSecret: webhookSecret, TemporalUIURL: "http://127.0.0.1:8233",
		Namespace: ns, Logger: quiet, Registry: tel.Registry,
		// A payout cut off by a worker that died is retried after PayoutTimeout: short here, but
		// far longer than a transfer the tests hold during a graceful stop.
		Settings: payment.Settings{SettleWindow: 0, PayoutTimeout: 10 * time.Second},
	})
	srv.Use(telemetry.EchoTracing(tel.TracerProvider))
	api := httptest.NewServer(srv)
	t.Cleanup(func() { api.Close(); _ = srv.Close() })
	return &apiStack{url: api.URL, tc: tc, spans: spans}
}

func (a *apiStack) do(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequest(method, a.url+path, bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+adminKey)
	return send(t, req)
}

func (a *apiStack) webhook(t *testing.T, body []byte) {
	t.Helper()
	d := stripeevent.Sign(body, webhookSecret, time.Now())
	req, err := http.NewRequest(http.MethodPost, a.url+"/webhooks/stripe", bytes.NewReader(d.Body))
	require.NoError(t, err)
	req.Header.Set("Stripe-Signature", d.Signature)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	code, out := send(t, req)
	require.Equal(t, http.StatusOK, code, out)
}

func send(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
	return res.StatusCode, out
}

// seed registers a client with a vendor, an affiliate and a 10% / 5% rule through the admin API.
func (a *apiStack) seed(t *testing.T, clientID string) {
	t.Helper()
	code, body := a.do(t, http.MethodPut, "/api/v1/admin/clients/"+clientID, map[string]any{"name": "Ops Shop", "default_currency": "usd"})
	require.Equal(t, http.StatusCreated, code, body)
	for id, kind := range map[string]string{clientID + "-vendor": "vendor", clientID + "-aff": "affiliate"} {
		code, body = a.do(t, http.MethodPut, "/api/v1/admin/payees/"+id, map[string]any{"client_id": clientID, "kind": kind, "stripe_account": "acct_" + kind + "1"})
		require.Equal(t, http.StatusCreated, code, body)
	}
	code, body = a.do(t, http.MethodPost, "/api/v1/admin/clients/"+clientID+"/split-rules", map[string]any{"platform_bps": 1000, "affiliate_bps": 500})
	require.Equal(t, http.StatusCreated, code, body)
}

func capture(clientID, pi string) stripeevent.Capture {
	return stripeevent.Capture{
		EventID: "evt_" + pi, PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd", Amount: 11000, Created: time.Now(),
		Metadata: map[string]string{
			"client_id": clientID, "order_id": "order-" + pi, "vendor_id": clientID + "-vendor", "affiliate_id": clientID + "-aff",
			"subtotal": "10000", "tax": "800", "shipping": "500", "discount": "300", "platform": "shopify",
		},
	}
}

func (a *apiStack) result(t *testing.T, id string) ipayment.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var rec ipayment.Record
	if err := a.tc.GetWorkflow(ctx, id, "").Get(ctx, &rec); err != nil {
		// Say what the workflow waits for: the pending activities and their last failures.
		if desc, derr := a.tc.DescribeWorkflow(context.Background(), id, ""); derr == nil {
			for _, pa := range desc.RawResponse.GetPendingActivities() {
				t.Logf("pending activity %s: state %s attempt %d scheduled %s last started %s failure %v",
					pa.GetActivityType().GetName(), pa.GetState(), pa.GetAttempt(), pa.GetScheduledTime().AsTime().Format(time.RFC3339Nano),
					pa.GetLastStartedTime().AsTime().Format(time.RFC3339Nano), pa.GetLastFailure())
			}
		}
		require.NoError(t, err, "workflow %s result", id)
	}
	return rec
}

// stripeGate sees every request to the Stripe proxy before it is forwarded: it counts transfer
// attempts per idempotency key (failed ones too, which the proxy's Calls leaves out) and can
// hold a payment's first transfer.
type stripeGate struct {
	mu       sync.Mutex
	attempts map[string]int
	holds    map[string]*transferHold
}

type transferHold struct {
	reached, release chan struct{}
	mu               sync.Mutex
	heldKey          string
}

// claim makes key the held request if none is held yet.
func (h *transferHold) claim(key string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.heldKey != "" {
		return false
	}
	h.heldKey = key
	return true
}

func (h *transferHold) key() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.heldKey
}

func newStripeGate(p *testenv.StripeProxy) *stripeGate {
	g := &stripeGate{attempts: map[string]int{}, holds: map[string]*transferHold{}}
	p.Inject = func(r *http.Request, _ url.Values) (int, string) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/transfers" {
			return 0, ""
		}
		key := r.Header.Get("Idempotency-Key")
		g.mu.Lock()
		g.attempts[key]++
		var hold *transferHold
		for prefix, h := range g.holds {
			if strings.HasPrefix(key, prefix+"/") {
				hold = h
			}
		}
		g.mu.Unlock()
		if hold != nil && hold.claim(key) {
			close(hold.reached)
			select {
			case <-hold.release:
			case <-time.After(2 * time.Minute):
			}
		}
		return 0, "" // on to stripe-mock
	}
	return g
}

// holdFirstTransfer holds the first transfer of a workflow until release is closed.
func (g *stripeGate) holdFirstTransfer(workflowID string) *transferHold {
	h := &transferHold{reached: make(chan struct{}), release: make(chan struct{})}
	g.mu.Lock()
	g.holds[workflowID] = h
	g.mu.Unlock()
	return h
}

// keysOf counts the transfer attempts of a workflow by idempotency key.
func (g *stripeGate) keysOf(workflowID string) map[string]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]int{}
	for k, n := range g.attempts {
		if strings.HasPrefix(k, workflowID+"/") {
			out[k] = n
		}
	}
	return out
}

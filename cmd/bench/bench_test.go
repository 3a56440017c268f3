package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"paysplit/internal/money"
	ipayment "paysplit/internal/payment"
	"paysplit/telemetry"
	"paysplit/testenv"
	"paysplit/workflows/searchattr"
)

// stripeBody is the part of a generated Stripe event the tests read back.
type stripeBody struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Data struct {
		Object struct {
			Amount         int64             `json:"amount"`
			AmountRefunded int64             `json:"amount_refunded"`
			Currency       string            `json:"currency"`
			Metadata       map[string]string `json:"metadata"`
			PaymentIntent  string            `json:"payment_intent"`
			ID             string            `json:"id"`
		} `json:"object"`
	} `json:"data"`
}

func decode(t *testing.T, b []byte) stripeBody {
	t.Helper()
	var s stripeBody
	require.NoError(t, json.Unmarshal(b, &s))
	return s
}

func TestPlanDay(t *testing.T) {
	tests := []struct {
		name                                   string
		events, clients, concurrency           int
		wantCaptures, wantRefunds, wantRepeats int
	}{
		{"a full day", 5000, 40, 32, 4700, 250, 50},
		{"a quick run", 500, 40, 32, 470, 25, 5},
		{"one client, one sender", 100, 1, 1, 94, 5, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			clients := planClients(rng, tt.clients, "42")
			d := planDay(rng, tt.events, clients, "42", time.Unix(1_800_000_000, 0), tt.concurrency, 0)
			require.Len(t, d.Events, tt.events)
			assert.Len(t, d.Payments, tt.wantCaptures)
			assert.Equal(t, tt.wantRefunds, d.Refunds)
			assert.Equal(t, tt.wantRepeats, d.Duplicates)

			kinds := map[eventKind]int{}
			currencies := map[string]bool{}
			affiliates := 0
			for i, ev := range d.Events {
				kinds[ev.Kind]++
				body := decode(t, ev.Body)
				p := d.Payments[ev.Payment]
				switch ev.Kind {
				case kindCapture:
					assert.Equal(t, -1, ev.Parent)
					o := body.Data.Object
					n := func(k string) int64 {
						v, err := strconv.ParseInt(o.Metadata[k], 10, 64)
						require.NoError(t, err)
						return v
					}
					assert.Equal(t, o.Amount, n("subtotal")-n("discount")+n("tax")+n("shipping"), "metadata adds up to the amount")
					assert.Equal(t, p.Gross, o.Amount)
					assert.Equal(t, p.Affiliate, o.Metadata["affiliate_id"] != "")
					assert.True(t, strings.HasPrefix(p.WorkflowID, "payment-stripe-pi_b42x"))
					currencies[o.Currency] = true
					if p.Affiliate {
						affiliates++
					}
				case kindRefund:
					require.GreaterOrEqual(t, ev.Parent, 0)
					require.Less(t, ev.Parent, i, "a refund comes after its capture")
					assert.Equal(t, kindCapture, d.Events[ev.Parent].Kind)
					assert.Equal(t, ev.Payment, d.Events[ev.Parent].Payment)
					assert.Equal(t, p.Refunded, body.Data.Object.AmountRefunded)
					assert.Greater(t, p.Refunded, int64(0))
					assert.LessOrEqual(t, p.Refunded, p.Gross)
				case kindDuplicate:
					require.GreaterOrEqual(t, ev.Parent, 0)
					require.Less(t, ev.Parent, i, "a re-delivery comes after the original")
					assert.NotEqual(t, kindDuplicate, d.Events[ev.Parent].Kind)
					assert.True(t, bytes.Equal(ev.Body, d.Events[ev.Parent].Body), "re-delivered byte for byte")
				}
			}
			assert.Equal(t, tt.wantCaptures, kinds[kindCapture])
			assert.Equal(t, tt.wantRefunds, kinds[kindRefund])
			assert.Equal(t, tt.wantRepeats, kinds[kindDuplicate])
			for _, p := range d.Payments {
				switch {
				case p.Refunded == 0:
					assert.Equal(t, ipayment.StatusPaid, p.WantStatus)
				case p.Refunded == p.Gross:
					assert.Equal(t, ipayment.StatusRefunded, p.WantStatus)
				default:
					assert.Equal(t, ipayment.StatusPartiallyRefunded, p.WantStatus)
				}
			}
			if tt.events >= 500 {
				assert.Len(t, currencies, 3, "usd, eur and jpy")
				assert.InDelta(t, 0.5, float64(affiliates)/float64(len(d.Payments)), 0.1, "about half with an affiliate")
			}
		})
	}
}

func TestPlanDayIsReproducible(t *testing.T) {
	gen := func() day {
		rng := rand.New(rand.NewPCG(7, 7))
		return planDay(rng, 300, planClients(rng, 5, "1"), "1", time.Unix(1_800_000_000, 0), 8, 0.3)
	}
	a, b := gen(), gen()
	require.Equal(t, len(a.Events), len(b.Events))
	for i := range a.Events {
		assert.Equal(t, a.Events[i].Body, b.Events[i].Body)
	}
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 99, 0},
		{"one value", ms(7), 50, 7 * time.Millisecond},
		{"median of four", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of 1..100", ms(hundred...), 99, 99 * time.Millisecond},
		{"p95 of 1..100", ms(hundred...), 95, 95 * time.Millisecond},
		{"p100 is the max", ms(1, 5, 9), 100, 9 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, percentile(tt.sorted, tt.p))
		})
	}
}

func TestProgressLine(t *testing.T) {
	tests := []struct {
		n, total int
		elapsed  time.Duration
		want     []string
	}{
		{50, 100, 10 * time.Second, []string{"50/100", "5.0/s", "ETA 10s", "[###############...............]"}},
		{100, 100, 4 * time.Second, []string{"100/100", "25.0/s", "ETA 0s"}},
		{0, 100, time.Second, []string{"0/100", "ETA --"}},
	}
	for _, tt := range tests {
		line := progressLine("send", tt.n, tt.total, tt.elapsed)
		for _, w := range tt.want {
			assert.Contains(t, line, w)
		}
	}
}

func TestPerSecond(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	got := []delivery{
		{At: 100 * time.Millisecond, Latency: 2 * time.Millisecond},
		{At: 900 * time.Millisecond, Latency: 4 * time.Millisecond},
		{At: 2500 * time.Millisecond, Latency: 10 * time.Millisecond},
	}
	done := map[string]time.Time{"a": t0.Add(1500 * time.Millisecond), "b": t0.Add(1600 * time.Millisecond), "c": t0.Add(3200 * time.Millisecond)}
	s := perSecond(got, done, t0)
	require.Len(t, s.p50, 4)
	assert.Equal(t, 2.0, s.p50[0])
	assert.Equal(t, 4.0, s.p99[0])
	assert.Equal(t, 10.0, s.p50[2])
	assert.Equal(t, []float64{0, 2, 0, 1}, s.completed)
}

func TestProcReadings(t *testing.T) {
	cpu, err := procCPU(os.Getpid())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, cpu, time.Duration(0))
	rss, hwm, err := procMemory(os.Getpid())
	require.NoError(t, err)
	assert.Positive(t, rss)
	assert.GreaterOrEqual(t, hwm, rss)
	busy, total := machineCPU()
	assert.Positive(t, total)
	assert.LessOrEqual(t, busy, total)
}

func TestCheckerListsAFewOfEachKind(t *testing.T) {
	var c checker
	for i := range maxListed + 3 {
		c.fail("payment not final", "payment %d", i)
	}
	c.fail("ledger unbalanced", "1 entry")
	got := c.summary()
	assert.Len(t, got, maxListed+2)
	assert.Contains(t, got, "payment not final: 3 more")
	assert.Contains(t, got, "ledger unbalanced: 1 entry")
	assert.Empty(t, (&checker{}).summary())
	assert.NotNil(t, (&checker{}).summary(), "an empty list, not null, in the JSON")
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
		check   func(t *testing.T, c config)
	}{
		{name: "defaults: a full day", check: func(t *testing.T, c config) {
			assert.Equal(t, 5000, c.events)
			assert.Equal(t, 40, c.clients)
			assert.Equal(t, 32, c.concurrency)
			assert.Zero(t, c.rate)
			assert.Empty(t, c.apiURL, "starts its own stack")
			assert.Equal(t, 2, c.limitRuns, "the fastest of two limit runs")
		}},
		{name: "environment", env: map[string]string{"EVENTS": "500", "CLIENTS": "4", "CONCURRENCY": "8", "RATE": "100"}, check: func(t *testing.T, c config) {
			assert.Equal(t, 500, c.events)
			assert.Equal(t, 4, c.clients)
			assert.Equal(t, 8, c.concurrency)
			assert.Equal(t, 100.0, c.rate)
		}},
		{name: "flags win over the environment", env: map[string]string{"EVENTS": "500"}, args: []string{"-events", "900"},
			check: func(t *testing.T, c config) { assert.Equal(t, 900, c.events) }},
		{name: "too few events", args: []string{"-events", "3"}, wantErr: "-events"},
		{name: "no senders", args: []string{"-concurrency", "0"}, wantErr: "-concurrency"},
		{name: "negative rate", args: []string{"-rate", "-1"}, wantErr: "-rate"},
		{name: "limit pollers", args: []string{"-limit-pollers", "autoscale"}, check: func(t *testing.T, c config) { assert.Equal(t, "autoscale", c.limitPollers) }},
		{name: "limit pollers must be a mode or a count", args: []string{"-limit-pollers", "lots"}, wantErr: "-limit-pollers"},
		{name: "limit shape of activities only", args: []string{"-limit-shape", "RLX"}, wantErr: "-limit-shape"},
		{name: "no limit run", args: []string{"-limit-runs", "0"}, wantErr: "-limit-runs"},
		{name: "limit runs", args: []string{"-limit-runs", "3"}, check: func(t *testing.T, c config) { assert.Equal(t, 3, c.limitRuns) }},
		{name: "limit shape", args: []string{"-limit-shape", "RLL"}, check: func(t *testing.T, c config) { assert.Equal(t, "RLL", c.limitShape) }},
		{name: "profiles", args: []string{"-profile", "/tmp/p", "-profile-seconds", "5"}, check: func(t *testing.T, c config) {
			assert.Equal(t, "/tmp/p", c.profileDir)
			assert.Equal(t, 5, c.profileSeconds)
		}},
		{name: "profiles of some seconds", args: []string{"-profile-seconds", "0"}, wantErr: "-profile-seconds"},
		{name: "profiles of the bench's own stack", args: []string{"-profile", "/tmp/p", "-api", "http://127.0.0.1:8080", "-temporal", "127.0.0.1:7233", "-database-url", "postgres://x/y"}, wantErr: "-profile"},
		{name: "limit with upserts by default", check: func(t *testing.T, c config) { assert.True(t, c.limitUpserts) }},
		{name: "limit without upserts", args: []string{"-limit-upserts=false"}, check: func(t *testing.T, c config) { assert.False(t, c.limitUpserts) }},
		{name: "limit without upserts from the environment", env: map[string]string{"BENCH_LIMIT_UPSERTS": "false"}, check: func(t *testing.T, c config) { assert.False(t, c.limitUpserts) }},
		{name: "limit with data by default", check: func(t *testing.T, c config) { assert.True(t, c.limitData) }},
		{name: "limit without data", args: []string{"-limit-data=false"}, check: func(t *testing.T, c config) { assert.False(t, c.limitData) }},
		{name: "limit without data from the environment", env: map[string]string{"BENCH_LIMIT_DATA": "false"}, check: func(t *testing.T, c config) { assert.False(t, c.limitData) }},
		{name: "limit shape with an upsert", args: []string{"-limit-shape", "LLLLU"}, check: func(t *testing.T, c config) { assert.Equal(t, "LLLLU", c.limitShape) }},
		{name: "existing API needs Temporal and the database", args: []string{"-api", "http://127.0.0.1:8080"}, wantErr: "-temporal"},
		{name: "a fifth through PayPal by default", check: func(t *testing.T, c config) { assert.Equal(t, 0.2, c.paypalShare) }},
		{name: "PayPal share", env: map[string]string{"PAYPAL_SHARE": "0.5"}, check: func(t *testing.T, c config) { assert.Equal(t, 0.5, c.paypalShare) }},
		{name: "PayPal share is a share", args: []string{"-paypal-share", "1.5"}, wantErr: "-paypal-share"},
		{name: "an existing stack has no PayPal fake: Stripe only",
			args:  []string{"-api", "http://127.0.0.1:8080", "-temporal", "127.0.0.1:7233", "-database-url", "postgres://x@127.0.0.1/db"},
			check: func(t *testing.T, c config) { assert.Zero(t, c.paypalShare) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"EVENTS", "CLIENTS", "CONCURRENCY", "RATE", "BENCH_API_URL", "BENCH_LIMIT_POLLERS", "BENCH_LIMIT_UPSERTS", "BENCH_LIMIT_DATA", "PAYPAL_SHARE"} {
				t.Setenv(k, tt.env[k])
			}
			c, err := parseFlags(tt.args)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

func TestGaugeValue(t *testing.T) {
	const slots = "temporal_worker_task_slots_used{namespace=\"default\",worker_type=\"ActivityWorker\"} 4\n" +
		"temporal_worker_task_slots_used{namespace=\"default\",worker_type=\"LocalActivityWorker\"} 9\n"
	tests := []struct {
		name, text, metric, labels string
		want                       float64
		found                      bool
	}{
		{"labelled series are summed", "# TYPE temporal_sticky_cache_size gauge\ntemporal_sticky_cache_size{namespace=\"default\",task_queue=\"a\"} 12\ntemporal_sticky_cache_size{namespace=\"default\",task_queue=\"b\"} 3\n", "temporal_sticky_cache_size", "", 15, true},
		{"no labels", "go_goroutines 7\n", "go_goroutines", "", 7, true},
		{"only the matching labels", slots, "temporal_worker_task_slots_used", `worker_type="LocalActivityWorker"`, 9, true},
		{"a longer name is another metric", "temporal_sticky_cache_size_total 9\n", "temporal_sticky_cache_size", "", 0, false},
		{"missing", "go_goroutines 40\n", "temporal_sticky_cache_size", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := gaugeValue(strings.NewReader(tt.text), tt.metric, tt.labels)
			assert.Equal(t, tt.found, ok)
			assert.Equal(t, tt.want, v)
		})
	}
}

func TestLimitWorkerOptions(t *testing.T) {
	sdk := limitWorkerOptions("", 0)
	assert.Zero(t, sdk.MaxConcurrentWorkflowTaskPollers, "SDK defaults")
	assert.Zero(t, sdk.MaxConcurrentWorkflowTaskExecutionSize)
	assert.Nil(t, sdk.WorkflowTaskPollerBehavior)
	fixed := limitWorkerOptions("8", 0)
	assert.Equal(t, 8, fixed.MaxConcurrentWorkflowTaskPollers)
	assert.Equal(t, 8, fixed.MaxConcurrentActivityTaskPollers)
	auto := limitWorkerOptions("autoscale", 64)
	assert.NotNil(t, auto.WorkflowTaskPollerBehavior)
	assert.NotNil(t, auto.ActivityTaskPollerBehavior)
	assert.Equal(t, 64, auto.MaxConcurrentWorkflowTaskExecutionSize, "bounded as the worker program")
	assert.Equal(t, 64, auto.MaxConcurrentLocalActivityExecutionSize)
	assert.Equal(t, 64, auto.MaxConcurrentActivityExecutionSize)
}

func TestLimitCPU(t *testing.T) {
	for _, tt := range []struct {
		name string
		use  map[string]float64
		n    int
		want map[string]float64
	}{
		{"server and in-process worker, per payment", map[string]float64{"temporal": 21, "bench": 4.2, "worker": 0.3, "postgres": 0.1}, 2000,
			map[string]float64{"temporal": 10.5, "bench": 2.1}},
		{"a process that did not run is left out", map[string]float64{"temporal": 3, "bench": 0}, 1000, map[string]float64{"temporal": 3}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := limitCPU(tt.use, tt.n)
			assert.Equal(t, tt.want, got)
			assert.InDelta(t, sumValues(tt.want), sumValues(got), 1e-9)
		})
	}
}

func TestLimitRunsMatchTheDaysRunsPerPayment(t *testing.T) {
	work := [][]string{{"LLLL"}, {"LLLLLL", "LLLL"}, {"LLLLLL"}}
	for _, tt := range []struct {
		name          string
		n             int
		wantWorkflows int
		wantLocal     int
	}{
		{"fewer payments than the sample", 2, 3, 14},
		{"the sample once", 3, 4, 20},
		{"the sample wraps around", 7, 1 + 2 + 1 + 1 + 2 + 1 + 1, 4 + 10 + 6 + 4 + 10 + 6 + 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			runs := limitRuns("r1", work, tt.n)
			require.Len(t, runs, tt.wantWorkflows)
			ids, local := map[string]bool{}, 0
			for _, r := range runs {
				ids[r.id] = true
				local += strings.Count(r.shape, "L")
			}
			assert.Len(t, ids, len(runs), "every limit workflow has an ID of its own")
			assert.Equal(t, tt.wantLocal, local, "as many local activities as the payments had")
			assert.Equal(t, "bench-limit-r1-2-1", runs[2].id, "the second payment's further run")
		})
	}
}

// paypalBody is the part of a generated PayPal event the tests read back.
type paypalBody struct {
	ID        string `json:"id"`
	EventType string `json:"event_type"`
	Resource  struct {
		ID     string `json:"id"`
		Amount struct {
			Currency string `json:"currency_code"`
			Value    string `json:"value"`
		} `json:"amount"`
		CustomID string `json:"custom_id"`
		Links    []struct {
			Rel, Href string
		} `json:"links"`
	} `json:"resource"`
}

// headerSigner stands in for the PayPal fake: it marks what it signed.
type headerSigner struct{ n int }

func (s *headerSigner) Sign([]byte) http.Header {
	s.n++
	return http.Header{"Paypal-Transmission-Id": {strconv.Itoa(s.n)}}
}

func TestPlanDayWithPayPal(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	d := planDay(rng, 2000, planClients(rng, 10, "42"), "42", time.Unix(1_800_000_000, 0), 8, 0.2)
	var signer headerSigner
	d.sign("whsec_test", &signer)

	paypal := 0
	for _, p := range d.Payments {
		if p.Provider == providerPayPal {
			paypal++
			assert.True(t, strings.HasPrefix(p.WorkflowID, "payment-paypal-CAPB42X"), p.WorkflowID)
		}
	}
	assert.InDelta(t, 0.2, float64(paypal)/float64(len(d.Payments)), 0.04, "about a fifth through PayPal")

	byKind := map[eventKind]int{}
	for _, ev := range d.Events {
		p := d.Payments[ev.Payment]
		require.Equal(t, p.Provider, ev.Provider, "an event goes to its payment's provider")
		if ev.Provider != providerPayPal {
			assert.NotEmpty(t, ev.sig)
			assert.Nil(t, ev.headers)
			continue
		}
		assert.Empty(t, ev.sig, "PayPal events carry no Stripe signature")
		assert.NotEmpty(t, ev.headers.Get("Paypal-Transmission-Id"))
		byKind[ev.Kind]++
		var b paypalBody
		require.NoError(t, json.Unmarshal(ev.Body, &b))
		amount, err := money.ParseAmount(b.Resource.Amount.Value, money.Currency(p.Currency))
		require.NoError(t, err)
		assert.Equal(t, strings.ToUpper(p.Currency), b.Resource.Amount.Currency)
		switch ev.Kind {
		case kindCapture, kindDuplicate:
			if b.EventType != "PAYMENT.CAPTURE.COMPLETED" {
				continue // a re-delivered refund
			}
			assert.Equal(t, p.Ref, b.Resource.ID)
			assert.Equal(t, p.Gross, amount)
			md, err := url.ParseQuery(b.Resource.CustomID)
			require.NoError(t, err)
			n := func(k string) int64 {
				v, err := strconv.ParseInt(md.Get(k), 10, 64)
				require.NoError(t, err)
				return v
			}
			assert.Equal(t, p.Gross, n("subtotal")-n("discount")+n("tax")+n("shipping"), "custom_id adds up to the amount")
			assert.Equal(t, p.Affiliate, md.Get("affiliate_id") != "")
		case kindRefund:
			assert.Equal(t, "PAYMENT.CAPTURE.REFUNDED", b.EventType)
			assert.Equal(t, p.Refunded, amount)
			require.Len(t, b.Resource.Links, 1)
			assert.Equal(t, "up", b.Resource.Links[0].Rel)
			assert.True(t, strings.HasSuffix(b.Resource.Links[0].Href, "/captures/"+p.Ref), "a refund points at its capture")
		}
	}
	assert.Positive(t, byKind[kindCapture])
	assert.Positive(t, byKind[kindRefund])
	assert.Equal(t, signer.n, byKind[kindCapture]+byKind[kindRefund]+byKind[kindDuplicate], "every PayPal event signed, each once")
}

func TestLegSettled(t *testing.T) {
	for _, tt := range []struct {
		name                  string
		provider              string
		amount, refunded, net int64
		want                  bool
	}{
		{"paid in full", providerStripe, 9545, 0, 9545, true},
		{"refund share reversed", providerStripe, 9545, 955, 8590, true},
		{"refund share not reversed", providerStripe, 9545, 955, 9545, false},
		{"overpaid", providerStripe, 9545, 0, 9546, false},
		{"PayPal paid before the refund: the payee owes its share", providerPayPal, 9545, 955, 9545, true},
		{"PayPal paid after the refund", providerPayPal, 9545, 955, 8590, true},
		{"PayPal refunded in full before the payout", providerPayPal, 9545, 9545, 0, true},
		{"PayPal paid less than either", providerPayPal, 9545, 955, 8000, false},
		{"PayPal unpaid without a refund", providerPayPal, 9545, 0, 0, false},
	} {
		assert.Equal(t, tt.want, legSettled(tt.provider, tt.amount, tt.refunded, tt.net), tt.name)
	}
}

func TestLikePrefixes(t *testing.T) {
	assert.Equal(t, []string{`payment-stripe-pi\_b1x%`, `a\%b\\%`}, likePrefixes([]string{"payment-stripe-pi_b1x", `a%b\`}))
}

func TestRecordAcksByProvider(t *testing.T) {
	var r results
	events := []event{{Provider: providerStripe}, {Provider: providerPayPal}, {Provider: providerStripe}, {Provider: providerPayPal}}
	got := []delivery{{Latency: 5 * time.Millisecond}, {Latency: 40 * time.Millisecond}, {Latency: 7 * time.Millisecond}, {Latency: 60 * time.Millisecond}}
	r.recordAcksByProvider(events, got)
	assert.Equal(t, 2, r.AckByProvider[providerStripe].Deliveries)
	assert.Equal(t, 7.0, r.AckByProvider[providerStripe].P99Ms)
	assert.Equal(t, 5.0, r.AckByProvider[providerStripe].P50Ms)
	assert.Equal(t, 60.0, r.AckByProvider[providerPayPal].P99Ms)
}

func TestWriteAcks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "acks.csv")
	events := []event{{Provider: providerStripe}, {Provider: providerPayPal}}
	got := []delivery{
		{At: 1500 * time.Microsecond, Latency: 12345 * time.Microsecond, Attempts: 1, Status: 200},
		{At: 2 * time.Second, Latency: 65 * time.Millisecond, Attempts: 2, Status: 200},
	}
	require.NoError(t, writeAcks(path, events, got))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "event,provider,sent_ms,latency_ms,attempts,status\n"+
		"0,stripe,1.500,12.345,1,200\n"+
		"1,paypal,2000.000,65.000,2,200\n", string(b))
	assert.Error(t, writeAcks(filepath.Join(path, "not-a-dir", "x.csv"), events, got), "an unwritable path fails the run")
}

// TestPayPalProxy: what the api fetches from PayPal's host names reaches the fake through the
// tunnel, over TLS the fake's CA vouches for; other hosts are refused.
func TestPayPalProxy(t *testing.T) {
	fake := testenv.NewPayPal(t)
	proxy, err := startPayPalProxy(strings.TrimPrefix(fake.LocalURL(), "https://"))
	require.NoError(t, err)
	t.Cleanup(proxy.Close)
	proxyURL, err := url.Parse(proxy.URL())
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(fake.CAPEM()))
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		Proxy: http.ProxyURL(proxyURL), TLSClientConfig: &tls.Config{RootCAs: roots}}}

	res, err := c.Get(fake.CertURL)
	require.NoError(t, err)
	pemBytes, err := io.ReadAll(res.Body)
	require.NoError(t, res.Body.Close())
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, string(pemBytes), "BEGIN CERTIFICATE")

	_, err = c.Get("https://example.com/")
	assert.ErrorContains(t, err, "Forbidden", "only PayPal's hosts are tunnelled")
}

func TestCheckPayPalPayouts(t *testing.T) {
	books := map[string]paidLeg{
		"wf-1/transfer/vendor-v/0":    {Money: money.Money{Amount: 9545, Currency: "usd"}, receiver: "v@payees.example.com"},
		"wf-1/transfer/affiliate-a/0": {Money: money.Money{Amount: 485, Currency: "usd"}, receiver: "a@payees.example.com"},
		"wf-2/transfer/vendor-v/0":    {Money: money.Money{Amount: 1200, Currency: "jpy"}, receiver: "v@payees.example.com"},
	}
	paid := []testenv.PayPalPayout{
		{SenderBatchID: "wf-1/transfer/vendor-v/0", Receiver: "v@payees.example.com", Currency: "USD", Value: "95.45"},
		{SenderBatchID: "wf-1/transfer/affiliate-a/0", Receiver: "a@payees.example.com", Currency: "USD", Value: "4.85"},
		{SenderBatchID: "wf-2/transfer/vendor-v/0", Receiver: "v@payees.example.com", Currency: "JPY", Value: "1200"},
	}
	for _, tt := range []struct {
		name string
		made []testenv.PayPalPayout
		want []string // failure kinds
	}{
		{"each leg paid once, for its amount", paid, nil},
		{"a leg paid twice", append(slices.Clone(paid), paid[0]), []string{"paid twice"}},
		{"a leg not paid", paid[1:], []string{"payout missing"}},
		{"a payout the books do not know", append(slices.Clone(paid), testenv.PayPalPayout{SenderBatchID: "wf-9/transfer/vendor-v/0", Currency: "USD", Value: "1.00"}),
			[]string{"payout not in the books"}},
		{"a wrong amount", []testenv.PayPalPayout{paid[0], paid[1], {SenderBatchID: "wf-2/transfer/vendor-v/0", Receiver: "v@payees.example.com", Currency: "JPY", Value: "1201"}},
			[]string{"payout amount"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := checker{paypalPayouts: books}
			c.checkPayPalPayouts(tt.made)
			var kinds []string
			for k := range c.counts {
				kinds = append(kinds, k)
			}
			assert.ElementsMatch(t, tt.want, kinds, "%v", c.summary())
		})
	}
}

func TestSplitComputeNsTimesTheMachine(t *testing.T) {
	ns := splitComputeNs()
	if ns <= 0 || ns > 1e6 {
		t.Fatalf("split.Compute timed at %v ns/op, want a positive figure under a millisecond", ns)
	}
}

func TestIsQuiet(t *testing.T) {
	for _, tt := range []struct {
		name      string
		cpu, over time.Duration
		want      bool
	}{
		{"idle", 5 * time.Millisecond, 500 * time.Millisecond, true},
		{"just under a tenth of a core", 49 * time.Millisecond, 500 * time.Millisecond, true},
		{"a tenth of a core", 50 * time.Millisecond, 500 * time.Millisecond, false},
		{"busy on two cores", 900 * time.Millisecond, 500 * time.Millisecond, false},
		{"no time passed", 0, 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) { assert.Equal(t, tt.want, isQuiet(tt.cpu, tt.over)) })
	}
}

func TestWithTailAddsPerProcess(t *testing.T) {
	got := withTail(map[string]float64{"temporal": 10, "worker": 3}, &runTail{CPUMsPerPayment: map[string]float64{"temporal": 1.5, "postgres": 0.2}})
	assert.Equal(t, map[string]float64{"temporal": 11.5, "worker": 3, "postgres": 0.2}, got)
	assert.Equal(t, map[string]float64{"temporal": 10}, withTail(map[string]float64{"temporal": 10}, nil), "no tail measured")
}

// awaitQuiet watches a real process: this test's own, kept busy by a spinning goroutine.
func TestAwaitQuietWaitsWhileTheServerWorks(t *testing.T) {
	var stop atomic.Bool
	// Spins on purpose: the CPU awaitQuiet must see. Several spinners, so that the process keeps
	// over a tenth of a core while the machine is busy with other work (one spinner among a dozen
	// runnable threads on two cores got less in a window, and awaitQuiet rightly saw it quiet).
	for range 4 {
		go func() {
			for !stop.Load() {
			}
		}()
	}
	before := processCPU(t)
	done := make(chan runTail, 1)
	go func() {
		tl, err := awaitQuiet(t.Context(), map[string]int{"temporal": os.Getpid()}, "", 100)
		assert.NoError(t, err)
		done <- tl
	}()
	select {
	case tl := <-done:
		stop.Store(true)
		t.Fatalf("awaitQuiet returned while the process spun: %+v", tl)
	case <-time.After(1500 * time.Millisecond):
	}
	stop.Store(true)
	tl := <-done
	spent := float64((processCPU(t) - before).Milliseconds())
	assert.True(t, tl.Quiet)
	assert.GreaterOrEqual(t, tl.Seconds, 1.5)
	// How much CPU the spinner got depends on what else the machine runs; what the tail charged
	// must be what the process spent meanwhile (to the kernel's 10 ms ticks).
	require.Greater(t, spent, 100.0, "the spinner ran")
	assert.InDelta(t, spent, tl.CPUMsPerPayment["temporal"]*100, max(0.1*spent, 50), "the tail charges the spinning, per 100 payments")
}

// processCPU is the CPU time this test process has used.
func processCPU(t *testing.T) time.Duration {
	var ru syscall.Rusage
	require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestAwaitQuietWithoutAServerReturnsAtOnce(t *testing.T) {
	tl, err := awaitQuiet(t.Context(), map[string]int{}, "", 10)
	require.NoError(t, err)
	assert.True(t, tl.Quiet)
	assert.Less(t, tl.Seconds, quietMax.Seconds())
}

func TestMain(m *testing.M) { testenv.Main(m) }

// runLimit against a real dev server: the runs the sampled payments had, all completed, and the
// run's end taken from the workflows' own returns.
func TestRunLimitRunsEveryPaymentsRuns(t *testing.T) {
	c := testenv.TemporalClient(t)
	work := [][]string{{"LL"}, {"L", "LL"}}
	res, err := runLimit(t.Context(), c, fmt.Sprintf("test-%d", time.Now().UnixNano()), work, limitData{}, 3, 2, "autoscale", 8)
	require.NoError(t, err)
	assert.Equal(t, 3, res.Payments)
	assert.Equal(t, 4, res.Workflows, "payment 2 had two runs")
	assert.InDelta(t, float64(2+3+2)/3, res.Local, 0.001)
	assert.Zero(t, res.Regular)
	assert.Positive(t, res.Seconds)
	assert.InDelta(t, 3/res.Seconds, res.PerSecond, 0.001)
	assert.InDelta(t, 4/res.Seconds, res.WorkflowsPerSecond, 0.001)
	assert.Positive(t, res.HistoryBytesPerWorkflow)
}

// A what-if shape's U upserts a payment's search attributes, so its cost is the server's.
func TestLimitShapeUpsertsSearchAttributes(t *testing.T) {
	c := testenv.TemporalClient(t)
	run := fmt.Sprintf("test-%d", time.Now().UnixNano())
	res, err := runLimit(t.Context(), c, run, [][]string{{"LU"}}, limitData{}, 1, 1, "autoscale", 8)
	require.NoError(t, err)
	require.Equal(t, 1, res.Workflows)
	assert.InDelta(t, 1, res.Local, 0.001, "an upsert is no activity")

	d, err := c.DescribeWorkflow(t.Context(), fmt.Sprintf("bench-limit-%s-1-0", run), "")
	require.NoError(t, err)
	status, ok := d.TypedSearchAttributes.GetKeyword(searchattr.PaymentStatus)
	require.True(t, ok, "the upsert set PaymentStatus")
	assert.Equal(t, "paid", status)
}

// A run's history reads back as its shape (activities only: the limit) and its steps
// (the upserts in their places: the limit with upserts).
func TestReadHistoryPlacesUpserts(t *testing.T) {
	c := testenv.TemporalClient(t)
	run := fmt.Sprintf("test-%d", time.Now().UnixNano())
	_, err := runLimit(t.Context(), c, run, [][]string{{"LUL"}}, limitData{}, 1, 1, "autoscale", 8)
	require.NoError(t, err)
	h, err := readHistory(t.Context(), c, fmt.Sprintf("bench-limit-%s-1-0", run), "")
	require.NoError(t, err)
	assert.Equal(t, "LL", h.shape)
	assert.Equal(t, "LUL", h.steps)
	assert.Zero(t, h.localResultBytes, "the empty workflow's local activities return nothing")
}

// The limit with data carries payloads as large as the day's: read back from its history as the
// day's are, each size is the one asked for (the fillers' lengths make up for the encoding), and
// its steps are the day's, upserts included.
func TestLimitWithDataCarriesTheDaysPayloadSizes(t *testing.T) {
	c := testenv.TemporalClient(t)
	run := fmt.Sprintf("test-%d", time.Now().UnixNano())
	day := payloadBytes{InputPerRun: 1064, LocalActivityResult: 443, ResultPerRun: 1455}
	_, err := runLimit(t.Context(), c, run, [][]string{{"LULL"}}, dataOf(day), 1, 1, "autoscale", 8)
	require.NoError(t, err)
	h, err := readHistory(t.Context(), c, fmt.Sprintf("bench-limit-%s-1-0", run), "")
	require.NoError(t, err)
	assert.Equal(t, "LULL", h.steps)
	// The input's filler was sized with a six-step shape; this one has four.
	assert.InDelta(t, day.InputPerRun, h.inputBytes, 4)
	assert.Equal(t, 3*day.LocalActivityResult, h.localResultBytes)
	assert.Equal(t, day.ResultPerRun, h.resultBytes)
}

func TestReturnsCountsEachWorkflowOnce(t *testing.T) {
	r := newReturns(2)
	r.add("a")
	r.add("a") // its workflow task ran again after the code had returned
	assert.Equal(t, 1, r.count())
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err := r.wait(ctx, newProgress("test", 2, time.Now()))
	require.Error(t, err, "one of two returned: still waiting when the context ends")

	r.add("b")
	last, err := r.wait(t.Context(), newProgress("test", 2, time.Now()))
	require.NoError(t, err)
	assert.False(t, last.IsZero())
	assert.Equal(t, 2, r.count())
}

// Each limit run gets a dev server of its own, measured as "temporal" and stopped after it.
func TestFreshTemporalServesAndStops(t *testing.T) {
	testenv.Temporal(t) // skips (or fails under CI=true) where no Temporal CLI is installed
	e := &env{owned: true, dir: t.TempDir(), pids: map[string]int{"temporal": 1, "worker": 2}}
	srv, err := e.freshTemporal(t.Context(), "temporal-limit-test")
	require.NoError(t, err)
	defer srv.stop()
	assert.NotEqual(t, 1, srv.pids["temporal"], "the fresh server is the one measured")
	assert.Equal(t, 2, srv.pids["worker"])
	assert.NotContains(t, e.pids, "temporal-limit-test", "not measured as a process of the day")
	assert.Equal(t, 1, e.pids["temporal"], "the day's server is left as it was")

	c, err := dialTemporal(srv.addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.CheckHealth(t.Context(), nil)
	require.NoError(t, err)
	time.Sleep(metricsFlush)
	reqs, err := serverRequests(srv.metrics)
	require.NoError(t, err)
	assert.Positive(t, reqs["frontend GetSystemInfo"], "the server counts the requests it served: %v", reqs)

	srv.stop()
	p := e.procs[len(e.procs)-1]
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		t.Fatal("the fresh server still runs after stop")
	}
}

// Requests a payment between two readings of the server's counters; counters that did not move
// enough to be a payment's work (health checks, lookups at start) are left out.
func TestRequestsPerPayment(t *testing.T) {
	before := map[string]float64{"frontend StartWorkflowExecution": 10, "frontend GetSystemInfo": 3}
	after := map[string]float64{"frontend StartWorkflowExecution": 4010, "frontend GetSystemInfo": 4,
		"persistence history UpdateWorkflowExecution": 8300}
	got := requestsPerPayment(before, after, 4000)
	assert.Equal(t, map[string]float64{"frontend StartWorkflowExecution": 1, "persistence history UpdateWorkflowExecution": 2.075}, got)
}

func TestCPURatios(t *testing.T) {
	for _, tt := range []struct {
		name             string
		day, limit       map[string]float64
		wantAll, wantSrv float64
	}{
		{"this session's run", map[string]float64{"temporal": 8.25, "worker": 2.83, "postgres": 1.77, "stripe-mock": 0.84, "api": 0.55, "bench": 0.23},
			map[string]float64{"temporal": 6.53, "bench": 1.17}, 0.532, 0.792},
		{"nothing measured", map[string]float64{}, map[string]float64{"temporal": 6}, 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			all, srv := cpuRatios(tt.day, tt.limit)
			assert.Equal(t, tt.wantAll, all)
			assert.Equal(t, tt.wantSrv, srv)
		})
	}
}

// -profile: a CPU profile of each program over the seconds asked, then its heap; a program that
// does not answer is an error that names its file, and the others are still written.
func TestProfilerWritesEachProgramsProfiles(t *testing.T) {
	ports, err := testenv.FreePorts(2)
	require.NoError(t, err)
	up := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	stop, err := telemetry.ServeProfiles(up, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	t.Cleanup(stop)
	down := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))

	dir := t.TempDir()
	p, err := startProfiles(t.Context(), map[string]string{"worker": up, "api": down}, dir, 1)
	require.NoError(t, err)
	files, err := p.finish(t.Context())
	require.ErrorContains(t, err, "api.cpu.pprof")
	require.ErrorContains(t, err, "api.heap.pprof")
	assert.Equal(t, []string{filepath.Join(dir, "worker.cpu.pprof"), filepath.Join(dir, "worker.heap.pprof")}, files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		require.Greater(t, len(b), 2)
		assert.Equal(t, []byte{0x1f, 0x8b}, b[:2], "%s is a gzipped profile", f)
	}

	none, err := startProfiles(t.Context(), nil, dir, 1)
	require.NoError(t, err)
	files, err = none.finish(t.Context())
	assert.NoError(t, err)
	assert.Empty(t, files, "without -profile nothing is taken")
}

// The limit variants run in turns (plain, with upserts, plain, ...), so drift falls on both; each
// keeps its fastest run and lists every one.
func TestBestLimitsAlternateTheVariants(t *testing.T) {
	c := testenv.TemporalClient(t)
	b := &bench{cfg: config{limitRuns: 2, concurrency: 2, limitPollers: "autoscale", limitMaxConcurrent: 8}, env: &env{pids: map[string]int{}}}
	run := fmt.Sprintf("test-%d", time.Now().UnixNano())
	variants := []limitVariant{{name: run, work: [][]string{{"L"}}}, {name: run + "-u", work: [][]string{{"LU"}}}}
	require.NoError(t, b.bestLimits(t.Context(), c, variants, 2))
	for _, v := range variants {
		require.Len(t, v.runs, 2, v.name)
		require.NotNil(t, v.best, v.name)
		assert.Equal(t, max(v.runs[0].PerSecond, v.runs[1].PerSecond), v.best.PerSecond, "%s keeps its fastest run", v.name)
	}
	var order []time.Time
	for _, id := range []string{run + "-1", run + "-u-1", run + "-2", run + "-u-2"} {
		d, err := c.DescribeWorkflow(t.Context(), fmt.Sprintf("bench-limit-%s-1-0", id), "")
		require.NoError(t, err, id)
		order = append(order, d.WorkflowStartTime)
	}
	assert.True(t, slices.IsSortedFunc(order, func(a, b time.Time) int { return a.Compare(b) }), "runs in turns: %v", order)
}

// A run's failed workflow tasks are read with their causes: a task that panics fails and is
// taken again, which its history says.
func TestReadHistoryCountsFailedWorkflowTasks(t *testing.T) {
	c := testenv.TemporalClient(t)
	queue := fmt.Sprintf("test-failing-%d", time.Now().UnixNano())
	w := worker.New(c, queue, testenv.WorkerOptions())
	var attempts atomic.Int32
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		if attempts.Add(1) == 1 {
			panic("first task fails")
		}
		return nil
	}, workflow.RegisterOptions{Name: "BenchFailingOnce"})
	require.NoError(t, w.Start())
	defer w.Stop()
	run, err := c.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{ID: queue, TaskQueue: queue}, "BenchFailingOnce")
	require.NoError(t, err)
	require.NoError(t, run.Get(t.Context(), nil))

	h, err := readHistory(t.Context(), c, queue, "")
	require.NoError(t, err)
	assert.Equal(t, []string{"WorkflowWorkerUnhandledFailure"}, h.taskFailures)
}

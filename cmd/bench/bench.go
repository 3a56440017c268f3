package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	pconfig "paysplit/internal/config"
	"paysplit/telemetry"
	"paysplit/workflows/payment"
)

// workerGauges are the worker's /metrics gauges whose peaks tell where its memory goes: workflows
// in the sticky cache, goroutines, Go heap in use, and busy task slots by kind.
var workerGauges = map[string]gauge{
	"sticky_cache_workflows":    {name: "temporal_sticky_cache_size"},
	"goroutines":                {name: "go_goroutines"},
	"heap_inuse_bytes":          {name: "go_memstats_heap_inuse_bytes"},
	"workflow_task_slots_used":  {name: "temporal_worker_task_slots_used", labels: `worker_type="WorkflowWorker"`},
	"activity_slots_used":       {name: "temporal_worker_task_slots_used", labels: `worker_type="ActivityWorker"`},
	"local_activity_slots_used": {name: "temporal_worker_task_slots_used", labels: `worker_type="LocalActivityWorker"`},
}

// bench is one run: the stack it talks to and the figures it collects.
type bench struct {
	cfg config
	env *env
	res *results
	// plot data, kept out of the JSON
	deliveries []delivery
	done       map[string]time.Time
	t0         time.Time
}

// do runs the phases in order. A payment run that does not finish still gets its books checked
// and reported (correct=false); only a broken stack returns an error.
func (b *bench) do(ctx context.Context) error {
	cfg, env, r := b.cfg, b.env, b.res
	run := strconv.FormatInt(time.Now().Unix(), 10)
	// Every workflow ID of the day starts with one of these (the run's Stripe payment intents and
	// PayPal captures).
	prefixes := []string{payment.WorkflowID(providerStripe, "pi_b"+run+"x"), payment.WorkflowID(providerPayPal, "CAPB"+run+"X")}
	r.Knobs = env.knobs
	r.Knobs["worker+api+limit.TEMPORAL_GRPC_COMPRESSION"] = grpcCompression()

	pool, err := pgxpool.New(ctx, withQuery(env.databaseURL, "pool_max_conns", "2"))
	if err != nil {
		return fmt.Errorf("connect to the stack's database: %w", err)
	}
	defer pool.Close()
	// The limit runs on this client: it talks to Temporal as the worker program does.
	tc, err := dialTemporal(env.temporalAddr)
	if err != nil {
		return err
	}
	defer tc.Close()

	rng := rand.New(rand.NewPCG(cfg.seed, 0x5eed))
	clients := planClients(rng, cfg.clients, run)
	logf("seeding %d clients (%d vendors and %d affiliates each, one split rule)", len(clients), vendorsPerClient, affiliatesPerClient)
	adm := admin{base: env.apiURL, key: cfg.adminKey, http: &http.Client{Timeout: 30 * time.Second}}
	if err := adm.seed(ctx, clients); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	seeded := time.Now()
	d := planDay(rng, cfg.events, clients, run, time.Now(), cfg.concurrency, cfg.paypalShare)
	var pp paypalSigner
	if env.paypal != nil {
		pp = env.paypal
	}
	d.sign(cfg.webhookSecret, pp)
	r.Payments, r.Refunds, r.Duplicates = len(d.Payments), d.Refunds, d.Duplicates
	for _, p := range d.Payments {
		if p.Provider == providerPayPal {
			r.PayPalPayments++
		}
	}
	logf("day: %d events = %d captures (%d through PayPal), %d refunds, %d re-deliveries; all signed", len(d.Events), len(d.Payments), r.PayPalPayments, d.Refunds, d.Duplicates)

	// The sessions that seeded may hold their table statistics for up to 10 s; the baseline
	// of rows written is read once they flushed.
	if err := sleepUntil(ctx, seeded.Add(statsSettle)); err != nil {
		return err
	}
	rows0, byTable0, err := pgRowsWritten(ctx, pool)
	if err != nil {
		return err
	}

	// The clock starts with the first webhook.
	reqs0 := b.serverRequests(env.temporalMetrics)
	cpu0 := snapshotCPU(env.pids, env.databaseName)
	var rss *rssSampler
	if pid := env.pids[procWorker]; pid > 0 {
		rss = sampleRSS(pid)
	}
	var gauges *gaugeSampler
	if env.workerMetrics != "" {
		gauges = sampleGauges(env.workerMetrics, workerGauges)
	}
	prof, err := startProfiles(ctx, env.pprof, cfg.profileDir, cfg.profileSeconds)
	if err != nil {
		return err
	}
	s := newSender(env.apiURL, cfg.webhookSecret, cfg.concurrency, cfg.rate)
	pace := "as fast as the API acknowledges them"
	if cfg.rate > 0 {
		pace = fmt.Sprintf("at %.0f/s", cfg.rate)
	}
	logf("sending %d webhooks with %d senders, %s", len(d.Events), cfg.concurrency, pace)
	b.deliveries, b.t0 = s.send(ctx, d.Events, newProgress("send", len(d.Events), time.Now()))
	sent := time.Now()
	r.SendSeconds = round3(sent.Sub(b.t0).Seconds())
	r.EventsPerS = round3(float64(len(d.Events)) / r.SendSeconds)
	r.recordAcks(s.latencies(), b.deliveries, int(s.resigned.Load()))
	r.recordAcksByProvider(d.Events, b.deliveries)
	if cfg.acksPath != "" {
		if err := writeAcks(cfg.acksPath, d.Events, b.deliveries); err != nil {
			return err
		}
	}

	var ck checker
	r.Outcomes = ck.checkDeliveries(d, b.deliveries)
	finished := awaitPayments(ctx, pool, d, prefixes, cfg.stallTimeout, b.t0)
	cpu1 := snapshotCPU(env.pids, env.databaseName)
	// Profiles are taken after the day's CPU reading: the heap profiles' work is not the day's.
	files, err := prof.finish(ctx)
	if err != nil {
		logf("profiles: %v", err) // a diagnostic: the measurement stands without it
	}
	if len(files) > 0 {
		logf("profiles: %s (go tool pprof -top <file>)", strings.Join(files, ", "))
	}
	if rss != nil {
		r.WorkerRSSSampledPeakMiB = mib(rss.finish())
		if _, hwm, err := procMemory(env.pids[procWorker]); err == nil {
			r.WorkerRSSPeakMiB = mib(hwm)
		}
		r.WorkerRSSPeakMiB = max(r.WorkerRSSPeakMiB, r.WorkerRSSSampledPeakMiB)
	}
	if gauges != nil {
		r.WorkerPeaks = gauges.finish()
	}
	r.CPUSeconds = cpuUse(cpu0, cpu1)
	r.MachineBusyPct = round3(machineBusyPct(cpu0, cpu1))
	if finished != nil {
		ck.fail("payments did not finish", "%v", finished)
	} else if err := b.timings(ctx, pool, prefixes); err != nil {
		return err
	}

	if finished == nil {
		// The day's last runs close and their visibility records are written after the
		// payments are final: wait for that before the limit, and charge it to the day.
		dayTail, err := awaitQuiet(ctx, env.pids, env.databaseName, r.Payments)
		if err != nil {
			return err
		}
		r.DayTail = &dayTail
		if reqs0 != nil {
			r.ServerRequestsPerPayment = requestsPerPayment(reqs0, b.serverRequests(env.temporalMetrics), r.Payments)
		}
		logf("day's tail: the Temporal server idle %.1f s after the last payment (quiet %v), %.2f ms of CPU a payment", dayTail.Seconds, dayTail.Quiet, sumValues(dayTail.CPUMsPerPayment))
		if err := b.measureTemporal(ctx, tc, d, run); err != nil {
			return err
		}
		if r.Slowest, err = slowest(ctx, tc, d, b.deliveries, b.done, b.t0, 3); err != nil {
			return err
		}
	}

	// Rows written: the programs' sessions end with them and flush their statistics.
	if env.owned {
		env.stopApp()
	} else if err := sleepUntil(ctx, time.Now().Add(statsSettle)); err != nil {
		return err
	}
	rows1, byTable, err := settledRows(ctx, pool)
	if err != nil {
		return err
	}
	r.PGRowsPerPayment = round3(float64(rows1-rows0) / float64(len(d.Payments)))
	r.PGRowsByTable = map[string]int64{}
	for t, n := range byTable {
		if n > byTable0[t] {
			r.PGRowsByTable[t] = n - byTable0[t]
		}
	}

	legs, err := ck.checkBooks(ctx, pool, d, prefixes)
	if err != nil {
		return err
	}
	r.TransferredLegs = legs
	if env.paypal != nil {
		ck.checkPayPalPayouts(env.paypal.Payouts())
	}
	if err := ck.checkWorkflows(ctx, tc, prefixes, env.owned); err != nil {
		return err
	}
	r.Failures = ck.summary()
	r.Correct = len(r.Failures) == 0
	return nil
}

// timings reads when the payments completed and the last ledger entry was written.
func (b *bench) timings(ctx context.Context, pool *pgxpool.Pool, prefixes []string) error {
	r := b.res
	last, err := lastLedgerEntry(ctx, pool, prefixes)
	if err != nil {
		return err
	}
	if b.done, err = completions(ctx, pool, prefixes); err != nil {
		return err
	}
	r.Seconds = round3(last.Sub(b.t0).Seconds())
	r.PaymentsPerS = round3(float64(r.Payments) / r.Seconds)
	r.WorkerCPUMsPerPayment = round3(r.CPUSeconds[procWorker] * 1000 / float64(r.Payments))
	r.CPUMsPerPayment = map[string]float64{}
	for name, s := range r.CPUSeconds {
		r.CPUMsPerPayment[name] = round3(s * 1000 / float64(r.Payments))
	}
	return nil
}

// measureTemporal reads a sample of payment histories and runs the limit with their shape.
func (b *bench) measureTemporal(ctx context.Context, tc client.Client, d day, run string) error {
	r := b.res
	logf("reading the histories of %d payments", b.cfg.historySample)
	h, err := readHistories(ctx, tc, d, b.cfg.historySample)
	if err != nil {
		return err
	}
	r.History = &h
	r.HistoryEventsPerPayment = round3(h.EventsPerPayment)
	n := b.cfg.limitWorkflows
	if n <= 0 {
		n = len(d.Payments)
	}
	work, from := h.work, fmt.Sprintf("in the mix of %d sampled payments %v", len(h.work), h.PaymentShapes)
	if b.cfg.limitShape != "" {
		work, from = [][]string{{b.cfg.limitShape}}, "of the shape -limit-shape gave: "+b.cfg.limitShape
		r.Knobs["bench.limit_shape"] = b.cfg.limitShape
	}
	logf("limit: %d payments' worth of empty workflows with the activities of their runs %s (R = activity, L = local activity, + a further run), %d at a time", n, from, b.cfg.concurrency)
	if b.cfg.limitPollers != "" {
		r.Knobs["bench.limit_pollers"] = b.cfg.limitPollers
	}
	r.Knobs["bench.limit_max_concurrent"] = strconv.Itoa(b.cfg.limitMaxConcurrent)
	// The limit with upserts, when asked for: the same again with each run's search-attribute
	// upserts, the server work a payment must cause for admins to find it in the Temporal UI,
	// which the empty workflow leaves out. Its runs alternate with the plain ones, so the
	// machine's drift (its speed moves by the minute) falls on both alike.
	variants := []limitVariant{{name: run, work: work}}
	if b.cfg.limitUpserts && b.cfg.limitShape == "" && h.UpsertsPerPayment > 0 {
		logf("limit with upserts: the same, each run also upserting search attributes where the day's did (%.2f a payment); its runs alternate with the plain ones", h.UpsertsPerPayment)
		variants = append(variants, limitVariant{name: run + "-u", work: h.withUpserts})
	}
	withData := -1
	if b.cfg.limitData && b.cfg.limitShape == "" {
		p := h.Payloads
		logf("limit with data: the same with the day's upserts, each run carrying an input of %d bytes, local activity results of %d and a result of %d, as the day's runs did on average; its runs alternate with the others",
			p.InputPerRun, p.LocalActivityResult, p.ResultPerRun)
		withData = len(variants)
		variants = append(variants, limitVariant{name: run + "-d", work: h.withUpserts, data: dataOf(p)})
	}
	if err := b.bestLimits(ctx, tc, variants, n); err != nil {
		return err
	}
	best := variants[0].best
	r.Limit, r.LimitRuns = best, variants[0].runs
	r.LimitPaymentsPerS = best.PerSecond
	r.RatioToLimit = round3(r.PaymentsPerS / best.PerSecond)
	r.CPURatioToLimit, r.ServerCPURatioToLimit = cpuRatios(withTail(r.CPUMsPerPayment, r.DayTail), withTail(best.CPUMsPerPayment, best.Tail))
	if withData > 0 {
		d := variants[withData].best
		r.LimitWithData, r.LimitWithDataRuns = d, variants[withData].runs
		r.LimitWithDataPaymentsPerS = d.PerSecond
		r.RatioToLimitWithData = round3(r.PaymentsPerS / d.PerSecond)
		_, r.ServerCPURatioToLimitData = cpuRatios(withTail(r.CPUMsPerPayment, r.DayTail), withTail(d.CPUMsPerPayment, d.Tail))
		variants = variants[:withData]
	}
	if len(variants) > 1 {
		withU := variants[1].best
		r.LimitWithUpserts, r.LimitWithUpsertsRuns = withU, variants[1].runs
		r.LimitWithUpsertsPaymentsPerS = withU.PerSecond
		r.RatioToLimitWithUpserts = round3(r.PaymentsPerS / withU.PerSecond)
	}
	return nil
}

// limitVariant is one kind of limit run: its name (in its workflow IDs) and work, and what its
// runs measured.
type limitVariant struct {
	name string
	work [][]string
	data limitData
	best *limitResult
	runs []limitSummary
}

// bestLimits runs each variant limitRuns times, in turns, each run on a fresh server, and keeps
// each one's fastest run with every run's summary: a limit is what the server can do, so one run
// slowed by the machine does not flatter the ratio.
func (b *bench) bestLimits(ctx context.Context, tc client.Client, variants []limitVariant, n int) error {
	for k := range b.cfg.limitRuns {
		for i := range variants {
			v := &variants[i]
			lim, err := b.runLimitOnce(ctx, tc, fmt.Sprintf("%s-%d", v.name, k+1), v.work, v.data, n)
			if err != nil {
				return err
			}
			v.runs = append(v.runs, limitSummary{PerSecond: lim.PerSecond, Seconds: lim.Seconds, CPUMsPerPayment: round3(lim.cpuMsPerPayment())})
			if v.best == nil || lim.PerSecond > v.best.PerSecond {
				v.best = &lim
			}
		}
	}
	return nil
}

// Names of the measured processes, the keys of cpu_s and cpu_ms_per_payment (the bench itself
// runs the senders, the PayPal fake and, in the limit run, the limit worker and its starters).
const (
	procTemporal   = "temporal"
	procWorker     = "worker"
	procAPI        = "api"
	procStripeMock = "stripe-mock"
	procPostgres   = "postgres"
	procBench      = "bench"
)

// cpuRatios compares CPU a payment, tails included: the limit's over the day's, every process
// summed, and the Temporal server's alone. 0 where the day measured nothing.
func cpuRatios(day, limit map[string]float64) (all, server float64) {
	if ours := sumValues(day); ours > 0 {
		all = round3(sumValues(limit) / ours)
	}
	if ours := day[procTemporal]; ours > 0 {
		server = round3(limit[procTemporal] / ours)
	}
	return all, server
}

// dialTemporal connects as the programs do (their gRPC compression).
func dialTemporal(addr string) (client.Client, error) {
	c, err := client.Dial(client.Options{HostPort: addr, Logger: quietLogger(),
		ConnectionOptions: client.ConnectionOptions{GrpcCompression: telemetry.GRPCCompression(grpcCompression())}})
	if err != nil {
		return nil, fmt.Errorf("dial Temporal %s: %w", addr, err)
	}
	return c, nil
}

// runLimitOnce runs the limit once under its own task queue and IDs, and measures the CPU it
// took, its tail included. On a stack the bench started, each limit run has a fresh dev server
// (env.freshTemporal); on one it was given, the limit shares the day's server.
func (b *bench) runLimitOnce(ctx context.Context, tc client.Client, run string, work [][]string, data limitData, n int) (limitResult, error) {
	pids, metrics := b.env.pids, b.env.temporalMetrics
	if b.env.owned {
		srv, err := b.env.freshTemporal(ctx, "temporal-limit-"+run)
		if err != nil {
			return limitResult{}, err
		}
		defer srv.stop()
		if tc, err = dialTemporal(srv.addr); err != nil {
			return limitResult{}, err
		}
		defer tc.Close()
		pids, metrics = srv.pids, srv.metrics
	}
	reqs0 := b.serverRequests(metrics)
	cpu0 := snapshotCPU(pids, "")
	lim, err := runLimit(ctx, tc, run, work, data, n, b.cfg.concurrency, b.cfg.limitPollers, b.cfg.limitMaxConcurrent)
	if err != nil {
		return lim, err
	}
	lim.CPUMsPerPayment = limitCPU(cpuUse(cpu0, snapshotCPU(pids, "")), n)
	limTail, err := awaitQuiet(ctx, pids, "", n)
	if err != nil {
		return lim, err
	}
	limTail.CPUMsPerPayment = limitProcesses(limTail.CPUMsPerPayment)
	lim.Tail = &limTail
	if reqs0 != nil {
		lim.ServerRequestsPerPayment = requestsPerPayment(reqs0, b.serverRequests(metrics), n)
	}
	lim.PerSecond, lim.WorkflowsPerSecond, lim.Seconds = round3(lim.PerSecond), round3(lim.WorkflowsPerSecond), round3(lim.Seconds)
	logf("limit run %s: %.1f payments' worth a second, %.2f ms of CPU a payment; idle %.1f s after its last workflow (quiet %v)",
		run, lim.PerSecond, lim.cpuMsPerPayment(), limTail.Seconds, limTail.Quiet)
	return lim, nil
}

// metricsFlush is how long a request takes to show in the dev server's /metrics: its counters
// are published every second.
const metricsFlush = 1500 * time.Millisecond

// serverRequests reads the server's request counters once all it served so far shows in them,
// or nil where the bench does not know its metrics (a stack it was given) or cannot read them:
// a diagnostic, the run stands without it. It is read outside the measured time.
func (b *bench) serverRequests(url string) map[string]float64 {
	if url == "" {
		return nil
	}
	time.Sleep(metricsFlush)
	reqs, err := serverRequests(url)
	if err != nil {
		logf("%v", err)
		return nil
	}
	return reqs
}

func sumValues(m map[string]float64) float64 {
	var s float64
	for _, v := range m {
		s += v
	}
	return s
}

// limitCPU is the limit run's CPU per payment's worth of workflows (n payments): the Temporal
// server's and the in-process limit worker's (the bench's own process), beside the payment run's
// cpu_s to show where they differ.
func limitCPU(use map[string]float64, n int) map[string]float64 {
	out := limitProcesses(use)
	for name, s := range out {
		out[name] = round3(s * 1000 / float64(n))
	}
	return out
}

// limitProcesses keeps the processes the limit run uses: the Temporal server and the bench (its
// in-process limit worker and starters); the others idle through it.
func limitProcesses(use map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for name, v := range use {
		if (name == procTemporal || name == procBench) && v > 0 {
			out[name] = v
		}
	}
	return out
}

// settledRows reads the rows-written counters until two reads agree (sessions that just ended
// flush theirs on the way out).
func settledRows(ctx context.Context, pool *pgxpool.Pool) (int64, map[string]int64, error) {
	prev := int64(-1)
	for range 20 {
		n, by, err := pgRowsWritten(ctx, pool)
		if err != nil || n == prev {
			return n, by, err
		}
		prev = n
		if err := sleepUntil(ctx, time.Now().Add(500*time.Millisecond)); err != nil {
			return 0, nil, err
		}
	}
	n, by, err := pgRowsWritten(ctx, pool)
	return n, by, err
}

func (s *sender) latencies() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.acks)
	slices.Sort(out)
	return out
}

func sleepUntil(ctx context.Context, t time.Time) error {
	select {
	case <-time.After(time.Until(t)):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// grpcCompression is what the worker and the api use for TEMPORAL_GRPC_COMPRESSION: the
// environment's, inherited by the programs the bench starts, or the config default.
func grpcCompression() string {
	if v := os.Getenv("TEMPORAL_GRPC_COMPRESSION"); v != "" {
		return v
	}
	return pconfig.DefaultTemporalGRPCCompression
}

// Command bench runs a day of Stripe and PayPal webhooks through the whole platform and measures it against
// what the Temporal server itself can do on the same machine (see README, "Benchmark").
//
//	go run ./cmd/bench -events 5000 -clients 40 -concurrency 32
//
// It starts the local stack (Temporal dev server, stripe-mock, a fresh Postgres database, the real
// worker and api programs), seeds clients through the admin API, sends pre-signed webhooks as
// fast as the API acknowledges them, waits until every payment reached its final status, then
// runs the same number of empty workflows with the same activities as one payment on the same
// Temporal server. It checks the books, writes bench-results.json and bench-latency.png, and
// prints a one-line summary last. A run whose books are wrong exits non-zero whatever its speed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	pconfig "paysplit/internal/config"
)

// config is everything a run is told; each flag has an environment default.
type config struct {
	events, clients, concurrency int
	// rate paces the webhooks (events per second); 0 sends them as fast as the API acknowledges.
	rate float64
	// paypalShare of the payments are PayPal captures (through the in-process PayPal fake).
	paypalShare float64
	// An existing stack: API base URL, Temporal host:port and its database. Empty API starts one.
	apiURL, temporalAddr, databaseURL string
	workerPID                         int
	adminKey, webhookSecret           string
	// pgURL is the Postgres server the bench creates its own database on.
	pgURL          string
	seed           uint64
	historySample  int
	limitWorkflows int
	// limitRuns is how many times the limit runs; the fastest run is the limit.
	limitRuns int
	// limitShape overrides the limit workflow's steps (R regular activity, L local, U upsert) for what-if runs.
	limitShape string
	// limitUpserts runs the limit a second time with the day's search-attribute upserts.
	limitUpserts bool
	// limitData runs the limit once more with the upserts and payloads as large as the day's.
	limitData bool
	// limitPollers sets the limit worker's pollers: "" (SDK defaults), "autoscale" (as the worker
	// program polls), or a fixed number; it must match the worker program's for a fair ratio.
	limitPollers string
	// limitMaxConcurrent bounds the limit worker's concurrent workflow tasks and (local)
	// activities as WORKER_MAX_CONCURRENT bounds the worker program's.
	limitMaxConcurrent int
	stallTimeout       time.Duration
	timeout            time.Duration
	keepLogs           bool
	// profileDir, when set, receives CPU profiles of the worker and the api taken during the day
	// (the first profileSeconds from the first webhook) and their heap profiles at its end.
	profileDir     string
	profileSeconds int
	resultsPath    string
	plotPath       string
	// acksPath, when set, receives every webhook's acknowledgement as a CSV row: where a tail
	// comes from (a burst of slow answers together is a shared wait, a group commit's flush).
	acksPath string
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := newFlagSet(&c)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	err := c.check()
	return c, err
}

// newFlagSet defines the flags into c, their defaults read from the environment where a flag's
// usage names a variable ("env NAME"; TestFlagsNameTheirEnvironmentDefaults).
func newFlagSet(c *config) *flag.FlagSet {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.IntVar(&c.events, "events", envInt("EVENTS", 5000), "webhook events in the day (env EVENTS)")
	fs.IntVar(&c.clients, "clients", envInt("CLIENTS", 40), "clients with split rules and payees (env CLIENTS)")
	fs.IntVar(&c.concurrency, "concurrency", envInt("CONCURRENCY", 32), "concurrent webhook senders, and concurrent starts in the limit run (env CONCURRENCY)")
	fs.Float64Var(&c.rate, "rate", envFloat("RATE", 0), "webhooks per second (env RATE); 0 = as fast as the API acknowledges them")
	fs.Float64Var(&c.paypalShare, "paypal-share", envFloat("PAYPAL_SHARE", 0.2), "share of the payments that are PayPal captures, 0 to 1 (env PAYPAL_SHARE); 0 with -api, whose stack has no PayPal fake")
	fs.StringVar(&c.apiURL, "api", os.Getenv("BENCH_API_URL"), "use a running API at this base URL instead of starting the stack (needs -temporal and -database-url; env BENCH_API_URL)")
	fs.StringVar(&c.temporalAddr, "temporal", os.Getenv("BENCH_TEMPORAL_ADDRESS"), "Temporal frontend host:port of the running stack (env BENCH_TEMPORAL_ADDRESS)")
	fs.StringVar(&c.databaseURL, "database-url", os.Getenv("BENCH_DATABASE_URL"), "database of the running stack, read for measurements and checks (env BENCH_DATABASE_URL)")
	fs.IntVar(&c.workerPID, "worker-pid", envInt("BENCH_WORKER_PID", 0), "PID of the running stack's worker, for its CPU and RSS (env BENCH_WORKER_PID)")
	fs.StringVar(&c.adminKey, "admin-key", envString("ADMIN_API_KEY", "dev-admin-key"), "admin API key (env ADMIN_API_KEY)")
	fs.StringVar(&c.webhookSecret, "webhook-secret", envString("STRIPE_WEBHOOK_SECRET", "whsec_dev"), "Stripe webhook signing secret (env STRIPE_WEBHOOK_SECRET)")
	fs.StringVar(&c.pgURL, "pg-url", envString("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"), "Postgres server the bench creates database bench_<unix> on (env BENCH_PG_URL)")
	fs.Uint64Var(&c.seed, "seed", uint64(envInt("BENCH_SEED", 1)), "seed of the generated day: the same seed gives the same events (env BENCH_SEED)")
	fs.IntVar(&c.historySample, "history-sample", 50, "payments whose Temporal histories are read")
	fs.IntVar(&c.limitRuns, "limit-runs", envInt("BENCH_LIMIT_RUNS", 2), "times the limit runs, each on a fresh dev server; the fastest is the limit, as the machine's speed drifts (env BENCH_LIMIT_RUNS)")
	fs.IntVar(&c.limitWorkflows, "limit-workflows", envInt("BENCH_LIMIT_WORKFLOWS", 0), "payments' worth of empty workflows in the limit run, 0 = as many as the day had (env BENCH_LIMIT_WORKFLOWS)")
	fs.StringVar(&c.limitShape, "limit-shape", "", "what-if: steps of the limit workflow, R regular activity, L local activity, U search-attribute upsert (default: read from a sampled payment history)")
	fs.BoolVar(&c.limitUpserts, "limit-upserts", envBool("BENCH_LIMIT_UPSERTS", true), "run the limit again with the search-attribute upserts of the day's runs, and report the ratio to it too (env BENCH_LIMIT_UPSERTS)")
	fs.BoolVar(&c.limitData, "limit-data", envBool("BENCH_LIMIT_DATA", true), "run the limit again with the day's upserts and with payloads as large as the day's runs carried (input, local activity results, result), and report the ratio to it too (env BENCH_LIMIT_DATA)")
	fs.StringVar(&c.limitPollers, "limit-pollers", os.Getenv("BENCH_LIMIT_POLLERS"), "pollers of the limit worker: empty = SDK defaults, autoscale (as the worker program), or a number; keep it equal to the worker program's (env BENCH_LIMIT_POLLERS)")
	fs.IntVar(&c.limitMaxConcurrent, "limit-max-concurrent", envInt("WORKER_MAX_CONCURRENT", pconfig.DefaultWorkerMaxConcurrent), "concurrent workflow tasks and (local) activities of the limit worker (env WORKER_MAX_CONCURRENT, as the worker program)")
	fs.DurationVar(&c.stallTimeout, "stall-timeout", 90*time.Second, "give up when no payment completes for this long")
	fs.DurationVar(&c.timeout, "timeout", 45*time.Minute, "give up on the whole run after this long")
	fs.BoolVar(&c.keepLogs, "keep-logs", false, "keep the stack's logs (printed path) even when the run is correct")
	fs.StringVar(&c.profileDir, "profile", "", "write CPU profiles of the worker and the api during the day, and their heap profiles at its end, to this directory (go tool pprof reads them)")
	fs.IntVar(&c.profileSeconds, "profile-seconds", 20, "seconds of the day, from the first webhook, the CPU profiles cover")
	fs.StringVar(&c.resultsPath, "out", "bench-results.json", "where the figures are written")
	fs.StringVar(&c.plotPath, "plot", "bench-latency.png", "where the latency plot is written")
	fs.StringVar(&c.acksPath, "acks", "", "write every webhook's acknowledgement (event, provider, sent_ms, latency_ms, attempts, status) to this CSV file")
	return fs
}

// check refuses flag values that cannot make a run.
func (c *config) check() error {
	switch {
	case c.events < 20:
		return errors.New("-events must be at least 20")
	case c.clients < 1:
		return errors.New("-clients must be at least 1")
	case c.concurrency < 1:
		return errors.New("-concurrency must be at least 1")
	case c.rate < 0:
		return errors.New("-rate must not be negative")
	case c.profileSeconds < 1:
		return errors.New("-profile-seconds must be at least 1")
	case c.profileDir != "" && c.apiURL != "":
		return errors.New("-profile needs the stack the bench starts (not -api)")
	case c.limitRuns < 1:
		return errors.New("-limit-runs must be at least 1")
	case c.paypalShare < 0 || c.paypalShare > 1:
		return errors.New("-paypal-share must be between 0 and 1")
	case c.limitPollers != "" && c.limitPollers != "autoscale" && !positive(c.limitPollers):
		return errors.New("-limit-pollers takes autoscale or a positive number")
	case strings.Trim(c.limitShape, "RLU") != "":
		return errors.New("-limit-shape takes only R (activity), L (local activity) and U (search-attribute upsert)")
	case c.apiURL != "" && (c.temporalAddr == "" || c.databaseURL == ""):
		return errors.New("-api needs -temporal and -database-url too")
	}
	if c.apiURL != "" {
		c.paypalShare = 0 // a running stack has no PayPal fake to sign and pay through
	}
	return nil
}

func envInt(name string, def int) int {
	v, err := strconv.Atoi(os.Getenv(name))
	if err != nil {
		return def
	}
	return v
}

func positive(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n > 0
}

func envFloat(name string, def float64) float64 {
	v, err := strconv.ParseFloat(os.Getenv(name), 64)
	if err != nil {
		return def
	}
	return v
}

func envBool(name string, def bool) bool {
	v, err := strconv.ParseBool(os.Getenv(name))
	if err != nil {
		return def
	}
	return v
}

func envString(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	res, err := run(ctx, cfg)
	cancel()
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if !res.Correct {
		os.Exit(3)
	}
}

// run is one benchmark from start to report. The stack is stopped and its database dropped on
// every path out, before the summary line, which comes last.
func run(ctx context.Context, cfg config) (*results, error) {
	speed := splitComputeNs()
	logf("machine: %d cores, %s, split.Compute %.0f ns/op", nproc(), cpuModel(), speed)
	env, err := openEnv(ctx, cfg)
	if err != nil {
		return nil, err
	}
	b := &bench{cfg: cfg, env: env, res: newResults(cfg)}
	b.res.Machine.SplitComputeNs = speed
	err = b.do(ctx)
	if err == nil {
		err = b.write()
	}
	env.close(err == nil && b.res.Correct && !cfg.keepLogs)
	if err != nil {
		return nil, err
	}
	b.printSummary()
	return b.res, nil
}

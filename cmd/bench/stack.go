package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"

	"paysplit/testenv"
	"paysplit/workflows/searchattr"
)

// startTimeout bounds each service's start; all of them are ready in seconds when healthy.
const startTimeout = 90 * time.Second

// env is the stack a run talks to: one it started (owned) or one that was already running.
type env struct {
	owned        bool
	apiURL       string
	temporalAddr string
	// temporalMetrics is the day's Temporal server's /metrics URL, when the bench started it.
	temporalMetrics string
	databaseURL     string
	databaseName    string
	// pids of the processes whose CPU is measured; zero when unknown.
	pids map[string]int
	// knobs is every setting the bench chose for the programs, written to the results.
	knobs map[string]string
	// workerMetrics is the worker's /metrics URL, when the bench started it.
	workerMetrics string
	// pprof is where each program serves its profiles (PPROF_ADDR), with -profile.
	pprof map[string]string
	// paypal is the in-process PayPal fake the api and the worker talk to (nil without PayPal),
	// paypalProxy the tunnel to it for PayPal's host names.
	paypal      *testenv.PayPal
	paypalProxy *paypalProxy

	dir   string
	procs []*proc // in start order
	pgURL string
}

// openEnv starts the stack, or describes the running one the flags name.
func openEnv(ctx context.Context, cfg config) (*env, error) {
	if cfg.apiURL != "" {
		e := &env{apiURL: strings.TrimRight(cfg.apiURL, "/"), temporalAddr: cfg.temporalAddr, databaseURL: cfg.databaseURL,
			pids: map[string]int{procWorker: cfg.workerPID}, knobs: map[string]string{"stack": "existing"}}
		if u, err := url.Parse(cfg.databaseURL); err == nil {
			e.databaseName = strings.TrimPrefix(u.Path, "/")
		}
		return e, nil
	}
	e := &env{owned: true, pids: map[string]int{}, knobs: map[string]string{}, pgURL: cfg.pgURL}
	if err := e.start(ctx, cfg); err != nil {
		e.close(false)
		return nil, err
	}
	return e, nil
}

func (e *env) start(ctx context.Context, cfg config) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	if e.dir, err = os.MkdirTemp("", "paysplit-bench-"); err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	logf("building ./worker and ./api into %s", e.dir)
	build := exec.CommandContext(ctx, "go", "build", "-o", e.dir+string(os.PathSeparator), "./worker", "./api")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./worker ./api: %w\n%s", err, out)
	}
	temporalBin, err := tool(root, "temporal")
	if err != nil {
		return err
	}
	stripeBin, err := tool(root, "stripe-mock")
	if err != nil {
		return err
	}
	if err := e.createDatabase(ctx); err != nil {
		return err
	}
	if err := e.startTemporal(ctx, temporalBin); err != nil {
		return err
	}
	stripeURL, err := e.startStripeMock(ctx, stripeBin)
	if err != nil {
		return err
	}
	var paypalEnv map[string]string
	if cfg.paypalShare > 0 {
		if paypalEnv, err = e.startPayPal(); err != nil {
			return err
		}
	}
	return e.startApp(ctx, cfg, stripeURL, paypalEnv)
}

// startPayPal starts the PayPal fake in this process and returns what the api and the worker
// need to use it: its address for the REST calls, credentials, the webhook ID, SSL_CERT_FILE (the
// fake's CA, so the programs' TLS trusts it) and HTTPS_PROXY, a tunnel to it for PayPal's host
// names, where the api fetches the webhook signing certificate to verify deliveries offline (its
// default, as in production).
func (e *env) startPayPal() (map[string]string, error) {
	p, err := testenv.StartPayPal()
	if err != nil {
		return nil, fmt.Errorf("paypal fake: %w", err)
	}
	e.paypal = p
	ca := filepath.Join(e.dir, "paypal-ca.pem")
	if err := os.WriteFile(ca, p.CAPEM(), 0o600); err != nil {
		return nil, fmt.Errorf("paypal fake CA: %w", err)
	}
	if e.paypalProxy, err = startPayPalProxy(strings.TrimPrefix(p.LocalURL(), "https://")); err != nil {
		return nil, err
	}
	logf("PayPal fake at %s, PayPal's hosts through %s", p.LocalURL(), e.paypalProxy.URL())
	return map[string]string{
		"PAYPAL_CLIENT_ID": "bench-client", "PAYPAL_SECRET": "bench-secret", "PAYPAL_API_BASE": p.LocalURL(),
		"PAYPAL_WEBHOOK_ID": p.WebhookID, "PAYPAL_WEBHOOK_VERIFY": "offline", "SSL_CERT_FILE": ca,
		"HTTPS_PROXY": e.paypalProxy.URL(),
	}, nil
}

// createDatabase makes bench_<unix> on the Postgres server; close drops it.
func (e *env) createDatabase(ctx context.Context) error {
	e.databaseName = fmt.Sprintf("bench_%d", time.Now().Unix())
	conn, err := pgx.Connect(ctx, e.pgURL)
	if err != nil {
		return fmt.Errorf("connect to Postgres (BENCH_PG_URL) %s: %w", redactURL(e.pgURL), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{e.databaseName}.Sanitize()); err != nil {
		e.databaseName = ""
		return fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(e.pgURL)
	if err != nil {
		return fmt.Errorf("parse BENCH_PG_URL: %w", err)
	}
	u.Path = "/" + e.databaseName
	e.databaseURL = u.String()
	logf("database %s on %s", e.databaseName, u.Host)
	return nil
}

func (e *env) startTemporal(ctx context.Context, bin string) error {
	addr, metrics, _, err := e.spawnTemporal(ctx, bin, procTemporal)
	e.temporalAddr, e.temporalMetrics = addr, metrics
	return err
}

// temporalPorts picks a dev server's frontend, HTTP API and metrics ports (a test hands out a
// taken one).
var temporalPorts = func() ([]int, error) { return testenv.FreePorts(3) }

// temporalStarts bounds the starts of one dev server whose port was taken meanwhile.
const temporalStarts = 3

// spawnTemporal starts an in-memory dev server with the payment search attributes under name
// and waits until it serves. It returns the server's frontend address and its /metrics URL. A
// port found free can be taken before the server binds it: the kernel gives outgoing connections
// ports of the same range, and the day's stack has many (a full run's first limit server failed
// on "address already in use" for its HTTP port, after the whole day had run). Such a start is
// made again on other ports.
func (e *env) spawnTemporal(ctx context.Context, bin, name string) (string, string, *proc, error) {
	for start := 1; ; start++ {
		addr, metrics, p, err := e.spawnTemporalOnce(ctx, bin, name)
		if err == nil || start == temporalStarts || p == nil || !portTaken(p.logPath) {
			return addr, metrics, p, err
		}
		// Kept under another name: the next start writes the server's log afresh.
		kept := strings.TrimSuffix(p.logPath, ".log") + fmt.Sprintf(".start%d.log", start)
		_ = os.Rename(p.logPath, kept)
		logf("%s could not bind a port it was given (taken meanwhile; %s): starting it on other ports", name, kept)
	}
}

// portTaken reports whether a server's log says it could not bind a port.
func portTaken(logPath string) bool {
	b, err := os.ReadFile(logPath)
	return err == nil && bytes.Contains(b, []byte("address already in use"))
}

func (e *env) spawnTemporalOnce(ctx context.Context, bin, name string) (string, string, *proc, error) {
	ports, err := temporalPorts()
	if err != nil {
		return "", "", nil, err
	}
	metrics := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2])) + "/metrics"
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	// In memory (no --db-filename), no UI: the server does only what the benchmark asks of it.
	args := []string{"server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", strconv.Itoa(ports[0]),
		"--http-port", strconv.Itoa(ports[1]), "--metrics-port", strconv.Itoa(ports[2]), "--log-level", "error"}
	flags := searchattr.CLIFlags()
	slices.Sort(flags)
	for _, f := range flags {
		args = append(args, "--search-attribute", f)
	}
	p, err := e.spawn(name, bin, args, nil)
	if err != nil {
		return "", "", nil, err
	}
	return addr, metrics, p, p.waitReady(ctx, func(ctx context.Context) error {
		c, err := client.Dial(client.Options{HostPort: addr, Logger: quietLogger()})
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.CheckHealth(ctx, nil)
		return err
	})
}

// limitServer is a dev server started for one limit run.
type limitServer struct {
	addr, metrics string
	// pids is a copy of the stack's, with this server measured as "temporal".
	pids map[string]int
	stop func()
}

// freshTemporal starts a dev server of its own for one limit run, as the day's was when the day
// began: the dev server gets slower as its in-memory store fills (every limit run was slower than
// the one before it on the day's server), so a limit run on the server the day had just filled
// would be measured against a handicap the day did not have. Its CPU is measured as "temporal"
// in pids, a copy of the stack's. stop ends it.
func (e *env) freshTemporal(ctx context.Context, name string) (limitServer, error) {
	root, err := moduleRoot()
	if err != nil {
		return limitServer{}, err
	}
	bin, err := tool(root, "temporal")
	if err != nil {
		return limitServer{}, err
	}
	addr, metrics, p, err := e.spawnTemporal(ctx, bin, name)
	if p != nil {
		delete(e.pids, name) // measured under "temporal" in the copy below, not as a process of the day
	}
	srv := limitServer{addr: addr, metrics: metrics, stop: func() {
		if p != nil {
			p.stop(syscall.SIGINT, 15*time.Second)
		}
	}}
	if err != nil {
		srv.stop()
		return limitServer{}, err
	}
	srv.pids = maps.Clone(e.pids)
	srv.pids["temporal"] = p.cmd.Process.Pid
	return srv, nil
}

func (e *env) startStripeMock(ctx context.Context, bin string) (string, error) {
	ports, err := testenv.FreePorts(2)
	if err != nil {
		return "", err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	p, err := e.spawn(procStripeMock, bin, []string{"-http-addr", addr, "-https-addr", net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))}, nil)
	if err != nil {
		return "", err
	}
	base := "http://" + addr
	return base, p.waitReady(ctx, func(ctx context.Context) error { return httpOK(ctx, base+"/v1/balance", "sk_test_123", true) })
}

// startApp runs the real worker, then the real api, against the stack. Every setting chosen here
// is recorded in knobs and documented in the README.
func (e *env) startApp(ctx context.Context, cfg config, stripeURL string, paypalEnv map[string]string) error {
	ports, err := testenv.FreePorts(4)
	if err != nil {
		return err
	}
	workerHTTP := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	e.apiURL = "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
	common := map[string]string{
		"APP_ENV": "development", "TEMPORAL_ADDRESS": e.temporalAddr, "TEMPORAL_NAMESPACE": "default", "TASK_QUEUE": "payments",
		"STRIPE_API_BASE": stripeURL, "STRIPE_API_KEY": "sk_test_123", "STRIPE_WEBHOOK_SECRET": cfg.webhookSecret,
		"ADMIN_API_KEY": cfg.adminKey,
		// Schedules must not start KPI syncs or monitor runs in the middle of the measurement.
		"KPI_SYNC_EVERY": "24h", "MONITOR_EVAL_EVERY": "0",
	}
	common = merge(common, paypalEnv)
	for _, k := range []string{"PAYPAL_API_BASE", "PAYPAL_WEBHOOK_VERIFY"} {
		if v, ok := paypalEnv[k]; ok {
			e.knobs["worker+api."+k] = v
		}
	}
	workerEnv := merge(common, map[string]string{
		"DATABASE_URL": e.databaseURL, "WORKER_HTTP_ADDR": workerHTTP, "WORKER_STOP_TIMEOUT": "5s",
	})
	apiEnv := merge(common, map[string]string{
		"DATABASE_URL": e.databaseURL, "API_ADDR": strings.TrimPrefix(e.apiURL, "http://"),
		// The API passes these workflow Settings to every payment it starts: with no settle
		// window a paid payment's run closes at once, so "every payment done" is observable.
		// Refunds after it closed start a follow-up run, which the day includes.
		"PAYMENT_SETTLE_WINDOW": "0s",
		// The admin API's per-key limit would make seeding 40 clients take most of a minute;
		// webhooks are not rate limited either way.
		"API_RATE_LIMIT": "100000",
		// Acknowledge webhooks once stored in the inbox (the relay forwards them): flat out on two
		// cores, waiting for Temporal's acceptance makes 32 senders queue behind the payments.
		// BENCH_WEBHOOK_ACK=temporal measures the default instead.
		"WEBHOOK_ACK": envString("BENCH_WEBHOOK_ACK", "inbox"),
	})
	// The pgx pool keeps internal/db's default: DATABASE_URL cannot carry pool_max_conns, because
	// the migration step hands the same URL to database/sql, which refuses unknown parameters.
	e.knobs["worker.pgx_pool"] = "internal/db default"
	e.knobs["api.WEBHOOK_ACK"] = apiEnv["WEBHOOK_ACK"]
	for _, k := range []string{"KPI_SYNC_EVERY", "MONITOR_EVAL_EVERY"} {
		e.knobs["worker+api."+k] = common[k]
	}
	e.knobs["worker.WORKER_STOP_TIMEOUT"] = workerEnv["WORKER_STOP_TIMEOUT"]
	e.knobs["api.PAYMENT_SETTLE_WINDOW"] = apiEnv["PAYMENT_SETTLE_WINDOW"]
	e.knobs["api.API_RATE_LIMIT"] = apiEnv["API_RATE_LIMIT"]
	e.knobs["temporal"] = "start-dev --headless, in memory, log level error"

	if cfg.profileDir != "" {
		// Profiles cost the programs CPU only while one is taken; the address alone costs nothing.
		e.pprof = map[string]string{
			procWorker: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2])),
			procAPI:    net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[3])),
		}
		workerEnv["PPROF_ADDR"], apiEnv["PPROF_ADDR"] = e.pprof[procWorker], e.pprof[procAPI]
		e.knobs["worker+api.PPROF_ADDR"] = "set (-profile)"
	}
	e.workerMetrics = "http://" + workerHTTP + "/metrics"
	w, err := e.spawn(procWorker, filepath.Join(e.dir, "worker"), nil, workerEnv)
	if err != nil {
		return err
	}
	if err := w.waitReady(ctx, func(ctx context.Context) error { return httpOK(ctx, "http://"+workerHTTP+"/readyz", "", false) }); err != nil {
		return err
	}
	a, err := e.spawn(procAPI, filepath.Join(e.dir, "api"), nil, apiEnv)
	if err != nil {
		return err
	}
	return a.waitReady(ctx, func(ctx context.Context) error { return httpOK(ctx, e.apiURL+"/readyz", "", false) })
}

// stopApp stops the api and the worker (newest first). Their Postgres sessions end with them,
// which flushes the sessions' table statistics: the rows-written figures are read afterwards.
func (e *env) stopApp() {
	for i := len(e.procs) - 1; i >= 0; i-- {
		if p := e.procs[i]; p.name == procAPI || p.name == procWorker {
			p.stop(syscall.SIGTERM, 15*time.Second)
		}
	}
}

// close stops what was started, newest first, and drops the database. Logs are kept when the
// run failed, so there is something to read.
func (e *env) close(ok bool) {
	if !e.owned {
		return
	}
	for i := len(e.procs) - 1; i >= 0; i-- {
		sig := syscall.SIGTERM
		if e.procs[i].name == "temporal" {
			sig = syscall.SIGINT // the dev server's graceful stop
		}
		e.procs[i].stop(sig, 15*time.Second)
	}
	if e.paypalProxy != nil {
		e.paypalProxy.Close()
	}
	if e.paypal != nil {
		e.paypal.Close()
	}
	if e.databaseName != "" {
		dropDatabase(e.pgURL, e.databaseName)
	}
	if e.dir == "" {
		return
	}
	if ok {
		_ = os.RemoveAll(e.dir)
		return
	}
	logf("logs of the stack are kept in %s", e.dir)
}

func dropDatabase(admin, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		logf("drop database %s: %v", name, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		logf("drop database %s: %v", name, err)
	}
}

func (e *env) spawn(name, exe string, args []string, vars map[string]string) (*proc, error) {
	p, err := startProc(name, exe, args, vars, filepath.Join(e.dir, name+".log"))
	if err != nil {
		return nil, err
	}
	e.procs = append(e.procs, p)
	e.pids[name] = p.cmd.Process.Pid
	logf("started %s (PID %d)", name, p.cmd.Process.Pid)
	return p, nil
}

// proc is one child process with its log file.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
}

func startProc(name, exe string, args []string, vars map[string]string, logPath string) (*proc, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("%s log: %w", name, err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if vars != nil {
		cmd.Env = os.Environ()
		for k, v := range vars {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	// Own process group: a Ctrl-C reaches only the bench, which stops the children in order.
	// Pdeathsig: a bench that is killed outright takes its children with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		_ = logFile.Close()
		close(p.exited)
	}()
	return p, nil
}

// waitReady polls ready until it succeeds, the process exits, or startTimeout passes.
func (p *proc) waitReady(ctx context.Context, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	for {
		attempt, done := context.WithTimeout(ctx, 2*time.Second)
		err := ready(attempt)
		done()
		if err == nil {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited during start: %s\n%s", p.name, p.cmd.ProcessState, tail(p.logPath, 20))
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %w\n%s", p.name, startTimeout, err, tail(p.logPath, 20))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (p *proc) stop(sig syscall.Signal, grace time.Duration) {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(grace):
		logf("%s did not stop within %s: killing it", p.name, grace)
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

func tail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(all[max(0, len(all)-lines):], "\n")
}

// httpOK is nil when GET url answers 2xx (or anything at all, when anyAnswer).
func httpOK(ctx context.Context, u, basicUser string, anyAnswer bool) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	if basicUser != "" {
		req.SetBasicAuth(basicUser, "")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_ = res.Body.Close()
	if anyAnswer || res.StatusCode/100 == 2 {
		return nil
	}
	return fmt.Errorf("GET %s: %s", u, res.Status)
}

// moduleRoot is the directory of go.mod above the working directory: the bench builds the
// programs of the tree it is run from.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: run the bench from the repository")
		}
		dir = parent
	}
}

// tool finds a pinned tool: .bin/ of the repository (`make tools`), else PATH.
func tool(root, name string) (string, error) {
	p := filepath.Join(root, ".bin", name)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found in .bin/ or PATH: run `make tools`", name)
}

func withQuery(raw, key, value string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

func merge(maps ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

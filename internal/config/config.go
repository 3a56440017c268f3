// Package config reads the programs' settings from environment variables. Every setting has a
// local default so `make dev` works on a fresh machine; APP_ENV=production removes the defaults of
// secrets, and refuses their development values when set, so a deploy can never run on a
// development credential by accident.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"paysplit/internal/secrets"
)

// Config is everything the worker and the API need at start.
type Config struct {
	Env                 string
	DatabaseURL         string
	TemporalAddress     string
	TemporalNamespace   string
	TaskQueue           string
	APIAddr             string
	AdminAPIKey         string
	StripeAPIKey        string
	StripeAPIBase       string
	StripeWebhookSecret string
	// StripeConnectWebhookSecret signs the Connect endpoint's deliveries (events of the connected
	// accounts), which Stripe signs with that endpoint's own secret. Empty in production until
	// the endpoint is set up: the endpoint then answers not_configured.
	StripeConnectWebhookSecret string
	TemporalUIURL              string
	// EnrichWait bounds how long a payment waits for missing order metadata before it parks.
	EnrichWait time.Duration
	// SettleWindow keeps a paid payment's workflow open for late refunds and disputes; after it,
	// a late event starts a follow-up run that resumes from the stored payment.
	SettleWindow time.Duration
	// DecisionTimeout bounds how long a failed payout waits for an admin before compensating.
	DecisionTimeout time.Duration
	// DueRetryEvery is how often a payment whose run is open retries its movements due (top-ups
	// and reversals the provider did not make) by itself; 0 leaves them to admins.
	DueRetryEvery time.Duration
	// HoldRecheckEvery is how long a payment with a payout held waits before it asks again
	// whether the payee can receive (backing off to a day); 0 leaves held payouts to admins and
	// Stripe's Connect events.
	HoldRecheckEvery time.Duration

	// WorkerHTTPAddr is where the worker serves /metrics, /healthz and /readyz.
	WorkerHTTPAddr string
	// PprofAddr, when set, is where the program (worker or api) serves Go's runtime profiles
	// (/debug/pprof/), on a listener of its own: off by default.
	PprofAddr string
	// WorkerStopTimeout is the grace period in-flight activities get after SIGTERM.
	WorkerStopTimeout time.Duration
	// WorkerStickyCache bounds how many workflow runs the worker keeps in memory between their
	// tasks. Payments usually finish in one workflow task, so a small cache loses little and
	// keeps the worker's memory flat under a day's burst.
	WorkerStickyCache int
	// WorkerMaxConcurrent bounds the workflow tasks and (local) activities one worker runs at once.
	WorkerMaxConcurrent int
	// GCPercent is the Go garbage collector's target (GOGC) for the worker and the api: heap
	// growth allowed over the live heap before a collection. Their live heaps are small (tens of
	// MiB), so the runtime's 100 collects often for little.
	GCPercent int
	// MemoryLimitMiB is the Go runtime's soft memory limit (GOMEMLIMIT) for the worker and the
	// api, in MiB; 0 sets none. Near it the collector runs as often as it must, whatever GCPercent.
	MemoryLimitMiB int
	// WebhookAck is when the API answers a provider webhook: "temporal" (once Temporal took it) or
	// "inbox" (once it is stored for the relay).
	WebhookAck string
	// WebhookRelayParallel is how many inbox events the API's relay forwards to Temporal at once.
	WebhookRelayParallel int
	// WorkerBuildID, when set, opts the worker into Temporal worker versioning as
	// TemporalDeploymentName/WorkerBuildID.
	WorkerBuildID          string
	TemporalDeploymentName string
	// WorkerPromote: a versioned worker makes its build the deployment's current version once it
	// polls (unless a newer build is current), so a rolling deploy never stops the current
	// version's last worker before the new build takes its work.
	WorkerPromote bool
	// Temporal Cloud or a TLS-terminated cluster: API key, or mTLS client certificate files.
	TemporalAPIKey  string
	TemporalTLSCert string
	TemporalTLSKey  string
	TemporalTLS     bool
	// TemporalGRPCCompression is "none" or "gzip" for requests to Temporal.
	TemporalGRPCCompression string
	// OTLPEndpoint is the OTLP/HTTP collector traces go to; empty means tracing is off.
	OTLPEndpoint string

	// SecretsKey (32 bytes) seals per-client webhook secrets at rest (AES-256-GCM).
	SecretsKey []byte
	// APIRateLimit is the requests per second each API credential may make (bursts of 4x).
	APIRateLimit int
	// TrustedProxies are the networks of the reverse proxies in front of the API
	// (TRUSTED_PROXIES, comma-separated CIDRs). Empty: the API takes a request's address from
	// its connection and ignores X-Forwarded-For, which any client can send; set: it reads the
	// address from X-Forwarded-For, past the hops in these networks only.
	TrustedProxies []*net.IPNet

	// PayPal: payouts need the REST credentials; webhooks need the webhook ID. Empty client ID
	// means PayPal is off (its webhooks answer 400 and no PayPal payouts are made).
	PayPalClientID  string
	PayPalSecret    string
	PayPalAPIBase   string
	PayPalWebhookID string
	// PayPalWebhookVerify is "offline" (check the signature against PayPal's certificate) or
	// "api" (ask PayPal's verify-webhook-signature endpoint).
	PayPalWebhookVerify string

	// Client KPIs (workflows/kpisync): sync period per client (a client's settings may override
	// it), days of KPI rows Postgres keeps, when a source's numbers count as stale, how long
	// fetched older days are cached, and an optional GA4 API endpoint (a local fake in dev).
	KPISyncEvery     time.Duration
	KPIRetentionDays int
	KPIStaleAfter    time.Duration
	KPICacheTTL      time.Duration
	// KPIStripeRevenue is how the API reads a client's older Stripe revenue: "search" (Stripe's
	// Search API, the client's own charges) or "list" (the account's charges, shared between
	// clients) for an account Stripe does not offer Search to. Empty is "search".
	KPIStripeRevenue string
	GA4APIEndpoint   string
	// GA4CredentialsDir is the only directory file: GA4 credential references may name; empty
	// allows none (env:GA4_* references only).
	GA4CredentialsDir string

	// Alerts from monitors and ledger verification (see alerts.go): a webhook signed with
	// HMAC-SHA256 and/or email over SMTP; each is off while its address is empty.
	AlertWebhookURL    string
	AlertWebhookSecret string
	SMTPAddr           string
	SMTPUsername       string
	SMTPPassword       string
	AlertEmailFrom     string
	AlertEmailTo       []string
	// IntegrityVerifyCron is when (cron, UTC) the ledger chain is verified; MonitorEvery is how
	// often monitors are evaluated in between (0: with the daily verification only).
	IntegrityVerifyCron string
	MonitorEvery        time.Duration

	// Reports configures the weekly client reports (reports.go): S3 storage and SMTP delivery.
	Reports Reports
}

// setting describes one environment variable.
type setting struct {
	name     string
	def      string // local default; "" means none
	prodDef  string // the default in production, when it differs from def
	secret   bool   // no default in production, and its development value is refused there
	optional bool   // may stay empty
	// prodOptional may stay empty in production, where it has no default (a feature an
	// existing deployment turns on when it is ready, not a setting every upgrade must bring).
	prodOptional bool
	// dev is a development value of a secret that production refuses besides def (one filled
	// in later, not as the setting's default: ALERT_WEBHOOK_SECRET's).
	dev      string
	validate func(string) error
	dst      *string
}

// DefaultWorkerMaxConcurrent bounds the workflow tasks and (local) activities one worker runs at
// once (WORKER_MAX_CONCURRENT); the benchmark's limit worker uses the same bound.
const DefaultWorkerMaxConcurrent = 64

// DefaultGCPercent and DefaultMemoryLimitMiB are the worker's and the api's garbage-collector
// settings (GO_GC_PERCENT, GO_MEMORY_LIMIT_MIB). Measured with cmd/bench (see its README, "Our
// processes' CPU a payment"): 200 spends less of the worker's CPU a payment on collections than
// Go's 100, its RSS peak staying near 110 MiB. No limit by default: near a limit the collector
// runs as often as it must, and the worker's rarer jobs (weekly PDF reports) may need more than
// a payment does; a deployment sets it from its tasks' memory.
const (
	DefaultGCPercent      = 200
	DefaultMemoryLimitMiB = 0
)

// DefaultTemporalGRPCCompression is the SDK's own default. "none" saves the deflate work at both
// ends when Temporal is next door; the benchmark could not tell the two apart on two cores.
const DefaultTemporalGRPCCompression = "gzip"

// KPI_STRIPE_REVENUE's values: search the asking client's charges (Stripe's Search API), or list
// the platform account's charges once for every client (accounts Stripe offers no Search to).
const (
	KPIStripeRevenueSearch = "search"
	KPIStripeRevenueList   = "list"
)

// Load reads the environment. The error names the first missing or malformed variable in one line.
func Load() (Config, error) { return load(os.Getenv) }

// LoadFrom reads the settings from getenv instead of the environment (deploy's tests check that
// what Terraform sets is enough for production).
func LoadFrom(getenv func(string) string) (Config, error) { return load(getenv) }

func load(getenv func(string) string) (Config, error) {
	var c Config
	var enrich, settle, decision, dueRetry, holdRecheck, stopTimeout, temporalTLS, secretsKey, rateLimit, stickyCache, maxConcurrent, relayParallel string
	var kpiEvery, kpiRetention, kpiStale, kpiCache string
	var monitorEvery, alertEmailTo, trustedProxies, workerPromote string
	var gcPercent, memoryLimit string
	var err error
	if c.Env, err = appEnv(getenv); err != nil {
		return c, err
	}
	settings := []setting{
		databaseURL(&c.DatabaseURL),
		{name: "TEMPORAL_ADDRESS", def: "127.0.0.1:7233", validate: validDialAddr, dst: &c.TemporalAddress},
		{name: "TEMPORAL_NAMESPACE", def: "default", validate: nonEmpty, dst: &c.TemporalNamespace},
		{name: "TASK_QUEUE", def: "payments", validate: nonEmpty, dst: &c.TaskQueue},
		{name: "API_ADDR", def: "127.0.0.1:8080", validate: validListenAddr, dst: &c.APIAddr},
		{name: "ADMIN_API_KEY", def: "dev-admin-key", secret: true, validate: minLen(8), dst: &c.AdminAPIKey},
		{name: "STRIPE_API_KEY", def: "sk_test_123", secret: true, validate: stripeKey, dst: &c.StripeAPIKey},
		{name: "STRIPE_API_BASE", def: "https://api.stripe.com", validate: validHTTPURL, dst: &c.StripeAPIBase},
		{name: "STRIPE_WEBHOOK_SECRET", def: "whsec_dev", secret: true, validate: prefix("whsec_"), dst: &c.StripeWebhookSecret},
		{name: "STRIPE_CONNECT_WEBHOOK_SECRET", def: "whsec_dev_connect", secret: true, prodOptional: true, validate: prefix("whsec_"), dst: &c.StripeConnectWebhookSecret},
		// No default in production: the development one is localhost, which an alert email or
		// the admin API would hand on-call as the workflow's link; unset, no link is given.
		{name: "TEMPORAL_UI_URL", def: "http://127.0.0.1:8233", prodOptional: true, validate: validHTTPURL, dst: &c.TemporalUIURL},
		{name: "PAYMENT_ENRICH_WAIT", def: "1h", validate: positiveDuration, dst: &enrich},
		{name: "PAYMENT_SETTLE_WINDOW", def: "24h", validate: validDuration, dst: &settle},
		{name: "PAYMENT_DECISION_TIMEOUT", def: "72h", validate: positiveDuration, dst: &decision},
		{name: "PAYMENT_DUE_RETRY_EVERY", def: "1h", validate: zeroOrAtLeast(time.Minute), dst: &dueRetry},
		{name: "PAYMENT_HOLD_RECHECK_EVERY", def: "1h", validate: zeroOrAtLeast(time.Minute), dst: &holdRecheck},
		{name: "WORKER_HTTP_ADDR", def: "127.0.0.1:8081", validate: validListenAddr, dst: &c.WorkerHTTPAddr},
		{name: "PPROF_ADDR", optional: true, validate: validListenAddr, dst: &c.PprofAddr},
		{name: "WORKER_STOP_TIMEOUT", def: "30s", validate: durationAtLeast(time.Second), dst: &stopTimeout},
		{name: "WORKER_STICKY_CACHE", def: "1000", validate: positiveInt, dst: &stickyCache},
		// At least 2: the Temporal SDK panics on a worker with one workflow task slot (it would
		// poll only its sticky queue).
		{name: "WORKER_MAX_CONCURRENT", def: strconv.Itoa(DefaultWorkerMaxConcurrent), validate: intAtLeast(2), dst: &maxConcurrent},
		{name: "GO_GC_PERCENT", def: strconv.Itoa(DefaultGCPercent), validate: positiveInt, dst: &gcPercent},
		{name: "GO_MEMORY_LIMIT_MIB", def: strconv.Itoa(DefaultMemoryLimitMiB), validate: nonNegativeInt, dst: &memoryLimit},
		{name: "WORKER_BUILD_ID", optional: true, validate: nonEmpty, dst: &c.WorkerBuildID},
		{name: "TEMPORAL_DEPLOYMENT_NAME", def: "paysplit", validate: nonEmpty, dst: &c.TemporalDeploymentName},
		{name: "WORKER_PROMOTE", def: "true", validate: validBool, dst: &workerPromote},
		{name: "TEMPORAL_API_KEY", optional: true, validate: nonEmpty, dst: &c.TemporalAPIKey},
		{name: "TEMPORAL_TLS_CERT", optional: true, validate: nonEmpty, dst: &c.TemporalTLSCert},
		{name: "TEMPORAL_TLS_KEY", optional: true, validate: nonEmpty, dst: &c.TemporalTLSKey},
		{name: "TEMPORAL_TLS", def: "false", validate: validBool, dst: &temporalTLS},
		{name: "TEMPORAL_GRPC_COMPRESSION", def: DefaultTemporalGRPCCompression, validate: oneOf("none", "gzip"), dst: &c.TemporalGRPCCompression},
		{name: "OTEL_EXPORTER_OTLP_ENDPOINT", optional: true, validate: validHTTPURL, dst: &c.OTLPEndpoint},
		{name: "SECRETS_KEY", def: devSecretsKey, secret: true, validate: validSecretsKey, dst: &secretsKey},
		{name: "API_RATE_LIMIT", def: "10", validate: positiveInt, dst: &rateLimit},
		{name: "TRUSTED_PROXIES", optional: true, validate: validCIDRList, dst: &trustedProxies},
		{name: "WEBHOOK_ACK", def: "temporal", validate: oneOf("temporal", "inbox"), dst: &c.WebhookAck},
		{name: "WEBHOOK_RELAY_PARALLEL", def: "32", validate: positiveInt, dst: &relayParallel},
		{name: "PAYPAL_CLIENT_ID", optional: true, validate: nonEmpty, dst: &c.PayPalClientID},
		{name: "PAYPAL_SECRET", optional: true, validate: nonEmpty, dst: &c.PayPalSecret},
		// Production defaults to PayPal's live API: the webhook verifier takes certificates from
		// that environment only, and a live deployment verifying webhooks offline, without
		// payouts, had no reason to set it (the previous release took any PayPal host).
		{name: "PAYPAL_API_BASE", def: "https://api-m.sandbox.paypal.com", prodDef: "https://api-m.paypal.com", validate: validHTTPURL, dst: &c.PayPalAPIBase},
		{name: "PAYPAL_WEBHOOK_ID", optional: true, validate: nonEmpty, dst: &c.PayPalWebhookID},
		{name: "PAYPAL_WEBHOOK_VERIFY", def: "offline", validate: oneOf("offline", "api"), dst: &c.PayPalWebhookVerify},
		{name: "KPI_SYNC_EVERY", def: "15m", validate: durationAtLeast(time.Minute), dst: &kpiEvery},
		{name: "KPI_RETENTION_DAYS", def: "7", validate: positiveInt, dst: &kpiRetention},
		{name: "KPI_STALE_AFTER", def: "1h", validate: durationAtLeast(time.Minute), dst: &kpiStale},
		{name: "KPI_CACHE_TTL", def: "5m", validate: validDuration, dst: &kpiCache},
		{name: "KPI_STRIPE_REVENUE", def: KPIStripeRevenueSearch, validate: oneOf(KPIStripeRevenueSearch, KPIStripeRevenueList), dst: &c.KPIStripeRevenue},
		{name: "GA4_API_ENDPOINT", optional: true, validate: validHTTPURL, dst: &c.GA4APIEndpoint},
		{name: "GA4_CREDENTIALS_DIR", optional: true, validate: absoluteDir, dst: &c.GA4CredentialsDir},
		{name: "ALERT_WEBHOOK_URL", optional: true, validate: validHTTPURL, dst: &c.AlertWebhookURL},
		{name: "ALERT_WEBHOOK_SECRET", optional: true, secret: true, dev: devAlertWebhookSecret, validate: minLen(16), dst: &c.AlertWebhookSecret},
		{name: "SMTP_ADDR", optional: true, validate: validDialAddr, dst: &c.SMTPAddr},
		{name: "SMTP_USERNAME", optional: true, validate: nonEmpty, dst: &c.SMTPUsername},
		{name: "SMTP_PASSWORD", optional: true, validate: nonEmpty, dst: &c.SMTPPassword},
		{name: "ALERT_EMAIL_FROM", def: "paysplit-alerts@localhost", prodOptional: true, validate: validEmail, dst: &c.AlertEmailFrom},
		{name: "ALERT_EMAIL_TO", optional: true, validate: validEmailList, dst: &alertEmailTo},
		{name: "INTEGRITY_VERIFY_CRON", def: "0 3 * * *", validate: validCron, dst: &c.IntegrityVerifyCron},
		{name: "MONITOR_EVAL_EVERY", def: "15m", validate: validDuration, dst: &monitorEvery},
	}
	var presignTTL string
	settings = append(settings, c.Reports.settings(c.Env, &presignTTL)...)
	for _, s := range settings {
		if err := s.read(c.Env, getenv); err != nil {
			return c, err
		}
	}
	c.EnrichWait, _ = time.ParseDuration(enrich)
	c.SettleWindow, _ = time.ParseDuration(settle)
	c.DecisionTimeout, _ = time.ParseDuration(decision)
	c.DueRetryEvery, _ = time.ParseDuration(dueRetry)
	c.HoldRecheckEvery, _ = time.ParseDuration(holdRecheck)
	c.WorkerStopTimeout, _ = time.ParseDuration(stopTimeout)
	c.WorkerStickyCache, _ = strconv.Atoi(stickyCache)
	c.WorkerMaxConcurrent, _ = strconv.Atoi(maxConcurrent)
	c.GCPercent, _ = strconv.Atoi(gcPercent)
	c.MemoryLimitMiB, _ = strconv.Atoi(memoryLimit)
	c.SecretsKey, _ = secrets.ParseKey(secretsKey)
	c.APIRateLimit, _ = strconv.Atoi(rateLimit)
	c.TrustedProxies, _ = parseCIDRList(trustedProxies)
	c.WebhookRelayParallel, _ = strconv.Atoi(relayParallel)
	c.KPISyncEvery, _ = time.ParseDuration(kpiEvery)
	c.KPIRetentionDays, _ = strconv.Atoi(kpiRetention)
	c.KPIStaleAfter, _ = time.ParseDuration(kpiStale)
	c.KPICacheTTL, _ = time.ParseDuration(kpiCache)
	// An API key or a client certificate only travels over TLS.
	c.WorkerPromote = workerPromote == "true"
	c.TemporalTLS = temporalTLS == "true" || c.TemporalAPIKey != "" || c.TemporalTLSCert != ""
	if (c.PayPalClientID == "") != (c.PayPalSecret == "") {
		return c, errors.New("config: PAYPAL_CLIENT_ID and PAYPAL_SECRET must be set together")
	}
	if c.PayPalWebhookVerify == "api" && c.PayPalClientID == "" {
		return c, errors.New("config: PAYPAL_WEBHOOK_VERIFY=api needs PAYPAL_CLIENT_ID and PAYPAL_SECRET")
	}
	if (c.TemporalTLSCert == "") != (c.TemporalTLSKey == "") {
		return c, errors.New("config: TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together")
	}
	if err := c.finishAlerts(monitorEvery, alertEmailTo); err != nil {
		return c, err
	}
	if err := c.Reports.finish(presignTTL); err != nil {
		return c, err
	}
	return c, nil
}

// appEnv is APP_ENV: development (the default) or production.
func appEnv(getenv func(string) string) (string, error) {
	env := strings.ToLower(strings.TrimSpace(getenv("APP_ENV")))
	if env == "" {
		env = "development"
	}
	if env != "development" && env != "production" {
		return env, fmt.Errorf("config: APP_ENV=%q: want development or production", env)
	}
	return env, nil
}

// databaseURL is the DATABASE_URL setting, read into dst.
func databaseURL(dst *string) setting {
	return setting{name: "DATABASE_URL", def: "postgres://postgres@127.0.0.1:5432/paysplit?sslmode=disable", secret: true, validate: validPostgresURL, dst: dst}
}

// DatabaseURL reads DATABASE_URL alone, by Load's rules (required in production, the local
// default in development), for a program that needs nothing else: ledger-verify, run by cron on
// a production host, must not need every secret of the platform to read the journal.
func DatabaseURL(getenv func(string) string) (string, error) {
	env, err := appEnv(getenv)
	if err != nil {
		return "", err
	}
	var url string
	if err := databaseURL(&url).read(env, getenv); err != nil {
		return "", err
	}
	return url, nil
}

// read sets the setting's destination from getenv in environment env (development or
// production), or says why it cannot.
func (s setting) read(env string, getenv func(string) string) error {
	v := strings.TrimSpace(getenv(s.name))
	if v == "" && (s.optional || s.prodOptional && env == "production") {
		return nil
	}
	if v == "" {
		if s.secret && env == "production" || s.def == "" {
			return fmt.Errorf("config: %s is required but not set", s.name)
		}
		v = s.def
		if env == "production" && s.prodDef != "" {
			v = s.prodDef
		}
	}
	if err := s.validate(v); err != nil {
		return fmt.Errorf("config: %s is malformed: %w", s.name, err)
	}
	if env == "production" && s.secret && s.isDevelopmentValue(v) {
		return fmt.Errorf("config: %s is the development value published in this repository, which production refuses: set one of its own", s.name)
	}
	*s.dst = v
	return nil
}

// isDevelopmentValue reports whether v is the setting's development value (its default, or dev),
// which anyone can read in this repository. SECRETS_KEY is compared as the key it decodes to, as
// it may be written in any of the base64 alphabets it takes.
func (s setting) isDevelopmentValue(v string) bool {
	for _, d := range []string{s.def, s.dev} {
		if d == "" {
			continue
		}
		if v == d {
			return true
		}
		if s.name == "SECRETS_KEY" {
			a, errA := secrets.ParseKey(v)
			b, errB := secrets.ParseKey(d)
			if errA == nil && errB == nil && string(a) == string(b) {
				return true
			}
		}
	}
	return false
}

// devSecretsKey is base64("paysplit-dev-secrets-key-32bytes"): development only; production must
// set its own SECRETS_KEY (e.g. `openssl rand -base64 32`).
const devSecretsKey = "cGF5c3BsaXQtZGV2LXNlY3JldHMta2V5LTMyYnl0ZXM="

func validSecretsKey(v string) error {
	_, err := secrets.ParseKey(v)
	return err
}

func nonNegativeInt(v string) error {
	if n, err := strconv.Atoi(v); err != nil || n < 0 {
		return errors.New("want a non-negative integer")
	}
	return nil
}

func intAtLeast(least int) func(string) error {
	return func(v string) error {
		if n, err := strconv.Atoi(v); err != nil || n < least {
			return fmt.Errorf("want an integer of at least %d", least)
		}
		return nil
	}
}

func positiveInt(v string) error {
	if n, err := strconv.Atoi(v); err != nil || n < 1 {
		return errors.New("want a positive integer")
	}
	return nil
}

// parseCIDRList reads comma-separated networks such as "10.0.0.0/8, 192.0.2.10/32, fd00::/8".
func parseCIDRList(v string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		_, n, err := net.ParseCIDR(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not a network in CIDR notation such as 10.0.0.0/8 or 192.0.2.10/32", part)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("want comma-separated networks in CIDR notation")
	}
	return out, nil
}

func validCIDRList(v string) error {
	_, err := parseCIDRList(v)
	return err
}

func validBool(v string) error {
	if v != "true" && v != "false" {
		return errors.New("want true or false")
	}
	return nil
}

// absoluteDir is a clean absolute path (whether it exists is the GA4 source's to say, per key).
func absoluteDir(v string) error {
	if !filepath.IsAbs(v) || filepath.Clean(v) != v {
		return errors.New("want a clean absolute directory path")
	}
	return nil
}

func nonEmpty(v string) error {
	if v == "" {
		return errors.New("empty")
	}
	return nil
}

// validListenAddr is where a program listens: host:port, the port a number (or service name)
// up to 65535; 0 takes any free port.
func validListenAddr(v string) error { return validHostPort(v, 0) }

// validDialAddr is a server the programs connect to: host:port, the port from 1 to 65535.
func validDialAddr(v string) error { return validHostPort(v, 1) }

func validHostPort(v string, least int) error {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("want host:port: %w", err)
	}
	if err := validPort(port, least); err != nil {
		return fmt.Errorf("want host:port: %w", err)
	}
	return nil
}

// validPort: net.SplitHostPort and url.Parse take any port, even none or 70000, which the
// programs would only find out when they listen or dial (an SMTP server: when the first alert is
// mailed).
func validPort(port string, least int) error {
	if port == "" {
		return errors.New("no port")
	}
	n, err := net.LookupPort("tcp", port)
	if err != nil || n < least || n > 65535 {
		return fmt.Errorf("port %q is not a port from %d to 65535", port, least)
	}
	return nil
}

func validHTTPURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("want an http(s) URL")
	}
	if p := u.Port(); p != "" {
		if err := validPort(p, 1); err != nil {
			return fmt.Errorf("want an http(s) URL: %w", err)
		}
	}
	return nil
}

func validPostgresURL(v string) error {
	// pgx's error may quote the URL (url.Parse's does, password included): none of it is shown.
	if _, err := pgx.ParseConfig(v); err != nil {
		return errors.New("not a Postgres connection string")
	}
	// The pool's settings (pool_max_conns, pool_max_conn_lifetime, ...) ride in the URL too
	// (internal/db opens a pgxpool). Past pgx.ParseConfig, what pgxpool refuses is one of them:
	// its message after the (password-redacted) URL names the setting and its value.
	if _, err := pgxpool.ParseConfig(v); err != nil {
		msg := err.Error()
		if i := strings.LastIndex(msg, "`: "); i >= 0 {
			msg = msg[i+len("`: "):]
		}
		if !strings.Contains(msg, "pool_") {
			msg = "its pool settings (pool_max_conns, pool_min_conns, pool_*_lifetime, ...)"
		}
		return fmt.Errorf("pool setting: %s", msg)
	}
	return nil
}

func validDuration(v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return errors.New("want a non-negative Go duration such as 90s or 2h")
	}
	return nil
}

// positiveDuration is for the payment workflow's waits that have no meaning at 0: the workflow
// takes 0 as "not set" and waits its own default instead.
func positiveDuration(v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return errors.New("want a positive Go duration such as 90s or 2h (0 is not a wait the payment workflow takes)")
	}
	return nil
}

// zeroOrAtLeast is a period that 0 turns off: a retry or ask of the providers more often than
// least would call them that often for each payment it concerns.
func zeroOrAtLeast(least time.Duration) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d != 0 && d < least {
			return fmt.Errorf("want 0 or a Go duration of at least %s, such as 1h", least)
		}
		return nil
	}
}

func durationAtLeast(least time.Duration) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < least {
			return fmt.Errorf("want a Go duration of at least %s, such as 15m", least)
		}
		return nil
	}
}

func minLen(n int) func(string) error {
	return func(v string) error {
		if len(v) < n {
			return fmt.Errorf("want at least %d characters", n)
		}
		return nil
	}
}

func prefix(p string) func(string) error {
	return func(v string) error {
		if !strings.HasPrefix(v, p) {
			return fmt.Errorf("want a value starting with %q", p)
		}
		return nil
	}
}

func stripeKey(v string) error {
	if !strings.HasPrefix(v, "sk_") && !strings.HasPrefix(v, "rk_") {
		return errors.New(`want a secret or restricted key ("sk_..." or "rk_...")`)
	}
	return nil
}

func oneOf(values ...string) func(string) error {
	return func(v string) error {
		for _, ok := range values {
			if v == ok {
				return nil
			}
		}
		return fmt.Errorf("want one of %s", strings.Join(values, ", "))
	}
}

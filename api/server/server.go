// Package server is the HTTP API: provider webhooks, the admin API and the dashboard. It is thin:
// it verifies and validates, then hands work to Temporal or reads Postgres.
package server

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"

	"paysplit/internal/ledger"
	"paysplit/internal/store"
	"paysplit/internal/storefront"
	"paysplit/telemetry"
	"paysplit/workflows/payment"
)

// Deps are what the server needs.
type Deps struct {
	Pool                *pgxpool.Pool
	Store               *store.Store
	Ledger              *ledger.Ledger
	Temporal            client.Client
	TaskQueue           string
	AdminAPIKey         string
	StripeWebhookSecret string
	// StripeConnectWebhookSecret verifies the Connect endpoint's deliveries (stripe_connect.go).
	StripeConnectWebhookSecret string
	TemporalUIURL              string
	Namespace                  string
	Settings                   payment.Settings
	Logger                     *slog.Logger
	// Registry is where the server's metrics go and what /metrics serves, shared with the
	// Temporal SDK's metrics (telemetry.New); nil makes a private one.
	Registry *prometheus.Registry
	// Now is the clock for webhook signature tolerance; nil means time.Now.
	Now func() time.Time
	// RateLimit (requests per second) and RateBurst bound each credential; zero means 10 and 40.
	RateLimit float64
	RateBurst int
	// SessionTTL is how long a browser session lasts; zero means 12h.
	SessionTTL time.Duration
	// KPIRefresh starts an on-demand KPI sync for a client; nil answers 501 not_implemented. Saving
	// a new GA4 property calls it too (its failure is logged there).
	KPIRefresh func(ctx context.Context, clientID string) error
	// GA4CredentialsDir is where file: GA4 credential references may point (GA4_CREDENTIALS_DIR);
	// empty refuses them.
	GA4CredentialsDir string
	// KPIs serves KPI series over any range (hot days from Postgres, older ones from the
	// sources); nil reads every day from Postgres.
	KPIs KPIReader
	// Visitors counts a range's distinct visitors (GET /api/v1/kpis/visitors); nil answers
	// none, and the dashboard keeps the sum of daily visitors.
	Visitors VisitorCounter
	// OnClientChanged runs after a client or its KPI settings were saved (it creates or updates
	// the client's KPI sync schedule); nil does nothing. Its failure is logged, not answered:
	// the change is saved, and the worker repairs schedules at start.
	OnClientChanged func(ctx context.Context, clientID string) error
	// PayPalVerifier checks PayPal webhook signatures; nil means PayPal is not configured.
	PayPalVerifier PayPalVerifier
	// ReportLinks presigns download links for weekly report files; nil answers download_url null.
	ReportLinks ReportLinks
	// ReportsOff says this process makes no weekly reports: REPORTS=off (for the deployment:
	// the workers then delete the weekly schedules) or no S3_BUCKET here (a worker without it
	// registers no report workflow). The API then makes no schedule and starts no report run (a
	// resend or regenerate answers 409 reports_off) that no worker might take. Report settings
	// are still saved, for when reports are turned on. It is decided per process, from its own
	// settings: REPORTS=on, set alike everywhere, makes a replica without S3_BUCKET refuse to
	// start, so the replicas cannot disagree.
	ReportsOff bool
	// WebhookAck says when a provider webhook is answered 200: AckOnTemporal (zero value) or
	// AckOnStore (the webhook inbox; see relay.go).
	WebhookAck WebhookAck
	// Relay tunes the webhook inbox relay (relay.go); zero values take its defaults.
	Relay RelayOptions
	// TrustedProxies are the networks of the reverse proxies in front of the API
	// (TRUSTED_PROXIES). Empty: a request's address is its connection's, and X-Forwarded-For and
	// X-Real-IP are ignored. Otherwise the address is read from X-Forwarded-For, trusting the
	// hops in these networks only (not even loopback or private ones unless listed).
	TrustedProxies []*net.IPNet
	// SecureCookies marks the dashboard's cookies Secure whatever the request (production, which
	// is served over HTTPS only); otherwise they are Secure when the request came over TLS.
	SecureCookies bool
}

// WebhookAck is when a verified provider event is acknowledged.
type WebhookAck string

const (
	// AckOnTemporal answers once Temporal durably took the start or signal, 503 while it is away.
	AckOnTemporal WebhookAck = ""
	// AckOnStore answers once the event is stored in the webhook inbox; the relay forwards it.
	AckOnStore WebhookAck = "inbox"
)

// Server is the configured Echo app.
type Server struct {
	*echo.Echo
	deps    Deps
	metrics *metrics
	relay   *relay
	// inbox stores acknowledged webhooks, concurrent ones in shared commits.
	inbox *store.InboxWriter
	// authFailures limits failed authentications per address (auth.go).
	authFailures *addressLimiter
}

type metrics struct {
	registry *prometheus.Registry
	webhooks *prometheus.CounterVec
	relayed  *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	if reg == nil {
		reg = telemetry.NewRegistry()
	}
	m := &metrics{
		registry: reg,
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paysplit_webhook_events_total",
			Help: "Provider webhook deliveries by provider, event type and outcome.",
		}, []string{"provider", "type", "outcome"}),
	}
	m.relayed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "paysplit_webhook_relay_events_total",
		Help: "Inbox events the relay handed to Temporal (accepted, duplicate), put back for a retry (retry), held in memory past most of their lease (lease_renewed) or left to a claim because another relay took them or the renewal failed (left_to_claim).",
	}, []string{"provider", "outcome"})
	m.registry.MustRegister(m.webhooks, m.relayed)
	return m
}

// The webhook inbox's group commit: two writers, so one gathers while the other's commit is in
// flight; a statement takes at most what a burst of the benchmark's 32 senders queues several
// times over (BenchmarkAcceptEvent: three times the events a second of one commit each, at 32
// concurrent requests).
const (
	inboxWriters = 2
	inboxBatch   = 128
)

// The HTTP server's limits: headers within 10 s, a whole request (bodies are at most a few MB)
// within 30 s, an answer within 5 minutes (a year of KPIs fetched from Stripe and PayPal pages
// through many lists), idle keep-alive connections closed after 2 minutes.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 5 * time.Minute
	idleTimeout       = 2 * time.Minute
)

// New builds the server with every route and starts its webhook relay; Shutdown or Close stops it.
func New(d Deps) *Server {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// A client that sends its headers or body a byte at a time must not hold a connection (and
	// its goroutine) for ever: the API faces the internet through the load balancer.
	e.Server.ReadHeaderTimeout = readHeaderTimeout
	e.Server.ReadTimeout = readTimeout
	e.Server.WriteTimeout = writeTimeout
	e.Server.IdleTimeout = idleTimeout
	e.IPExtractor = ipExtractor(d.TrustedProxies)
	s := &Server{Echo: e, deps: d, metrics: newMetrics(d.Registry)}
	s.authFailures = s.newAuthFailures()
	s.relay = &relay{store: d.Store, taskQueue: d.TaskQueue, deliver: s.deliverStored, logger: d.Logger, opts: d.Relay.withDefaults(),
		kick: make(chan struct{}, 1), forwarded: s.metrics.relayed}
	s.relay.local = make(chan store.InboxEvent, s.relay.opts.Buffer)
	s.relay.slots = make(chan struct{}, s.relay.opts.Buffer)
	s.registerInboxGauges()
	s.registerAlertMessageGauges()
	s.relay.start()
	s.inbox = d.Store.NewInboxWriter(inboxWriters, inboxBatch, 0)
	e.HTTPErrorHandler = s.errorHandler
	e.Pre(routeHeadAsGet)
	e.Use(headAgain)
	e.Use(assignRequestID)
	// The access log wraps what may refuse or fail a request itself (a body over the limit, a
	// panic), so those requests are logged too.
	e.Use(s.accessLog)
	e.Use(middleware.Recover())
	e.Use(middleware.BodyLimit("1M"))

	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", s.ready)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{})))
	e.GET("/", s.dashboard)
	e.GET("/static/*", s.static)
	// No icon: answered so browsers stop asking, without a 404 in their console and our log.
	e.GET("/favicon.ico", func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "public, max-age=86400")
		return c.NoContent(http.StatusNoContent)
	})

	e.POST("/webhooks/stripe", s.stripeWebhook, requireJSON)
	e.POST("/webhooks/stripe-connect", s.stripeConnectWebhook, requireJSON)
	e.POST("/webhooks/paypal", s.paypalWebhook, requireJSON)
	for _, p := range []string{storefront.Shopify, storefront.WooCommerce, storefront.TikTok, storefront.Instagram} {
		e.POST("/webhooks/"+p+"/:client", s.storefrontWebhook(p))
	}
	e.GET("/webhooks/instagram/:client", s.instagramHandshake)

	// Every /api/v1 route refuses a query parameter its operation does not take
	// (refuseUnknownQuery), after the checks of who is asking.
	e.GET("/api/v1/openapi.json", s.openAPI, refuseUnknownQuery)
	e.POST("/api/v1/session", s.login, noStore, s.rateLimiter(perAddress), refuseNUL, refuseUnknownQuery)

	// Client API: every read is scoped by the credential's client (admins pass ?client_id=).
	// One budget per credential, logouts included; a logout whose session is gone (outside the
	// group, as it must work for such a browser) takes from its address's.
	perCredential := s.rateLimiter(perKeyOrAddress)
	e.DELETE("/api/v1/session", s.logout, noStore, s.endingSession, perCredential, requireJSON, refuseNUL, refuseUnknownQuery)
	v1 := e.Group("/api/v1", noStore, s.authenticate, perCredential, requireJSON, refuseNUL, refuseUnknownQuery)
	v1.GET("/me", s.me)
	v1.GET("/client", s.clientInfo)
	v1.GET("/kpis", s.kpis)
	v1.POST("/kpis/refresh", s.refreshKPIs)
	v1.GET("/kpis/visitors", s.kpiVisitors)
	v1.GET("/revenue", s.revenue)
	v1.GET("/payouts", s.payouts)
	v1.GET("/reports", s.reports)

	admin := v1.Group("/admin", s.requireAdmin)
	admin.GET("/clients", s.listClients)
	admin.PUT("/clients/:client_id", s.putClient)
	admin.POST("/clients/:client_id/offboard", s.setClientStatus(store.ClientOffboarded, "client.offboard"))
	admin.POST("/clients/:client_id/reactivate", s.setClientStatus(store.ClientActive, "client.reactivate"))
	admin.GET("/clients/:client_id/settings", s.getSettings)
	admin.PUT("/clients/:client_id/settings", s.putSettings)
	admin.GET("/clients/:client_id/kpi-settings", s.getKPISettings)
	admin.PUT("/clients/:client_id/kpi-settings", s.putKPISettings)
	admin.GET("/clients/:client_id/webhook-secrets", s.listWebhookSecrets)
	admin.PUT("/clients/:client_id/webhook-secrets/:provider", s.putWebhookSecret)
	admin.DELETE("/clients/:client_id/webhook-secrets/:provider", s.deleteWebhookSecret)
	admin.GET("/clients/:client_id/shops", s.listClientShops)
	admin.PUT("/clients/:client_id/shops/:platform", s.putClientShop)
	admin.DELETE("/clients/:client_id/shops/:platform", s.deleteClientShop)
	admin.GET("/api-keys", s.listAPIKeys)
	admin.POST("/api-keys", s.createAPIKey)
	admin.DELETE("/api-keys/:key_id", s.revokeAPIKey)
	admin.GET("/audit", s.listAudit)
	admin.GET("/payees", s.listPayees)
	admin.GET("/payouts", s.listStuckPayouts)
	admin.POST("/clients/:client_id/split-rules", s.createRule)
	admin.GET("/clients/:client_id/split-rules", s.listRules)
	admin.PUT("/payees/:payee_id", s.putPayee)
	admin.GET("/payments", s.listPayments)
	admin.GET("/payments/:workflow_id", s.getPayment)
	admin.POST("/payments/:workflow_id/retry", s.adminAction(payment.ActionRetry))
	admin.POST("/payments/:workflow_id/cancel", s.adminAction(payment.ActionCancel))
	admin.POST("/payments/:workflow_id/release", s.adminAction(payment.ActionRelease))
	admin.POST("/payments/:workflow_id/resolve", s.resolvePayment)
	admin.POST("/payments/:workflow_id/correct", s.correctPayment)
	admin.GET("/reconciliation", s.listReconciliations)
	admin.POST("/reconciliation/run", s.runReconciliation)
	admin.GET("/ledger/balances", s.balances)
	admin.GET("/ledger/balances/:account", s.accountBalances)
	admin.GET("/ledger/verify", s.verifyLedger)
	admin.GET("/monitors", s.listMonitors)
	admin.POST("/monitors", s.createMonitor)
	admin.GET("/monitors/:monitor_id", s.getMonitor)
	admin.DELETE("/monitors/:monitor_id", s.deleteMonitor)
	admin.GET("/alerts", s.listAlerts)
	admin.GET("/alert-messages", s.listAlertMessages)
	admin.GET("/webhook-inbox", s.listInbox)
	admin.GET("/clients/:client_id/report-settings", s.getReportSettings)
	admin.PUT("/clients/:client_id/report-settings", s.putReportSettings)
	admin.GET("/reports", s.listAdminReports)
	admin.POST("/reports/:client_id/:iso_week/resend", s.resendReport)
	admin.POST("/reports/:client_id/:iso_week/regenerate", s.regenerateReport)
	return s
}

// ready gates on Postgres alone: with Temporal away the API still takes webhooks into the inbox
// and serves the admin API, so a load balancer must keep sending it traffic. Temporal's state is
// reported all the same.
func (s *Server) ready(c echo.Context) error {
	checks, _ := telemetry.Readiness(c.Request().Context(), s.deps.Logger, s.deps.Pool, s.deps.Temporal)
	if checks["postgres"] != "ok" {
		return c.JSON(http.StatusServiceUnavailable, checks)
	}
	return c.JSON(http.StatusOK, checks)
}

// apiError is the one error shape every endpoint answers with.
type apiError struct {
	status  int
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errorf(status int, code, message string) error {
	return &apiError{status: status, Code: code, Message: message}
}

func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	// Text Postgres refused (a NUL character) is the caller's input, whichever package sent it.
	err = store.InvalidInput(err)
	var ae *apiError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &he):
		msg, _ := he.Message.(string)
		if msg == "" {
			msg = http.StatusText(he.Code)
		}
		ae = &apiError{status: he.Code, Code: codeFor(he.Code), Message: msg}
	case errors.Is(err, store.ErrNotFound):
		ae = &apiError{status: http.StatusNotFound, Code: "not_found", Message: err.Error()}
	case errors.Is(err, store.ErrInvalid):
		ae = &apiError{status: http.StatusBadRequest, Code: "invalid_request", Message: err.Error()}
	default:
		s.deps.Logger.Error("request failed", "path", c.Path(), "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "error", err)
		ae = &apiError{status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
	}
	_ = c.JSON(ae.status, map[string]any{"error": ae})
}

func codeFor(status int) string {
	switch status {
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusRequestEntityTooLarge:
		return "body_too_large"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusTooManyRequests:
		return "rate_limited"
	}
	return "invalid_request"
}

// ipExtractor is how a request's address (c.RealIP: the per-address limits, logs) is found: the
// connection's, unless the API runs behind proxies it was told of; then X-Forwarded-For is read
// right to left, past the hops in those networks only. Never trust the headers otherwise: any
// client can send them.
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// HEAD is routed as a GET (RFC 9110: a server answers HEAD wherever it answers GET, with the
// same status and headers): Echo routes HEAD apart, so uptime checks of / or /healthz got 405 and
// HEADs under /api/v1 404. routeHeadAsGet makes the router see a GET (Echo routes the request it
// was given, not one a middleware swaps in); headAgain turns it back into the HEAD it is once
// routed, so net/http sends no body and the logs say HEAD.
const headRouted = "head_routed_as_get"

func routeHeadAsGet(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if r := c.Request(); r.Method == http.MethodHead {
			r.Method = http.MethodGet
			c.Set(headRouted, true)
		}
		return next(c)
	}
}

func headAgain(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if routed, _ := c.Get(headRouted).(bool); routed {
			c.Request().Method = http.MethodHead
		}
		return next(c)
	}
}

// assignRequestID gives every request an ID of the server's own, in X-Request-Id on the answer, which
// the access and error logs and the audit log record. An X-Request-Id the caller sent is not
// taken (as Echo's RequestID middleware would, verbatim and of any length): it would let a caller
// make an admin change's audit entry name another request, or fill the append-only log with
// whatever it likes. Nothing upstream sets one for us to carry on: the load balancer's own
// header is X-Amzn-Trace-Id, which this leaves alone.
func assignRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderXRequestID, rand.Text())
		return next(c)
	}
}

// accessLog writes one structured line per request: no bodies, no headers, no secrets.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		s.deps.Logger.Info("http", "method", c.Request().Method, "route", c.Path(), "status", c.Response().Status,
			"ms", time.Since(start).Milliseconds(), "request_id", c.Response().Header().Get(echo.HeaderXRequestID),
			"key_id", keyID(c))
		return nil
	}
}

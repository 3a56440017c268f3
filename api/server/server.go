// Package server is the HTTP API: provider webhooks, the admin API and the dashboard. It is thin:
// it verifies and validates, then hands work to Temporal or reads Postgres.
package server

import (
	"context"
	"errors"
	"log/slog"
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
	TemporalUIURL       string
	Namespace           string
	Settings            payment.Settings
	Logger              *slog.Logger
	// Now is the clock for webhook signature tolerance; nil means time.Now.
	Now func() time.Time
}

// Server is the configured Echo app.
type Server struct {
	*echo.Echo
	deps    Deps
	metrics *metrics
}

type metrics struct {
	registry *prometheus.Registry
	webhooks *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paysplit_webhook_events_total",
			Help: "Provider webhook deliveries by provider, event type and outcome.",
		}, []string{"provider", "type", "outcome"}),
	}
	m.registry.MustRegister(m.webhooks, prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// New builds the server with every route.
func New(d Deps) *Server {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	s := &Server{Echo: e, deps: d, metrics: newMetrics()}
	e.HTTPErrorHandler = s.errorHandler
	e.Use(middleware.RequestID())
	e.Use(middleware.Recover())
	e.Use(middleware.BodyLimit("1M"))
	e.Use(s.accessLog)

	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", s.ready)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{})))
	e.GET("/", s.dashboard)

	e.POST("/webhooks/stripe", s.stripeWebhook)

	admin := e.Group("/api/v1/admin", s.requireAdmin)
	admin.GET("/clients", s.listClients)
	admin.PUT("/clients/:client_id", s.putClient)
	admin.POST("/clients/:client_id/split-rules", s.createRule)
	admin.GET("/clients/:client_id/split-rules", s.listRules)
	admin.PUT("/payees/:payee_id", s.putPayee)
	admin.GET("/payments", s.listPayments)
	admin.GET("/payments/:workflow_id", s.getPayment)
	admin.POST("/payments/:workflow_id/retry", s.adminAction(payment.ActionRetry))
	admin.POST("/payments/:workflow_id/cancel", s.adminAction(payment.ActionCancel))
	admin.POST("/payments/:workflow_id/release", s.adminAction(payment.ActionRelease))
	admin.POST("/payments/:workflow_id/correct", s.correctPayment)
	admin.GET("/ledger/balances", s.balances)
	return s
}

func (s *Server) ready(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"postgres": "ok", "temporal": "ok"}
	status := http.StatusOK
	if err := s.deps.Pool.Ping(ctx); err != nil {
		checks["postgres"], status = err.Error(), http.StatusServiceUnavailable
	}
	if _, err := s.deps.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		checks["temporal"], status = err.Error(), http.StatusServiceUnavailable
	}
	return c.JSON(status, checks)
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
	}
	return "invalid_request"
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
			"ms", time.Since(start).Milliseconds(), "request_id", c.Response().Header().Get(echo.HeaderXRequestID))
		return nil
	}
}

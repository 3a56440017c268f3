// Package config reads the programs' settings from environment variables. Every setting has a
// local default so `make dev` works on a fresh machine; APP_ENV=production removes the defaults of
// secrets so a deploy can never run on a development credential by accident.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
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
	TemporalUIURL       string
	// EnrichWait bounds how long a payment waits for missing order metadata before it parks.
	EnrichWait time.Duration
	// SettleWindow keeps a paid payment's workflow open for late refunds and disputes; after it,
	// a late event starts a follow-up run that resumes from the stored payment.
	SettleWindow time.Duration
	// DecisionTimeout bounds how long a failed payout waits for an admin before compensating.
	DecisionTimeout time.Duration
}

// setting describes one environment variable.
type setting struct {
	name     string
	def      string // local default; "" means none
	secret   bool   // no default in production
	validate func(string) error
	dst      *string
}

// Load reads the environment. The error names the first missing or malformed variable in one line.
func Load() (Config, error) { return load(os.Getenv) }

func load(getenv func(string) string) (Config, error) {
	var c Config
	var enrich, settle, decision string
	c.Env = strings.ToLower(strings.TrimSpace(getenv("APP_ENV")))
	if c.Env == "" {
		c.Env = "development"
	}
	if c.Env != "development" && c.Env != "production" {
		return c, fmt.Errorf("config: APP_ENV=%q: want development or production", c.Env)
	}
	settings := []setting{
		{name: "DATABASE_URL", def: "postgres://postgres@127.0.0.1:5432/paysplit?sslmode=disable", secret: true, validate: validPostgresURL, dst: &c.DatabaseURL},
		{name: "TEMPORAL_ADDRESS", def: "127.0.0.1:7233", validate: validHostPort, dst: &c.TemporalAddress},
		{name: "TEMPORAL_NAMESPACE", def: "default", validate: nonEmpty, dst: &c.TemporalNamespace},
		{name: "TASK_QUEUE", def: "payments", validate: nonEmpty, dst: &c.TaskQueue},
		{name: "API_ADDR", def: "127.0.0.1:8080", validate: validHostPort, dst: &c.APIAddr},
		{name: "ADMIN_API_KEY", def: "dev-admin-key", secret: true, validate: minLen(8), dst: &c.AdminAPIKey},
		{name: "STRIPE_API_KEY", def: "sk_test_123", secret: true, validate: stripeKey, dst: &c.StripeAPIKey},
		{name: "STRIPE_API_BASE", def: "https://api.stripe.com", validate: validHTTPURL, dst: &c.StripeAPIBase},
		{name: "STRIPE_WEBHOOK_SECRET", def: "whsec_dev", secret: true, validate: prefix("whsec_"), dst: &c.StripeWebhookSecret},
		{name: "TEMPORAL_UI_URL", def: "http://127.0.0.1:8233", validate: validHTTPURL, dst: &c.TemporalUIURL},
		{name: "PAYMENT_ENRICH_WAIT", def: "1h", validate: validDuration, dst: &enrich},
		{name: "PAYMENT_SETTLE_WINDOW", def: "24h", validate: validDuration, dst: &settle},
		{name: "PAYMENT_DECISION_TIMEOUT", def: "72h", validate: validDuration, dst: &decision},
	}
	for _, s := range settings {
		v := strings.TrimSpace(getenv(s.name))
		if v == "" {
			if s.secret && c.Env == "production" || s.def == "" {
				return c, fmt.Errorf("config: %s is required but not set", s.name)
			}
			v = s.def
		}
		if err := s.validate(v); err != nil {
			return c, fmt.Errorf("config: %s is malformed: %w", s.name, err)
		}
		*s.dst = v
	}
	c.EnrichWait, _ = time.ParseDuration(enrich)
	c.SettleWindow, _ = time.ParseDuration(settle)
	c.DecisionTimeout, _ = time.ParseDuration(decision)
	return c, nil
}

func nonEmpty(v string) error {
	if v == "" {
		return errors.New("empty")
	}
	return nil
}

func validHostPort(v string) error {
	if _, _, err := net.SplitHostPort(v); err != nil {
		return fmt.Errorf("want host:port: %w", err)
	}
	return nil
}

func validHTTPURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("want an http(s) URL")
	}
	return nil
}

func validPostgresURL(v string) error {
	if _, err := pgx.ParseConfig(v); err != nil {
		return errors.New("not a Postgres connection string")
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
